"""llama.cpp's real llama-server, on the real node, serving from the cache.

The model is the tiny real llama (llama.cpp's tokenizer, random weights):
its completions are gibberish, but every one of them went through the cache,
the read-only mount, the server's model loader and the service proxy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmkube_tui.backend.config import Config, Images
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, deploy
from llmkube_tui.backend.errors import Failed, Forbidden, NotFound
from llmkube_tui.backend.probe import probe
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.backend.target import Target
from llmkube_tui.cachekey import cache_key
from llmkube_tui.cli import main
from llmkube_tui.localcluster.cluster import LocalCluster
from llmkube_tui.localcluster.images import LLAMA_SERVER_IMAGE, PYTHON_IMAGE, sha256_file
from llmkube_tui.localcluster.tinymodel import ensure_tiny_llama

from .kube import cache_dir_on_host, deployment_ready, ensure_namespace, undeployed
from .origin import Origin

pytestmark = pytest.mark.node

SERVING = Config(
    cache=CacheSettings(size="1Gi"),
    images=Images(PYTHON_IMAGE, LLAMA_SERVER_IMAGE, LLAMA_SERVER_IMAGE, "Never"),
    mode="standalone",
)
MODEL = "tiny-llama.gguf"


@pytest.fixture(scope="module")
def model() -> Path:
    return ensure_tiny_llama()


@pytest.fixture(scope="module")
def origin(node_cluster: LocalCluster, model: Path) -> Iterator[Origin]:
    with Origin(node_cluster.network.gateway, {MODEL: model}) as origin:
        yield origin


def _server_log_of(conn: Connection, ns: str, name: str) -> str:
    pods = conn.get(
        f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": f"app.kubernetes.io/name={name}"}
    )["items"]
    return "\n".join(
        conn.text(
            f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}/log",
            query={"container": "server"},
        )
        for p in pods
    )


def test_cold_deploy_serves_then_recreate_serves_without_a_byte(
    node_cluster: LocalCluster,
    node: Connection,
    origin: Origin,
    model: Path,
    capsys: pytest.CaptureFixture[str],
):
    ns = ensure_namespace(node, "serve-real")
    size = model.stat().st_size
    deploy(node, SERVING, DeployRequest("tiny", origin.source(MODEL), ns))
    deployment_ready(node, ns, "tiny", timeout=180)
    cold = origin.served[MODEL]
    assert size <= cold <= size + 16

    answer = probe(node, ns, "tiny", tokens=8)
    assert answer.tokens > 0 and answer.reply
    assert answer.tokens_per_second > 0
    # The server really mapped the file from the cache mount.
    assert f"/models/{cache_key(origin.source(MODEL))}/model.gguf" in _server_log_of(
        node, ns, "tiny"
    )

    undeployed(node, ns, "tiny")
    deploy(node, SERVING, DeployRequest("tiny", origin.source(MODEL), ns))
    deployment_ready(node, ns, "tiny", timeout=120)
    assert origin.served[MODEL] == cold, "the warm start downloaded again"
    assert probe(node, ns, "tiny", tokens=4).tokens > 0

    # The same from a script.
    kubeconfig = str(node_cluster.kubeconfig)
    assert main(["--kubeconfig", kubeconfig, "probe", "tiny", "-n", ns, "--tokens", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{ns}/tiny: ") and "4 tokens in" in out and "tokens/s" in out
    assert main(["--kubeconfig", kubeconfig, "probe", "absent", "-n", ns]) == 1
    assert "no service absent in namespace serve-real" in capsys.readouterr().err


def test_truncated_cache_file_is_fetched_again_before_the_server_starts(
    node: Connection, origin: Origin, model: Path
):
    ns = ensure_namespace(node, "serve-truncated")
    source = origin.source(MODEL)
    deploy(node, SERVING, DeployRequest("tiny", source, ns))
    deployment_ready(node, ns, "tiny", timeout=180)
    undeployed(node, ns, "tiny")

    cached = cache_dir_on_host(node, ns) / cache_key(source) / "model.gguf"
    size = cached.stat().st_size
    with open(cached, "r+b") as f:
        f.truncate(size // 2)
    before = origin.served[MODEL]

    deploy(node, SERVING, DeployRequest("tiny", source, ns))
    deployment_ready(node, ns, "tiny", timeout=180)
    assert origin.served[MODEL] > before, "the truncated file was not fetched again"
    assert sha256_file(cached) == sha256_file(model)
    # One start of the server, on the whole file: it never met the truncated one.
    pods = node.get(
        f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": "app.kubernetes.io/name=tiny"}
    )["items"]
    assert [c["restartCount"] for p in pods for c in p["status"]["containerStatuses"]] == [0]
    assert probe(node, ns, "tiny", tokens=4).tokens > 0


def test_probe_says_when_the_proxy_is_forbidden_or_nothing_answers(
    node_cluster: LocalCluster, node: Connection
):
    ns = ensure_namespace(node, "serve-denied")
    node.create(
        f"/api/v1/namespaces/{ns}/services",
        {
            "metadata": {"name": "nobody"},
            "spec": {"selector": {"app": "nobody"}, "ports": [{"name": "http", "port": 8080}]},
        },
        exist_ok=True,
    )
    # The API server's proxy finds a service just created a moment later
    # than a GET does (a 404 meanwhile); then it says nobody answers.
    deadline = time.monotonic() + 20
    while True:
        try:
            probe(node, ns, "nobody")
        except NotFound:
            assert time.monotonic() < deadline, "the proxy never found the service"
            time.sleep(0.2)
            continue
        except Failed as err:
            assert "nobody in serve-denied did not answer" in str(err)
            break
        raise AssertionError("a service without endpoints answered")

    # A user who may read services but not use their proxy.
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    node.create(
        f"{rbac}/roles",
        {
            "metadata": {"name": "viewer"},
            "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list"]}],
        },
        exist_ok=True,
    )
    node.create(
        f"{rbac}/rolebindings",
        {
            "metadata": {"name": "viewer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
        },
        exist_ok=True,
    )
    bob = Connection.open(Target(str(node_cluster.user_kubeconfig("bob", namespace=ns))))
    with pytest.raises(Forbidden, match="forbids the service proxy"):
        probe(bob, ns, "nobody")


def test_demo_seed_serves_the_tiny_llama_from_the_clusters_origin(
    node_cluster: LocalCluster, node: Connection
):
    from llmkube_tui.localcluster.seed import SERVING_NAME, SERVING_NAMESPACE, seed_serving

    values = seed_serving(node, node_cluster)
    assert "llama.cpp:server" in Path(values).read_text()
    deployment_ready(node, SERVING_NAMESPACE, SERVING_NAME, timeout=180)
    assert probe(node, SERVING_NAMESPACE, SERVING_NAME, tokens=4).tokens > 0
    # A second seed (every `local up --seed`) leaves the running service alone.
    seed_serving(node, node_cluster)
    deployment_ready(node, SERVING_NAMESPACE, SERVING_NAME, timeout=30)


async def test_dashboard_probes_the_selected_service_even_read_only(
    node_cluster: LocalCluster, node: Connection
):
    import asyncio

    from textual.widgets import Static

    from llmkube_tui.localcluster.seed import SERVING_NAME, SERVING_NAMESPACE, seed_serving
    from llmkube_tui.ui.app import LlmkubeApp
    from llmkube_tui.ui.screens.detail import DetailScreen
    from llmkube_tui.ui.screens.probe import ProbeScreen
    from llmkube_tui.ui.widgets.resource_table import ResourceTable

    seed_serving(node, node_cluster)
    deployment_ready(node, SERVING_NAMESPACE, SERVING_NAME, timeout=180)
    app = LlmkubeApp(Target(str(node_cluster.kubeconfig)), read_only=True, refresh_seconds=1.0)

    async def until(check, timeout: float = 30.0) -> None:
        for _ in range(int(timeout / 0.05)):
            if check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached in time")

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon", *f"svc {SERVING_NAMESPACE}", "enter")
        services = app.query_one("#services", ResourceTable)
        key = f"{SERVING_NAMESPACE}/{SERVING_NAME}"
        await until(lambda: services.select(key))
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, ProbeScreen))
        status = app.screen.query_one("#action-status", Static)
        await until(lambda: "tokens/s at the server" in str(status.render()))
        assert "reply: " in str(app.screen.query_one("#probe-reply", Static).render())

        # y on the same row: the YAML of the Deployment that stands for it.
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, ProbeScreen))
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, DetailScreen))
        text = app.screen.query_one("#detail-text", Static)
        await until(lambda: "kind: Deployment" in str(text.render()))
