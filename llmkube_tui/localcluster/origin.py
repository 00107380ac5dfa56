"""The local cluster's model origin: a static HTTP server that stands for a
model host (Hugging Face, a CDN) and counts every byte it serves.

It binds to the pod bridge's own address, which both the host and the pods
reach without any traffic leaving the machine. Range requests are honoured,
as a model host's CDN would. The demo runs it as a cluster component over a
directory; the tests and benchmarks run it in-process over chosen files.

    python -m llmkube_tui.localcluster.origin HOST PORT DIRECTORY
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class DirectoryFiles(Mapping[str, Path]):
    """The regular files directly inside a directory, looked up per request,
    so a file added later is served without a restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __getitem__(self, name: str) -> Path:
        path = self.directory / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise KeyError(name)
        return path

    def __iter__(self) -> Iterator[str]:
        return (p.name for p in self.directory.iterdir() if p.is_file())

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hang up on purpose (the fetcher's one-byte probe, a
        # cancelled part); that is not worth a traceback.
        pass


class Origin:
    def __init__(
        self, host: str, files: Mapping[str, Path], port: int = 0, rate: int | None = None
    ) -> None:
        """`rate`: bytes per second per connection, for a download that lasts
        long enough to watch and to cancel; None serves as fast as it can."""
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
                    step = 64 * 1024 if rate else 1 << 20
                    while left > 0:
                        chunk = f.read(min(left, step))
                        if not chunk:
                            break
                        try:
                            self.wfile.write(chunk)
                        except OSError:
                            return
                        origin.served[name] += len(chunk)
                        left -= len(chunk)
                        if rate:
                            time.sleep(len(chunk) / rate)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer((host, port), Handler)
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


def main(argv: list[str]) -> None:
    host, port, directory = argv[0], int(argv[1]), Path(argv[2])
    Origin(host, DirectoryFiles(directory), port).server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
