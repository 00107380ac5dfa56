"""The dashboard: k9s-style views of the namespaces and their model caches,
the cache entries of one namespace, the inference services and the GPU
nodes, with YAML and logs of the selection.

Every call to the cluster runs in a worker thread through a DataSource; the
event loop only renders. A failed refresh keeps the last data on screen
with its age, and the next refreshes back off until the server answers.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Input

from llmkube_tui.backend.target import Target
from llmkube_tui.resources import resource_path
from llmkube_tui.ui.actions import ACTION_KEYS, OPENERS_MODULE
from llmkube_tui.ui.commands import COMMANDS, parse_command
from llmkube_tui.ui.screens.detail import DetailScreen
from llmkube_tui.ui.screens.help import HelpScreen
from llmkube_tui.ui.source import ClusterSource, DataSource
from llmkube_tui.ui.theme import ANSI_THEME, choose_theme
from llmkube_tui.ui.views.base import ResourceView
from llmkube_tui.ui.views.cache_entries import CacheEntriesView
from llmkube_tui.ui.views.gpu_nodes import GpuNodesView
from llmkube_tui.ui.views.namespaces import NamespacesView
from llmkube_tui.ui.views.services import ServicesView
from llmkube_tui.ui.widgets.resource_table import ResourceTable
from llmkube_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from llmkube_tui.backend.cacheops import CacheListing
    from llmkube_tui.backend.config import Config
    from llmkube_tui.backend.connection import Connection
    from llmkube_tui.backend.gpunode import GpuNode
    from llmkube_tui.backend.inventory import Listing
    from llmkube_tui.backend.objectview import Detail, ObjectRef
    from llmkube_tui.backend.overview import Overview
    from llmkube_tui.backend.target import KubeContexts

REFRESH_SECONDS = 5.0
ACCESS_DELAY = 0.3
MAX_BACKOFF = 30.0


VIEW_KEYS = ("namespaces", "cache", "services", "gpus")


def _failure_state(err: Exception) -> str:
    """The header's word for a failed refresh. Runs in the worker, where
    importing the backend's errors costs the event loop nothing."""
    from llmkube_tui.backend.errors import (
        BackendError,
        ConfigError,
        Forbidden,
        Unauthorized,
        Unreachable,
    )

    if isinstance(err, Unreachable):
        return "disconnected"
    if isinstance(err, Forbidden):
        return "forbidden"
    if isinstance(err, Unauthorized):
        return "unauthorized"
    if isinstance(err, ConfigError):
        return "no kubeconfig"
    return "error" if isinstance(err, BackendError) else "internal error"


