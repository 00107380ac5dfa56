"""Export and import of cache entries: the air-gapped workflow.

A bundle is a tar file: `manifest.json` first (format, version, and per
entry its key, source, size and sha256), then `<key>/model.gguf` for each
entry. Export streams each file out of a helper pod over exec and checks its
sha256 on the way; import checks the whole bundle before it touches the
cluster, then streams each file into the fetcher's `receive`, which verifies
size and sha256 before it publishes atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from llmkube_tui.backend.cacheops import list_entries
from llmkube_tui.backend.cachepods import helper_pod, last_json
from llmkube_tui.backend.cachevolume import ensure_cache_volume
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Failed, Integrity, Invalid, NotFound
from llmkube_tui.backend.execstream import ExecSession
from llmkube_tui.backend.fetcherbundle import fetcher_command
from llmkube_tui.cachekey import MODEL_FILE, cache_key, is_cache_key

FORMAT = "llmkube-cache-bundle"
VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_LIMIT = 1 << 20
CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]  # key, bytes done, bytes total


@dataclass(frozen=True)
class BundleEntry:
    key: str
    source: str
    size: int
    sha256: str
    file: str = MODEL_FILE

    @property
    def member(self) -> str:
        return f"{self.key}/{MODEL_FILE}"


# -- export -------------------------------------------------------------------
def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, _BytesReader(data))


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else self.pos + n
        chunk, self.pos = self.data[self.pos : end], min(end, len(self.data))
        return chunk


class _ExecReader:
    """A file-like view of a remote `cat`, hashing what passes through."""

    def __init__(self, session: ExecSession) -> None:
        self.chunks = session.stdout_chunks()
        self.pending = b""
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.pending) < n:
            chunk = next(self.chunks, b"")
            if not chunk:
                break
            self.pending += chunk
        if n < 0:
            n = len(self.pending)
        out, self.pending = self.pending[:n], self.pending[n:]
        self.digest.update(out)
        self.count += len(out)
        return out


def export_entries(
    conn: Connection,
    config: Config,
    namespace: str,
    output: Path,
    keys: list[str] | None = None,
    on_progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
) -> list[BundleEntry]:
    """Write `keys` (every complete entry when None) to a bundle at `output`;
    a failure or a cancel leaves no file behind."""
    listing = list_entries(conn, config, namespace)
    if listing.volume is None:
        raise NotFound(f"namespace {namespace} has no model cache volume")
    by_key = {e.key: e for e in listing.entries}
    wanted = (
        keys
        if keys is not None
        else [k for k, e in by_key.items() if e.state in ("complete", "orphan")]
    )
    entries = []
    for key in wanted:
        entry = by_key.get(key)
        if entry is None:
            raise NotFound(f"no cache entry {key} in {namespace}")
        if entry.state not in ("complete", "orphan"):
            raise Invalid(f"entry {key} is {entry.state}; only complete entries can be exported")
        if not entry.sha256:
            raise Invalid(
                f"entry {key} has no recorded sha256; "
                f"run `llmkube-tui cache verify --key {key}` first"
            )
        entries.append(BundleEntry(key, entry.source, entry.size, entry.sha256, entry.file))
    if not entries:
        raise NotFound(f"nothing to export in {namespace}")
    manifest = {"format": FORMAT, "version": VERSION, "entries": [asdict(e) for e in entries]}
    partial = output.with_name(output.name + ".partial")
    try:
        with (
            helper_pod(conn, config, namespace, "export", read_only=True) as pod,
            tarfile.open(partial, "w") as tar,
        ):
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            for e in entries:
                path = f"{config.cache.mount_path.rstrip('/')}/{e.key}/{e.file}"
                session = ExecSession(conn, namespace, pod, ["cat", path], stdin=False)
                reader = _ExecReader(session)
                info = tarfile.TarInfo(e.member)
                info.size, info.mtime, info.mode = e.size, int(time.time()), 0o644
                try:
                    tar.addfile(info, _ProgressReader(reader, e, on_progress, cancel))
                except BaseException:
                    # A cancel or a broken write: hang up before the pod goes.
                    session.close()
                    raise
                code, _ = session.finish()
                if code != 0 or reader.count != e.size:
                    raise Failed(
                        f"reading {e.key} failed: {session.stderr.decode(errors='replace')}"
                    )
                if reader.digest.hexdigest() != e.sha256:
                    raise Integrity(
                        f"{e.key} in the cache does not match its sha256; run "
                        f"`llmkube-tui cache verify --key {e.key} -n {namespace}`"
                    )
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return entries


class _ProgressReader:
    def __init__(
        self,
        inner: Any,
        entry: BundleEntry,
        on_progress: Progress | None,
        cancel: threading.Event | None,
    ) -> None:
        self.inner, self.entry, self.on_progress, self.done = inner, entry, on_progress, 0
        self.cancel = cancel

    def read(self, n: int = -1) -> bytes:
        if self.cancel is not None and self.cancel.is_set():
            raise Failed(f"export cancelled while reading {self.entry.key}; no bundle was written")
        data: bytes = self.inner.read(n)
        self.done += len(data)
        if self.on_progress is not None:
            self.on_progress(self.entry.key, self.done, self.entry.size)
        return data


# -- import -------------------------------------------------------------------
def _reject(path: Path, why: str) -> Invalid:
    return Invalid(f"bundle {path} rejected: {why}; nothing was imported")


def _manifest_entries(path: Path, raw: bytes) -> list[BundleEntry]:
    try:
        doc = json.loads(raw)
    except ValueError as err:
        raise _reject(path, f"manifest is not JSON ({err})") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _reject(path, "not an llmkube-tui cache bundle")
    if doc.get("version") != VERSION:
        raise _reject(path, f"bundle version {doc.get('version')!r} is not {VERSION}")
    raw_entries = doc.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise _reject(path, "the manifest lists no entries")
    entries = []
    for item in raw_entries:
        if not isinstance(item, dict):
            raise _reject(path, "a manifest entry is not an object")
        key, source, size, sha = (
            item.get("key"),
            item.get("source"),
            item.get("size"),
            item.get("sha256"),
        )
        if not isinstance(key, str) or not is_cache_key(key):
            raise _reject(path, f"{key!r} is not a cache key")
        if not isinstance(source, str) or cache_key(source) != key:
            raise _reject(path, f"{key} is not the cache key of its source {source!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _reject(path, f"{key}: size {size!r} is not a byte count")
        if (
            not isinstance(sha, str)
            or len(sha) != 64
            or any(c not in "0123456789abcdef" for c in sha)
        ):
            raise _reject(path, f"{key}: {sha!r} is not a sha256")
        if item.get("file", MODEL_FILE) != MODEL_FILE:
            raise _reject(path, f"{key}: unexpected file name {item.get('file')!r}")
        entries.append(BundleEntry(key, source, size, sha))
    if len({e.key for e in entries}) != len(entries):
        raise _reject(path, "the manifest lists a key twice")
    return entries


@contextlib.contextmanager
def open_bundle(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(path, "r:")  # noqa: SIM115 - closed below, after the yield
    except (OSError, tarfile.TarError) as err:
        raise _reject(path, f"not a readable tar file ({err})") from err
    with tar:
        yield tar


def check_bundle(
    tar: tarfile.TarFile, path: Path
) -> tuple[list[BundleEntry], dict[str, tarfile.TarInfo]]:
    """Check a bundle without extracting anything: every member must be a
    regular file the manifest names, with exactly the size it states."""
    members = tar.getmembers()
    if not members or members[0].name != MANIFEST:
        raise _reject(path, f"the first member must be {MANIFEST}")
    head = members[0]
    if not head.isreg() or head.size > MANIFEST_LIMIT:
        raise _reject(path, "the manifest is not a regular file of reasonable size")
    stream = tar.extractfile(head)
    if stream is None:
        raise _reject(path, "the manifest cannot be read")
    entries = _manifest_entries(path, stream.read())
    expected = {e.member: e for e in entries}
    found: dict[str, tarfile.TarInfo] = {}
    for m in members[1:]:
        name = m.name
        if name.startswith("/") or ".." in name.split("/") or name != os.path.normpath(name):
            raise _reject(path, f"unsafe member path {name!r}")
        if m.issym() or m.islnk():
            raise _reject(path, f"member {name!r} is a link")
        if m.ischr() or m.isblk() or m.isfifo() or m.isdev():
            raise _reject(path, f"member {name!r} is a device or fifo")
        if not m.isreg():
            raise _reject(path, f"member {name!r} is not a regular file")
        if name not in expected:
            raise _reject(path, f"member {name!r} is not in the manifest")
        if name in found:
            raise _reject(path, f"member {name!r} appears twice")
        if m.size != expected[name].size:
            raise _reject(
                path, f"{name} holds {m.size} bytes but the manifest says {expected[name].size}"
            )
        found[name] = m
    missing = sorted(set(expected) - set(found))
    if missing:
        raise _reject(path, f"missing data for {', '.join(missing)}")
    return entries, found


@dataclass(frozen=True)
class ImportResult:
    key: str
    result: str  # imported or exists


def import_bundle(
    conn: Connection,
    config: Config,
    namespace: str,
    path: Path,
    on_progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
) -> list[ImportResult]:
    """Check the bundle at `path`, then load what the cache lacks. A cancel
    stops between chunks: the entry being sent is never published (the
    fetcher publishes only a complete, verified file), those before stay."""
    with open_bundle(path) as tar:
        entries, members = check_bundle(tar, path)
        ensure_cache_volume(conn, namespace, config.cache)
        present = {
            e.key
            for e in list_entries(conn, config, namespace).entries
            if e.state in ("complete", "orphan")
        }
        results = [ImportResult(e.key, "exists") for e in entries if e.key in present]
        todo = [e for e in entries if e.key not in present]
        if todo:
            with helper_pod(conn, config, namespace, "import", read_only=False) as pod:
                for e in todo:
                    results.append(
                        _send(
                            conn,
                            config,
                            namespace,
                            pod,
                            tar,
                            members[e.member],
                            e,
                            on_progress,
                            cancel,
                        )
                    )
    return results


def _send(
    conn: Connection,
    config: Config,
    namespace: str,
    pod: str,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    entry: BundleEntry,
    on_progress: Progress | None,
    cancel: threading.Event | None,
) -> ImportResult:
    command = fetcher_command(
        "receive",
        entry.key,
        "--root",
        config.cache.mount_path,
        "--size",
        str(entry.size),
        "--sha256",
        entry.sha256,
        "--source",
        entry.source,
    )
    source: IO[bytes] | None = tar.extractfile(member)
    assert source is not None
    session = ExecSession(conn, namespace, pod, command, stdin=True)
    done = 0
    while chunk := source.read(CHUNK):
        if cancel is not None and cancel.is_set():
            session.close()
            raise Failed(
                f"import cancelled while sending {entry.key}, which was not published; "
                "entries sent before it stay in the cache"
            )
        session.write(chunk)
        done += len(chunk)
        if on_progress is not None:
            on_progress(entry.key, done, entry.size)
    code, out = session.finish()
    result = last_json(out.decode(errors="replace"))
    if code == 4:
        raise Integrity(
            f"import of {entry.key} refused: {result.get('error', 'integrity check failed')}"
        )
    if code != 0:
        why = result.get("error") or session.stderr.decode(errors="replace")
        raise Failed(f"import of {entry.key} failed: {why}")
    return ImportResult(entry.key, str(result.get("result", "imported")))
