"""Test stand-in for the serving container (not a model server).

It does what the cache promises a real server: it opens the model read-only
from the cache mount, checks the GGUF magic, and answers `/health` with what
it found, including proof that the mount refuses writes. Standard library
only: it runs in the local cluster's Python image.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GGUF_MAGIC = b"GGUF"


def inspect(path: str) -> dict[str, object]:
    with open(path, "rb") as model:
        magic = model.read(4)
        size = os.fstat(model.fileno()).st_size
    try:
        with open(path, "ab"):
            read_only = False
    except OSError as err:
        read_only = err.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    return {"model": path, "size": size, "gguf": magic == GGUF_MAGIC, "read_only": read_only}


def main() -> int:
    # The arguments of llama.cpp's llama-server that matter here, so that one
    # Deployment runs either image; the rest are accepted and ignored.
    parser = argparse.ArgumentParser()
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args, _ = parser.parse_known_args()
    path, port = args.model, args.port
    state = inspect(path)
    if not state["gguf"]:
        print(json.dumps({"error": "not a GGUF file", **state}), flush=True)
        return 1
    body = json.dumps({"status": "ok", **state}).encode()
    print(body.decode(), flush=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/health":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer((args.host, port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