class LlmkubeApp(App[None]):
    CSS_PATH = str(resource_path("styles") / "app.tcss")
    TITLE = "llmkube-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("colon", "command", "Cmd", key_display=":"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("y", "yaml", "YAML"),
        Binding("l", "logs", "Logs"),
        Binding("O", "sort", "Sort", key_display="O"),
        Binding("I", "invert_sort", "Invert sort", show=False),
        Binding("ctrl+r", "refresh", "Refresh"),
        Binding("escape", "go_back", "Back", show=False),
        Binding("q", "quit", "Quit"),
        *(
            Binding(str(i), f"view('{name}')", name, show=False)
            for i, name in enumerate(VIEW_KEYS, start=1)
        ),
        # In the help screen rather than the footer: 80 columns hold no more.
        *(Binding(a.key, f"act('{a.name}')", a.description, show=False) for a in ACTION_KEYS),
    ]

    def __init__(
        self,
        target: Target | None = None,
        *,
        namespace_filter: str = "",
        refresh_seconds: float = REFRESH_SECONDS,
        read_only: bool = False,
        theme: str | None = None,
        values: Path | None = None,
        source: DataSource | None = None,
        clock: Callable[[], float] = time.time,
        max_backoff: float = MAX_BACKOFF,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        """`source` replaces the cluster (tests feed fixed data through it);
        `clock` gives the data's age and the entries' "last used" (frozen in
        snapshots); `theme` names a Textual theme or "ansi"; `on_started`
        is called once Textual has the terminal (the CLI's early frame is
        then Textual's to replace and to clear at exit)."""
        super().__init__()
        self.register_theme(ANSI_THEME)
        self.theme = choose_theme(theme)
        self.read_only = read_only
        self.refresh_seconds = refresh_seconds
        self.max_backoff = max(max_backoff, refresh_seconds)
        self.current_namespace: str | None = None
        self.overview: Overview | None = None
        self.gpu_nodes: Listing[GpuNode] | None = None
        # Scans of this session by namespace: a scan runs a pod, so it is
        # done when a cache view opens or on ctrl+r there, never on a timer.
        self.scans: dict[str, CacheListing] = {}
        self.hits: dict[str, str] = {}
        self._source: DataSource = source or ClusterSource(target or Target(), values=values)
        self._clock = clock
        self._initial_filter = namespace_filter
        self._scanning: set[str] = set()
        self._scan_failed: dict[str, str] = {}
        self._history: list[str] = []
        self._refreshing = False
        self._failures = 0
        self._last_error = ""
        self._timer: Timer | None = None
        # Actions RBAC refuses in the current namespace, and why: asked of
        # the API server when the namespace changes and on ctrl+r.
        self.denied: dict[str, str] = {}
        self._access_namespace: str | None = None
        self._access_timer: Timer | None = None
        self._on_started = on_started

    # -- what the action screens use ---------------------------------------
    def connection(self) -> Connection | None:
        """The live connection, or None before the first successful load
        (and under a test source)."""
        return self._source.connection()

    def config(self) -> Config:
        """Settings (--values); loading them may raise ConfigError."""
        return self._source.config()

    @property
    def current_view(self) -> str:
        """ "namespaces", "cache", "services" or "gpus"."""
        return str(self.query_one(ContentSwitcher).current or "namespaces").removesuffix("-view")

    @property
    def selected_key(self) -> str | None:
        """Row key of the selection in the current view: a namespace, a
        cache key, "namespace/name" of a service, or a node."""
        return self._view().selected_key

    def refresh_now(self) -> None:
        """Reload now (after an action changed something); a refresh already
        running makes this a no-op."""
        self.action_refresh()

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(self._clock, id="status")
        with ContentSwitcher(initial="namespaces-view", id="views"):
            yield NamespacesView()
            yield CacheEntriesView()
            yield ServicesView()
            yield GpuNodesView()
        yield Input(placeholder="filter (esc clears)", id="filter")
        yield Input(
            placeholder=":ns [NAME]  :cache  :svc  :gpu  :ctx [NAME]  :q",
            id="command",
            suggester=SuggestFromList(COMMANDS, case_sensitive=False),
        )

    def on_mount(self) -> None:
        if self._on_started is not None:
            self._on_started()
        self.query_one("#filter", Input).display = False
        self.query_one("#command", Input).display = False
        self.query_one(StatusBar).read_only = self.read_only
        if self._initial_filter:
            self._view("namespaces").set_filter(self._initial_filter)
        self._view().table.focus()
        self.set_interval(1.0, self.query_one(StatusBar).refresh)
        # The footer's keys cost the first frame 60-70 ms (a widget and its
        # styles per key); it is docked, so it joins a frame later, on the
        # main screen even if a key typed ahead opened another first.
        self.call_after_refresh(self.screen.mount, Footer())
        self.action_refresh()

    def _view(self, name: str | None = None) -> ResourceView:
        return self.query_one(f"#{name or self.current_view}-view", ResourceView)

    # -- refresh ----------------------------------------------------------------
    def action_refresh(self, rescan: bool = True) -> None:
        """Reload now; in the cache view also scan again (ctrl+r, or after an
        action changed the cache). The timer's refreshes never scan: a scan
        runs a pod."""
        # A refresh still running makes the next one pointless; dropping it
        # keeps a slow API server from piling up requests.
        if self._refreshing:
            return
        self._refreshing = True
        if self._timer is not None:
            self._timer.stop()
        view = self.current_view
        namespace = self.current_namespace
        if rescan and view == "cache" and namespace:
            self._start_scan(namespace, force=True)
        if rescan and namespace:
            self._check_access(self._source, namespace)
        self._load(self._source, view, namespace)

    def _timed_refresh(self) -> None:
        self.action_refresh(rescan=False)

    @work(thread=True, group="refresh")
    def _load(self, source: DataSource, view: str, namespace: str | None) -> None:
        try:
            overview = source.overview()
            # Lists that cost the cluster more are read only for their view.
            gpus = source.gpu_nodes() if view == "gpus" else None
            hits: dict[str, str] | None = None
            if view == "services" and namespace:
                names = tuple(s.name for s in overview.services_in(namespace))
                starts = source.last_starts(namespace, names) if names else {}
                hits = {f"{namespace}/{n}": r for n, r in starts.items()}
        except Exception as err:  # a dashboard shows it and goes on
            self.call_from_thread(self._failed, source, _failure_state(err), str(err))
        else:
            self.call_from_thread(self._loaded, source, overview, gpus, hits)

    def _schedule_next(self) -> None:
        self._refreshing = False
        delay = self.refresh_seconds
        if self._failures:
            delay = min(self.refresh_seconds * 2 ** (self._failures - 1), self.max_backoff)
        self._timer = self.set_timer(delay, self._timed_refresh)

    def _failed(self, source: DataSource, state: str, message: str) -> None:
        self._failures += 1
        self._schedule_next()
        if source is not self._source:
            return
        status = self.query_one(StatusBar)
        # Once per outage, not on every retry: the header carries the state.
        if state != status.state or message != self._last_error:
            self.notify(message, title=f"API server: {state}", severity="error", timeout=8)
        status.state = state
        self._last_error = message

    def _loaded(
        self,
        source: DataSource,
        overview: Overview,
        gpus: Listing[GpuNode] | None,
        hits: dict[str, str] | None,
    ) -> None:
        recovered = self._failures > 0 and self.overview is not None
        self._failures = 0
        self._last_error = ""
        self._schedule_next()
        if source is not self._source:
            return  # answered for a context the operator left meanwhile
        if recovered:
            self.notify("connected again", title="API server", timeout=4)
        first = self.overview is None
        self.overview = overview
        if gpus is not None:
            self.gpu_nodes = gpus
        if hits is not None:
            self.hits = {k: v for k, v in self.hits.items() if k not in hits} | hits
        status = self.query_one(StatusBar)
        status.context = overview.context
        status.version = overview.version
        status.state = "connected"
        status.loaded_at = self._clock()
        self.query_one("#command", Input).suggester = SuggestFromList(
            [*COMMANDS, *(f":ns {ns.name}" for ns in overview.namespaces.items)],
            case_sensitive=False,
        )
        self._render_all()
        if first and self.current_namespace is None:
            # The first namespace in the table, until the operator picks one
            # (`:ns -A` later means all, and stays so).
            self._set_namespace(self._view("namespaces").selected_key)
        elif first and self.current_namespace:
            # Named before the first load (`:svc NAME`): the namespaces table
            # follows, or its cursor on the first row would take over.
            self._view("namespaces").table.select(self.current_namespace)

    def _render_all(self) -> None:
        overview = self.overview
        if overview is None:
            return
        namespaces = self._view("namespaces")
        assert isinstance(namespaces, NamespacesView)
        namespaces.show_overview(overview, self.scans)
        self._render_current()

    def _render_current(self) -> None:
        """The open view besides the namespaces: a hidden table of thousands
        of services need not be kept in sync every few seconds; a view is
        brought up to date when it opens."""
        render = {
            "cache": self._render_cache,
            "services": self._render_services,
            "gpus": self._render_gpus,
        }.get(self.current_view)
        if render is not None:
            render()

    def _render_cache(self) -> None:
        view = self._view("cache")
        assert isinstance(view, CacheEntriesView)
        namespace = self.current_namespace
        if self.overview is None:
            return
        if namespace is None:
            view.show({}, note="no namespace selected: enter on one, or :ns NAME")
            return
        scan = self.scans.get(namespace)
        failed = self._scan_failed.get(namespace, "")
        if namespace in self._scanning:
            note, pending = "scanning", "scanning"
        elif failed:
            note, pending = "scan failed", "not scanned"
        elif scan is not None and scan.volume is None:
            note, pending = "no cache volume", "no volume"
        else:
            note, pending = "", "not scanned"
        view.show_entries(
            namespace,
            self.overview.models_in(namespace),
            self.overview.services_in(namespace),
            scan,
            note=note,
            pending=pending,
            now=self._clock(),
        )

    def _render_services(self) -> None:
        view = self._view("services")
        assert isinstance(view, ServicesView)
        overview = self.overview
        if overview is None:
            return
        namespace = self.current_namespace
        listing = overview.services
        services = overview.services_in(namespace) if namespace else listing.items
        note = "" if listing.ok else f"services {listing.state.value}"
        view.show_services(services, self.hits, namespace=namespace, note=note)

    def _render_gpus(self) -> None:
        view = self._view("gpus")
        assert isinstance(view, GpuNodesView)
        if self.gpu_nodes is not None:
            view.show_nodes(self.gpu_nodes)

    # -- cache scans ----------------------------------------------------------
    def _start_scan(self, namespace: str, *, force: bool = False) -> None:
        if namespace in self._scanning or (namespace in self.scans and not force):
            return
        self._scanning.add(namespace)
        self._scan_failed.pop(namespace, None)
        self._scan(self._source, namespace)
        self._render_current()

    @work(thread=True, group="scan")
    def _scan(self, source: DataSource, namespace: str) -> None:
        try:
            listing = source.cache_entries(namespace)
        except Exception as err:  # shown as a notification, never a traceback
            self.call_from_thread(self._scan_done, source, namespace, None, str(err))
        else:
            self.call_from_thread(self._scan_done, source, namespace, listing, "")

    def _scan_done(
        self, source: DataSource, namespace: str, listing: CacheListing | None, error: str
    ) -> None:
        self._scanning.discard(namespace)
        if source is not self._source:
            return
        if listing is None:
            self._scan_failed[namespace] = error
            self.notify(error, title=f"cache scan of {namespace}", severity="error", timeout=10)
        else:
            self.scans[namespace] = listing
            if any(e.state == "locked" for e in listing.entries):
                self.set_timer(self.refresh_seconds, lambda: self._follow_download(namespace))
        self._render_all()

    def _follow_download(self, namespace: str) -> None:
        """A download under way shows live progress while its cache view is
        open: one more scan pod per refresh period, until it is done."""
        if self.current_view == "cache" and self.current_namespace == namespace:
            self._start_scan(namespace, force=True)

    # -- access -----------------------------------------------------------------
    @work(thread=True, group="access", exclusive=True)
    def _check_access(self, source: DataSource, namespace: str) -> None:
        try:
            denied = source.denied_actions(namespace, tuple(a.name for a in ACTION_KEYS))
        except Exception:
            return  # each modal asks again when it opens, and says what failed
        self.call_from_thread(self._access_known, source, namespace, denied)

    def _access_known(self, source: DataSource, namespace: str, denied: dict[str, str]) -> None:
        if source is self._source and namespace == self.current_namespace:
            self.denied = denied

    # -- navigation -----------------------------------------------------------
    def _set_namespace(self, namespace: str | None, *, render: bool = True) -> None:
        self.current_namespace = namespace
        self.query_one(StatusBar).namespace = namespace or ""
        if namespace != self._access_namespace:
            self.denied = {}
            self._access_namespace = namespace
            if self._access_timer is not None:
                self._access_timer.stop()
            if namespace:
                # Asked once the cursor rests: an operator holding a key down
                # crosses dozens of namespaces, each a dozen access reviews.
                self._access_timer = self.set_timer(
                    ACCESS_DELAY, lambda: self._check_access(self._source, namespace)
                )
        if render:
            self._render_current()

    def action_view(self, name: str) -> None:
        self._switch(name)

    def _switch(self, name: str, *, remember: bool = True) -> None:
        current = self.current_view
        if name != current and remember:
            self._history.append(current)
        self.query_one(ContentSwitcher).current = f"{name}-view"
        self._hide_prompts()
        self._view(name).table.focus()
        self._render_current()
        if name == "cache":
            if self.current_namespace is None:
                self.notify("select a namespace first (enter on a row, or :ns NAME)")
            else:
                self._start_scan(self.current_namespace)
        if name in ("gpus", "services") and name != current:
            # Their extra lists are read for the open view only: load now.
            self.action_refresh()

    def on_resource_table_row_highlighted(self, event: ResourceTable.RowHighlighted) -> None:
        if event.table.id == "namespaces" and event.key != self.current_namespace:
            self._set_namespace(event.key)

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        if event.table.id == "namespaces":
            self._set_namespace(event.key)
            self._switch("cache")

    def action_go_back(self) -> None:
        """esc: close a prompt, then clear the view's filter, then go back."""
        view = self._view()
        if self._hide_prompts() and not view.filter_text:
            return
        if view.filter_text:
            view.set_filter("")
            self.query_one("#filter", Input).value = ""
            return
        if self._history:
            self._switch(self._history.pop(), remember=False)

    def _hide_prompts(self) -> bool:
        """Hide the filter and command inputs; True if one was open."""
        was_open = False
        for box in self.query(Input):
            if box.display:
                was_open = True
                box.display = False
        if was_open:
            self._view().table.focus()
        return was_open

    def action_sort(self) -> None:
        self._view().cycle_sort()

    def action_invert_sort(self) -> None:
        self._view().invert_sort()

    # -- filter and command prompts -------------------------------------------
    def action_filter(self) -> None:
        self._hide_prompts()
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self._view().filter_text
        box.focus()

    def action_command(self) -> None:
        self._hide_prompts()
        box = self.query_one("#command", Input)
        box.display = True
        box.value = ":"
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and event.input.display:
            self._view().set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self._view().table.focus()
        if event.input.id == "command":
            self._run_command(event.value)

    def _run_command(self, text: str) -> None:
        try:
            command = parse_command(text)
        except ValueError as err:
            self.notify(str(err), title="command", severity="warning")
            return
        if command.verb == "quit":
            self.exit()
        elif command.verb == "help":
            self.action_help()
        elif command.verb == "context" and command.context:
            self._switch_context(self._source, command.context)
        elif command.verb == "context":
            self._list_contexts(self._source)
        elif command.verb == "namespace":
            self._set_namespace(command.namespace)
            if command.namespace is not None:
                self._view("namespaces").table.select(command.namespace)
            if self.current_view == "cache" and command.namespace is not None:
                self._start_scan(command.namespace)
            elif self.current_view == "services":
                self.action_refresh()
        else:
            if command.namespace != "":
                self._set_namespace(command.namespace)
            self._switch(command.view)

    @work(thread=True, group="context", exclusive=True)
    def _list_contexts(self, source: DataSource) -> None:
        try:
            contexts = source.contexts()
        except Exception as err:  # the message says what is wrong with the kubeconfig
            self.call_from_thread(self.notify, str(err), title="contexts", severity="error")
        else:
            self.call_from_thread(self._pick_context, source, contexts)

    def _pick_context(self, source: DataSource, contexts: KubeContexts) -> None:
        from llmkube_tui.ui.screens.contexts import ContextScreen

        if source is not self._source:
            return
        current = self.query_one(StatusBar).context

        def chosen(name: str | None) -> None:
            if name and name != current:
                self._switch_context(self._source, name)

        self.push_screen(ContextScreen(contexts.names, current), chosen)

    @work(thread=True, group="context", exclusive=True)
    def _switch_context(self, source: DataSource, context: str) -> None:
        try:
            other = source.with_context(context)
        except Exception as err:  # the old context stays; the message says why
            self.call_from_thread(
                self.notify, str(err), title=f"context {context}", severity="error"
            )
        else:
            self.call_from_thread(self._use_source, other, context)

    def _use_source(self, source: DataSource, context: str) -> None:
        self._source = source
        self.overview = None
        self.gpu_nodes = None
        self.scans.clear()
        self.hits.clear()
        self._scan_failed.clear()
        self._set_namespace(None, render=False)
        status = self.query_one(StatusBar)
        status.context, status.version, status.state = context, "", "connecting"
        status.loaded_at = None
        for name in VIEW_KEYS:
            self._view(name).show({}, note="loading…")
        self._switch("namespaces", remember=False)
        self._history.clear()
        self.notify(f"switched to {context}", title="context")
        self._refreshing = False
        self.action_refresh()

    # -- detail -----------------------------------------------------------------
    def action_yaml(self) -> None:
        self._open_detail(related=False)

    def action_logs(self) -> None:
        self._open_detail(related=True)

    def _open_detail(self, *, related: bool) -> None:
        view = self._view()
        key = view.selected_key
        if key is None:
            self.notify("nothing selected", severity="warning")
            return
        local = None if related else view.local_detail(key)
        if local is not None:
            self.push_screen(DetailScreen(local.title, local.text))
            return
        ref = view.related_ref(key) if related else view.object_ref(key)
        if ref is None:
            self.notify("no object behind this row", severity="warning")
            return
        screen = DetailScreen(f"{ref} ({'logs or events' if related else 'YAML'})")
        self.push_screen(screen)
        self._load_detail(self._source, screen, ref, related)

    @work(thread=True, group="detail")
    def _load_detail(
        self, source: DataSource, screen: DetailScreen, ref: ObjectRef, related: bool
    ) -> None:
        try:
            detail: Detail = source.logs_or_events(ref) if related else source.object_yaml(ref)
        except Exception as err:  # the screen shows the message
            self.call_from_thread(screen.show_error, str(err))
        else:
            self.call_from_thread(screen.show_text, detail.title, detail.text)

    # -- screens -----------------------------------------------------------------
    def action_help(self) -> None:
        shown = tuple(
            (a.key, f"{a.description} (forbidden)" if a.name in self.denied else a.description)
            for a in ACTION_KEYS
            if not (a.mutates and self.read_only)
        )
        self.push_screen(HelpScreen(shown))

    def action_act(self, name: str) -> None:
        """Open action `name`'s modal through its opener (ui/actions.py),
        which says what is missing when it cannot, and refreshes after a
        change."""
        action = next(a for a in ACTION_KEYS if a.name == name)
        if action.mutates and self.read_only:
            self.notify(f"read-only mode: {action.description} is refused", severity="warning")
            return
        if action.name in self.denied:
            # Refused before a modal opens, as k9s hides what RBAC forbids.
            self.notify(
                f"forbidden: {self.denied[action.name]}",
                title=action.description,
                severity="warning",
                markup=False,
            )
            return
        openers = importlib.import_module(OPENERS_MODULE)
        getattr(openers, action.opener)(self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # --read-only hides every mutation; action_act refuses them too.
        if action == "act" and self.read_only:
            return not any(a.name == parameters[0] and a.mutates for a in ACTION_KEYS)
        return True
