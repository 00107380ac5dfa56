"""The fetcher: puts one model into the cache, crash-safe, resumable, verified, parallel.

Standard library only; runs as ``python3 fetcher.py ...`` on Python 3.9+ from a
directory that also holds ``cachekey.py`` (a ConfigMap), and imports as
``llmkube_tui.fetcher`` inside the project.

Command line
------------
::

    fetcher.py fetch  --source URL [--root DIR] [--sha256 HEX] [--connections N|auto]
                      [--max-connections N] [--verify] [--json] [--retries N]
                      [--stall-timeout S] [--lease-timeout S] [--chunk-size BYTES]
                      [--no-space-check]
    fetcher.py scan   [--root DIR]
    fetcher.py remove KEY [--root DIR] [--force]
    fetcher.py verify KEY [--root DIR]
    fetcher.py receive KEY --size N --sha256 HEX --source URL [--root DIR]  < model
    fetcher.py key    SOURCE

``--root`` defaults to ``/models``, ``--source`` to ``$MODEL_SOURCE`` and
``--sha256`` to ``$LLMKUBE_SHA256``. Sources: ``http://``, ``https://`` (redirects
followed), ``file://`` (the air-gapped copy, same verification) and
``hf://OWNER/REPO[@REVISION]/PATH`` (resolved against ``$HF_ENDPOINT``, default
``https://huggingface.co``). ``$HF_TOKEN`` (or ``$HUGGING_FACE_HUB_TOKEN``) is
sent as a bearer token to the origin host only (scheme, host and port of the
source), never to a redirect target elsewhere, and never logged. Proxies are not
supported.

Output
------
stdout carries exactly one line: the final JSON result, e.g.
``{"result": "miss", "key": ..., "path": ..., "size": ..., "sha256": ...,
"bytes_downloaded": ..., "seconds": ...}`` (``"hit"`` for a hit, ``"error"`` with
``exit_code`` and ``error`` on failure). The same line goes to
``/dev/termination-log`` when that exists (``$LLMKUBE_TERMINATION_LOG`` overrides
the path) so Kubernetes shows it in the pod status. ``scan``, ``remove`` and
``verify`` print one JSON document on stdout. Progress goes to stderr: with
``--json`` as JSON lines (``{"event": "progress", "bytes", "total", "rate",
"connections"}``, plus ``waiting``, ``retry``, ``restart`` and ``adopted``
events), otherwise as a redrawn line on a TTY or a plain line every 10 s.

Exit codes
----------
0 success (hit, miss, scan, remove, verify ok) · 1 internal error · 2 usage ·
3 source error (404, 401/403 that survives a re-resolve, unsupported URL,
missing file) · 4 integrity (sha256 or size mismatch; nothing is published;
``verify`` found corruption; the cached entry holds another sha256 than asked) ·
5 network (retries exhausted, stalled, source keeps changing) · 6 no space
(ENOSPC/EDQUOT; the partial download is kept for resume) · 7 locked (``remove``
while a live lease holds the key) · 8 local I/O error (permissions, read-only) ·
130/143 interrupted by SIGINT/SIGTERM (state saved for resume).

Layout of an entry ``<root>/<key>/``
------------------------------------
- ``model.gguf``: the model, published only complete and verified.
- ``metadata.json``: written last: source, file, size, sha256, etag,
  last_modified, fetched_at, last_used (refreshed on every hit), adopted.
- ``.lease``: who downloads now (holder identity and a heartbeat counter).
- ``.fetch-<id>/data`` + ``state.json``: one process's download in progress,
  with the bytes done of every chunk; a later process claims it by renaming
  the directory (atomic, so exactly one claimer wins) and resumes.

Hit: ``metadata.json`` parses and the named file has its size: exit 0 without
reading the model, so the cost does not grow with its size. ``--verify``
re-hashes; a mismatch deletes the file, then the metadata, and downloads anew.

Adoption of LLMKube directories
-------------------------------
A key directory without ``metadata.json`` that holds exactly one ``*.gguf``
(any name; a ``*.tmp`` beside it is ignored and left alone: deleting another
writer's temp file is the very bug we avoid) is adopted, under the lease, when:

1. with an expected sha256: the file hashes to it (one-time cost); else
2. when the origin answers a one-byte probe: the file has exactly the origin's
   size, and its GGUF header, if it parses, does not declare more tensor data
   than the file holds; else (origin unreachable, the air-gapped case)
3. its GGUF header parses (magic, version 1-3) and the file is at least as
   long as the end of the last tensor's data that the header declares.

Rule 3 reads only the header, never the tensor data. It catches what LLMKube's
curl leaves behind: a truncated ``mv``'d file from two pods sharing one temp
name. A directory that fails the rule is corrupt: the fetch downloads and
replaces that file. The same rules make a crash between publish and metadata
harmless: a verified partial whose data is the published inode finishes its
metadata.

Download
--------
Under the lease: probe with ``Range: bytes=0-0``; 206 means parallel chunked
Range requests over keep-alive connections into a per-process temp file with
``pwrite``; 200 means one stream (no resume possible, so a retry truncates).
Connections default to adaptive: start with 4, double while throughput grows
by 15% or more, up to 32; halve on 403/429 and shed one on other errors. A
trailing hasher reads back the contiguous written prefix and hashes it in
order, so the sha256 is ready soon after the last byte. A 206 whose ETag,
total size or Content-Range disagrees restarts (truncate) or retries; a 200 to
a Range request restarts cleanly in single-stream mode, never appending.
Retries use exponential backoff with jitter and honour ``Retry-After``; a
socket that is silent for ``--stall-timeout`` is dropped and its chunk resumed.
A 403 on a chunk after the download worked re-resolves the source (an expired
signed redirect) and carries on.

Publish: size and sha256 checked, ``fsync`` the file, mark the state verified,
``link`` it to ``model.gguf`` (fails if a file is there: a complete entry is
never replaced; an incomplete or wrong one is replaced by ``rename``), ``fsync``
the directory, write the metadata (temp file, fsync, rename, fsync dir), then
remove the temp directory. A crash at any instant leaves either no
``model.gguf``, the old one, or a complete verified one.

Concurrency: the lease (created with ``O_EXCL``, heartbeat counter rewritten
every few seconds) makes one process download while the others wait and then
hit. A lease is stale when its content has not changed for ``--lease-timeout``
seconds of our own clock, or at once when its holder ran on this kernel and
PID namespace and is gone. Correctness never depends on it: every process
writes its own temp directory and publishing is idempotent.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import os
import random
import signal
import socket
import stat
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING, Any

try:
    from llmkube_tui.cachekey import DEFAULT_MOUNT_PATH, MODEL_FILE, cache_key, is_cache_key
except ImportError:  # run as a plain script beside cachekey.py (the ConfigMap)
    from cachekey import (  # type: ignore[no-redef]
        DEFAULT_MOUNT_PATH,
        MODEL_FILE,
        cache_key,
        is_cache_key,
    )

if TYPE_CHECKING:
    import http.client

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_SOURCE = 3
EXIT_INTEGRITY = 4
EXIT_NETWORK = 5
EXIT_NO_SPACE = 6
EXIT_LOCKED = 7
EXIT_LOCAL_IO = 8
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

METADATA_FILE = "metadata.json"
LEASE_FILE = ".lease"
PARTIAL_PREFIX = ".fetch-"
STATE_FILE = "state.json"
DATA_FILE = "data"
TERMINATION_LOG = "/dev/termination-log"

MiB = 1024 * 1024
READ_BLOCK = 1 * MiB
HASH_BLOCK = 8 * MiB
HASH_WINDOW = 256 * MiB  # mmap window of the trailing hasher
HASH_LEAD = 512 * MiB  # how far writers may run ahead of the hasher
CHECKPOINT_EVERY = 0.5  # seconds of work a SIGKILL may cost
STATE_PAD = 4096
LEASE_SIZE = 1024
START_CONNECTIONS = 4
MAX_CONNECTIONS = 32
MAX_RESTARTS = 4
USER_AGENT = "llmkube-fetcher/1"


# ---------------------------------------------------------------------------
# Errors


class FetchError(Exception):
    """A failure that ends the command with a documented exit code."""

    exit_code = EXIT_INTERNAL


class SourceError(FetchError):
    exit_code = EXIT_SOURCE


class IntegrityError(FetchError):
    exit_code = EXIT_INTEGRITY


class NetworkError(FetchError):
    exit_code = EXIT_NETWORK


class NoSpaceError(FetchError):
    exit_code = EXIT_NO_SPACE


class LockedError(FetchError):
    exit_code = EXIT_LOCKED


class LocalIOError(FetchError):
    exit_code = EXIT_LOCAL_IO


class Interrupted(FetchError):
    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.exit_code = 128 + signum


class Transient(Exception):
    """Worth a retry: 5xx, 429, resets, timeouts, short bodies."""

    def __init__(self, message: str, retry_after: float | None = None, kind: str = "error"):
        super().__init__(message)
        self.retry_after = retry_after
        self.kind = kind  # "error", "throttle" (403/429) or "stall"


class Restart(Exception):
    """The source changed under us, or ignored Range: start over from zero."""

    def __init__(self, reason: str, single_stream: bool = False):
        super().__init__(reason)
        self.single_stream = single_stream


class LeaseLost(Exception):
    """Another process took our lease over: stop writing, go back to waiting."""


def _no_space(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EDQUOT)


def local_error(err: OSError, what: str, where: str) -> FetchError:
    """Map an OSError from our own disk to the exit code it deserves."""
    if _no_space(err):
        return NoSpaceError(
            f"no space left on the cache volume while {what} ({where}); the partial "
            "download is kept and resumes once space is freed"
        )
    return LocalIOError(f"{what} failed ({where}): {err.strerror or err}")


# ---------------------------------------------------------------------------
# Small helpers


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fsync_dir(path: str) -> None:
    # Makes a rename or link durable; some filesystems refuse directory fsync.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes, durable: bool = True) -> None:
    """Write via a unique temp file and rename, so readers never see half a file."""
    tmp = f"{path}.{os.getpid()}.{random.getrandbits(32):08x}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            _write_all(fd, data, 0)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(os.path.dirname(path) or ".")


def _write_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read() or b"null")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def hash_file(path: str) -> str:
    digest = hashlib.sha256()
    buf = bytearray(HASH_BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------
# Process identity: who holds a lease or owns a partial download


def _read_text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> int:
    # Field 22 of /proc/PID/stat; comm may hold spaces, so split after ")".
    text = _read_text(f"/proc/{pid}/stat")
    try:
        return int(text.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return -1


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


@dataclass
class Identity:
    """A process, identified so that another process can tell whether it lives.

    boot_id and the PID namespace make the pid meaningful: only a process on the
    same kernel and in the same namespace can check it; all others rely on the
    heartbeat.
    """

    token: str
    host: str
    boot_id: str
    pid_ns: str
    pid: int
    start_ticks: int

    @classmethod
    def current(cls) -> Identity:
        host = socket.gethostname()
        pid = os.getpid()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in host)[:40]
        return cls(
            token=f"{safe}-{pid}-{random.getrandbits(32):08x}",
            host=host,
            boot_id=_read_text("/proc/sys/kernel/random/boot_id"),
            pid_ns=_pid_namespace(),
            pid=pid,
            start_ticks=_start_ticks(pid),
        )

    @classmethod
    def from_dict(cls, data: Any) -> Identity | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                token=str(data["token"]),
                host=str(data.get("host", "")),
                boot_id=str(data.get("boot_id", "")),
                pid_ns=str(data.get("pid_ns", "")),
                pid=int(data.get("pid", -1)),
                start_ticks=int(data.get("start_ticks", -1)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def alive_here(self, me: Identity) -> bool | None:
        """True/False when this machine can tell, None when it cannot."""
        if not self.boot_id or self.boot_id != me.boot_id or self.pid_ns != me.pid_ns:
            return None
        if self.pid == me.pid:
            return self.token == me.token or self.start_ticks == me.start_ticks
        ticks = _start_ticks(self.pid)
        return ticks != -1 and ticks == self.start_ticks


# ---------------------------------------------------------------------------
# Lease: avoids duplicate downloads; correctness never depends on it


@dataclass
class LeaseView:
    content: bytes
    holder: Identity | None
    heartbeat_at: float


class Lease:
    """An exclusively created file with a heartbeat counter.

    Staleness is judged by content that stops changing on our own clock, so
    clock skew and NFS attribute caching do not matter.
    """

    def __init__(self, entry: str, me: Identity, timeout: float) -> None:
        self.path = os.path.join(entry, LEASE_FILE)
        self.me = me
        self.timeout = timeout
        self.held = False
        self.lost = threading.Event()
        self._beats = 0
        self._seen: bytes | None = None
        self._seen_since = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _payload(self) -> bytes:
        body = {"holder": asdict(self.me), "beat": self._beats, "heartbeat_at": time.time()}
        raw = json.dumps(body).encode()
        return raw + b" " * max(0, LEASE_SIZE - len(raw))

    def try_acquire(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            _write_all(fd, self._payload(), 0)
        finally:
            os.close(fd)
        self.held = True
        self.lost.clear()
        self._start_heartbeat()
        return True

    def read(self) -> LeaseView | None:
        try:
            with open(self.path, "rb") as f:
                content = f.read()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(content)
            holder = Identity.from_dict(data.get("holder"))
            beat_at = float(data.get("heartbeat_at", 0))
        except (ValueError, AttributeError, TypeError):
            holder, beat_at = None, 0.0
        return LeaseView(content, holder, beat_at)

    def is_stale(self, view: LeaseView) -> bool:
        """Judged over several calls: content unchanged for `timeout` seconds."""
        now = time.monotonic()
        if view.content != self._seen:
            self._seen, self._seen_since = view.content, now
        if view.holder is not None and view.holder.alive_here(self.me) is False:
            return True
        if now - self._seen_since >= self.timeout:
            return True
        # A lease abandoned long ago need not be watched for a full timeout.
        return 0 < view.heartbeat_at < time.time() - self.timeout - 600

    def take_over(self, view: LeaseView) -> bool:
        """Move the stale lease aside atomically; only one taker wins the rename."""
        aside = f"{self.path}.stale-{self.me.token}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        try:
            with open(aside, "rb") as f:
                moved = f.read()
        except OSError:
            moved = b""
        if moved != view.content:
            # It changed between our look and the rename: it lives; put it back.
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            _unlink_quietly(aside)
            return False
        _unlink_quietly(aside)
        return self.try_acquire()

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat_loop, name="lease", daemon=True)
        self._thread.start()

    def _beat_loop(self) -> None:
        interval = max(0.2, min(5.0, self.timeout / 6))
        while not self._stop.wait(interval):
            if not self.beat():
                self.lost.set()
                return

    def beat(self) -> bool:
        """Rewrite our lease in place; False when it is no longer ours."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError:
            return False
        try:
            data = json.loads(os.pread(fd, LEASE_SIZE * 4, 0))
            holder = Identity.from_dict(data.get("holder"))
            if holder is None or holder.token != self.me.token:
                return False
            self._beats += 1
            _write_all(fd, self._payload(), 0)
            return True
        except (OSError, ValueError, AttributeError):
            # A full disk must not cost us the lease: the file keeps its size.
            return True
        finally:
            os.close(fd)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.held:
            view = self.read()
            if view and view.holder and view.holder.token == self.me.token:
                _unlink_quietly(self.path)
        self.held = False


