"""Cache entries of one namespace: what its volume holds, as a scan pod
found it, joined with the Models and services that use each entry.

Before a scan answers (or when none can run, on a cluster without a node)
the view still lists the keys the namespace's Models expect, marked as not
scanned: what should be there is worth seeing while the pod starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.ui.views.base import ResourceView
from llmkube_tui.ui.views.cells import short_source, shorten, since
from llmkube_tui.ui.widgets.resource_table import Row

if TYPE_CHECKING:
    from llmkube_tui.backend.cacheentry import CacheEntry
    from llmkube_tui.backend.cacheops import CacheListing
    from llmkube_tui.backend.inferenceservice import InferenceService
    from llmkube_tui.backend.model import Model
    from llmkube_tui.backend.objectview import Detail, ObjectRef

NAMES_WIDTH = 12
# The fetcher's "locked" means a live download holds the entry's lease.
_STATE_NAMES = {"locked": "downloading"}
DOWNLOAD_STATES = ("downloading", "partial")


def _names(users: tuple[str, ...], kinds: tuple[str, ...]) -> str:
    names = [u.split("/", 1)[1] for u in users if u.split("/", 1)[0] in kinds]
    return shorten(",".join(names), NAMES_WIDTH) if names else "-"


def entry_row(entry: CacheEntry, now: float) -> Row:
    state = _STATE_NAMES.get(entry.state, entry.state)
    size = entry.size
    if state in DOWNLOAD_STATES and entry.downloaded:
        # Of a download under way or stopped, what has arrived so far.
        size = entry.downloaded
        if entry.percent is not None:
            state = f"{state} {entry.percent}%"
    return (
        entry.key,
        format_bytes(size),
        state,
        since(entry.last_used, now) if entry.last_used else "-",
        _names(entry.users, ("Model",)),
        _names(entry.users, ("InferenceService", "Deployment")),
        short_source(entry.source),
    )


def expected_row(key: str, models: list[Model], services: list[str], state: str) -> Row:
    return (
        key,
        "-",
        state,
        "-",
        shorten(",".join(m.name for m in models), NAMES_WIDTH),
        shorten(",".join(services), NAMES_WIDTH) if services else "-",
        short_source(models[0].source),
    )


def entry_rows(
    models: tuple[Model, ...],
    services: tuple[InferenceService, ...],
    scan: CacheListing | None,
    pending: str,
    now: float,
) -> dict[str, Row]:
    """The scan's entries, plus the keys Models expect that it did not find
    ("not cached"), or that no scan has looked for yet (`pending`)."""
    rows = {e.key: entry_row(e, now) for e in scan.entries} if scan is not None else {}
    by_key: dict[str, list[Model]] = {}
    for m in models:
        by_key.setdefault(m.cache_key, []).append(m)
    for key, users in by_key.items():
        if key in rows:
            continue
        names = {m.name for m in users}
        bound = [s.name for s in services if s.model in names]
        rows[key] = expected_row(key, users, bound, "not cached" if scan is not None else pending)
    return rows


class CacheEntriesView(ResourceView):
    NAME = "cache"
    TITLE = "Cache entries"
    # What tells entries apart first: at 80 columns the source scrolls off.
    COLUMNS = ("KEY", "SIZE", "STATE", "LAST USED", "MODELS", "SERVICES", "SOURCE")
    EMPTY = "no cache entries"

    def __init__(self) -> None:
        super().__init__()
        self.namespace: str | None = None
        self._entries: dict[str, CacheEntry] = {}

    def show_entries(
        self,
        namespace: str,
        models: tuple[Model, ...],
        services: tuple[InferenceService, ...],
        scan: CacheListing | None,
        *,
        note: str,
        pending: str,
        now: float,
    ) -> None:
        self.namespace = namespace
        self._entries = {e.key: e for e in scan.entries} if scan is not None else {}
        rows = entry_rows(models, services, scan, pending, now)
        self.show(rows, scope=f"({namespace})", note=note)

    def entry(self, key: str) -> CacheEntry | None:
        """The scanned entry of a row; None for a key no scan has found."""
        return self._entries.get(key)

    def object_ref(self, key: str) -> ObjectRef | None:
        if self.namespace is None:
            return None
        from llmkube_tui.backend.cachevolume import CLAIM_NAME
        from llmkube_tui.backend.objectview import ObjectRef

        return ObjectRef("PersistentVolumeClaim", CLAIM_NAME, self.namespace)

    def related_ref(self, key: str) -> ObjectRef | None:
        """The pod of a service that reads the entry; else the volume's events."""
        entry = self._entries.get(key)
        if entry is not None and self.namespace is not None:
            from llmkube_tui.backend.objectview import ObjectRef

            for user in entry.users:
                kind, _, name = user.partition("/")
                if kind in ("InferenceService", "Deployment"):
                    return ObjectRef(kind, name, self.namespace)
        return self.object_ref(key)

    def local_detail(self, key: str) -> Detail | None:
        """`y` on an entry: what the scan says about it (it is a directory
        on the volume, not an API object)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        from dataclasses import asdict

        from llmkube_tui.backend.objectview import Detail, to_yaml

        doc = asdict(entry)
        doc["users"] = list(entry.users)
        return Detail(f"Cache entry {entry.namespace}/{entry.key} (YAML)", to_yaml(doc))
