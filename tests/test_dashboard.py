"""The dashboard: snapshots of every view from fixed data, and Pilot tests
against the real API server (navigation, forbidden lists, an API server
that stops and comes back)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.cluster import LocalCluster, Ports
from llmkube_tui.localcluster.seed import seed
from llmkube_tui.ui.actions import ACTION_KEYS
from llmkube_tui.ui.app import LlmkubeApp
from llmkube_tui.ui.commands import Command, parse_command
from llmkube_tui.ui.reader import ReaderProcess
from llmkube_tui.ui.screens.detail import DetailScreen
from llmkube_tui.ui.source import ClusterSource, start_reader
from llmkube_tui.ui.views.cells import age, short_source, since, usage_bar
from llmkube_tui.ui.widgets.resource_table import ResourceTable, sort_value
from tests.dashboard_data import ENTRIES, NOW, FixedSource

# The prefix keeps other tests' namespaces out of the assertions.
PLAN = {
    "snap-prod": ("200Gi", [("llama-3.1-8b", 2), ("mistral-7b", 1)]),
    "snap-staging": ("100Gi", [("llama-2-7b", 1), ("llama-3.2-3b", 0)]),
    "snap-sandbox": (None, [("tinyllama-1.1b", 0)]),
}
SIZE = (120, 40)


async def _until(pilot, check: Callable[[], bool], timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            break
        await asyncio.sleep(0.05)
    await pilot.pause()
    assert check(), "condition not reached in time"


def _keys(table: ResourceTable) -> list[str | None]:
    return table.ordered_keys


def _title(app: LlmkubeApp, view: str) -> str:
    return str(app.query_one(f"#{view}-title").render())


def _status(app: LlmkubeApp) -> str:
    return str(app.query_one("#status").render())


# -- snapshots: every view, two sizes, default theme and NO_COLOR --------------
async def _fixed_loaded(pilot) -> None:
    await _until(pilot, lambda: pilot.app.overview is not None)
    # The access check of the first namespace: help marks what it refuses.
    await _until(pilot, lambda: bool(pilot.app.denied))


SHOW = {
    "namespaces": [],
    "cache": ["enter"],
    "services": ["3"],
    "gpus": ["4"],
    "yaml": ["y"],
    "help": ["question_mark"],
    "contexts": ["colon", *"ctx", "enter"],
}


def _shown(app: LlmkubeApp, view: str) -> bool:
    if view == "cache":
        return "ml-prod" in app.scans and "scanning" not in _title(app, "cache")
    if view == "services":
        return bool(app.hits)
    if view == "gpus":
        return app.gpu_nodes is not None
    if view == "yaml":
        return isinstance(app.screen, DetailScreen) and app.screen.loaded
    if view == "contexts":
        return app.screen.__class__.__name__ == "ContextScreen"
    return True


@pytest.mark.parametrize("colour", ["default", "no_color"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("view", list(SHOW))
def test_snapshot(snap_compare, monkeypatch, view: str, size: tuple[int, int], colour: str):
    if colour == "no_color":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)

    async def show(pilot) -> None:
        await _fixed_loaded(pilot)
        for key in SHOW[view]:
            await pilot.press(key)
        await _until(pilot, lambda: _shown(pilot.app, view))

    app = LlmkubeApp(source=FixedSource(), clock=lambda: NOW + 12, refresh_seconds=3600)
    # The data was loaded at NOW+12 too; the header says "data 0s old".
    assert snap_compare(app, terminal_size=size, run_before=show)


async def test_no_color_picks_the_ansi_theme(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = LlmkubeApp(source=FixedSource(), refresh_seconds=3600)
    assert app.theme == "llmkube-ansi"
    monkeypatch.delenv("NO_COLOR")
    assert LlmkubeApp(source=FixedSource(), theme="ansi").theme == "llmkube-ansi"
    assert LlmkubeApp(source=FixedSource()).theme == "textual-dark"


# -- fixed data: navigation, sort, age, read-only -------------------------------
async def test_views_keys_and_commands_with_fixed_data():
    source = FixedSource()
    clock = [NOW]
    app = LlmkubeApp(source=source, clock=lambda: clock[0], refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _fixed_loaded(pilot)
        namespaces = app.query_one("#namespaces", ResourceTable)
        assert _keys(namespaces) == ["ml-prod", "ml-staging", "research", "sandbox"]
        assert app.current_namespace == "ml-prod"
        assert "data 0s old" in _status(app)
        clock[0] += 75
        await asyncio.sleep(1.2)  # the header ticks once a second
        assert "data 1m old" in _status(app)

        # O walks the columns: REQ sorts by bytes ("none" after sizes, as text).
        await pilot.press("O")
        assert "sort: REQ↑" in _title(app, "namespaces")
        assert _keys(namespaces) == ["ml-staging", "ml-prod", "research", "sandbox"]
        await pilot.press("I")
        assert _keys(namespaces)[0] == "sandbox"
        assert namespaces.selected_key == "ml-prod"  # the selection follows its row

        # The scan runs only when the cache view opens; used and entries then
        # show in the namespaces view.
        assert not any(c.startswith("cache_entries") for c in source.calls)
        await pilot.press("enter")
        await _until(pilot, lambda: "ml-prod" in app.scans)
        assert app.current_view == "cache"
        cache = app.query_one("#cache", ResourceTable)
        states = {k: cache.get_row(k)[2] for k in _keys(cache)}
        assert sorted(states.values()) == [
            "complete",
            "corrupt",
            "downloading 41%",
            "not cached",
            "orphan",
        ]
        assert app.selected_key is not None
        await pilot.press("y")
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.heading.startswith("Cache entry ml-prod/")
        await pilot.press("escape")
        await pilot.press("escape")
        assert app.current_view == "namespaces"
        row = namespaces.get_row("ml-prod")
        assert row[3] == "18 GiB" and row[5] == str(len(ENTRIES.entries))

        # `:` commands: a view, a view in a namespace, all namespaces.
        for text, view, namespace in (
            (":svc ml-staging", "services", "ml-staging"),
            (":svc -A", "services", None),
            (":gpu", "gpus", None),
            (":ns ml-prod", "gpus", "ml-prod"),
            (":ns", "namespaces", "ml-prod"),
        ):
            await pilot.press("colon", *text.removeprefix(":"), "enter")
            await pilot.pause()
            assert (app.current_view, app.current_namespace) == (view, namespace), text
        await _until(pilot, lambda: app.gpu_nodes is not None)

        # :ctx alone lists the contexts, the current one marked; esc stays.
        await pilot.press("colon", *"ctx", "enter")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "ContextScreen")
        assert app.screen.names == ("prod-cluster", "staging-cluster")
        assert app.screen.current == "prod-cluster"
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is app.screen_stack[0])

        # A bad context keeps the current one and says why.
        await pilot.press("colon", *"ctx nowhere", "enter")
        await _until(pilot, lambda: any("nowhere" in n.message for n in app._notifications))
        assert "ctx: prod-cluster" in _status(app)

        await pilot.press("colon", *"bogus", "enter")
        await pilot.pause()
        assert any("unknown command :bogus" in n.message for n in app._notifications)
        await pilot.press("q")
    assert app.return_code == 0


async def test_read_only_hides_and_refuses_mutations():
    app = LlmkubeApp(source=FixedSource(), read_only=True, refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _fixed_loaded(pilot)
        assert "READ-ONLY" in _status(app)
        assert app.read_only
        for action in ACTION_KEYS:
            # Probing only asks a service: read-only mode keeps it.
            assert app.check_action("act", (action.name,)) is (not action.mutates)
        await pilot.press("ctrl+d", "n")
        assert app.screen is app.screen_stack[0]
        # Called past the binding check, the action still refuses.
        app.action_act("clear")
        await pilot.pause()
        assert any("read-only mode" in n.message for n in app._notifications)
        await pilot.press("question_mark")
        assert "deploy" not in str(app.screen.query_one("#help-columns").children[1].render())

    writable = LlmkubeApp(source=FixedSource(), refresh_seconds=3600)
    async with writable.run_test(size=(80, 24)) as pilot:
        await _fixed_loaded(pilot)
        assert "READ-ONLY" not in _status(writable)
        assert writable.check_action("act", ("clear",)) is True
        # The fixed source has no connection: the action says what is missing.
        await pilot.press("n")
        assert any("not connected" in n.message for n in writable._notifications)


# -- pure parts ------------------------------------------------------------------
def test_commands():
    assert parse_command(":ns") == Command("view", view="namespaces")
    assert parse_command(":ns team-a") == Command("namespace", namespace="team-a")
    assert parse_command(":ns -A") == Command("namespace", namespace=None)
    assert parse_command("svc all") == Command("view", view="services", namespace=None)
    assert parse_command(":cache ml") == Command("view", view="cache", namespace="ml")
    assert parse_command(":ctx prod") == Command("context", context="prod")
    assert parse_command(":q") == Command("quit")
    assert parse_command(":ctx") == Command("context")
    for bad in (":", ":frob", ":ns a b"):
        with pytest.raises(ValueError):
            parse_command(bad)


def test_cells_and_sort_order():
    assert usage_bar(40, 100) == "██░░░ 40%"
    assert usage_bar(None, 100) == "-" and usage_bar(1, 0) == "-"
    assert [age(s) for s in (5, 125, 7300, 200000)] == ["5s", "2m", "2h", "2d"]
    assert since("2025-06-01T11:58:00Z", NOW) == "2m" and since("junk", NOW) == "-"
    assert short_source("https://hf.co/org/repo/resolve/main/model-q4.gguf") == (
        "hf.co/…/model-q4.gguf"
    )
    # Too long even so: the end of the file name, which tells models apart.
    long = "https://huggingface.co/a/resolve/main/meta-llama-3.1-8b-instruct-q4.gguf"
    assert short_source(long) == "…ama-3.1-8b-instruct-q4.gguf"
    cells = ["2 GiB", "-", "512 MiB", "10", "9", "1/3", "3/3", "abc"]
    ordered = sorted(cells, key=sort_value)
    assert ordered.index("-") == 0
    assert ordered.index("512 MiB") < ordered.index("2 GiB")
    assert ordered.index("9") < ordered.index("10")
    assert ordered.index("1/3") < ordered.index("3/3")
    assert ordered[-1] == "abc"


def test_importing_the_app_leaves_the_kubernetes_client_out():
    # The first frame must not wait for the client's second of imports.
    code = "import sys, llmkube_tui.ui.app; print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- against the real API server ---------------------------------------------------
@pytest.fixture
def reader() -> Iterator[ReaderProcess]:
    """The reader process the CLI forks: these tests read through it, as
    the dashboard does."""
    process = start_reader()
    assert process is not None
    yield process
    process.close()


@pytest.fixture(scope="module")
def seeded(admin: Connection, kubeconfig: Path) -> Target:
    seed(admin, PLAN)
    # No controller manager here makes it: a pod needs it to be created.
    admin.create(
        "/api/v1/namespaces/snap-prod/serviceaccounts",
        {"metadata": {"name": "default"}},
        exist_ok=True,
    )
    return Target(str(kubeconfig))


async def test_navigate_filter_refresh_and_quit(
    seeded: Target, admin: Connection, reader: ReaderProcess
):
    # No node runs the scan pod here: the cache view must say so calmly.
    source = ClusterSource(seeded, scan_timeout=2.0, reader=reader)
    # As the CLI does: the first load starts before the app; the later
    # refreshes (snap-aaa below) are fresh loads.
    source.prefetch()
    app = LlmkubeApp(source=source, namespace_filter="snap-", refresh_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        namespaces = app.query_one("#namespaces", ResourceTable)
        await _until(pilot, lambda: namespaces.row_count >= 3)
        assert "connected" in _status(app) and "ctx: " in _status(app)
        assert _keys(namespaces) == ["snap-prod", "snap-sandbox", "snap-staging"]
        assert namespaces.get_row("snap-prod")[1:3] == ["200 GiB", "Pending"]
        assert namespaces.get_row("snap-prod")[6:8] == ["2", "2"]
        assert app.current_namespace == "snap-prod"
        # The reader has the data; the actions' connection opens beside it.
        await _until(pilot, lambda: app.connection() is not None)

        await pilot.press("down")
        assert namespaces.selected_key == "snap-sandbox"
        assert app.current_namespace == "snap-sandbox"

        # A namespace created meanwhile appears on the next background refresh
        # without moving the cursor off the selected row.
        seed(admin, {"snap-aaa": (None, [])})
        await _until(pilot, lambda: "snap-aaa" in _keys(namespaces))
        assert _keys(namespaces)[0] == "snap-aaa"
        assert namespaces.selected_key == "snap-sandbox"

        await pilot.press("slash", *"stag")
        assert _keys(namespaces) == ["snap-staging"]
        await pilot.press("enter")
        # esc drops the filter altogether: every namespace is back.
        await pilot.press("escape")
        assert {"default", "kube-system", "snap-aaa", "snap-prod"} <= set(_keys(namespaces))

        # enter opens the cache view; with no node the scan pod never starts:
        # the expected keys stay listed and a notification says why.
        assert namespaces.select("snap-prod")
        await pilot.press("enter")
        assert app.current_view == "cache"
        cache = app.query_one("#cache", ResourceTable)
        await _until(pilot, lambda: cache.row_count == 2)
        await _until(pilot, lambda: "scan failed" in _title(app, "cache"), timeout=30)
        assert {cache.get_row(k)[2] for k in _keys(cache)} == {"not scanned"}
        assert any("not done in 2s" in n.message for n in app._notifications)
        # The timer's refreshes (every 0.5 s here) never start another scan
        # pod; ctrl+r does.
        await asyncio.sleep(1.5)
        assert "scan failed" in _title(app, "cache") and not app._scanning
        await pilot.press("ctrl+r")
        assert "snap-prod" in app._scanning
        await _until(pilot, lambda: "scan failed" in _title(app, "cache"), timeout=30)
        # Nothing scanned, nothing to clear; deploy needs no scan.
        notes = len(list(app._notifications))
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert len(list(app._notifications)) > notes
        await pilot.press("n")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "DeployScreen")
        assert app.screen.namespace == "snap-prod"
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is app.screen_stack[0])
        await pilot.press("escape")
        assert app.current_view == "namespaces"

        # Services of the namespace; YAML and events of one, from the server.
        await pilot.press("3")
        services = app.query_one("#services", ResourceTable)
        await _until(pilot, lambda: services.row_count == 2)
        assert services.selected_key is not None
        await pilot.press("y")
        await _until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loaded)
        text = str(app.screen.query_one("#detail-text").render())
        assert "kind: InferenceService" in text and "managedFields" not in text
        await pilot.press("escape", "l")
        await _until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loaded)
        assert "events" in app.screen.heading
        await pilot.press("escape")

        await pilot.press("4")
        await _until(pilot, lambda: app.gpu_nodes is not None)
        assert "no node advertises" in str(app.query_one("#gpus-empty").render())

        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"

        await pilot.press("q")
    assert app.return_code == 0


async def test_context_picker_switches_context(
    kubeconfig: Path, tmp_path: Path, reader: ReaderProcess
):
    import yaml

    doc = yaml.safe_load(kubeconfig.read_text())
    first = doc["contexts"][0]
    doc["contexts"].append({"name": "zz-second", "context": dict(first["context"])})
    two = tmp_path / "two.kubeconfig"
    two.write_text(yaml.safe_dump(doc))
    app = LlmkubeApp(source=ClusterSource(Target(str(two)), reader=reader))
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app.overview is not None)
        await pilot.press("colon", *"ctx", "enter")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "ContextScreen")
        assert app.screen.names == tuple(sorted((first["name"], "zz-second")))
        assert app.screen.current == first["name"]
        await pilot.press("down", "enter")
        await _until(pilot, lambda: "ctx: zz-second" in _status(app))
        await _until(pilot, lambda: app.overview is not None and "connected" in _status(app))
        assert app.overview.context == "zz-second"


async def test_forbidden_lists_show_forbidden(restricted_kubeconfig: Path, reader: ReaderProcess):
    """alice may read team-a only: the lists she may not read say so."""
    source = ClusterSource(Target(str(restricted_kubeconfig)), reader=reader)
    app = LlmkubeApp(source=source, refresh_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        namespaces = app.query_one("#namespaces", ResourceTable)
        await _until(pilot, lambda: namespaces.row_count == 1)
        assert _keys(namespaces) == ["team-a"]
        assert "namespace list forbidden" in _title(app, "namespaces")
        assert "connected" in _status(app)

        await pilot.press("4")
        await _until(pilot, lambda: app.gpu_nodes is not None)
        assert "nodes forbidden" in _title(app, "gpus")

        # The actions RBAC refuses her in team-a are known before she tries
        # them: the key says so instead of opening a modal, and help marks them.
        await _until(pilot, lambda: bool(app.denied))
        assert set(app.denied) == {"export", "import", "probe"}
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert any(
            n.message == "forbidden: may not create pods/exec in team-a" for n in app._notifications
        )
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        help_text = "".join(str(c.render()) for c in app.screen.query(".help-column"))
        assert "export a bundle (forbidden)" in help_text
        await pilot.press("escape")

        # The Namespace object itself is out of her reach: the detail says so.
        await pilot.press("1", "y")
        await _until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loaded)
        assert "forbidden" in str(app.screen.query_one("#detail-text").render())
        await pilot.press("escape")
        assert app.is_running


async def test_unreachable_server_keeps_the_app_running(
    tmp_path: Path, cluster, reader: ReaderProcess
):
    from llmkube_tui.localcluster.cluster import free_port

    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(
        cluster.kubeconfig.read_text().replace(cluster.server, f"https://127.0.0.1:{free_port()}")
    )
    app = LlmkubeApp(source=ClusterSource(Target(str(dead)), reader=reader))
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app.query_one("#status").state == "disconnected")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.is_running
        assert "no data" in _status(app)


@pytest.fixture
def own_cluster(tmp_path: Path):
    """A control plane of this test's own: it stops and restarts the API
    server, which the session's shared cluster must never see."""
    cluster = LocalCluster(tmp_path / "cluster", Ports.ephemeral())
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()


