"""The dashboard's action modals, driven by Pilot against real clusters.

The control plane alone (no pods run) serves what needs only the API:
deploy, the form checks, read-only refusal, RBAC refusal, the clear
confirmation, resize of an unbound claim. The real node serves what needs
a pod: preload (with a throttled origin, to watch and cancel a download),
clear, verify, export and import, resize of a bound claim.

Each modal is hosted by a bare App, so these tests do not depend on the
dashboard's views.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Static

from llmkube_tui.backend.access import NEEDS, denied_actions
from llmkube_tui.backend.cacheentry import CacheEntry
from llmkube_tui.backend.cacheops import CacheListing, list_entries
from llmkube_tui.backend.cachevolume import ensure_cache_volume
from llmkube_tui.backend.config import Config, Images
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, DeployResult, deployment_object
from llmkube_tui.backend.preload import preload
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.backend.target import Target
from llmkube_tui.backend.transfer import export_entries
from llmkube_tui.cachekey import cache_key
from llmkube_tui.catalog import load_catalog
from llmkube_tui.localcluster.cluster import LocalCluster
from llmkube_tui.localcluster.images import PYTHON_IMAGE, STANDIN_IMAGE
from llmkube_tui.ui.actions import ACTION_KEYS
from llmkube_tui.ui.screens import launch
from llmkube_tui.ui.screens.action import ActionScreen, open_action
from llmkube_tui.ui.screens.clear import ClearScreen
from llmkube_tui.ui.screens.deploy import DeployScreen
from llmkube_tui.ui.screens.preload import PreloadScreen
from llmkube_tui.ui.screens.resize import ResizeScreen
from llmkube_tui.ui.screens.transfer import ExportScreen, ImportScreen
from llmkube_tui.ui.screens.verify import VerifyScreen
from llmkube_tui.ui.widgets.byte_progress import ByteProgress

from .kube import wait_for
from .origin import Origin, make_gguf

SIZE = (120, 40)
CATALOG = load_catalog()
MODEL_SIZE = 24 * 2**20
LOCAL_IMAGES = Images(
    fetcher=PYTHON_IMAGE, server=STANDIN_IMAGE, server_cuda=STANDIN_IMAGE, pull_policy="Never"
)
NODE_CONFIG = Config(cache=CacheSettings(size="2Gi"), images=LOCAL_IMAGES, mode="standalone")


class Host(App[None]):
    """The smallest app an action modal needs: `read_only`, and a record of
    the notifications and results it got."""

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only
        self.notes: list[tuple[str, str]] = []
        self.results: list[Any] = []

    def notify(self, message: str, **kwargs: Any) -> None:  # type: ignore[override]
        self.notes.append((kwargs.get("severity", "information"), message))
        super().notify(message, **kwargs)

    def open(self, screen: ActionScreen[Any]) -> bool:
        return open_action(self, screen, self.results.append)

    def noted(self, severity: str) -> list[str]:
        return [m for s, m in self.notes if s == severity]


async def until(pilot: Pilot[Any], check: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            screen = pilot.app.screen
            status = screen.query("#action-status")
            raise AssertionError(
                f"timed out waiting in the UI; notes {getattr(pilot.app, 'notes', '')}, "
                f"status {status.first().render() if status else '-'}"
            )
        await asyncio.sleep(0.05)
    await pilot.pause()


def text(screen: ActionScreen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def typed(pilot: Pilot[Any], selector: str, value: str) -> None:
    """Replace an Input's text with keystrokes, as an operator would."""
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    await pilot.pause()
    await pilot.press("end", *["backspace"] * len(box.value), *value)


def namespace(conn: Connection, name: str) -> str:
    conn.create("/api/v1/namespaces", {"metadata": {"name": name}}, exist_ok=True)
    return name


# -- read-only mode ---------------------------------------------------------
SCREENS: dict[str, Callable[[Connection], ActionScreen[Any]]] = {
    "deploy": lambda c: DeployScreen(c, Config(), "default", CATALOG),
    "preload": lambda c: PreloadScreen(c, Config(), "default", CATALOG),
    "clear": lambda c: ClearScreen(c, Config(), "default", []),
    "resize": lambda c: ResizeScreen(c, "default"),
    "verify": lambda c: VerifyScreen(c, Config(), "default"),
    "export": lambda c: ExportScreen(c, Config(), "default"),
    "import": lambda c: ImportScreen(c, Config(), "default"),
}


