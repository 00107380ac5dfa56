"""End-to-end on the real node: the promises of the cache, proven with an
origin that counts the bytes it serves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmkube_tui.backend.config import Config, Images
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, deploy, undeploy
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.localcluster.cluster import LocalCluster
from llmkube_tui.localcluster.images import PYTHON_IMAGE, STANDIN_IMAGE

from .kube import wait_for
from .origin import Origin, make_gguf

MODEL_SIZE = 24 * 2**20
LOCAL_IMAGES = Images(
    fetcher=PYTHON_IMAGE, server=STANDIN_IMAGE, server_cuda=STANDIN_IMAGE, pull_policy="Never"
)
CONFIG = Config(cache=CacheSettings(size="2Gi"), images=LOCAL_IMAGES, mode="standalone")


@pytest.fixture(scope="module")
def origin(
    node_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Origin]:
    files = tmp_path_factory.mktemp("origin")
    models = {f"model-{i}.gguf": make_gguf(files / f"model-{i}.gguf", MODEL_SIZE) for i in range(4)}
    with Origin(node_cluster.network.gateway, models) as origin:
        yield origin


def _namespace(conn: Connection, name: str) -> str:
    conn.create("/api/v1/namespaces", {"metadata": {"name": name}}, exist_ok=True)
    return name


def _ready(conn: Connection, ns: str, name: str, replicas: int = 1, timeout: float = 120) -> float:
    started = time.monotonic()
    wait_for(
        conn,
        f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
        lambda d: (
            (d.get("status", {}).get("readyReplicas") or 0) >= replicas
            and d.get("status", {}).get("updatedReplicas", 0) >= replicas
        ),
        timeout=timeout,
    )
    return time.monotonic() - started


def _gone(conn: Connection, ns: str, name: str) -> None:
    undeploy(conn, ns, name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = conn.get(
            f"/api/v1/namespaces/{ns}/pods",
            query={"labelSelector": f"app.kubernetes.io/name={name}"},
        )["items"]
        if not pods:
            return
        time.sleep(0.2)
    raise AssertionError("pods of the deployment did not go away")


def test_cold_deploy_downloads_then_recreate_downloads_nothing(node: Connection, origin: Origin):
    ns = _namespace(node, "e2e-recreate")
    source = origin.source("model-0.gguf")
    result = deploy(node, CONFIG, DeployRequest("tiny", source, ns))
    assert result.mode == "standalone" and result.volume and result.volume.created
    _ready(node, ns, "tiny")
    cold = origin.served["model-0.gguf"]
    # The fetcher probes Range support with one byte before it splits the file.
    assert MODEL_SIZE <= cold <= MODEL_SIZE + 16

    _gone(node, ns, "tiny")
    deploy(node, CONFIG, DeployRequest("tiny", source, ns))
    warm = _ready(node, ns, "tiny")
    assert origin.served["model-0.gguf"] == cold, "the warm start downloaded again"
    assert warm < 15, f"warm start took {warm:.1f}s"
