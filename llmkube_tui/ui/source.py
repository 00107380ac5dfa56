"""Where the dashboard's data comes from.

The app calls a DataSource from worker threads only. ClusterSource talks to
a real cluster: its reads go to the reader process (see reader.py), which
lists the overview over plain HTTPS for the common kubeconfig (see
backend/kubeconfig.py) and imports the kubernetes client only for the
other reads. This process imports the client only for the actions, in the
background once the first data is on screen. Tests give the app a source
of fixed dataclasses instead, for snapshots that do not move.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from llmkube_tui.ui.reader import ReaderGone, ReaderProcess

if TYPE_CHECKING:
    from llmkube_tui.backend.cacheops import CacheListing
    from llmkube_tui.backend.config import Config
    from llmkube_tui.backend.connection import Connection
    from llmkube_tui.backend.gpunode import GpuNode
    from llmkube_tui.backend.inventory import Listing
    from llmkube_tui.backend.objectview import Detail, ObjectRef
    from llmkube_tui.backend.overview import Overview
    from llmkube_tui.backend.target import KubeContexts, Target

# A scan pod that has not finished by then will not: most often no node can
# run it. A script waits longer; a dashboard says so and moves on.
SCAN_TIMEOUT = 60.0


class DataSource(Protocol):
    """Every call may block and raise a BackendError; none touches the UI."""

    def connection(self) -> Connection | None: ...

    def config(self) -> Config: ...

    def overview(self) -> Overview: ...

    def gpu_nodes(self) -> Listing[GpuNode]: ...

    def cache_entries(self, namespace: str) -> CacheListing: ...

    def last_starts(self, namespace: str, services: tuple[str, ...]) -> dict[str, str]: ...

    def object_yaml(self, ref: ObjectRef) -> Detail: ...

    def logs_or_events(self, ref: ObjectRef) -> Detail: ...

    def denied_actions(self, namespace: str, actions: tuple[str, ...]) -> dict[str, str]:
        """Why RBAC refuses each of `actions` in `namespace` (the ones
        allowed are absent)."""
        ...

    def contexts(self) -> KubeContexts: ...

    def with_context(self, context: str) -> DataSource:
        """The same cluster list under another kubeconfig context, connected
        (so a wrong name fails here, and the caller keeps the old source)."""
        ...


@dataclass
class DirectReads:
    """The reads of one cluster, done in the calling process; what the
    reader process runs, and the dashboard's fallback when it has none."""

    target: Target
    values: Path | None = None
    scan_timeout: float = SCAN_TIMEOUT
    _connection: Connection | None = None
    _reading: Connection | None = None
    _config: Config | None = None

    def connection(self) -> Connection | None:
        return self._connection

    def connect(self) -> None:
        self._conn()

    def _conn(self) -> Connection:
        if self._connection is None:
            from llmkube_tui.backend.connection import Connection

            self._connection = Connection.open(self.target)
        return self._connection

    def config(self) -> Config:
        if self._config is None:
            from llmkube_tui.backend.config import load_config

            self._config = load_config(self.values)
        return self._config

    def _reader_conn(self) -> Connection:
        if self._reading is None:
            from llmkube_tui.backend.connection import Connection

            self._reading = Connection.open_for_reading(self.target)
        return self._reading

    def overview(self) -> Overview:
        """The refresh everything waits on: read over plain HTTPS where the
        kubeconfig allows, without importing the kubernetes client."""
        from llmkube_tui.backend.overview import load_overview

        return load_overview(self._reader_conn())

    def gpu_nodes(self) -> Listing[GpuNode]:
        from llmkube_tui.backend.errors import Forbidden
        from llmkube_tui.backend.gpunode import list_gpu_nodes
        from llmkube_tui.backend.inventory import Listing, ListState

        try:
            return Listing(tuple(list_gpu_nodes(self._conn())))
        except Forbidden as err:
            return Listing((), ListState.FORBIDDEN, str(err))

    def cache_entries(self, namespace: str) -> CacheListing:
        from llmkube_tui.backend.cacheops import list_entries

        return list_entries(self._conn(), self.config(), namespace, timeout=self.scan_timeout)

    def last_starts(self, namespace: str, services: tuple[str, ...]) -> dict[str, str]:
        from llmkube_tui.backend.errors import Forbidden
        from llmkube_tui.backend.podstarts import last_start_results

        try:
            return last_start_results(self._conn(), namespace, services)
        except Forbidden:
            return {}  # the column then says "-": unknown, not an error

    def object_yaml(self, ref: ObjectRef) -> Detail:
        from llmkube_tui.backend.objectview import object_yaml

        return object_yaml(self._conn(), ref)

    def logs_or_events(self, ref: ObjectRef) -> Detail:
        from llmkube_tui.backend.objectview import logs_or_events

        return logs_or_events(self._conn(), ref)

    def denied_actions(self, namespace: str, actions: tuple[str, ...]) -> dict[str, str]:
        from llmkube_tui.backend.access import denied_actions

        return denied_actions(self._conn(), namespace, actions)

    def contexts(self) -> KubeContexts:
        from llmkube_tui.backend.connection import list_contexts

        return list_contexts(self.target)


