"""Where the dashboard's data comes from.

The app calls a DataSource from worker threads only. ClusterSource talks to
a real cluster and imports the backend (and so the kubernetes client) on
first use, inside those threads: the first frame never waits for it. Tests
give the app a source of fixed dataclasses instead, for snapshots that do
not move.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llmkube_tui.backend.cacheops import CacheListing
    from llmkube_tui.backend.config import Config
    from llmkube_tui.backend.connection import Connection
    from llmkube_tui.backend.gpunode import GpuNode
    from llmkube_tui.backend.inventory import Listing
    from llmkube_tui.backend.objectview import Detail, ObjectRef
    from llmkube_tui.backend.overview import Overview
    from llmkube_tui.backend.target import Target

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

    def with_context(self, context: str) -> DataSource:
        """The same cluster list under another kubeconfig context, connected
        (so a wrong name fails here, and the caller keeps the old source)."""
        ...


@dataclass
class ClusterSource:
    target: Target
    values: Path | None = None
    scan_timeout: float = SCAN_TIMEOUT
    _connection: Connection | None = None
    _config: Config | None = None
    _first: Future[Overview] | None = None

    def prefetch(self) -> None:
        """Start the first load now, in a thread of its own, while Textual
        starts and paints: most of it is waiting on the API server."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._first = pool.submit(self._load_overview)
        pool.shutdown(wait=False)

    def connection(self) -> Connection | None:
        return self._connection

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

    def overview(self) -> Overview:
        first, self._first = self._first, None
        if first is not None:
            return first.result()
        return self._load_overview()

    def _load_overview(self) -> Overview:
        from llmkube_tui.backend.overview import load_overview

        return load_overview(self._conn())

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

    def with_context(self, context: str) -> ClusterSource:
        from llmkube_tui.backend.target import Target

        other = ClusterSource(
            Target(self.target.kubeconfig, context), self.values, self.scan_timeout
        )
        other._conn()
        return other
