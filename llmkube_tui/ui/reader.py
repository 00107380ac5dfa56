"""The dashboard's reads, done in a process of their own.

On a large cluster a refresh is megabytes of JSON decoded into dataclasses,
and the first one also imports the modules that reach the cluster: Python
work that holds the GIL the event loop needs to paint and answer keys. A reader
process, forked at start-up before Textual or any thread exists, does that
work on the other core and sends back the plain dataclasses, pickled, which
cost a few tens of milliseconds to take in. That holds only while the
modules of those dataclasses import without the kubernetes client (they
name Connection for type checking only): unpickling the first overview
would otherwise import it here, 0.3 s of the start-up.

Requests carry an id and run on a small pool in the reader, so a scan pod
that takes a minute never holds up the next refresh. When the reader is
gone (killed, out of memory) its calls raise ReaderGone and the source does
the work in its own process instead: the reader saves time, nothing
depends on it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_HEADER = struct.Struct("!Q")
WORKERS = 4


class ReaderGone(Exception):
    """The reader process ended; the caller does its work itself."""


def _send(sock: socket.socket, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _receive(sock: socket.socket) -> Any:
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size))
    return pickle.loads(_read_exactly(sock, size))


def _read_exactly(sock: socket.socket, size: int) -> bytearray:
    data = bytearray(size)
    view = memoryview(data)
    done = 0
    while done < size:
        count = sock.recv_into(view[done:])
        if not count:
            raise EOFError
        done += count
    return data


Handler = Callable[[Any, str, tuple[Any, ...]], Any]


class ReaderProcess:
    """The parent's end: call() sends a request and waits for its answer."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self._sock = sock
        self.pid = pid
        self._ids = itertools.count()
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._receiver: threading.Thread | None = None
        self._gone = False

    @classmethod
    def fork(cls, handler: Handler) -> ReaderProcess | None:
        """Start the reader, which answers each request with
        handler(key, method, args). Call before any thread starts: a forked
        child has only the calling thread, and a lock another thread held at
        that moment stays held for ever. None where fork is unavailable."""
        if not hasattr(os, "fork"):
            return None
        ours, theirs = socket.socketpair()
        # A ctrl+c at the fork must not reach the child before it ignores
        # it: it would unwind through the dashboard's clean-up, on the
        # dashboard's terminal. Held back here, it reaches the parent after.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            ours.close()
            theirs.close()
            return None
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            ours.close()
            _serve(theirs, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        theirs.close()
        return cls(ours, pid)

    def submit(self, key: Any, method: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._gone:
                future.set_exception(ReaderGone())
                return future
            request_id = next(self._ids)
            self._pending[request_id] = future
            if self._receiver is None:
                self._receiver = threading.Thread(
                    target=self._receive_all, name="reader-replies", daemon=True
                )
                self._receiver.start()
            try:
                _send(self._sock, (request_id, key, method, args))
            except OSError:
                self._pending.pop(request_id)
                self._fail_all()
                future.set_exception(ReaderGone())
        return future

    def call(self, key: Any, method: str, *args: Any) -> Any:
        return self.submit(key, method, *args).result()

    @property
    def alive(self) -> bool:
        return not self._gone

    def close(self) -> None:
        """Ends the reader without waiting for it: it sees the socket close,
        finishes what it runs (a scan removes its pod) and exits."""
        with self._lock:
            self._fail_all()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._reap()

    def _receive_all(self) -> None:
        while True:
            try:
                request_id, ok, value = _receive(self._sock)
            except Exception:  # closed, or a reply that does not unpickle
                with self._lock:
                    self._fail_all()
                self._reap()
                return
            with self._lock:
                future = self._pending.pop(request_id, None)
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _fail_all(self) -> None:
        self._gone = True
        pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(ReaderGone())

    def _reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)


def _portable(err: Exception) -> Exception:
    """The error itself when it survives the trip (ours do), or its text:
    an exception whose constructor wants other arguments than it keeps
    would fail to unpickle in the dashboard."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err


def _serve(sock: socket.socket, handler: Handler) -> None:  # pragma: no cover - child
    # The terminal belongs to the dashboard: nothing of ours may draw on it,
    # and ctrl+c there is the dashboard's to handle (the reader ends when its
    # socket closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    write = threading.Lock()

    def answer(request_id: int, key: Any, method: str, args: tuple[Any, ...]) -> None:
        try:
            reply: tuple[int, bool, object] = (request_id, True, handler(key, method, args))
        except Exception as err:
            reply = (request_id, False, _portable(err))
        with write:
            try:
                _send(sock, reply)
            except (pickle.PicklingError, TypeError, AttributeError) as err:
                _send(sock, (request_id, False, RuntimeError(f"reader: {err}")))
            except OSError:
                pass  # the dashboard has gone; the socket's end ends the loop

    code = 0
    try:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="read") as pool:
            while True:
                try:
                    request = _receive(sock)
                except (EOFError, OSError):
                    break
                pool.submit(answer, *request)
    except BaseException:
        code = 1
    finally:
        os._exit(code)
