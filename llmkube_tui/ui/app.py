"""The dashboard: namespaces with their cache volumes, and the models and
inference services of the selected namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Static

from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.resources import resource_path
from llmkube_tui.ui.screens.help import HelpScreen
from llmkube_tui.ui.widgets.resource_table import ResourceTable, Row
from llmkube_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection
    from llmkube_tui.backend.inventory import Listing
    from llmkube_tui.backend.overview import Overview
    from llmkube_tui.backend.target import Target

REFRESH_SECONDS = 5.0


def _listing_note(listing: Listing[Any], what: str) -> str:
    if listing.ok:
        return ""
    return f"{what}: {listing.state.value}"


class LlmkubeApp(App[None]):
    CSS_PATH = str(resource_path("styles") / "app.tcss")
    TITLE = "llmkube-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+r", "refresh", "Refresh"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Back", show=False),
    ]

    def __init__(
        self,
        target: Target | None = None,
        *,
        namespace_filter: str = "",
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        super().__init__()
        self.target = target
        self.namespace_filter = namespace_filter
        self.refresh_seconds = refresh_seconds
        self.overview: Overview | None = None
        self._connection: Connection | None = None
        self._refreshing = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Vertical(id="main"):
            yield Static("Namespaces", id="namespaces-title", classes="title")
            yield ResourceTable(
                ("NAMESPACE", "CACHE", "CAPACITY", "PHASE", "MODELS", "SERVICES", "GPUS"),
                id="namespaces",
            )
            with Horizontal(id="detail"):
                with Vertical(classes="pane"):
                    yield Static("Models", id="models-title", classes="title")
                    yield ResourceTable(("NAME", "PHASE", "SIZE", "CACHE KEY"), id="models")
                with Vertical(classes="pane"):
                    yield Static("Inference services", id="services-title", classes="title")
                    yield ResourceTable(("NAME", "MODEL", "READY", "GPUS", "PHASE"), id="services")
        yield Input(placeholder="filter namespaces", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#namespaces", ResourceTable).focus()
        self.action_refresh()
        self.set_interval(self.refresh_seconds, self.action_refresh)

    # -- data -----------------------------------------------------------
    def action_refresh(self) -> None:
        # A refresh still running makes the next one pointless; dropping it
        # keeps a slow API server from piling up requests.
        if self._refreshing:
            return
        self._refreshing = True
        self._load()

    @work(thread=True, exclusive=True, group="refresh")
    def _load(self) -> None:
        # Imported here: the kubernetes client takes about a second to
        # import, and the first frame must not wait for it.
        from llmkube_tui.backend.connection import Connection
        from llmkube_tui.backend.errors import BackendError
        from llmkube_tui.backend.overview import load_overview

        try:
            if self._connection is None:
                self._connection = Connection.open(self.target)
            overview = load_overview(self._connection)
        except BackendError as err:
            self.call_from_thread(self._failed, str(err))
        else:
            self.call_from_thread(self._show, overview)
        finally:
            self._refreshing = False

    def _failed(self, message: str) -> None:
        status = self.query_one(StatusBar)
        first_failure = status.state != "disconnected"
        status.state = "disconnected"
        status.detail = ""
        if first_failure:
            self.notify(message, title="API server", severity="error", timeout=8)

    def _show(self, overview: Overview) -> None:
        self.overview = overview
        status = self.query_one(StatusBar)
        status.context = overview.context
        status.version = overview.version
        status.state = "connected"
        self._render_namespaces()
        self._render_detail()

    def _render_namespaces(self) -> None:
        overview = self.overview
        if overview is None:
            return
        rows: dict[str, Row] = {}
        for ns in overview.namespaces.items:
            if self.namespace_filter and self.namespace_filter not in ns.name:
                continue
            cache = ns.cache
            rows[ns.name] = (
                ns.name,
                format_bytes(cache.requested_bytes) if cache else "-",
                format_bytes(cache.capacity_bytes) if cache else "-",
                cache.phase if cache else "none",
                str(ns.models),
                str(ns.services),
                str(ns.gpus),
            )
        self.query_one("#namespaces", ResourceTable).sync(rows)
        title = "Namespaces"
        if self.namespace_filter:
            title += f" (filter: {self.namespace_filter})"
        note = _listing_note(overview.namespaces, "namespace list")
        self.query_one("#namespaces-title", Static).update(
            f"{title}  [b]{note}[/b]" if note else title
        )

    def _render_detail(self) -> None:
        overview = self.overview
        namespace = self.query_one("#namespaces", ResourceTable).selected_key
        if overview is None:
            return
        models = overview.models_in(namespace) if namespace else ()
        services = overview.services_in(namespace) if namespace else ()
        self.query_one("#models", ResourceTable).sync(
            {m.name: (m.name, m.phase, m.size or "-", m.cache_key) for m in models}
        )
        self.query_one("#services", ResourceTable).sync(
            {
                s.name: (
                    s.name,
                    s.model,
                    f"{s.ready_replicas}/{s.desired_replicas}",
                    str(s.gpus),
                    s.phase,
                )
                for s in services
            }
        )
        where = f" in {namespace}" if namespace else ""
        for widget_id, label, listing in (
            ("#models-title", "Models", overview.models),
            ("#services-title", "Inference services", overview.services),
        ):
            note = _listing_note(listing, label.lower())
            text = f"{label}{where}"
            self.query_one(widget_id, Static).update(f"{text}  [b]{note}[/b]" if note else text)

    def on_data_table_row_highlighted(self, event: ResourceTable.RowHighlighted) -> None:
        if event.data_table.id == "namespaces":
            self._render_detail()

    # -- keys -----------------------------------------------------------
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.namespace_filter
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.namespace_filter = event.value.strip()
        self._render_namespaces()
        self._render_detail()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one("#namespaces", ResourceTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = False
        if self.namespace_filter:
            box.value = ""
        self.query_one("#namespaces", ResourceTable).focus()