def lease_is_live(entry: str, timeout: float, me: Identity) -> tuple[bool, dict[str, Any] | None]:
    """A single look (scan, remove): alive by local check, else by heartbeat time."""
    lease = Lease(entry, me, timeout)
    view = lease.read()
    if view is None:
        return False, None
    info: dict[str, Any] = {
        "holder": view.holder.host if view.holder else None,
        "pid": view.holder.pid if view.holder else None,
        "heartbeat_age": round(time.time() - view.heartbeat_at, 1) if view.heartbeat_at else None,
    }
    if view.holder is not None:
        alive = view.holder.alive_here(me)
        if alive is not None:
            return alive, info
    return time.time() - view.heartbeat_at < timeout, info


# ---------------------------------------------------------------------------
# Metadata and entries


@dataclass
class Metadata:
    source: str
    file: str
    size: int
    sha256: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: str
    last_used: str
    adopted: bool = False
    verified_at: str | None = None
    version: int = 1

    @classmethod
    def load(cls, entry: str) -> Metadata | None:
        data = read_json(os.path.join(entry, METADATA_FILE))
        if data is None:
            return None
        try:
            meta = cls(
                source=str(data["source"]),
                file=str(data.get("file") or MODEL_FILE),
                size=int(data["size"]),
                sha256=data.get("sha256"),
                etag=data.get("etag"),
                last_modified=data.get("last_modified"),
                fetched_at=str(data.get("fetched_at", "")),
                last_used=str(data.get("last_used", "")),
                adopted=bool(data.get("adopted", False)),
                verified_at=data.get("verified_at"),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if os.sep in meta.file or meta.file.startswith("."):
            return None
        return meta

    def save(self, entry: str, durable: bool = True) -> None:
        raw = json.dumps(asdict(self), indent=1, sort_keys=True).encode() + b"\n"
        write_atomic(os.path.join(entry, METADATA_FILE), raw, durable=durable)


def entry_is_complete(entry: str, meta: Metadata | None) -> bool:
    if meta is None:
        return False
    try:
        st = os.stat(os.path.join(entry, meta.file))
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == meta.size


def gguf_candidates_any(entry: str) -> list[str]:
    try:
        return sorted(os.listdir(entry))
    except OSError:
        return []


def gguf_candidates(entry: str) -> list[str]:
    try:
        names = os.listdir(entry)
    except OSError:
        return []
    out = []
    for name in names:
        if name.startswith(".") or not name.endswith(".gguf"):
            continue
        if os.path.isfile(os.path.join(entry, name)):
            out.append(name)
    return sorted(out)


# ---------------------------------------------------------------------------
# GGUF header: how long a file must at least be (adoption rule 3)

# ggml type -> (elements per block, bytes per block)
GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
    8: (32, 34), 9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144),
    13: (256, 176), 14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74),
    18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
    23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
}  # fmt: skip
_GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
GGUF_HEADER_LIMIT = 256 * MiB


class _Reader:
    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > GGUF_HEADER_LIMIT:
            raise ValueError("GGUF header too large")
        data = self.f.read(n)
        if len(data) != n:
            raise ValueError("GGUF header truncated")
        self.pos += n
        return data

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def skip(self, n: int) -> None:
        self.take(n)

    def string(self) -> bytes:
        return self.take(self.u64())


def _gguf_skip_value(r: _Reader, vtype: int) -> int | None:
    """Skip one KV value; return it when it is an integer (for general.alignment)."""
    if vtype in _GGUF_SCALARS:
        raw = r.take(_GGUF_SCALARS[vtype])
        return int.from_bytes(raw, "little") if vtype in (4, 10) else None
    if vtype == 8:
        r.string()
        return None
    if vtype == 9:
        item_type, count = r.u32(), r.u64()
        if item_type in _GGUF_SCALARS:
            r.skip(_GGUF_SCALARS[item_type] * count)
        else:
            for _ in range(count):
                _gguf_skip_value(r, item_type)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")


