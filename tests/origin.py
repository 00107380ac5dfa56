"""An HTTP origin for end-to-end tests that counts every byte it serves.

It binds to the pod bridge's own address, which both the host and the pods
reach without any traffic leaving the machine. Range requests are honoured,
as a model host's CDN would.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_gguf(path: Path, size: int) -> Path:
    """A file that starts like a GGUF model (magic, version 3, no tensors,
    no metadata) and is filled with random bytes up to `size`."""
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 0)
    with open(path, "wb") as f:
        f.write(header)
        remaining = size - len(header)
        while remaining > 0:
            chunk = os.urandom(min(remaining, 1 << 20))
            f.write(chunk)
            remaining -= len(chunk)
    return path


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hang up on purpose (the fetcher's one-byte probe, a
        # cancelled part); that is not worth a traceback.
        pass


class Origin:
    def __init__(self, host: str, files: dict[str, Path]) -> None:
        self.files = files
        self.served: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                name = self.path.lstrip("/").split("?")[0]
                path = origin.files.get(name)
                origin.requests[name] += 1
                if path is None:
                    self.send_error(404)
                    return
                size = path.stat().st_size
                start, end = 0, size - 1
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if match:
                    start = int(match.group(1))
                    end = min(int(match.group(2) or end), size - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(end - start + 1))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", f'"{int(path.stat().st_mtime_ns)}-{size}"')
                self.end_headers()
                if not body:
                    return
                with open(path, "rb") as f:
                    f.seek(start)
                    left = end - start + 1
                    while left > 0:
                        chunk = f.read(min(left, 1 << 20))
                        if not chunk:
                            break
                        try:
                            self.wfile.write(chunk)
                        except OSError:
                            return
                        origin.served[name] += len(chunk)
                        left -= len(chunk)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Origin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def source(self, name: str) -> str:
        return f"{self.url}/{name}"