ReadsKey = tuple["Target", "Path | None", float]
_READS: dict[ReadsKey, DirectReads] = {}
_READS_LOCK = threading.Lock()


def serve_read(key: ReadsKey, method: str, args: tuple[Any, ...]) -> Any:
    """The reader process's handler: one DirectReads per cluster, kept for
    its connection."""
    with _READS_LOCK:
        reads = _READS.get(key)
        if reads is None:
            reads = _READS[key] = DirectReads(*key)
    return getattr(reads, method)(*args)


def start_reader() -> ReaderProcess | None:
    """Fork the reader process; call it before Textual or any thread starts."""
    return ReaderProcess.fork(serve_read)


@dataclass
class ClusterSource:
    """A real cluster: reads go to the reader process when there is one,
    actions use a connection of this process (opened in the background
    once the first data is in)."""

    target: Target
    values: Path | None = None
    scan_timeout: float = SCAN_TIMEOUT
    reader: ReaderProcess | None = None
    _first: Future[Overview] | None = None
    _local: DirectReads = field(init=False)
    _warming: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._local = DirectReads(self.target, self.values, self.scan_timeout)

    @property
    def _key(self) -> ReadsKey:
        return (self.target, self.values, self.scan_timeout)

    def prefetch(self) -> None:
        """Start the first load now, while Textual is imported: in the
        reader when there is one, else in a thread of its own (it mostly
        waits on the API server)."""
        if self.reader is not None:
            self._first = self.reader.submit(self._key, "overview")
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._first = pool.submit(self._local.overview)
        pool.shutdown(wait=False)

    def _read(self, method: str, *args: Any) -> Any:
        if self.reader is not None:
            try:
                return self.reader.call(self._key, method, *args)
            except ReaderGone:
                self.reader = None
        return getattr(self._local, method)(*args)

    def connection(self) -> Connection | None:
        return self._local.connection()

    def config(self) -> Config:
        return self._local.config()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def overview(self) -> Overview:
        first, self._first = self._first, None
        try:
            overview: Overview = first.result() if first is not None else self._read("overview")
        except ReaderGone:
            self.reader = None
            overview = self._local.overview()
        self._warm_up()
        return overview

    def _warm_up(self) -> None:
        """Open this process's connection for the actions, off the path of
        the data: the reader already said whether the cluster answers."""
        if self._local.connection() is not None or self._warming is not None:
            return

        def connect() -> None:
            try:
                self._local.connect()
            except Exception:
                self._warming = None  # the next load tries again

        self._warming = threading.Thread(target=connect, name="connect", daemon=True)
        self._warming.start()

    def gpu_nodes(self) -> Listing[GpuNode]:
        result: Listing[GpuNode] = self._read("gpu_nodes")
        return result

    def cache_entries(self, namespace: str) -> CacheListing:
        result: CacheListing = self._read("cache_entries", namespace)
        return result

    def last_starts(self, namespace: str, services: tuple[str, ...]) -> dict[str, str]:
        result: dict[str, str] = self._read("last_starts", namespace, services)
        return result

    def object_yaml(self, ref: ObjectRef) -> Detail:
        result: Detail = self._read("object_yaml", ref)
        return result

    def logs_or_events(self, ref: ObjectRef) -> Detail:
        result: Detail = self._read("logs_or_events", ref)
        return result

    def denied_actions(self, namespace: str, actions: tuple[str, ...]) -> dict[str, str]:
        result: dict[str, str] = self._read("denied_actions", namespace, actions)
        return result

    def contexts(self) -> KubeContexts:
        result: KubeContexts = self._read("contexts")
        return result

    def with_context(self, context: str) -> ClusterSource:
        from llmkube_tui.backend.target import Target

        other = ClusterSource(
            Target(self.target.kubeconfig, context),
            self.values,
            self.scan_timeout,
            reader=self.reader,
        )
        other._read("connect")
        return other
