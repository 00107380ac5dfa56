"""A fault-injecting HTTP origin for the fetcher tests (standard library only).

Each served path holds a body, an ETag and a queue of faults; every GET takes the
next fault from the queue (none left: serve normally). Range and If-Range are
honoured like a CDN does, and every byte of body sent is counted.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Fault kinds:
#   ("status", code, retry_after_or_None)   answer with this status, no body
#   ("truncate", n)                         announce the full length, send n bytes, close
#   ("ignore_range",)                       answer a Range request with 200 and the whole body
#   ("stall", n, seconds)                   send n body bytes, then go silent for `seconds`
#   ("wrong_length", delta)                 Content-Length off by delta, then close
#   ("swap", data, etag)                    replace the resource before serving this request
#   ("redirect", location)                  answer 302 to location
Fault = tuple[Any, ...]


@dataclass
class Resource:
    data: bytes
    etag: str
    ranges: bool = True
    faults: list[Fault] = field(default_factory=list)
    requests: int = 0
    body_bytes: int = 0
    headers_seen: list[dict[str, str]] = field(default_factory=list)


class FaultServer:
    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(
        self,
        path: str,
        data: bytes,
        faults: list[Fault] | None = None,
        ranges: bool = True,
        etag: str | None = None,
    ) -> str:
        with self.lock:
            self.resources[path] = Resource(
                data, etag or f'"{len(data)}-{hash(data) & 0xFFFF:x}"', ranges, faults or []
            )
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def resource(self, path: str) -> Resource:
        return self.resources[path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next(self, path: str, headers: dict[str, str]) -> tuple[Resource | None, Fault | None]:
        with self.lock:
            res = self.resources.get(path)
            if res is None:
                return None, None
            res.requests += 1
            res.headers_seen.append(headers)
            fault = res.faults.pop(0) if res.faults else None
            if fault is not None and fault[0] == "swap":
                res.data, res.etag = fault[1], fault[2]
                fault = None
            return res, fault

    def _count(self, res: Resource, n: int) -> None:
        with self.lock:
            res.body_bytes += n

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                res, fault = server._next(path, dict(self.headers.items()))
                if res is None:
                    self._status(404)
                    return
                kind = fault[0] if fault else None
                if kind == "status":
                    self._status(fault[1], fault[2])
                    return
                if kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", fault[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._serve(res, fault)

            def _status(self, code: int, retry_after: str | None = None) -> None:
                self.send_response(code)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _serve(self, res: Resource, fault: Fault | None) -> None:
                data, etag = res.data, res.etag
                kind = fault[0] if fault else None
                start, end = 0, len(data)
                partial = False
                wanted = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                usable = if_range is None or if_range == etag  # If-Range: changed -> 200
                if wanted and res.ranges and kind != "ignore_range" and usable:
                    m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
                    if m:
                        start = int(m.group(1))
                        end = min(len(data), int(m.group(2)) + 1 if m.group(2) else len(data))
                        partial = True
                body = data[start:end]
                self.send_response(206 if partial else 200)
                self.send_header("ETag", etag)
                if res.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                if partial:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                length = len(body)
                if kind == "wrong_length":
                    length += fault[1]
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if kind == "truncate":
                    body = body[: fault[1]]
                elif kind == "stall":
                    self._send(res, body[: fault[1]])
                    time.sleep(fault[2])
                    self.close_connection = True
                    return
                elif kind == "wrong_length" and fault[1] < 0:
                    body = body[:length]
                self._send(res, body)
                if kind in ("truncate", "wrong_length"):
                    self.close_connection = True

            def _send(self, res: Resource, body: bytes) -> None:
                view = memoryview(body)
                try:
                    for i in range(0, len(view), 1 << 16):
                        self.wfile.write(view[i : i + (1 << 16)])
                        server._count(res, len(view[i : i + (1 << 16)]))
                except OSError:
                    self.close_connection = True

        return Handler