@pytest.mark.parametrize("action", SCREENS)
async def test_read_only_refuses_every_action(admin: Connection, action: str):
    app = Host(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        assert not app.open(SCREENS[action](admin))
        # Pushed directly, past open_action, the modal still refuses.
        app.push_screen(SCREENS[action](admin))
        await pilot.pause()
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert (
            app.noted("warning")
            == [f"read-only mode: {action} changes the cluster and is refused"] * 2
        )
        assert app.results == []


# -- deploy -------------------------------------------------------------------
async def test_deploy_creates_model_and_inference_service(admin: Connection):
    ns = namespace(admin, "act-deploy")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        assert app.open(DeployScreen(admin, Config(), ns, CATALOG))
        await pilot.pause()
        screen = app.screen
        # The third model of the catalog needs a GPU: the toggle follows.
        await pilot.press("down", "down")
        assert text(screen, "#deploy-needs").startswith("Llama 3.2 3B Instruct: 1.9 GiB")
        assert "needs 1 GPU, 4 GB of GPU memory" in text(screen, "#deploy-needs")
        # A Service name has no dots: the catalog name is made into one.
        assert screen.query_one("#deploy-name", Input).value == "llama-3-2-3b"
        assert screen.query_one("#deploy-gpu", Checkbox).value is True
        await typed(pilot, "#deploy-replicas", "2")
        await pilot.press("enter")
        await until(pilot, lambda: app.results)

    (result,) = app.results
    assert isinstance(result, DeployResult)
    assert (result.mode, result.objects) == (
        "llmkube",
        ("Model/llama-3-2-3b", "InferenceService/llama-3-2-3b"),
    )
    base = f"/apis/inference.llmkube.dev/v1alpha1/namespaces/{ns}"
    model = admin.get(f"{base}/models/llama-3-2-3b")
    assert model["spec"]["source"] == CATALOG["llama-3.2-3b"].source
    assert model["spec"]["hardware"]["gpu"]["count"] == 1
    service = admin.get(f"{base}/inferenceservices/llama-3-2-3b")
    assert service["spec"]["replicas"] == 2 and service["spec"]["resources"] == {"gpu": 1}
    assert any("llama-3-2-3b in act-deploy (llmkube mode)" in m for m in app.noted("information"))


async def test_deploy_form_refuses_bad_values_and_shows_api_errors(admin: Connection):
    ns = namespace(admin, "act-deploy-bad")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(DeployScreen(admin, Config(), ns, CATALOG))
        await pilot.pause()
        screen = app.screen

        await typed(pilot, "#deploy-replicas", "11")
        await pilot.press("enter")
        await pilot.pause()
        assert text(screen, "#action-status") == "replicas '11': 0 to 10"

        await typed(pilot, "#deploy-replicas", "1")
        await typed(pilot, "#deploy-name", "Bad_Name")
        await pilot.press("enter")
        await pilot.pause()
        assert "name 'Bad_Name': lower-case letters" in text(screen, "#action-status")
        await typed(pilot, "#deploy-name", "tiny")

        # Past the form, the API server's own refusal, word for word.
        await typed(pilot, "#deploy-namespace", "act-no-such-namespace")
        await pilot.press("enter")
        await until(pilot, lambda: app.noted("error")[2:])
        assert app.noted("error")[-1] == 'not found: namespaces "act-no-such-namespace" not found'
        assert text(screen, "#action-status") == app.noted("error")[-1]
        assert app.screen is screen and app.results == []
        assert not screen.query_one("#deploy-go", Button).disabled

    base = f"/apis/inference.llmkube.dev/v1alpha1/namespaces/{ns}/models"
    assert admin.get(base)["items"] == []


async def test_deploy_as_a_user_rbac_confines(restricted_kubeconfig: Path, admin: Connection):
    alice = Connection.open(Target(str(restricted_kubeconfig)))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(DeployScreen(alice, Config(), "default", CATALOG))
        await pilot.pause()
        screen = app.screen
        # Asked before the operator tries: the modal says it would be refused.
        await until(pilot, lambda: screen.query("#action-denied"))
        denial = "forbidden: may not create persistentvolumeclaims in default"
        assert text(screen, "#action-denied") == denial
        # enter picks the catalog's first model (focus goes to the name),
        # enter again would deploy it: refused without a call.
        await pilot.press("enter", "enter")
        assert app.noted("error") == [denial]

        # Where the Role allows it, the same user deploys.
        await typed(pilot, "#deploy-namespace", "team-a")
        assert not screen.query("#action-denied")
        await pilot.press("enter")
        await until(pilot, lambda: app.results)
    assert app.results[0].objects == (
        "Model/tinyllama-1-1b",
        "InferenceService/tinyllama-1-1b",
    )


async def test_rbac_denials_are_asked_of_the_api_server(
    restricted_kubeconfig: Path, admin: Connection
):
    alice = Connection.open(Target(str(restricted_kubeconfig)))
    actions = ["deploy", *NEEDS]
    # The fixture's Role has no pods/exec (bundles need it) and no
    # services/proxy (probe needs it); nothing else needs either.
    assert denied_actions(alice, "team-a", actions) == {
        "export": "may not create pods/exec in team-a",
        "import": "may not create pods/exec in team-a",
        "probe": "may not create services/proxy in team-a",
    }
    assert set(denied_actions(alice, "default", actions)) == set(actions)
    assert denied_actions(admin, "team-a", actions) == {}

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(ExportScreen(alice, Config(), "team-a"))
        await pilot.pause()
        screen = app.screen
        await until(pilot, lambda: screen.query("#action-denied"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.noted("error") == ["forbidden: may not create pods/exec in team-a"]
        assert text(screen, "#action-status") == app.noted("error")[0]
    pods = admin.get("/api/v1/namespaces/team-a/pods")["items"]
    assert not [p for p in pods if p["metadata"]["name"].startswith("llmkube-export-")]


# -- clear: the confirmation ---------------------------------------------------
def _entry(ns: str, source: str, size: int, state: str = "orphan") -> CacheEntry:
    return CacheEntry(ns, cache_key(source), size, state, source, "model.gguf", "", ())


async def test_clear_confirmation_names_entries_bytes_and_users(admin: Connection):
    ns = namespace(admin, "act-clear-confirm")
    served = "http://origin.invalid/served.gguf"
    idle = "http://origin.invalid/idle.gguf"
    # A Deployment of ours that reads the first entry (no pod runs here:
    # the control plane has no controllers, the object is what counts).
    admin.create(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        deployment_object(DeployRequest("server", served, ns), Config()),
        exist_ok=True,
    )
    entries = [_entry(ns, served, 3 * 2**30, "complete"), _entry(ns, idle, 512 * 2**20)]
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(ClearScreen(admin, Config(), ns, entries))
        await pilot.pause()
        screen = app.screen
        await until(pilot, lambda: "used by" in text(screen, "#clear-summary"))
        summary = text(screen, "#clear-summary")
        assert f"{cache_key(served)}       3 GiB  complete" in summary
        assert f"    used by Deployment/server\n{cache_key(idle)}" in summary
        assert "Frees 3.5 GiB (3758096384 bytes)." in summary
        assert "in use by running services" in text(screen, "#clear-warning")
        go = screen.query_one("#clear-go", Button)
        assert go.disabled, "an entry in use needs force"
        await pilot.click("#clear-force")
        assert not go.disabled
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


# -- resize: what the control plane can show -------------------------------------
async def test_resize_of_an_unbound_or_missing_volume_says_why(admin: Connection):
    ns = namespace(admin, "act-resize-pending")
    ensure_cache_volume(admin, ns, CacheSettings(size="2Gi"))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(ResizeScreen(admin, ns))
        await pilot.pause()
        screen = app.screen
        await until(pilot, lambda: text(screen, "#resize-bounds"))
        bounds = text(screen, "#resize-bounds")
        assert "requested  2Gi (2 GiB)" in bounds
        # Nothing binds claims on a bare control plane.
        assert "no resize now: the cache volume in act-resize-pending is Pending" in bounds
        assert screen.query_one("#resize-size", Input).disabled
        await pilot.press("escape")

        app.open(ResizeScreen(admin, namespace(admin, "act-resize-none")))
        await until(pilot, lambda: app.noted("error"))
        assert app.noted("error") == ["namespace act-resize-none has no model cache volume"]
        assert text(app.screen, "#action-status") == app.noted("error")[0]


# -- on the real node ------------------------------------------------------------
SLOW_SIZE = 48 * 2**20
SLOW_RATE = 2 * 2**20  # bytes per second and connection


@pytest.fixture(scope="module")
def origin(
    node_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Origin]:
    files = tmp_path_factory.mktemp("origin")
    models = {f"act-{i}.gguf": make_gguf(files / f"act-{i}.gguf", MODEL_SIZE) for i in range(2)}
    with Origin(node_cluster.network.gateway, models) as served:
        yield served


@pytest.fixture(scope="module")
def slow(node_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    path = make_gguf(tmp_path_factory.mktemp("slow") / "slow.gguf", SLOW_SIZE)
    with Origin(node_cluster.network.gateway, {path.name: path}, rate=SLOW_RATE) as served:
        yield served


@pytest.mark.node
async def test_preload_shows_the_bytes_arriving(node: Connection, slow: Origin):
    ns = namespace(node, "act-preload")
    source = slow.source("slow.gguf") + "?watch"
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(PreloadScreen(node, NODE_CONFIG, ns, CATALOG, source=source))
        await pilot.pause()
        progress = app.screen.query_one(ByteProgress)
        await pilot.press("enter")
        seen: list[tuple[int, int | None]] = []
        deadline = time.monotonic() + 240
        while not app.results:
            assert time.monotonic() < deadline, app.notes
            if progress.total and (not seen or seen[-1] != (progress.done, progress.total)):
                seen.append((progress.done, progress.total))
            await asyncio.sleep(0.05)
    (result,) = app.results
    assert (result["result"], result["size"]) == ("miss", SLOW_SIZE)
    assert {total for _, total in seen} == {SLOW_SIZE}
    done = [d for d, _ in seen]
    assert len(done) >= 3 and done == sorted(done)
    assert any(0 < d < SLOW_SIZE for d in done), "no update in the middle of the download"
    assert progress.text.startswith("downloading: ") and " / 48 MiB at " in progress.text
    (message,) = app.noted("information")
    assert message == f"miss: {cache_key(source)} in {ns}, 48 MiB, 48 MiB downloaded"


@pytest.mark.node
async def test_preload_cancel_deletes_the_job_and_says_so(node: Connection, slow: Origin):
    ns = namespace(node, "act-preload-cancel")
    source = slow.source("slow.gguf") + "?cancel"
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(PreloadScreen(node, NODE_CONFIG, ns, CATALOG, source=source))
        await pilot.pause()
        screen = app.screen
        progress = screen.query_one(ByteProgress)
        await pilot.press("enter")
        await until(pilot, lambda: progress.done > 0, timeout=180)
        await pilot.press("escape")
        await until(pilot, lambda: app.noted("warning"), timeout=30)
        (message,) = app.noted("warning")
        assert message == (
            f"preload of {source} cancelled; the partial download is kept for resume"
        )
        assert text(screen, "#action-status") == message
        assert app.screen is screen, "the modal stays to say what happened"
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    jobs = f"/apis/batch/v1/namespaces/{ns}/jobs"
    selector = {"labelSelector": f"llmkube.dev/cache-key={cache_key(source)}"}
    deadline = time.monotonic() + 60
    while node.get(jobs, query=selector)["items"]:
        assert time.monotonic() < deadline, "the cancelled preload's Job is still there"
        await asyncio.sleep(0.2)


def _preloaded(conn: Connection, ns: str, source: str) -> CacheEntry:
    """An entry filled through the backend (the modal of preload has its own
    tests): what the other actions act on."""
    namespace(conn, ns)
    preload(conn, NODE_CONFIG, ns, source)
    (entry,) = [e for e in list_entries(conn, NODE_CONFIG, ns).entries if e.source == source]
    return entry


@pytest.mark.node
async def test_clear_deletes_exactly_what_it_names(node: Connection, origin: Origin):
    ns = "act-clear"
    entry = _preloaded(node, ns, origin.source("act-0.gguf"))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(ClearScreen(node, NODE_CONFIG, ns, [entry]))
        await pilot.pause()
        screen = app.screen
        go = screen.query_one("#clear-go", Button)
        await until(pilot, lambda: not go.disabled)
        assert text(screen, "#clear-summary").startswith(f"{entry.key}      24 MiB  orphan")
        assert "Frees 24 MiB (25165824 bytes)." in text(screen, "#clear-summary")
        assert not screen.query_one("#clear-warning", Static).display
        await pilot.click("#clear-go")
        await until(pilot, lambda: app.results, timeout=180)
    (result,) = app.results
    assert result.removed == (entry.key,) and result.bytes_freed >= MODEL_SIZE
    assert app.noted("information") == [f"removed {entry.key} from {ns}; freed 24 MiB"]
    assert list_entries(node, NODE_CONFIG, ns).entries == ()


@pytest.mark.node
async def test_verify_export_and_import_with_progress(
    node: Connection, origin: Origin, tmp_path: Path
):
    src, dst = "act-export", namespace(node, "act-import")
    entry = _preloaded(node, src, origin.source("act-1.gguf"))
    bundle = tmp_path / "cache.tar"
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        # verify starts as it opens: the key press was the request
        app.open(VerifyScreen(node, NODE_CONFIG, src))
        await until(pilot, lambda: app.results, timeout=180)
        (checked,) = app.results.pop()
        assert (checked.key, checked.ok, checked.sha256) == (entry.key, True, entry.sha256)
        assert app.noted("information")[-1] == f"1 of 1 entries ok in {src}"

        app.open(ExportScreen(node, NODE_CONFIG, src, path=bundle))
        await pilot.pause()
        progress = app.screen.query_one(ByteProgress)
        await pilot.press("enter")
        await until(pilot, lambda: app.results, timeout=180)
        (exported,) = app.results.pop()
        assert exported.key == entry.key and bundle.stat().st_size > MODEL_SIZE
        assert (progress.done, progress.total) == (MODEL_SIZE, MODEL_SIZE)
        assert progress.text == f"{entry.key}: 24 MiB / 24 MiB"
        assert app.noted("information")[-1] == f"exported 1 entries (24 MiB) to {bundle}"

        app.open(ImportScreen(node, NODE_CONFIG, dst))
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#import-go", Button).disabled, "nothing checked yet"
        await pilot.press(*str(bundle), "enter")
        await until(pilot, lambda: not screen.query_one("#import-go", Button).disabled)
        summary = text(screen, "#import-summary")
        assert summary.startswith(f"{entry.key}      24 MiB  http://")
        progress = screen.query_one(ByteProgress)
        await pilot.click("#import-go")
        await until(pilot, lambda: app.results, timeout=180)
        (imported,) = app.results.pop()
        assert (imported.key, imported.result) == (entry.key, "imported")
        assert progress.done == MODEL_SIZE
    (copy,) = list_entries(node, NODE_CONFIG, dst).entries
    assert (copy.key, copy.sha256, copy.state) == (entry.key, entry.sha256, "orphan")


@pytest.mark.node
async def test_export_and_import_cancelled_leave_nothing(
    node: Connection, origin: Origin, tmp_path: Path
):
    src, dst = "act-export-cancel", namespace(node, "act-import-cancel")
    _preloaded(node, src, origin.source("act-1.gguf"))
    bundle, none = tmp_path / "cache.tar", tmp_path / "cancelled.tar"
    export_entries(node, NODE_CONFIG, src, bundle)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        # esc right after the start lands while the pod scans the cache; the
        # export stops before its first byte.
        app.open(ExportScreen(node, NODE_CONFIG, src, path=none))
        await pilot.pause()
        await pilot.press("enter", "escape")
        await until(pilot, lambda: app.noted("warning"), timeout=180)
        assert app.noted("warning")[-1].startswith("export cancelled while reading ")
        assert not none.exists() and not none.with_name(none.name + ".partial").exists()
        await pilot.press("escape")

        app.open(ImportScreen(node, NODE_CONFIG, dst, path=bundle))
        await pilot.pause()
        screen = app.screen
        await pilot.click("#import-check")
        await until(pilot, lambda: not screen.query_one("#import-go", Button).disabled)
        await pilot.click("#import-go")
        await pilot.press("escape")
        await until(pilot, lambda: app.noted("warning")[1:], timeout=180)
        assert app.noted("warning")[-1].endswith(
            "which was not published; entries sent before it stay in the cache"
        )
    assert [e for e in list_entries(node, NODE_CONFIG, dst).entries if e.state == "orphan"] == []


@pytest.mark.node
async def test_resize_checks_sizes_as_typed_then_grows(node: Connection):
    ns = namespace(node, "act-resize")
    ensure_cache_volume(node, ns, NODE_CONFIG.cache)
    wait_for(
        node,
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims/llmkube-model-cache",
        lambda pvc: pvc.get("status", {}).get("phase") == "Bound",
    )
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(ResizeScreen(node, ns))
        await pilot.pause()
        screen = app.screen
        box = screen.query_one("#resize-size", Input)
        await until(pilot, lambda: not box.disabled)
        bounds = text(screen, "#resize-bounds")
        assert "requested  2Gi (2 GiB)" in bounds and "phase      Bound" in bounds
        assert "allowed    more than 2Gi; Kubernetes never shrinks a volume" in bounds

        await pilot.press(*"1Gi")
        assert box.has_class("-invalid")
        assert text(screen, "#action-status") == (
            "cannot shrink the cache volume from 2Gi to 1Gi: Kubernetes forbids it"
        )
        await typed(pilot, "#resize-size", "lots")
        assert text(screen, "#action-status").startswith("not a size: 'lots'")
        await typed(pilot, "#resize-size", "3Gi")
        assert not box.has_class("-invalid") and text(screen, "#action-status") == ""
        await pilot.press("enter")
        await until(pilot, lambda: app.results)
    (result,) = app.results
    assert (result.old, result.new) == ("2Gi", "3Gi")
    pvc = node.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/llmkube-model-cache")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert app.noted("information")[0].startswith(f"cache volume in {ns}: 2Gi -> 3Gi requested")


# -- opening the modals from the dashboard's state ---------------------------------
class Dashboard(Host):
    """What the dashboard offers the openers (ui.screens.launch.Dashboard),
    with the state a test sets."""

    def __init__(
        self,
        conn: Connection | None,
        namespace: str | None,
        *,
        view: str = "namespaces",
        selected: str | None = None,
        scans: dict[str, CacheListing] | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__(read_only=read_only)
        self._conn = conn
        self.current_namespace = namespace
        self.current_view = view
        self.selected_key = selected
        self.scans = scans or {}
        self.refreshed = 0

    def connection(self) -> Connection | None:
        return self._conn

    def config(self) -> Config:
        return Config()

    def refresh_now(self) -> None:
        self.refreshed += 1


async def test_openers_take_namespace_selection_and_scan_from_the_dashboard(admin: Connection):
    ns = namespace(admin, "act-open")
    one, two = (
        _entry(ns, "http://o.invalid/1.gguf", 2**20),
        _entry(ns, "http://o.invalid/2.gguf", 1),
    )
    scans = {ns: CacheListing(ns, None, (one, two))}
    app = Dashboard(admin, ns, view="cache", selected=two.key, scans=scans)
    async with app.run_test(size=SIZE) as pilot:
        assert launch.open_clear_entry(app)
        await pilot.pause()
        assert isinstance(app.screen, ClearScreen) and app.screen.entries == (two,)
        await pilot.press("escape")
        assert len(app.screen_stack) == 1
        assert launch.open_preload(app)
        await pilot.pause()
        assert isinstance(app.screen, PreloadScreen) and app.screen.source == two.source
        await pilot.press("escape")
        assert len(app.screen_stack) == 1
        assert launch.open_export(app)
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen) and app.screen.keys == [two.key]
        await pilot.press("escape")
        assert len(app.screen_stack) == 1

        app.current_view = "namespaces"
        assert launch.open_clear_all(app)
        await pilot.pause()
        assert isinstance(app.screen, ClearScreen) and app.screen.entries == (one, two)
        await pilot.press("escape")
        assert len(app.screen_stack) == 1
        assert not launch.open_clear_entry(app), "no entry is selected outside the cache view"
        assert app.noted("warning") == ["clear: select an entry in the cache view"]

        # A change refreshes the dashboard; closing without one does not.
        assert app.refreshed == 0
        assert launch.open_deploy(app)
        await pilot.pause()
        assert app.screen.namespace == ns
        await pilot.press("enter", "enter")
        await until(pilot, lambda: app.refreshed)
        assert app.refreshed == 1 and len(app.screen_stack) == 1


async def test_openers_say_what_is_missing(admin: Connection):
    app = Dashboard(None, None)
    async with app.run_test(size=SIZE) as pilot:
        assert not launch.open_resize(app)
        assert app.noted("warning") == ["resize: not connected to the API server yet"]
        app._conn = admin
        app.current_namespace, app.current_view = "act-open-unscanned", "cache"
        assert not launch.open_clear_all(app)
        assert app.noted("warning")[-1] == (
            "clear: the cache of act-open-unscanned is not scanned yet; open its cache view"
        )
        await pilot.pause()
        assert len(app.screen_stack) == 1

    app = Dashboard(admin, "default", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        # Every opener of a mutation the dashboard binds a key to.
        mutations = [a for a in ACTION_KEYS if a.mutates]
        for action in mutations:
            assert not getattr(launch, action.opener)(app), action.name
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert len(app.noted("warning")) == len(mutations)
        assert all(m.startswith("read-only mode: ") for m in app.noted("warning"))


@pytest.mark.node
async def test_quitting_during_a_preload_stops_its_job(node: Connection, slow: Origin):
    ns = namespace(node, "act-preload-quit")
    source = slow.source("slow.gguf") + "?quit"
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(PreloadScreen(node, NODE_CONFIG, ns, CATALOG, source=source))
        await pilot.pause()
        progress = app.screen.query_one(ByteProgress)
        await pilot.press("enter")
        await until(pilot, lambda: progress.done > 0, timeout=180)
        app.exit()
    # The app's end cancels the worker, and the backend deletes the Job.
    jobs = f"/apis/batch/v1/namespaces/{ns}/jobs"
    selector = {"labelSelector": f"llmkube.dev/cache-key={cache_key(source)}"}
    deadline = time.monotonic() + 60
    while node.get(jobs, query=selector)["items"]:
        assert time.monotonic() < deadline, "the Job outlived the dashboard"
        await asyncio.sleep(0.2)


def _pv_dir(conn: Connection, ns: str) -> Path:
    """Where the namespace's cache volume lives on this machine (host-path)."""
    pvc = conn.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/llmkube-model-cache")
    pv = conn.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
    return Path(pv["spec"]["hostPath"]["path"])


@pytest.mark.node
async def test_verify_reports_a_corrupt_entry_and_the_way_back(node: Connection, origin: Origin):
    ns = "act-verify-corrupt"
    source = origin.source("act-0.gguf") + "?corrupt"
    entry = _preloaded(node, ns, source)
    with open(_pv_dir(node, ns) / entry.key / "model.gguf", "r+b") as f:
        f.seek(MODEL_SIZE // 2)
        byte = f.read(1)
        f.seek(MODEL_SIZE // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(VerifyScreen(node, NODE_CONFIG, ns, key=entry.key))
        await until(pilot, lambda: app.results, timeout=180)
    ((bad,),) = app.results
    assert not bad.ok
    (message,) = app.noted("warning")
    assert message.startswith(f"{entry.key}: corrupt: ")
    assert message.endswith(f"llmkube-tui cache preload {source} -n {ns}")


async def test_deploy_without_llmkube_creates_deployment_and_service(bare_cluster: LocalCluster):
    conn = Connection.open(Target(str(bare_cluster.kubeconfig)))
    ns = namespace(conn, "act-standalone")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(DeployScreen(conn, Config(), ns, CATALOG, model="phi-3-mini"))
        await pilot.pause()
        await typed(pilot, "#deploy-name", "phi")
        await pilot.click("#deploy-gpu")  # the catalog says 1 GPU; run it on CPU
        await pilot.click("#deploy-go")
        # No controller binds the new claim here: deploy gives it 20 s.
        await until(pilot, lambda: app.results, timeout=90)
    (result,) = app.results
    assert (result.mode, result.objects) == ("standalone", ("Deployment/phi", "Service/phi"))
    deployment = conn.get(f"/apis/apps/v1/namespaces/{ns}/deployments/phi")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    # GPU unticked: the CPU image, and no nvidia.com/gpu asked.
    assert server["image"] == Config().images.server
    assert not server.get("resources"), server.get("resources")
    assert (
        deployment["metadata"]["annotations"]["llmkube.dev/source"] == CATALOG["phi-3-mini"].source
    )


@pytest.mark.node
async def test_verify_cancel_stops_before_the_next_entry(node: Connection, origin: Origin):
    ns = "act-verify-cancel"
    first = _preloaded(node, ns, origin.source("act-0.gguf") + "?first")
    second = _preloaded(node, ns, origin.source("act-1.gguf") + "?second")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.open(VerifyScreen(node, NODE_CONFIG, ns))
        await pilot.pause()
        screen = app.screen
        progress = screen.query_one(ByteProgress)
        # The scan lists both; the first one's pod takes seconds to hash it.
        await until(pilot, lambda: progress.total == 2, timeout=120)
        assert progress.text.endswith(": 0 of 2 entries done")
        assert progress.text.split(":")[0] in (f"hashing {first.key}", f"hashing {second.key}")
        await pilot.press("escape")
        await until(pilot, lambda: app.noted("warning"), timeout=120)
        assert app.noted("warning") == ["verify cancelled after 1 of 2 entries"]
        assert app.screen is screen and text(screen, "#action-status") == app.noted("warning")[0]


# A download that lasts about half a minute however many connections the
# fetcher opens (it ramps up to one per chunk).
LIVE_RATE = 256 * 2**10


@pytest.mark.node
async def test_cache_view_follows_a_download_live(
    node_cluster: LocalCluster, node: Connection, tmp_path: Path
):
    from llmkube_tui.ui.app import LlmkubeApp
    from llmkube_tui.ui.source import ClusterSource
    from llmkube_tui.ui.widgets.resource_table import ResourceTable

    ns = namespace(node, "act-live")
    path = make_gguf(tmp_path / "live.gguf", SLOW_SIZE)
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "modelCache": {"size": "2Gi"},
                "images": {"fetcher": PYTHON_IMAGE, "pullPolicy": "Never"},
                "mode": "standalone",
            }
        )
    )
    with Origin(node_cluster.network.gateway, {path.name: path}, rate=LIVE_RATE) as served:
        url = served.source(path.name)
        key = cache_key(url)
        started = time.monotonic()
        download = asyncio.create_task(asyncio.to_thread(preload, node, NODE_CONFIG, ns, url))
        # The cache view opens once the download holds its entry.
        while not any(
            e.key == key and e.state == "locked"
            for e in list_entries(node, NODE_CONFIG, ns).entries
        ):
            assert not download.done(), "the download ended before it was seen"
            await asyncio.sleep(0.5)
        source = ClusterSource(Target(str(node_cluster.kubeconfig)), values=values)
        app = LlmkubeApp(source=source, refresh_seconds=1.0)
        states: list[str] = []
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.overview is not None)
            await pilot.press("colon", *f"cache {ns}", "enter")
            table = app.query_one("#cache", ResourceTable)
            deadline = time.monotonic() + 240
            while not states or states[-1].startswith(("downloading", "not scanned")):
                assert time.monotonic() < deadline, states
                if key in table.rows:
                    state = str(table.get_row(key)[2])
                    if not states or states[-1] != state:
                        states.append(state)
                await asyncio.sleep(0.1)
        await download
        took = time.monotonic() - started
    # Live: percentages that grow, and the end, all without a key pressed.
    percents = [int(s.split()[1].rstrip("%")) for s in states if s.startswith("downloading ")]
    assert len(percents) >= 2 and percents == sorted(percents), states
    assert states[-1] in ("orphan", "complete"), states
    print(f"download took {took:.1f} s; states seen: {states}")
