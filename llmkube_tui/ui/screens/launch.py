"""Opening each action modal from what the dashboard shows: the namespace
in view, the selected row, the last scan of that namespace's cache.

The modals take everything as constructor arguments (so tests host them on
any App); these functions read it from the dashboard, say so when
something is missing (no connection yet, no scan yet, a row that is not a
cache entry), refuse in read-only mode, and refresh the dashboard after a
change. Each returns whether a modal opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.app import App

from llmkube_tui.backend.errors import ConfigError
from llmkube_tui.catalog import CatalogEntry, CatalogError, load_catalog
from llmkube_tui.ui.screens.action import (
    ActionScreen,
    is_read_only,
    open_action,
    refuse_action,
)

if TYPE_CHECKING:
    from llmkube_tui.backend.cacheentry import CacheEntry
    from llmkube_tui.backend.cacheops import CacheListing
    from llmkube_tui.backend.config import Config
    from llmkube_tui.backend.connection import Connection


class Dashboard(Protocol):
    """What these functions read from the dashboard app."""

    read_only: bool
    current_namespace: str | None
    scans: dict[str, CacheListing]

    def connection(self) -> Connection | None: ...

    def config(self) -> Config: ...

    @property
    def current_view(self) -> str: ...

    @property
    def selected_key(self) -> str | None: ...

    def refresh_now(self) -> None: ...


Host = App[Any]


def _dashboard(app: Host) -> Dashboard:
    return cast(Dashboard, app)


def _open(app: Host, screen: ActionScreen[Any]) -> bool:
    dashboard = _dashboard(app)

    def changed(result: object) -> None:
        # None: closed, cancelled or failed; anything else changed the cluster.
        if result is not None:
            dashboard.refresh_now()

    return open_action(app, screen, changed)


def _context(
    app: Host, action: str, *, mutates: bool = True
) -> tuple[Connection, Config, str] | None:
    """Connection, settings and namespace, or None after saying what lacks."""
    dashboard = _dashboard(app)
    if mutates and is_read_only(app):
        # Refused before anything is read or checked.
        refuse_action(app, action)
        return None
    conn = dashboard.connection()
    if conn is None:
        app.notify(f"{action}: not connected to the API server yet", severity="warning")
        return None
    try:
        config = dashboard.config()
    except ConfigError as err:
        app.notify(str(err), title=action, severity="error", markup=False)
        return None
    return conn, config, dashboard.current_namespace or conn.namespace


def _catalog(app: Host, action: str) -> dict[str, CatalogEntry] | None:
    try:
        return load_catalog()
    except CatalogError as err:
        app.notify(str(err), title=action, severity="error", markup=False)
        return None


def _scan(app: Host, namespace: str, action: str) -> CacheListing | None:
    dashboard = _dashboard(app)
    listing = dashboard.scans.get(namespace)
    if listing is None:
        app.notify(
            f"{action}: the cache of {namespace} is not scanned yet; open its cache view",
            severity="warning",
        )
    return listing


def _selected_entry(app: Host, namespace: str, action: str) -> CacheEntry | None:
    """The cache entry under the cursor of the cache view, if that is open."""
    dashboard = _dashboard(app)
    if dashboard.current_view != "cache":
        return None
    listing = _scan(app, namespace, action)
    key = dashboard.selected_key
    if listing is None or key is None:
        return None
    entry = next((e for e in listing.entries if e.key == key), None)
    if entry is None:
        app.notify(f"{action}: {key} is not in the cache of {namespace}", severity="warning")
    return entry


def open_deploy(app: Host) -> bool:
    from llmkube_tui.ui.screens.deploy import DeployScreen

    context, catalog = _context(app, "deploy"), _catalog(app, "deploy")
    if context is None or catalog is None:
        return False
    conn, config, namespace = context
    return _open(app, DeployScreen(conn, config, namespace, catalog))


def open_preload(app: Host) -> bool:
    """In the cache view, the selected entry's source (a partial download
    resumes); elsewhere the catalog."""
    from llmkube_tui.ui.screens.preload import PreloadScreen

    context, catalog = _context(app, "preload"), _catalog(app, "preload")
    if context is None or catalog is None:
        return False
    conn, config, namespace = context
    entry = _selected_entry(app, namespace, "preload")
    source = entry.source if entry is not None else ""
    return _open(app, PreloadScreen(conn, config, namespace, catalog, source=source))


def _entries_to_clear(app: Host, namespace: str, every: bool) -> list[CacheEntry] | None:
    if every:
        listing = _scan(app, namespace, "clear")
        return list(listing.entries) if listing is not None else None
    entry = _selected_entry(app, namespace, "clear")
    if entry is None:
        dashboard = _dashboard(app)
        if dashboard.current_view != "cache":
            app.notify("clear: select an entry in the cache view", severity="warning")
        return None
    return [entry]


def _open_clear(app: Host, every: bool) -> bool:
    from llmkube_tui.ui.screens.clear import ClearScreen

    context = _context(app, "clear")
    if context is None:
        return False
    conn, config, namespace = context
    entries = _entries_to_clear(app, namespace, every)
    if entries is None:
        return False
    return _open(app, ClearScreen(conn, config, namespace, entries))


def open_clear_entry(app: Host) -> bool:
    """The selected entry of the cache view."""
    return _open_clear(app, every=False)


def open_clear_all(app: Host) -> bool:
    """Every entry of the namespace's last scan, each named in the confirmation."""
    return _open_clear(app, every=True)


def open_resize(app: Host) -> bool:
    from llmkube_tui.ui.screens.resize import ResizeScreen

    context = _context(app, "resize")
    if context is None:
        return False
    conn, _, namespace = context
    return _open(app, ResizeScreen(conn, namespace))


def open_verify(app: Host) -> bool:
    """The selected entry in the cache view, every entry elsewhere."""
    from llmkube_tui.ui.screens.verify import VerifyScreen

    context = _context(app, "verify")
    if context is None:
        return False
    conn, config, namespace = context
    entry = _selected_entry(app, namespace, "verify")
    key = entry.key if entry is not None else None
    return _open(app, VerifyScreen(conn, config, namespace, key=key))


def open_export(app: Host) -> bool:
    """The selected entry in the cache view, every complete entry elsewhere."""
    from llmkube_tui.ui.screens.transfer import ExportScreen

    context = _context(app, "export")
    if context is None:
        return False
    conn, config, namespace = context
    entry = _selected_entry(app, namespace, "export")
    keys = [entry.key] if entry is not None else None
    return _open(app, ExportScreen(conn, config, namespace, keys=keys))


def open_import(app: Host) -> bool:
    from llmkube_tui.ui.screens.transfer import ImportScreen

    context = _context(app, "import")
    if context is None:
        return False
    conn, config, namespace = context
    return _open(app, ImportScreen(conn, config, namespace))


def open_probe(app: Host) -> bool:
    """The selected service of the services view; read-only mode allows it."""
    from llmkube_tui.ui.screens.probe import ProbeScreen

    dashboard = _dashboard(app)
    key = dashboard.selected_key if dashboard.current_view == "services" else None
    if not key or "/" not in key:
        app.notify("probe: select a service in the services view (3)", severity="warning")
        return False
    context = _context(app, "probe", mutates=False)
    if context is None:
        return False
    namespace, service = key.split("/", 1)
    return _open(app, ProbeScreen(context[0], namespace, service))