async def test_api_server_stops_and_comes_back(own_cluster: LocalCluster, reader: ReaderProcess):
    target = Target(str(own_cluster.kubeconfig))
    seed(Connection.open(target), {"gone-and-back": ("1Gi", [])})
    source = ClusterSource(target, reader=reader)
    app = LlmkubeApp(source=source, refresh_seconds=0.3, max_backoff=1.0)
    async with app.run_test(size=SIZE) as pilot:
        namespaces = app.query_one("#namespaces", ResourceTable)
        await _until(pilot, lambda: "gone-and-back" in _keys(namespaces))
        namespaces.select("gone-and-back")
        status = app.query_one("#status")
        loaded_at = status.loaded_at

        await asyncio.to_thread(own_cluster.stop_component, "kube-apiserver")
        await _until(pilot, lambda: status.state == "disconnected", timeout=20)
        # The last data stays, with its age, and the selection with it.
        assert "gone-and-back" in _keys(namespaces)
        assert namespaces.selected_key == "gone-and-back"
        assert status.loaded_at == loaded_at
        assert "disconnected" in _status(app) and "old" in _status(app)
        assert any("cannot reach the API server" in n.message for n in app._notifications)

        await asyncio.to_thread(own_cluster.start_component, "kube-apiserver")
        await _until(pilot, lambda: status.state == "connected", timeout=60)
        assert status.loaded_at > loaded_at
        assert namespaces.selected_key == "gone-and-back"
        assert any("connected again" in n.message for n in app._notifications)
        # Every load came through the reader: it never had to be replaced.
        assert source.reader is reader and reader.alive


