"""Helpers for the fetcher tests and benchmark: a private nginx, GGUF-shaped files,
and running the fetcher as a separate process (the way pods run it)."""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FETCHER = REPO / "llmkube_tui" / "fetcher.py"
NGINX = "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


NGINX_CONF = """
worker_processes {workers};
user root;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format served '$uri $status $bytes_sent';
    access_log {prefix}/access.log served;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {docroot};
        location /slow/ {{ alias {docroot}/; limit_rate {slow_rate}; }}
        location /norange/ {{ alias {docroot}/; max_ranges 0; }}
    }}
}}
"""


@dataclass
class Nginx:
    """Our own nginx on 127.0.0.1: / plain, /slow/ with limit_rate, /norange/ without Range."""

    prefix: Path
    docroot: Path
    port: int
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, prefix: Path, docroot: Path, slow_rate: str = "4m", workers: int = 1) -> Nginx:
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "tmp").mkdir(exist_ok=True)
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                prefix=prefix, docroot=docroot, port=port, slow_rate=slow_rate, workers=workers
            )
        )
        proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)])
        try:
            wait_port(port)
        except RuntimeError:
            proc.kill()
            raise
        return cls(prefix, docroot, port, proc)

    def url(self, name: str, location: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{location}{name}"

    def bytes_served(self, name: str) -> int:
        """Bytes nginx sent for any URI ending in this file name (headers included)."""
        total = 0
        log = self.prefix / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            uri, _status, sent = line.split()
            if uri.endswith("/" + name):
                total += int(sent)
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def gguf_bytes(size: int, seed: int = 0) -> bytes:
    """A minimal valid GGUF (v3, no metadata, one I8 tensor) of exactly `size` bytes."""
    name = b"blob"
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, 0)
    info_size = 8 + len(name) + 4 + 8 + 4 + 8  # name, n_dims, dims[1], type, offset
    data_start = -(-(len(header) + info_size) // 32) * 32
    elements = size - data_start
    assert elements > 0, "too small for a GGUF"
    info = struct.pack("<Q", len(name)) + name + struct.pack("<IQIQ", 1, elements, 24, 0)
    head = header + info
    head += b"\0" * (data_start - len(head))
    return head + random.Random(seed).randbytes(elements)


def write_gguf(path: Path, size: int, seed: int = 0) -> bytes:
    data = gguf_bytes(size, seed)
    path.write_bytes(data)
    return data


@dataclass
class Run:
    code: int
    result: dict[str, object]
    stdout: str
    stderr: str


def fetcher_cmd(*args: str) -> list[str]:
    return [sys.executable, str(FETCHER), *args]


def fetcher_env(extra: dict[str, str] | None = None, tmp: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "LLMKUBE_", "MODEL_"))}
    env["PYTHONPATH"] = str(REPO)
    if tmp is not None:
        env["LLMKUBE_TERMINATION_LOG"] = str(tmp / "termination-log")
    env.update(extra or {})
    return env


def run_fetcher(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    proc = subprocess.run(
        fetcher_cmd(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or fetcher_env(),
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    result = json.loads(lines[-1]) if lines else {}
    return Run(proc.returncode, result, proc.stdout, proc.stderr)
