"""Exec into a pod with binary stdin and stdout, streamed in chunks.

Each session opens its own websocket from the connection's configuration;
the shared ApiClient is never patched (the kubernetes client's `stream()`
swaps its request method for the duration of a call, which races with other
threads using the same client). Frames are read here rather than through
the client's WSClient, whose buffers grow by concatenation and made a 24 MiB
copy take 30 s.
"""

from __future__ import annotations

import select
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import yaml
from kubernetes.stream.ws_client import create_websocket, get_websocket_url
from websocket import ABNF, WebSocketException

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Failed, Unreachable

STDIN, STDOUT, STDERR, STATUS = 0, 1, 2, 3
_STDERR_KEEP = 4096
SEND_TIMEOUT = 120.0


class ExecSession:
    def __init__(
        self, conn: Connection, namespace: str, pod: str, command: list[str], stdin: bool
    ) -> None:
        query = [("command", c) for c in command] + [
            ("stdin", "true" if stdin else "false"),
            ("stdout", "true"),
            ("stderr", "true"),
        ]
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?{urlencode(query)}"
        _, url, headers, _, _ = conn.api_client.param_serialize(
            "GET", path, auth_settings=["BearerToken"]
        )
        self.command = command
        self.stderr = b""
        self.status = b""
        self.open = True
        try:
            self.sock: Any = create_websocket(
                conn.api_client.configuration, get_websocket_url(url), headers
            )
        except Exception as err:  # the websocket library raises its own types
            raise Unreachable(f"cannot exec into {namespace}/{pod}: {err}") from err
        # A peer that stops reading must fail a send, not hang it.
        self.sock.settimeout(SEND_TIMEOUT)

    def _readable(self, timeout: float) -> bool:
        raw = self.sock.sock
        if isinstance(raw, ssl.SSLSocket) and raw.pending():
            return True
        ready, _, _ = select.select([raw], [], [], timeout)
        return bool(ready)

    def _frame(self, timeout: float) -> tuple[int, bytes] | None:
        """The next (channel, data), or None when nothing came in time."""
        if not self.open or not self._readable(timeout):
            return None
        try:
            opcode, frame = self.sock.recv_data_frame(True)
        except (WebSocketException, OSError) as err:
            self.open = False
            raise Failed(f"{' '.join(self.command)}: the exec stream broke: {err}") from err
        if opcode == ABNF.OPCODE_CLOSE:
            self.open = False
            return None
        data = bytes(frame.data)
        if not data:
            return None
        channel, payload = data[0], data[1:]
        if channel == STDERR:
            self.stderr = (self.stderr + payload)[-_STDERR_KEEP:]
        elif channel == STATUS:
            self.status += payload
        return channel, payload

    def stdout_chunks(self, stall: float = 60.0) -> Iterator[bytes]:
        """stdout as it arrives, until the process ends; a silence longer
        than `stall` seconds is an error, not a hang."""
        quiet_since = time.monotonic()
        while self.open:
            got = self._frame(timeout=1.0)
            if got is None:
                if time.monotonic() - quiet_since > stall:
                    self.sock.close()
                    raise Failed(f"{' '.join(self.command)}: no output for {stall:.0f}s")
                continue
            quiet_since = time.monotonic()
            if got[0] == STDOUT and got[1]:
                yield got[1]

    def write(self, data: bytes) -> None:
        try:
            self.sock.send(bytes([STDIN]) + data, opcode=ABNF.OPCODE_BINARY)
        except (WebSocketException, OSError) as err:
            raise Failed(f"{' '.join(self.command)}: writing to the pod failed: {err}") from err
        # Drain what the process says meanwhile, so neither side blocks.
        while self._frame(timeout=0) is not None:
            pass

    def close(self) -> None:
        """Hang up early (a cancel, a failed check); the process in the pod
        sees its stdin end. Closing a finished session does nothing."""
        if self.open:
            self.open = False
            self.sock.close()

    def finish(self, timeout: float = 600.0) -> tuple[int, bytes]:
        """Wait for the process; its exit code and the rest of its stdout."""
        out = bytearray()
        deadline = time.monotonic() + timeout
        while self.open and time.monotonic() < deadline:
            got = self._frame(timeout=1.0)
            if got is not None and got[0] == STDOUT:
                out += got[1]
        self.sock.close()
        if not self.status:
            raise Failed(f"{' '.join(self.command[:2])}: no exit status (timed out)")
        status = yaml.safe_load(self.status)
        if status.get("status") == "Success":
            return 0, bytes(out)
        for cause in status.get("details", {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                return int(cause.get("message", 1)), bytes(out)
        raise Failed(f"{' '.join(self.command[:2])}: {status.get('message', 'failed')}")
