"""Namespaces: each one's cache volume (requested, capacity, used, a usage
bar), its entries, Models, services and the GPUs they ask for.

Used bytes and entries come from a scan pod, so they are known only for the
namespaces whose cache view was opened in this session; "-" elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.ui.first_frame import NAMESPACE_COLUMNS, NAMESPACE_TITLE
from llmkube_tui.ui.views.base import ResourceView
from llmkube_tui.ui.views.cells import usage_bar
from llmkube_tui.ui.widgets.resource_table import Row

if TYPE_CHECKING:
    from llmkube_tui.backend.cacheops import CacheListing
    from llmkube_tui.backend.objectview import ObjectRef
    from llmkube_tui.backend.overview import NamespaceSummary, Overview


def namespace_row(ns: NamespaceSummary, scan: CacheListing | None) -> Row:
    cache = ns.cache
    scanned = scan is not None and scan.volume is not None
    used = scan.total_bytes if scan is not None and scanned else None
    if cache is None:
        requested, capacity, total = "none", "-", None
    else:
        requested = format_bytes(cache.requested_bytes)
        # An unbound claim has no capacity yet: its phase says why.
        capacity = format_bytes(cache.capacity_bytes) if cache.capacity_bytes else cache.phase
        total = cache.capacity_bytes or cache.requested_bytes
    return (
        ns.name,
        requested,
        capacity,
        format_bytes(used) if used is not None else "-",
        usage_bar(used, total),
        str(len(scan.entries)) if scan is not None and scanned else "-",
        str(ns.models),
        str(ns.services),
        str(ns.gpus),
    )


def namespace_rows(overview: Overview, scans: dict[str, CacheListing]) -> dict[str, Row]:
    return {ns.name: namespace_row(ns, scans.get(ns.name)) for ns in overview.namespaces.items}


class NamespacesView(ResourceView):
    NAME = "namespaces"
    TITLE = NAMESPACE_TITLE
    COLUMNS = NAMESPACE_COLUMNS
    EMPTY = "no namespaces"

    def __init__(self) -> None:
        super().__init__()
        self._has_cache: set[str] = set()

    def show_overview(self, overview: Overview, scans: dict[str, CacheListing]) -> None:
        self._has_cache = {ns.name for ns in overview.namespaces.items if ns.cache is not None}
        listing = overview.namespaces
        # A user who may not list namespaces still sees the context's own.
        note = "" if listing.ok else f"namespace list {listing.state.value}"
        self.show(namespace_rows(overview, scans), note=note)

    def object_ref(self, key: str) -> ObjectRef:
        from llmkube_tui.backend.objectview import ObjectRef

        if key in self._has_cache:
            from llmkube_tui.backend.cachevolume import CLAIM_NAME

            return ObjectRef("PersistentVolumeClaim", CLAIM_NAME, key)
        return ObjectRef("Namespace", key)
