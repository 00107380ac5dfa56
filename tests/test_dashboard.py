"""The dashboard against the real API server: snapshots and navigation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.seed import seed
from llmkube_tui.ui.app import LlmkubeApp
from llmkube_tui.ui.widgets.resource_table import ResourceTable

# The prefix keeps other tests' namespaces out of the snapshots.
PLAN = {
    "snap-prod": ("200Gi", [("llama-3.1-8b", 2), ("mistral-7b", 1)]),
    "snap-staging": ("100Gi", [("llama-2-7b", 1), ("llama-3.2-3b", 0)]),
    "snap-sandbox": (None, [("tinyllama-1.1b", 0)]),
}
SIZE = (120, 40)


@pytest.fixture(scope="module")
def seeded(admin: Connection, kubeconfig: Path) -> Target:
    seed(admin, PLAN)
    return Target(str(kubeconfig))


async def _loaded(pilot, rows: int = 3) -> None:
    app = pilot.app
    for _ in range(200):
        table = app.query_one("#namespaces", ResourceTable)
        if app.overview is not None and table.row_count >= rows:
            break
        await asyncio.sleep(0.05)
    await pilot.pause()


def test_snapshot_overview(snap_compare, seeded: Target):
    app = LlmkubeApp(seeded, namespace_filter="snap-")
    assert snap_compare(app, terminal_size=SIZE, run_before=_loaded)


def test_snapshot_second_namespace_selected(snap_compare, seeded: Target):
    async def select_second(pilot):
        await _loaded(pilot)
        await pilot.press("down")
        await pilot.pause()

    app = LlmkubeApp(seeded, namespace_filter="snap-")
    assert snap_compare(app, terminal_size=SIZE, run_before=select_second)


def test_snapshot_help(snap_compare, seeded: Target):
    async def help_open(pilot):
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    app = LlmkubeApp(seeded, namespace_filter="snap-")
    assert snap_compare(app, terminal_size=(80, 24), run_before=help_open)


async def test_navigate_filter_refresh_and_quit(seeded: Target, admin: Connection):
    app = LlmkubeApp(seeded, namespace_filter="snap-", refresh_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(pilot)
        namespaces = app.query_one("#namespaces", ResourceTable)
        models = app.query_one("#models", ResourceTable)
        assert namespaces.selected_key == "snap-prod"
        assert {r.key.value for r in models.ordered_rows} == {"llama-3.1-8b", "mistral-7b"}

        await pilot.press("down")
        assert namespaces.selected_key == "snap-sandbox"
        assert [r.key.value for r in models.ordered_rows] == ["tinyllama-1.1b"]

        # A namespace created meanwhile appears on the next background refresh
        # without moving the cursor off the selected row.
        seed(admin, {"snap-aaa": (None, [])})
        for _ in range(100):
            if "snap-aaa" in {r.key.value for r in namespaces.ordered_rows}:
                break
            await asyncio.sleep(0.05)
        assert namespaces.ordered_rows[0].key.value == "snap-aaa"
        assert namespaces.selected_key == "snap-sandbox"

        await pilot.press("slash")
        await pilot.press(*"stag")
        assert [r.key.value for r in namespaces.ordered_rows] == ["snap-staging"]
        await pilot.press("enter")
        assert models.row_count == 2

        # esc drops the filter altogether: every namespace is back.
        await pilot.press("escape")
        shown = {r.key.value for r in namespaces.ordered_rows}
        assert {"default", "kube-system", "snap-aaa", "snap-prod"} <= shown

        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"

        await pilot.press("q")
    assert app.return_code == 0


async def test_unreachable_server_keeps_the_app_running(tmp_path: Path, cluster):
    from llmkube_tui.localcluster.cluster import free_port

    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(
        cluster.kubeconfig.read_text().replace(cluster.server, f"https://127.0.0.1:{free_port()}")
    )
    app = LlmkubeApp(Target(str(dead)))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            if app.query_one("#status").state == "disconnected":
                break
            await asyncio.sleep(0.05)
        assert app.query_one("#status").state == "disconnected"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.is_running