def gguf_min_size(path: str) -> int | None:
    """The smallest size the file can have by its own header, or None if not GGUF."""
    try:
        with open(path, "rb") as f:
            r = _Reader(f)
            if r.take(4) != b"GGUF" or r.u32() not in (1, 2, 3):
                return None
            tensors, kvs = r.u64(), r.u64()
            if tensors > 1_000_000 or kvs > 1_000_000:
                return None
            alignment = 32
            for _ in range(kvs):
                key = r.string()
                value = _gguf_skip_value(r, r.u32())
                if key == b"general.alignment" and value:
                    alignment = value
            end = 0
            for _ in range(tensors):
                r.string()
                dims = [r.u64() for _ in range(r.u32())]
                ttype, offset = r.u32(), r.u64()
                elements = 1
                for d in dims:
                    elements *= d
                block, nbytes = GGML_TYPE_SIZES.get(ttype, (0, 0))
                # An unknown type still tells us that its data starts there.
                size = elements // block * nbytes if block else 1
                end = max(end, offset + size)
            data_start = -(-r.pos // alignment) * alignment
            return data_start + end
    except (OSError, ValueError, struct.error):
        return None


# ---------------------------------------------------------------------------
# Sources


@dataclass
class RemoteInfo:
    size: int | None
    etag: str | None
    last_modified: str | None
    ranges: bool


class Body:
    """A readable body: readinto until it returns 0."""

    def readinto(self, buf: memoryview) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Source:
    """Where the bytes come from. Workers each get their own `Channel`."""

    name = "source"
    max_connections = MAX_CONNECTIONS

    def probe(self) -> tuple[RemoteInfo, Body | None]:
        """Learn size and validators; a Body is returned when ranges are unsupported
        (the full stream, already open)."""
        raise NotImplementedError

    def channel(self) -> Channel:
        raise NotImplementedError

    def re_resolve(self, info: RemoteInfo) -> None:
        pass


class Channel:
    def open_range(self, start: int, end: int, info: RemoteInfo) -> Body:
        raise NotImplementedError

    def close(self) -> None:
        pass


class FileBody(Body):
    def __init__(self, fd: int, start: int, end: int) -> None:
        self.fd, self.pos, self.end = fd, start, end

    def readinto(self, buf: memoryview) -> int:
        want = min(len(buf), self.end - self.pos)
        if want <= 0:
            return 0
        n = os.preadv(self.fd, [buf[:want]], self.pos)
        self.pos += n
        return n


class FileChannel(Channel):
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY)

    def open_range(self, start: int, end: int, info: RemoteInfo) -> Body:
        return FileBody(self.fd, start, end)

    def close(self) -> None:
        os.close(self.fd)


class FileSource(Source):
    """file:// : the air-gapped copy, through the same verify-and-publish path."""

    name = "file"
    max_connections = 4

    def __init__(self, path: str) -> None:
        self.path = path

    def probe(self) -> tuple[RemoteInfo, Body | None]:
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise SourceError(f"cannot read source file {self.path}: {err.strerror}") from err
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"source {self.path} is not a regular file")
        validator = f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"
        return RemoteInfo(st.st_size, validator, None, True), None

    def channel(self) -> Channel:
        return FileChannel(self.path)


class HttpBody(Body):
    def __init__(self, resp: http.client.HTTPResponse) -> None:
        self.resp = resp

    def readinto(self, buf: memoryview) -> int:
        import http.client

        try:
            return self.resp.readinto(buf)
        except (OSError, ValueError, http.client.HTTPException) as err:
            raise Transient(f"connection lost: {err}", kind=_kind(err)) from err

    def close(self) -> None:
        self.resp.close()


def _status_error(status: int, reason: str, retry_after: str | None, what: str) -> Exception:
    """What a non-success answer means for us."""
    delay = parse_retry_after(retry_after)
    if status == 429:
        return Transient(f"{what}: 429 {reason}", delay, kind="throttle")
    if status >= 500:
        return Transient(f"{what}: {status} {reason}", delay)
    if status in (401, 403):
        return SourceError(f"{what}: access denied ({status} {reason}); check HF_TOKEN")
    if status in (404, 410):
        return SourceError(f"{what}: not found ({status} {reason})")
    return SourceError(f"{what}: unexpected answer {status} {reason}")