def test_cli_refuses_an_unknown_theme_without_a_traceback(capsys: pytest.CaptureFixture[str]):
    from llmkube_tui.cli import main

    assert main(["--kubeconfig", "/nonexistent", "--theme", "nosuch"]) == 2
    assert "no theme 'nosuch'" in capsys.readouterr().err


async def test_a_cell_that_grows_widens_its_column():
    from textual.app import App, ComposeResult

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield ResourceTable(("NAME", "HIT"))

    async with Host().run_test(size=(80, 24)) as pilot:
        table = pilot.app.query_one(ResourceTable)
        table.sync({"a": ("svc", "-")})
        await pilot.pause()
        table.sync({"a": ("svc", "miss")})
        await pilot.pause()
        assert table.column_width("HIT") >= len("miss")


async def test_large_table_moves_sorts_and_keeps_the_selection():
    from textual.app import App, ComposeResult

    chosen: list[str] = []

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield ResourceTable(("NAME", "SIZE"))

        def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
            chosen.append(event.key)

    rows = {f"r{i:04d}": (f"r{i:04d}", f"{i} MiB") for i in range(5000)}
    async with Host().run_test(size=(80, 24)) as pilot:
        table = pilot.app.query_one(ResourceTable)
        table.focus()
        table.sync(rows)
        await pilot.press("end")
        assert table.selected_key == "r4999"
        # The last row is on screen: the view followed the cursor.
        assert table.scroll_y >= 5000 - table.scrollable_content_region.height
        await pilot.press("home", "down", "down", "enter")
        assert table.selected_key == "r0002" and chosen == ["r0002"]
        # Sizes sort by value, not text: 1000 MiB after 999 MiB.
        table.sort_by(1, reverse=True)
        assert table.ordered_keys[:2] == ["r4999", "r4998"]
        assert table.selected_key == "r0002"
        # Its row gone, the cursor stays where it was, on the next row.
        index = table.cursor_row
        table.sync({k: v for k, v in rows.items() if k != "r0002"})
        assert table.cursor_row == index and table.selected_key == "r0001"