class HttpSource(Source):
    """http(s) with redirects followed by hand, so the token never leaves the origin."""

    name = "http"

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        from urllib.parse import urlsplit

        self.url = url
        self.origin = urlsplit(url)[:2]
        self.token = token
        self.timeout = timeout
        self.resolved = url
        self.generation = 0
        self.lock = threading.Lock()
        self.resolve_lock = threading.Lock()  # one re-resolve at a time

    def headers(self, url: str, extra: dict[str, str]) -> dict[str, str]:
        from urllib.parse import urlsplit

        out = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if self.token and urlsplit(url)[:2] == self.origin:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(extra)
        return out

    def connect(self, url: str) -> http.client.HTTPConnection:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme == "https":
            import ssl

            return http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout)

    @staticmethod
    def target(url: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def request(self, extra: dict[str, str]) -> tuple[str, http.client.HTTPResponse]:
        """GET the source, following up to 10 redirects; returns the final URL."""
        import http.client
        from urllib.parse import urljoin

        url = self.url
        for _ in range(10):
            conn = self.connect(url)
            try:
                conn.request("GET", self.target(url), headers=self.headers(url, extra))
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise Transient(f"request failed: {err}") from err
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                conn.close()
                if not location:
                    raise SourceError("redirect without Location")
                url = urljoin(url, location)
                continue
            return url, resp
        raise SourceError("too many redirects")

    def probe(self) -> tuple[RemoteInfo, Body | None]:
        url, resp = self.request({"Range": "bytes=0-0"})
        status = resp.status
        etag = resp.getheader("ETag")
        last_modified = resp.getheader("Last-Modified")
        if status == 206:
            size = _content_range(resp.getheader("Content-Range"))[2]
            resp.read()
            resp.close()
            with self.lock:
                self.resolved = url
            return RemoteInfo(size, etag, last_modified, True), None
        if status == 416:
            total = _content_range(resp.getheader("Content-Range"))[2]
            resp.close()
            if total == 0:
                return RemoteInfo(0, etag, last_modified, True), None
            raise SourceError("server refused a range within the file (416)")
        if status == 200:
            length = resp.getheader("Content-Length")
            size = int(length) if length and length.isdigit() else None
            with self.lock:
                self.resolved = url
            return RemoteInfo(size, etag, last_modified, False), HttpBody(resp)
        err = _status_error(status, resp.reason, resp.getheader("Retry-After"), "probe")
        resp.close()
        raise err

    def re_resolve(self, info: RemoteInfo) -> None:
        """Fetch a fresh redirect (signed URLs expire); only one worker does it."""
        generation = self.generation
        with self.resolve_lock:
            if generation != self.generation:
                return
            fresh, body = self.probe()
            if body is not None:
                body.close()
                raise Restart("source stopped supporting Range", single_stream=True)
            if fresh.size != info.size or not _same_validators(fresh, info):
                raise Restart("source changed while re-resolving")
            with self.lock:
                self.generation += 1

    def channel(self) -> Channel:
        return HttpChannel(self)


def _same_validators(a: RemoteInfo, b: RemoteInfo) -> bool:
    if a.etag and b.etag:
        return a.etag == b.etag
    if a.last_modified and b.last_modified:
        return a.last_modified == b.last_modified
    return True


def _content_range(value: str | None) -> tuple[int, int, int | None]:
    """Parse 'bytes A-B/T' (or 'bytes */T'); raise Transient when it is garbage."""
    try:
        unit, rest = (value or "").split(" ", 1)
        span, total_text = rest.strip().split("/", 1)
        total = None if total_text == "*" else int(total_text)
        if span == "*":
            return -1, -1, total
        first, last = span.split("-", 1)
        if unit.lower() != "bytes":
            raise ValueError(unit)
        return int(first), int(last), total
    except (ValueError, AttributeError) as err:
        raise Transient(f"bad Content-Range {value!r}") from err


class HttpChannel(Channel):
    """One keep-alive connection of one worker."""

    def __init__(self, source: HttpSource) -> None:
        self.source = source
        self.conn: http.client.HTTPConnection | None = None
        self.generation = -1
        self.worked = False

    def _connection(self) -> tuple[str, http.client.HTTPConnection]:
        with self.source.lock:
            url, generation = self.source.resolved, self.source.generation
        if self.conn is None or generation != self.generation:
            self.close()
            self.conn = self.source.connect(url)
            self.generation = generation
        return url, self.conn

    def open_range(self, start: int, end: int, info: RemoteInfo) -> Body:
        import http.client

        url, conn = self._connection()
        extra = {"Range": f"bytes={start}-{end - 1}"}
        if info.etag and not info.etag.startswith("W/"):
            extra["If-Range"] = info.etag  # a changed file answers 200, never a mix
        try:
            conn.request("GET", self.source.target(url), headers=self.source.headers(url, extra))
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            raise Transient(f"request failed: {err}", kind=_kind(err)) from err
        try:
            self._check(resp, start, end, info)
        except BaseException:
            self.close()
            raise
        self.worked = True
        return HttpBody(resp)

    def _check(
        self, resp: http.client.HTTPResponse, start: int, end: int, info: RemoteInfo
    ) -> None:
        status = resp.status
        if status == 200:
            etag = resp.getheader("ETag")
            changed = bool(etag and info.etag and etag != info.etag)
            raise Restart(
                "source changed (200 to a Range request with a new ETag)"
                if changed
                else "server answered a Range request with the whole file",
                single_stream=not changed,
            )
        if status == 403 or (status == 404 and self.worked):
            # An expired signed redirect, or a host refusing more connections.
            raise Transient(f"chunk request: {status}", kind="resolve")
        if status in (301, 302, 303, 307, 308):
            raise Transient(f"chunk request redirected ({status})", kind="resolve")
        if status != 206:
            raise _status_error(status, resp.reason, resp.getheader("Retry-After"), "chunk request")
        etag = resp.getheader("ETag")
        if etag and info.etag and etag != info.etag:
            raise Restart("source changed (ETag differs)")
        first, last, total = _content_range(resp.getheader("Content-Range"))
        if total is not None and total != info.size:
            raise Restart(f"source changed (size {info.size} -> {total})")
        if first != start or last != end - 1:
            raise Transient(f"server sent bytes {first}-{last}, asked {start}-{end - 1}")
        length = resp.getheader("Content-Length")
        if length is not None and length.strip() != str(end - start):
            raise Transient(f"Content-Length {length} disagrees with Content-Range")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def abort(self) -> None:
        """Unblock a recv from another thread: shut the socket down."""
        conn = self.conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _kind(err: BaseException) -> str:
    return "stall" if isinstance(err, (socket.timeout, TimeoutError)) else "error"


def hf_to_https(source: str) -> str:
    """hf://OWNER/REPO[@REV]/PATH -> <endpoint>/OWNER/REPO/resolve/REV/PATH."""
    rest = source[len("hf://") :]
    parts = rest.split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise SourceError(f"hf:// source needs OWNER/REPO/PATH: {source}")
    owner, repo, path = parts
    repo, _, revision = repo.partition("@")
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{owner}/{repo}/resolve/{revision or 'main'}/{path}"


def open_source(source: str, timeout: float) -> Source:
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if source.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return FileSource(unquote(urlsplit(source).path))
    if source.startswith("hf://"):
        return HttpSource(hf_to_https(source), token, timeout)
    if source.startswith(("http://", "https://")):
        return HttpSource(source, token, timeout)
    raise SourceError(f"unsupported source {source!r} (http, https, file or hf)")


# ---------------------------------------------------------------------------
# Progress and results


class Reporter:
    """stderr: JSON lines with --json, a redrawn line on a TTY, else a line every 10 s."""

    def __init__(self, as_json: bool, stream: IO[str] | None = None) -> None:
        self.as_json = as_json
        self.stream = stream or sys.stderr
        self.tty = not as_json and self.stream.isatty()
        self.last = 0.0
        self.lock = threading.Lock()

    def event(self, kind: str, message: str, **fields: Any) -> None:
        with self.lock:
            if self.as_json:
                self._write(json.dumps({"event": kind, "message": message, **fields}) + "\n")
            else:
                self._write(("\n" if self.tty else "") + f"fetcher: {message}\n")

    def progress(self, done: int, total: int | None, rate: float, connections: int) -> None:
        now = time.monotonic()
        every = 0.5 if (self.as_json or self.tty) else 10.0
        if now - self.last < every:
            return
        self.last = now
        with self.lock:
            if self.as_json:
                line = {
                    "event": "progress",
                    "bytes": done,
                    "total": total,
                    "rate": round(rate),
                    "connections": connections,
                }
                self._write(json.dumps(line) + "\n")
                return
            pct = f"{100 * done / total:5.1f}%" if total else "   ?  "
            text = (
                f"{pct} {done / MiB:,.0f}/{(total or 0) / MiB:,.0f} MiB "
                f"{rate / MiB:,.1f} MiB/s {connections} conn"
            )
            self._write(f"\r{text:<60}" if self.tty else f"fetcher: {text}\n")

    def done(self) -> None:
        if self.tty:
            with self.lock:
                self._write("\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def emit_result(result: dict[str, Any]) -> None:
    line = json.dumps(result, sort_keys=True)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    path = os.environ.get("LLMKUBE_TERMINATION_LOG", TERMINATION_LOG)
    if os.path.exists(path):
        try:
            with open(path, "w") as f:
                f.write(line[:4000] + "\n")
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Partial downloads: one directory per process, claimed by rename


@dataclass
class PartState:
    source: str
    size: int
    etag: str | None
    last_modified: str | None
    chunk_size: int
    done: list[int]
    owner: dict[str, Any]
    sha256: str | None = None  # set once verified, just before publishing
    version: int = 1

    def matches(self, source: str, info: RemoteInfo, expected: str | None) -> bool:
        if self.source != source or self.size != info.size:
            return False
        if self.etag and info.etag:
            return self.etag == info.etag
        if self.last_modified and info.last_modified:
            return self.last_modified == info.last_modified
        # Without validators two versions could mix; only a sha256 makes that safe.
        return expected is not None

    def chunk_count(self) -> int:
        return max(1, -(-self.size // self.chunk_size)) if self.size else 0


@dataclass
class Partial:
    path: str
    state: PartState

    @property
    def data(self) -> str:
        return os.path.join(self.path, DATA_FILE)

    def save(self) -> None:
        raw = json.dumps(asdict(self.state)).encode()
        raw += b" " * (-len(raw) % STATE_PAD)
        target = os.path.join(self.path, STATE_FILE)
        try:
            write_atomic(target, raw, durable=False)
        except OSError as err:
            if not _no_space(err):
                raise
            # A full disk: overwrite in place, which needs no new blocks (padded).
            with open(target, "r+b") as f:
                f.write(raw)

    @classmethod
    def load(cls, path: str) -> Partial | None:
        data = read_json(os.path.join(path, STATE_FILE))
        if data is None:
            return None
        try:
            state = PartState(
                source=str(data["source"]),
                size=int(data["size"]),
                etag=data.get("etag"),
                last_modified=data.get("last_modified"),
                chunk_size=int(data["chunk_size"]),
                done=[int(x) for x in data["done"]],
                owner=dict(data.get("owner") or {}),
                sha256=data.get("sha256"),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if state.chunk_size <= 0 or len(state.done) != state.chunk_count():
            return None
        return cls(path, state)

    def bytes_done(self) -> int:
        return sum(self.state.done)


def list_partials(entry: str) -> list[str]:
    try:
        names = os.listdir(entry)
    except OSError:
        return []
    return sorted(os.path.join(entry, n) for n in names if n.startswith(PARTIAL_PREFIX))


def partial_is_orphan(path: str, me: Identity, timeout: float) -> bool:
    """Nobody works on it: its owner is gone, or it has been still for `timeout`."""
    data = read_json(os.path.join(path, STATE_FILE))
    owner = Identity.from_dict(data.get("owner")) if data else None
    if owner is not None:
        if owner.token == me.token:
            return False
        alive = owner.alive_here(me)
        if alive is not None:
            return not alive
    try:
        newest = max(os.stat(os.path.join(path, n)).st_mtime for n in os.listdir(path) or ["."])
    except OSError:
        return True
    return time.time() - newest > timeout


def remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Adaptive connection count


class Adapter:
    """Start small, double while throughput grows, back off on throttling and errors."""

    def __init__(self, fixed: int | None, maximum: int, window: float = 0.5) -> None:
        self.fixed = fixed
        self.maximum = max(1, fixed or maximum)
        self.target = fixed or min(START_CONNECTIONS, self.maximum)
        self.ceiling = self.maximum
        self.window = window
        self.best = 0.0
        self.flat = 0
        self.mark_time = time.monotonic()
        self.mark_bytes = 0
        self.quiet_until = 0.0
        self.peak = self.target
        self.rate = 0.0

    def tick(self, received: int, active: int) -> None:
        now = time.monotonic()
        if now - self.mark_time < self.window:
            return
        rate = (received - self.mark_bytes) / (now - self.mark_time)
        self.mark_time, self.mark_bytes = now, received
        self.rate = rate
        if self.fixed or now < self.quiet_until or active < self.target:
            return
        if rate > self.best * 1.15:
            self.best = rate
            self.flat = 0
            if self.target < self.ceiling:
                self.target = min(self.ceiling, self.target * 2)
        else:
            self.flat += 1
            self.best = max(self.best, rate)
        self.peak = max(self.peak, self.target)

    def on_failure(self, kind: str) -> None:
        if self.fixed:
            return
        now = time.monotonic()
        if kind == "throttle":
            self.target = max(1, self.target // 2)
            self.ceiling = max(1, self.target)
            self.quiet_until = now + 10 * self.window
        elif kind != "resolve":
            self.target = max(1, self.target - 1)
            self.quiet_until = now + 2 * self.window


# ---------------------------------------------------------------------------
# The parallel download engine


@dataclass
class Chunk:
    start: int
    end: int
    done: int = 0
    busy: bool = False

    @property
    def complete(self) -> bool:
        return self.start + self.done >= self.end


@dataclass
class Options:
    root: str
    source: str
    sha256: str | None = None
    connections: int | None = None
    max_connections: int = MAX_CONNECTIONS
    verify: bool = False
    json: bool = False
    retries: int = 10
    retry_base: float = 1.0
    stall_timeout: float = 30.0
    lease_timeout: float = 30.0
    chunk_size: int | None = None
    space_check: bool = True


@dataclass
class Counters:
    received: int = 0
    resumed: int = 0
    restarts: int = 0
    peak_connections: int = 0


class Engine:
    """Chunked Range download into one file with a trailing in-order hasher."""

    def __init__(
        self,
        source: Source,
        info: RemoteInfo,
        partial: Partial,
        opts: Options,
        reporter: Reporter,
        lease: Lease,
        counters: Counters,
    ) -> None:
        self.source, self.info, self.partial = source, info, partial
        self.opts, self.reporter, self.lease, self.counters = opts, reporter, lease, counters
        size = partial.state.size
        cs = partial.state.chunk_size
        self.size = size
        self.chunks = [
            Chunk(i * cs, min((i + 1) * cs, size), done)
            for i, done in enumerate(partial.state.done)
        ]
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.active = 0
        self.channels: list[Channel] = []
        self.threads: list[threading.Thread] = []
        self.frontier_index = 0
        self.hashed = 0
        self.digest = hashlib.sha256()
        limit = min(source.max_connections, opts.max_connections)
        fixed = min(opts.connections, limit) if opts.connections else None
        self.adapter = Adapter(fixed, limit)
        self.fd = -1
        self.rfd = -1
        self.not_before = 0.0  # a Retry-After pauses every connection, not just one

    # -- lifecycle

    def run(self) -> str:
        try:
            self.fd = os.open(self.partial.data, os.O_RDWR)
            self.rfd = os.open(self.partial.data, os.O_RDONLY)
        except OSError as err:
            raise local_error(err, "opening the partial download", self.partial.path) from err
        hasher = threading.Thread(target=self._hash_loop, name="hasher", daemon=True)
        hasher.start()
        try:
            self._control()
        finally:
            self._shutdown()
            hasher.join(timeout=5)
            self._checkpoint()
        if self.hashed != self.size:
            raise IntegrityError(f"hashed {self.hashed} of {self.size} bytes")
        return self.digest.hexdigest()

    def close(self) -> None:
        for fd in (self.fd, self.rfd):
            if fd >= 0:
                os.close(fd)
        self.fd = self.rfd = -1

    def _control(self) -> None:
        last_checkpoint = time.monotonic()
        last_progress = (time.monotonic(), -1)
        while True:
            with self.cond:
                if self.error is None and not self._finished():
                    self.cond.wait(0.1)
                if self.error is not None:
                    raise self.error
                if self._finished():
                    return
                received = self.counters.received
                unassigned = any(not c.busy and not c.complete for c in self.chunks)
            if self.lease.lost.is_set():
                raise LeaseLost()
            self.adapter.tick(received, self.active)
            if unassigned:
                self._spawn()
            now = time.monotonic()
            if now - last_checkpoint >= CHECKPOINT_EVERY:
                self._checkpoint()
                last_checkpoint = now
            if received != last_progress[1]:
                last_progress = (now, received)
            elif now - last_progress[0] > 3 * self.opts.stall_timeout + 10:
                raise NetworkError("download stalled: no byte arrived for too long")
            total_done = self.counters.resumed + received
            self.reporter.progress(total_done, self.size, self.adapter.rate, self.active)

    def _finished(self) -> bool:
        return self.hashed >= self.size and all(c.complete for c in self.chunks)

    def _spawn(self) -> None:
        with self.cond:
            missing = self.adapter.target - self.active
            if self.stop.is_set() or missing <= 0:
                return
            self.active += missing
            self.counters.peak_connections = max(self.counters.peak_connections, self.active)
        for _ in range(missing):
            thread = threading.Thread(target=self._worker, name="worker", daemon=True)
            self.threads.append(thread)
            thread.start()

    def _shutdown(self) -> None:
        self.stop.set()
        with self.cond:
            self.cond.notify_all()
        for channel in list(self.channels):
            if isinstance(channel, HttpChannel):
                channel.abort()
        for thread in self.threads:
            thread.join(timeout=5)

    def _fail(self, err: BaseException) -> None:
        with self.cond:
            if self.error is None:
                self.error = err
            self.stop.set()
            self.cond.notify_all()

    # -- workers

    def _take(self) -> Chunk | None:
        with self.cond:
            while True:
                if self.stop.is_set() or self.active > self.adapter.target:
                    return None
                chunk = next(
                    (
                        c
                        for c in self.chunks[self.frontier_index :]
                        if not c.busy and not c.complete
                    ),
                    None,
                )
                if chunk is None:
                    return None
                pause = self.not_before - time.monotonic()
                if pause > 0:
                    self.cond.wait(pause)
                    continue
                # Writers far ahead of the hasher only steal its CPU (sha256 is
                # the bottleneck on a fast link): wait for it to catch up. The
                # lead grows with the chunks in flight so big chunks keep parallel.
                lead = HASH_LEAD + self.partial.state.chunk_size * self.adapter.target
                if chunk.start <= self.hashed + lead:
                    chunk.busy = True
                    return chunk
                self.cond.wait(0.5)

    def _release(self, chunk: Chunk) -> None:
        with self.cond:
            chunk.busy = False

    def _worker(self) -> None:
        channel: Channel | None = None
        failures = 0
        buf = bytearray(READ_BLOCK)
        try:
            channel = self.source.channel()
            self.channels.append(channel)
            while True:
                chunk = self._take()
                if chunk is None:
                    return
                try:
                    self._fetch(channel, chunk, memoryview(buf))
                    failures = 0
                except Transient as err:
                    failures += 1
                    self._release(chunk)
                    if not self._after_failure(err, failures):
                        return
                finally:
                    self._release(chunk)
        except (Restart, FetchError) as err:
            self._fail(err)
        except OSError as err:
            self._fail(local_error(err, "writing the download", self.partial.path))
        except BaseException as err:
            self._fail(err)
        finally:
            with self.cond:
                self.active -= 1
                self.cond.notify_all()
            if channel is not None:
                channel.close()

    def _after_failure(self, err: Transient, failures: int) -> bool:
        """Back off before the next try; False when this worker should stop."""
        if self.stop.is_set():
            return False
        if failures > self.opts.retries:
            self._fail(NetworkError(f"giving up after {failures - 1} retries: {err}"))
            return False
        delay = min(60.0, self.opts.retry_base * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
        if err.retry_after is not None:
            delay = max(delay, min(err.retry_after, 600.0))
            with self.cond:
                self.not_before = max(self.not_before, time.monotonic() + delay)
        kind = err.kind
        if kind == "resolve":
            if failures == 1:
                delay = 0.0  # a fresh redirect usually fixes it at once
            else:
                kind = "throttle"  # the new URL refuses too: fewer connections
            try:
                self.source.re_resolve(self.info)
            except Transient as again:
                self.reporter.event("retry", f"re-resolving failed: {again}")
        self.adapter.on_failure(kind)
        self.reporter.event(
            "retry", f"{err}; retrying in {delay:.1f}s", delay=round(delay, 2), attempt=failures
        )
        return not self.stop.wait(delay)

    def _fetch(self, channel: Channel, chunk: Chunk, view: memoryview) -> None:
        pos = chunk.start + chunk.done
        body = channel.open_range(pos, chunk.end, self.info)
        try:
            while pos < chunk.end:
                if self.stop.is_set():
                    raise Transient("stopping")
                n = body.readinto(view[: min(len(view), chunk.end - pos)])
                if n <= 0:
                    raise Transient(f"body ended early at byte {pos} of {chunk.end}")
                _write_all(self.fd, view[:n], pos)
                pos += n
                with self.cond:
                    chunk.done += n
                    self.counters.received += n
                    self.cond.notify_all()
        except BaseException:
            body.close()
            channel.close()
            raise
        body.close()

    # -- hashing and state

    def _frontier(self) -> int:
        while self.frontier_index < len(self.chunks) and self.chunks[self.frontier_index].complete:
            self.frontier_index += 1
        if self.frontier_index >= len(self.chunks):
            return self.size
        chunk = self.chunks[self.frontier_index]
        return chunk.start + chunk.done

    def _next_frontier(self) -> int | None:
        """Wait until there is more written prefix to hash; None when done or stopped."""
        with self.cond:
            while True:
                frontier = self._frontier()
                if frontier > self.hashed:
                    return frontier
                if self.hashed >= self.size or self.stop.is_set():
                    return None
                self.cond.wait(0.5)

    def _hash_loop(self) -> None:
        try:
            self._hash_mapped()
        except (OSError, ValueError, ImportError):
            # No mmap here (some FUSE mounts): read back into a buffer instead.
            try:
                self._hash_read()
            except OSError as err:
                self._fail(local_error(err, "reading back for the hash", self.partial.path))

    def _hash_mapped(self) -> None:
        """Hash straight from the page cache: no copy on the critical path."""
        import mmap

        granularity = mmap.ALLOCATIONGRANULARITY
        while True:
            frontier = self._next_frontier()
            if frontier is None:
                return
            base = self.hashed - self.hashed % granularity
            length = min(HASH_WINDOW, self.size - base)
            with mmap.mmap(self.rfd, length, offset=base, access=mmap.ACCESS_READ) as window:
                view = memoryview(window)
                try:
                    while frontier is not None and self.hashed < base + length:
                        stop = min(frontier, base + length, self.hashed + HASH_BLOCK)
                        self.digest.update(view[self.hashed - base : stop - base])
                        self._hashed_to(stop)
                        if self.hashed >= frontier and self.hashed < base + length:
                            frontier = self._next_frontier()
                finally:
                    view.release()

    def _hash_read(self) -> None:
        buf = bytearray(HASH_BLOCK)
        view = memoryview(buf)
        while True:
            frontier = self._next_frontier()
            if frontier is None:
                return
            while self.hashed < frontier:
                want = min(HASH_BLOCK, frontier - self.hashed)
                n = os.preadv(self.rfd, [view[:want]], self.hashed)
                if n <= 0:
                    raise OSError(errno.EIO, "short read while hashing")
                self.digest.update(view[:n])
                self._hashed_to(self.hashed + n)

    def _hashed_to(self, offset: int) -> None:
        with self.cond:
            self.hashed = offset
            self.cond.notify_all()

    def _checkpoint(self) -> None:
        """Persist per-chunk progress; only what the disk holds is ever claimed."""
        with self.cond:
            done = [c.done for c in self.chunks]
        if self.fd < 0:
            return
        try:
            os.fdatasync(self.fd)
            self.partial.state.done = done
            self.partial.save()
        except OSError:
            pass  # the previous state stays valid: it claims less


# ---------------------------------------------------------------------------
# The fetch command


class Fetcher:
    def __init__(self, opts: Options, reporter: Reporter) -> None:
        self.opts = opts
        self.reporter = reporter
        self.key = cache_key(opts.source)
        self.entry = os.path.join(opts.root, self.key)
        self.final = os.path.join(self.entry, MODEL_FILE)
        self.me = Identity.current()
        self.expected = opts.sha256.lower() if opts.sha256 else None
        self.counters = Counters()
        self.started = time.monotonic()

    # -- results

    def result(
        self, kind: str, path: str, size: int, sha: str | None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "result": kind,
            "key": self.key,
            "source": self.opts.source,
            "path": path,
            "size": size,
            "sha256": sha,
            "bytes_downloaded": self.counters.received,
            "seconds": round(time.monotonic() - self.started, 3),
            **extra,
        }

    def hit_result(self, meta: Metadata, **extra: Any) -> dict[str, Any]:
        return self.result(
            "hit", os.path.join(self.entry, meta.file), meta.size, meta.sha256, **extra
        )

    # -- the flow

    def run(self) -> dict[str, Any]:
        try:
            os.makedirs(self.entry, exist_ok=True)
        except OSError as err:
            raise local_error(err, "creating the entry directory", self.entry) from err
        hit = self.check_hit()
        if hit is not None:
            return hit
        lease = Lease(self.entry, self.me, self.opts.lease_timeout)
        waited = False
        while True:
            if lease.try_acquire() or self._take_over_if_stale(lease):
                try:
                    return self.as_holder(lease)
                except LeaseLost:
                    self.reporter.event("restart", "lost the lease to another process; waiting")
                finally:
                    lease.release()
            if not waited:
                self.reporter.event("waiting", "another process downloads this model; waiting")
                waited = True
            time.sleep(0.25)
            hit = self.check_hit()
            if hit is not None:
                return hit
            self._report_holder_progress(lease)

    def _take_over_if_stale(self, lease: Lease) -> bool:
        view = lease.read()
        if view is None:
            return False
        if lease.is_stale(view):
            return lease.take_over(view)
        return False

    def _report_holder_progress(self, lease: Lease) -> None:
        view = lease.read()
        if view is None or view.holder is None:
            return
        part = Partial.load(os.path.join(self.entry, PARTIAL_PREFIX + view.holder.token))
        if part is not None:
            self.reporter.progress(part.bytes_done(), part.state.size, 0.0, 0)

    def check_hit(self) -> dict[str, Any] | None:
        """The fast path: metadata and a stat, never a read of the model."""
        meta = Metadata.load(self.entry)
        if not entry_is_complete(self.entry, meta):
            return None
        assert meta is not None
        if self.expected and meta.sha256 and meta.sha256 != self.expected:
            raise IntegrityError(
                f"cached entry {self.key} holds sha256 {meta.sha256}, expected "
                f"{self.expected}; remove it to fetch again"
            )
        if self.opts.verify or (self.expected and not meta.sha256):
            return self.verify_hit(meta)
        meta.last_used = utc_now()
        with contextlib.suppress(OSError):  # a read-only mount still serves hits
            meta.save(self.entry, durable=False)
        return self.hit_result(meta)

    def verify_hit(self, meta: Metadata) -> dict[str, Any] | None:
        path = os.path.join(self.entry, meta.file)
        actual = hash_file(path)
        reference = self.expected or meta.sha256
        if reference is None or actual == reference:
            meta.sha256, meta.verified_at, meta.last_used = actual, utc_now(), utc_now()
            with contextlib.suppress(OSError):
                meta.save(self.entry)
            return self.hit_result(meta, verified=True)
        self.reporter.event("restart", f"cached file is corrupt (sha256 {actual}); fetching again")
        # File first, then metadata: a crash in between leaves "metadata, no file",
        # which is corrupt, never a file that adoption could take for good.
        _unlink_quietly(path)
        _unlink_quietly(os.path.join(self.entry, METADATA_FILE))
        return None

    # -- holding the lease

    def as_holder(self, lease: Lease) -> dict[str, Any]:
        hit = self.check_hit()
        if hit is not None:
            return hit
        if Metadata.load(self.entry) is None:
            adopted = self.finish_interrupted_publish() or self.adopt()
            if adopted is not None:
                return adopted
        return self.download(lease)

    def finish_interrupted_publish(self) -> dict[str, Any] | None:
        """A crash between link and metadata: the verified partial is the published inode."""
        try:
            final = os.stat(self.final)
        except OSError:
            return None
        for path in list_partials(self.entry):
            part = Partial.load(path)
            if part is None or not part.state.sha256 or part.state.source != self.opts.source:
                continue
            try:
                data = os.stat(part.data)
            except OSError:
                continue
            if (data.st_ino, data.st_dev) == (final.st_ino, final.st_dev):
                if self.expected and part.state.sha256 != self.expected:
                    continue
                meta = self._metadata(MODEL_FILE, part.state.size, part.state.sha256, part.state)
                self._write_metadata(meta)
                remove_tree(path)
                return self.hit_result(meta)
        return None

    def adopt(self) -> dict[str, Any] | None:
        """Take over a directory LLMKube filled (see the module docstring for the rule)."""
        names = gguf_candidates(self.entry)
        if len(names) != 1:
            return None
        name = names[0]
        path = os.path.join(self.entry, name)
        size = os.path.getsize(path)
        sha: str | None = None
        if self.expected:
            sha = hash_file(path)
            ok = sha == self.expected
            why = "sha256 matches" if ok else f"sha256 {sha} differs from the expected one"
        else:
            ok, why = self._plausible(path, size)
        if not ok:
            self.reporter.event("restart", f"not adopting {name}: {why}")
            return None
        meta = self._metadata(name, size, sha, None, adopted=True)
        self._write_metadata(meta)
        self.reporter.event("adopted", f"adopted {name} ({why})", file=name, size=size)
        return self.hit_result(meta, adopted=True)

    def _plausible(self, path: str, size: int) -> tuple[bool, str]:
        declared = gguf_min_size(path)
        if declared is not None and size < declared:
            return False, f"truncated: {size} bytes, its GGUF header declares {declared}"
        origin: int | None = None
        try:
            source = open_source(self.opts.source, min(10.0, self.opts.stall_timeout))
            info, body = source.probe()
            if body is not None:
                body.close()
            origin = info.size
        except (FetchError, Transient, OSError):
            origin = None
        if origin is not None:
            if origin == size:
                return True, "size equals the origin's"
            return False, f"size {size} differs from the origin's {origin}"
        if declared is not None:
            return True, "origin unreachable; GGUF header consistent with the size"
        return False, "origin unreachable and not a readable GGUF file"

    def _metadata(
        self,
        name: str,
        size: int,
        sha: str | None,
        state: PartState | None,
        adopted: bool = False,
    ) -> Metadata:
        now = utc_now()
        return Metadata(
            source=self.opts.source,
            file=name,
            size=size,
            sha256=sha,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
            fetched_at=now,
            last_used=now,
            adopted=adopted,
            verified_at=now if sha else None,
        )

    def _write_metadata(self, meta: Metadata) -> None:
        try:
            meta.save(self.entry)
        except OSError as err:
            raise local_error(err, "writing the metadata", self.entry) from err

    # -- the miss path

    def download(self, lease: Lease) -> dict[str, Any]:
        single = False
        while True:
            source = open_source(self.opts.source, self.opts.stall_timeout)
            try:
                return self._attempt(source, lease, single)
            except Restart as err:
                self.counters.restarts += 1
                if self.counters.restarts > MAX_RESTARTS:
                    raise NetworkError(
                        f"giving up: {err} (restarted {MAX_RESTARTS} times)"
                    ) from err
                single = single or err.single_stream
                self.reporter.event("restart", f"{err}; starting over")

    def _probe(self, source: Source) -> tuple[RemoteInfo, Body | None]:
        failures = 0
        while True:
            try:
                return source.probe()
            except Transient as err:
                failures += 1
                if failures > self.opts.retries:
                    raise NetworkError(f"giving up after {failures - 1} retries: {err}") from err
                delay = min(60.0, self.opts.retry_base * 2 ** (failures - 1))
                delay *= random.uniform(0.5, 1.0)
                if err.retry_after is not None:
                    delay = max(delay, min(err.retry_after, 600.0))
                self.reporter.event("retry", f"{err}; retrying in {delay:.1f}s", delay=delay)
                time.sleep(delay)

    def _attempt(self, source: Source, lease: Lease, single: bool) -> dict[str, Any]:
        info, body = self._probe(source)
        if single and body is None and isinstance(source, HttpSource):
            body = self._open_full(source)
        if body is not None:
            return self._single_stream(info, body, lease)
        assert info.size is not None
        partial = self._partial_for(info)
        self._check_space(info.size - partial.bytes_done())
        self.counters.resumed = partial.bytes_done()
        if self.counters.resumed:
            self.reporter.event("resume", f"resuming at {self.counters.resumed} bytes")
        engine = Engine(source, info, partial, self.opts, self.reporter, lease, self.counters)
        try:
            sha = engine.run()
        except Restart:
            engine.close()
            remove_tree(partial.path)
            raise
        except BaseException:
            engine.close()
            raise
        try:
            return self._finish(partial, engine.fd, sha, info)
        finally:
            engine.close()

    def _open_full(self, source: HttpSource) -> Body:
        _, resp = source.request({})
        if resp.status != 200:
            err = _status_error(resp.status, resp.reason, resp.getheader("Retry-After"), "GET")
            resp.close()
            if isinstance(err, Transient):
                raise NetworkError(str(err))
            raise err
        return HttpBody(resp)

    def _check_space(self, needed: int) -> None:
        if not self.opts.space_check or needed <= 0:
            return
        try:
            st = os.statvfs(self.entry)
        except OSError:
            return
        if st.f_blocks == 0:
            return  # some network filesystems report nothing useful
        free = st.f_bavail * st.f_frsize
        if free < needed:
            raise NoSpaceError(
                f"not enough space on the cache volume for {self.key}: needs "
                f"{needed} more bytes, {free} free; the partial download is kept "
                "and resumes once space is freed"
            )

    def _partial_for(self, info: RemoteInfo) -> Partial:
        """Our own partial, else the best orphan that matches (claimed), else a new one."""
        assert info.size is not None
        mine = os.path.join(self.entry, PARTIAL_PREFIX + self.me.token)
        usable: list[Partial] = []
        for path in list_partials(self.entry):
            if path != mine and not partial_is_orphan(path, self.me, self.opts.lease_timeout):
                continue  # somebody's live download: never touch it
            part = Partial.load(path)
            if (
                part
                and part.state.matches(self.opts.source, info, self.expected)
                and self._data_ok(part)
            ):
                usable.append(part)
                continue
            remove_tree(path)
        usable.sort(key=lambda p: p.bytes_done(), reverse=True)
        for extra in usable[1:]:
            remove_tree(extra.path)
        if usable:
            best = usable[0]
            try:
                if best.path != mine:
                    os.rename(best.path, mine)  # atomic: exactly one claimer wins
                best.path = mine
                best.state.owner = asdict(self.me)
                best.state.sha256 = None
                self._save_state(best)
                return best
            except OSError:
                pass
        return self._new_partial(mine, info)

    @staticmethod
    def _data_ok(part: Partial) -> bool:
        try:
            return os.path.getsize(part.data) == part.state.size
        except OSError:
            return False

    def _new_partial(self, path: str, info: RemoteInfo) -> Partial:
        assert info.size is not None
        chunk = self.opts.chunk_size or min(32 * MiB, max(MiB, info.size // 256))
        count = max(1, -(-info.size // chunk)) if info.size else 0
        state = PartState(
            source=self.opts.source,
            size=info.size,
            etag=info.etag,
            last_modified=info.last_modified,
            chunk_size=chunk,
            done=[0] * count,
            owner=asdict(self.me),
        )
        part = Partial(path, state)
        try:
            os.makedirs(path, exist_ok=True)
            fd = os.open(part.data, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.ftruncate(fd, info.size)  # sparse; the space check came before
            finally:
                os.close(fd)
        except OSError as err:
            raise local_error(err, "creating the partial download", path) from err
        self._save_state(part)
        return part

    def _save_state(self, part: Partial) -> None:
        try:
            part.save()
        except OSError as err:
            raise local_error(err, "saving the download state", part.path) from err

    def _single_stream(self, info: RemoteInfo, body: Body, lease: Lease) -> dict[str, Any]:
        """No Range support: one stream from byte 0; a retry truncates, never appends."""
        mine = os.path.join(self.entry, PARTIAL_PREFIX + self.me.token)
        for path in list_partials(self.entry):
            if path == mine or partial_is_orphan(path, self.me, self.opts.lease_timeout):
                remove_tree(path)
        if info.size is not None:
            try:
                self._check_space(info.size)
            except NoSpaceError:
                body.close()
                raise
        part = Partial(
            mine,
            PartState(
                source=self.opts.source,
                size=info.size or 0,
                etag=info.etag,
                last_modified=info.last_modified,
                chunk_size=max(1, info.size or 1),
                done=[0],
                owner=asdict(self.me),
            ),
        )
        try:
            os.makedirs(mine, exist_ok=True)
            fd = os.open(part.data, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise local_error(err, "creating the partial download", mine) from err
        try:
            sha, size = self._stream_into(fd, body, info, lease)
            part.state.size = size
            part.state.chunk_size = max(1, size)
            part.state.done = [size]
            return self._finish(
                part, fd, sha, RemoteInfo(size, info.etag, info.last_modified, False)
            )
        finally:
            os.close(fd)

    def _stream_into(self, fd: int, body: Body, info: RemoteInfo, lease: Lease) -> tuple[str, int]:
        failures = 0
        buf = bytearray(READ_BLOCK)
        view = memoryview(buf)
        while True:
            digest = hashlib.sha256()
            pos = 0
            try:
                while True:
                    if lease.lost.is_set():
                        raise LeaseLost()
                    try:
                        n = body.readinto(view)
                    except (OSError, ValueError) as err:
                        raise Transient(f"connection lost: {err}", kind=_kind(err)) from err
                    if n <= 0:
                        break
                    _write_all(fd, view[:n], pos)
                    digest.update(view[:n])
                    pos += n
                    self.counters.received += n
                    self.reporter.progress(pos, info.size, 0.0, 1)
                if info.size is not None and pos != info.size:
                    raise Transient(f"body ended early at byte {pos} of {info.size}")
                return digest.hexdigest(), pos
            except Transient as err:
                body.close()
                failures += 1
                if failures > self.opts.retries:
                    raise NetworkError(f"giving up after {failures - 1} retries: {err}") from err
                delay = min(60.0, self.opts.retry_base * 2 ** (failures - 1))
                delay = max(delay * random.uniform(0.5, 1.0), err.retry_after or 0.0)
                self.reporter.event("retry", f"{err}; restarting from byte 0 in {delay:.1f}s")
                time.sleep(delay)
                os.ftruncate(fd, 0)
                source = open_source(self.opts.source, self.opts.stall_timeout)
                if not isinstance(source, HttpSource):
                    raise NetworkError(str(err)) from err
                body = self._open_full(source)
            except OSError as err:
                raise local_error(err, "writing the download", self.entry) from err

    # -- verify and publish

    def _finish(self, part: Partial, fd: int, sha: str, info: RemoteInfo) -> dict[str, Any]:
        size = part.state.size
        try:
            actual = os.fstat(fd).st_size
        except OSError as err:
            raise local_error(err, "checking the download", part.path) from err
        if actual != size or (info.size is not None and size != info.size):
            remove_tree(part.path)
            raise IntegrityError(f"downloaded {actual} bytes, the source announced {info.size}")
        if self.expected and sha != self.expected:
            remove_tree(part.path)
            raise IntegrityError(
                f"sha256 mismatch: got {sha}, expected {self.expected}; nothing was published"
            )
        try:
            os.fsync(fd)
            part.state.sha256 = sha
            part.save()
            fsync_dir(part.path)
            path = self._publish(part, sha)
        except OSError as err:
            raise local_error(err, "publishing", self.entry) from err
        meta = self._metadata(os.path.basename(path), size, sha, part.state)
        self._write_metadata(meta)
        remove_tree(part.path)
        self.reporter.done()
        return self.result(
            "miss",
            path,
            size,
            sha,
            resumed_bytes=self.counters.resumed,
            connections=self.counters.peak_connections,
        )

    def _publish(self, part: Partial, sha: str) -> str:
        """link() never replaces; an existing file stays unless it is wrong."""
        try:
            os.link(part.data, self.final)
            fsync_dir(self.entry)
            return self.final
        except FileExistsError:
            pass
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            if not os.path.exists(self.final):  # no hard links here: rename
                os.rename(part.data, self.final)
                fsync_dir(self.entry)
                return self.final
        if self._existing_is_good(part.state.size, sha):
            return self.final
        os.rename(part.data, self.final)
        fsync_dir(self.entry)
        return self.final

    def _existing_is_good(self, size: int, sha: str) -> bool:
        meta = Metadata.load(self.entry)
        if meta is not None and meta.file == MODEL_FILE and entry_is_complete(self.entry, meta):
            if meta.sha256 in (None, sha):
                return True
            raise IntegrityError(
                f"entry {self.key} already holds a complete file with sha256 "
                f"{meta.sha256}; ours is {sha}; remove it to replace it"
            )
        try:
            if os.path.getsize(self.final) != size:
                return False
        except OSError:
            return False
        return hash_file(self.final) == sha  # rare: a same-size file without metadata


# ---------------------------------------------------------------------------
# scan, remove, verify


def describe_entry(root: str, name: str, me: Identity, lease_timeout: float) -> dict[str, Any]:
    entry = os.path.join(root, name)
    meta = Metadata.load(entry)
    live, lease = lease_is_live(entry, lease_timeout, me)
    on_disk = 0
    for dirpath, _, files in os.walk(entry):
        for f in files:
            with contextlib.suppress(OSError):
                on_disk += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
    partials = [p for p in (Partial.load(path) for path in list_partials(entry)) if p]
    out: dict[str, Any] = {
        "key": name,
        "is_key": is_cache_key(name),
        "path": entry,
        "bytes_on_disk": on_disk,
        "metadata": asdict(meta) if meta else None,
        "lease": lease if live else None,
        "partial": [{"bytes": p.bytes_done(), "size": p.state.size} for p in partials],
        "stale_tmp": [n for n in gguf_candidates_any(entry) if n.endswith(".tmp")],
    }
    if meta is not None:
        good = entry_is_complete(entry, meta)
        out.update(file=meta.file, size=meta.size, state="complete" if good else "corrupt")
    else:
        names = gguf_candidates(entry)
        if len(names) == 1:
            path = os.path.join(entry, names[0])
            size = os.path.getsize(path)
            declared = gguf_min_size(path)
            plausible = declared is not None and size >= declared
            out.update(file=names[0], size=size, state="complete" if plausible else "corrupt")
            out["adoptable"] = plausible
        elif names:
            out.update(file=None, size=None, state="corrupt", reason="several .gguf files")
        else:
            out.update(file=None, size=None, state="partial")
    if live:
        out["state"] = "locked"
    return out


def cmd_scan(root: str, lease_timeout: float) -> tuple[int, dict[str, Any]]:
    me = Identity.current()
    try:
        names = sorted(os.listdir(root))
    except OSError as err:
        raise LocalIOError(f"cannot list {root}: {err.strerror}") from err
    entries = [
        describe_entry(root, n, me, lease_timeout)
        for n in names
        if not n.startswith(".") and os.path.isdir(os.path.join(root, n))
    ]
    return EXIT_OK, {"root": root, "entries": entries}


def _entry_path(root: str, key: str) -> str:
    if not key or key.startswith(".") or "/" in key:
        raise SourceError(f"not a cache key: {key!r}")
    entry = os.path.join(root, key)
    if not os.path.isdir(entry):
        raise SourceError(f"no entry {key} under {root}")
    return entry


def cmd_remove(
    root: str, key: str, force: bool, lease_timeout: float
) -> tuple[int, dict[str, Any]]:
    entry = _entry_path(root, key)
    live, lease = lease_is_live(entry, lease_timeout, Identity.current())
    if live and not force:
        raise LockedError(f"{key} is being fetched right now ({lease}); use --force to remove")
    before = describe_entry(root, key, Identity.current(), lease_timeout)["bytes_on_disk"]
    # Rename first: the entry vanishes at once, and a crash leaves only trash.
    trash = os.path.join(root, f".removing-{key}-{random.getrandbits(32):08x}")
    try:
        os.rename(entry, trash)
    except OSError as err:
        raise local_error(err, "removing", entry) from err
    fsync_dir(root)
    remove_tree(trash)
    return EXIT_OK, {"removed": key, "bytes_freed": before, "forced": bool(live)}


def cmd_verify(root: str, key: str) -> tuple[int, dict[str, Any]]:
    entry = _entry_path(root, key)
    meta = Metadata.load(entry)
    if meta is None:
        names = gguf_candidates(entry)
        if len(names) != 1:
            raise IntegrityError(f"{key} has no metadata and no single .gguf file")
        sha = hash_file(os.path.join(entry, names[0]))
        return EXIT_OK, {"key": key, "ok": None, "sha256": sha, "expected": None, "file": names[0]}
    path = os.path.join(entry, meta.file)
    if not entry_is_complete(entry, meta):
        out = {"key": key, "ok": False, "sha256": None, "expected": meta.sha256, "file": meta.file}
        return EXIT_INTEGRITY, {**out, "error": "file missing or of the wrong size"}
    sha = hash_file(path)
    ok = meta.sha256 is None or sha == meta.sha256
    if ok:
        meta.sha256, meta.verified_at = sha, utc_now()
        with contextlib.suppress(OSError):
            meta.save(entry)
    out = {"key": key, "ok": ok, "sha256": sha, "expected": meta.sha256, "file": meta.file}
    if not ok:
        # The file goes, the metadata stays: the entry now reads as corrupt,
        # no hit path serves it, and the next fetch downloads it again.
        _unlink_quietly(path)
        fsync_dir(entry)
        out["error"] = f"sha256 {sha} is not the recorded {meta.sha256}; the file was removed"
    return (EXIT_OK if ok else EXIT_INTEGRITY), out


# ---------------------------------------------------------------------------
# Command line


def _connections(text: str) -> int | None:
    if text == "auto":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_receive(
    root: str, key: str, size: int, sha256: str, source: str, stream: IO[bytes]
) -> tuple[int, dict[str, Any]]:
    """Publish a model that arrives on `stream` (an import over exec).

    Exactly `size` bytes are read: the sender cannot make us read more, and
    the stream needs no end-of-file signal. The bytes land in a temp file of
    our own, are checked against size and sha256, and are published like a
    download: link (never replace), fsync the directory, metadata last.
    """
    if not is_cache_key(key) or cache_key(source) != key:
        raise IntegrityError(f"{key!r} is not the cache key of {source!r}")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise IntegrityError(f"not a sha256: {sha256!r}")
    entry = os.path.join(root, key)
    os.makedirs(entry, exist_ok=True)
    final = os.path.join(entry, MODEL_FILE)
    if entry_is_complete(entry, Metadata.load(entry)):
        # Still read what was sent: a sender blocked on a full pipe would
        # otherwise wait forever for a reader that is gone.
        left = size
        while left > 0 and (chunk := stream.read(min(1 << 20, left))):
            left -= len(chunk)
        return EXIT_OK, {"result": "exists", "key": key}
    tmp = os.path.join(entry, f".receive-{os.getpid()}-{random.getrandbits(32):08x}")
    digest = hashlib.sha256()
    received = 0
    try:
        with open(tmp, "wb") as out:
            while received < size:
                chunk = stream.read(min(1 << 20, size - received))
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if received != size:
            raise IntegrityError(f"{key}: the stream ended after {received} of {size} bytes")
        if digest.hexdigest() != sha256:
            raise IntegrityError(f"{key}: sha256 {digest.hexdigest()} is not the expected {sha256}")
        try:
            os.link(tmp, final)
        except FileExistsError:
            if not (os.path.getsize(final) == size and hash_file(final) == sha256):
                raise IntegrityError(
                    f"{key}: another file is in the way; remove the entry"
                ) from None
        fsync_dir(entry)
    finally:
        _unlink_quietly(tmp)
    now = utc_now()
    Metadata(source, MODEL_FILE, size, sha256, None, None, now, now, verified_at=now).save(entry)
    return EXIT_OK, {"result": "imported", "key": key, "size": size, "sha256": sha256}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fetcher.py", description="Put a model into the LLMKube model cache."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_root(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--root", default=DEFAULT_MOUNT_PATH, help="cache root (default /models)")
        p.add_argument("--lease-timeout", type=float, default=30.0, help=argparse.SUPPRESS)
        return p

    fetch = with_root(sub.add_parser("fetch", help="fetch a model into the cache"))
    fetch.add_argument("--source", default=os.environ.get("MODEL_SOURCE"))
    fetch.add_argument("--sha256", default=os.environ.get("LLMKUBE_SHA256") or None)
    fetch.add_argument("--connections", type=_connections, default=None, help="N or auto")
    fetch.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS)
    fetch.add_argument("--verify", action="store_true", help="re-hash a cached entry")
    fetch.add_argument("--json", action="store_true", help="JSON progress lines on stderr")
    fetch.add_argument("--retries", type=int, default=10)
    fetch.add_argument("--retry-base", type=float, default=1.0, help="first backoff, seconds")
    fetch.add_argument("--stall-timeout", type=float, default=30.0)
    fetch.add_argument("--chunk-size", type=int, default=None)
    fetch.add_argument("--no-space-check", dest="space_check", action="store_false")

    scan = with_root(sub.add_parser("scan", help="list the entries of a cache root"))
    del scan
    remove = with_root(sub.add_parser("remove", help="remove an entry"))
    remove.add_argument("key")
    remove.add_argument("--force", action="store_true")
    verify = with_root(sub.add_parser("verify", help="re-hash an entry"))
    verify.add_argument("key")
    receive = with_root(sub.add_parser("receive", help="publish a model read from stdin"))
    receive.add_argument("key")
    receive.add_argument("--size", type=int, required=True)
    receive.add_argument("--sha256", required=True)
    receive.add_argument("--source", required=True)
    key = sub.add_parser("key", help="print the cache key of a source")
    key.add_argument("source")
    return parser


def _options(args: argparse.Namespace) -> Options:
    if not args.source:
        raise SourceError("no source: pass --source or set MODEL_SOURCE")
    sha = args.sha256
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha)):
        raise SourceError(f"--sha256 is not a sha256: {sha!r}")
    return Options(
        root=args.root,
        source=args.source,
        sha256=sha,
        connections=args.connections,
        max_connections=args.max_connections,
        verify=args.verify,
        json=args.json,
        retries=args.retries,
        retry_base=args.retry_base,
        stall_timeout=args.stall_timeout,
        lease_timeout=args.lease_timeout,
        chunk_size=args.chunk_size,
        space_check=args.space_check,
    )


def _on_signal(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _print(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    sys.stdout.flush()


def run_command(args: argparse.Namespace) -> int:
    if args.command == "key":
        _print({"key": cache_key(args.source), "source": args.source})
        return EXIT_OK
    if args.command == "scan":
        code, doc = cmd_scan(args.root, args.lease_timeout)
    elif args.command == "remove":
        code, doc = cmd_remove(args.root, args.key, args.force, args.lease_timeout)
    elif args.command == "verify":
        code, doc = cmd_verify(args.root, args.key)
    elif args.command == "receive":
        code, doc = cmd_receive(
            args.root, args.key, args.size, args.sha256, args.source, sys.stdin.buffer
        )
    else:
        opts = _options(args)
        emit_result(Fetcher(opts, Reporter(opts.json)).run())
        return EXIT_OK
    _print(doc)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        return run_command(args)
    except Exception as err:
        code = err.exit_code if isinstance(err, FetchError) else EXIT_INTERNAL
        if isinstance(err, OSError) and not isinstance(err, FetchError):
            code = EXIT_NO_SPACE if _no_space(err) else EXIT_LOCAL_IO
        message = str(err) or type(err).__name__
        sys.stderr.write(f"fetcher: error: {message}\n")
        if args.command == "fetch":
            emit_result({"result": "error", "exit_code": code, "error": message})
        else:
            _print({"error": message, "exit_code": code})
        return code


if __name__ == "__main__":
    sys.exit(main())
