"""Read side of the backend against the real API server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmkube_tui.backend.cachevolume import CLAIM_NAME, volume_manifest
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, model_object
from llmkube_tui.backend.errors import ConfigError, Invalid, NotFound, Unreachable
from llmkube_tui.backend.inventory import (
    ListState,
    list_cache_volumes,
    list_inference_services,
    list_models,
    list_namespaces,
)
from llmkube_tui.backend.overview import load_overview
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.backend.target import Target
from llmkube_tui.cachekey import cache_key
from llmkube_tui.localcluster.cluster import LocalCluster, free_port
from llmkube_tui.localcluster.seed import seed

from .conftest import RESTRICTED_NAMESPACE

PLAN = {
    "read-a": ("50Gi", [("llama-3.1-8b", 2), ("mistral-7b", 0)]),
    "read-b": (None, [("tinyllama-1.1b", 1)]),
}


@pytest.fixture(scope="module")
def seeded(admin: Connection) -> Connection:
    seed(admin, PLAN)
    return admin


def test_namespaces_volumes_models_services(seeded: Connection):
    assert {"read-a", "read-b", "default"} <= set(list_namespaces(seeded).items)

    (volume,) = list_cache_volumes(seeded, "read-a").items
    assert volume.name == CLAIM_NAME
    assert volume.requested_bytes == 50 * 2**30
    assert volume.access_modes == ("ReadWriteOnce",)
    assert volume.annotations == {"llmkube.dev/seeded": "true"}
    assert list_cache_volumes(seeded, "read-b").items == ()

    models = {m.name: m for m in list_models(seeded, "read-a").items}
    assert set(models) == {"llama-3.1-8b", "mistral-7b"}
    assert models["llama-3.1-8b"].cache_key == cache_key(models["llama-3.1-8b"].source)
    assert models["llama-3.1-8b"].gpu_count == 1

    (svc,) = list_inference_services(seeded, "read-a").items
    assert (svc.model, svc.desired_replicas, svc.gpus) == ("llama-3.1-8b", 2, 1)


def test_overview_counts_per_namespace(seeded: Connection):
    overview = load_overview(seeded)
    rows = {n.name: n for n in overview.namespaces.items}
    assert rows["read-a"].models == 2 and rows["read-a"].services == 1
    assert rows["read-a"].gpus == 2  # 2 replicas x 1 GPU
    assert rows["read-a"].cache is not None
    assert rows["read-b"].cache is None and rows["read-b"].services == 1
    assert overview.version == "v1.34.4"


def test_restricted_user_gets_forbidden_states_not_a_crash(restricted_kubeconfig: Path, seeded):
    conn = Connection.open(Target(str(restricted_kubeconfig)))
    assert conn.namespace == RESTRICTED_NAMESPACE
    listing = list_namespaces(conn)
    assert listing.state is ListState.FORBIDDEN
    assert "forbidden" in listing.message and "alice" in listing.message
    assert list_models(conn, "read-a").state is ListState.FORBIDDEN
    assert list_models(conn, RESTRICTED_NAMESPACE).ok

    overview = load_overview(conn)
    assert [n.name for n in overview.namespaces.items] == [RESTRICTED_NAMESPACE]
    assert overview.namespaces.state is ListState.FORBIDDEN
    assert overview.models.ok  # fell back to the namespace it may read


def test_models_without_llmkube_crds_are_not_installed(bare_cluster: LocalCluster):
    conn = Connection.open(Target(str(bare_cluster.kubeconfig)))
    assert list_models(conn).state is ListState.NOT_INSTALLED
    # Services are still listed: our own Deployments stand for them there.
    assert list_inference_services(conn).ok
    assert load_overview(conn).namespaces.ok


def test_real_crd_schema_rejects_an_invalid_model(admin: Connection):
    bad = model_object(
        DeployRequest("too-many-gpus", "https://example.invalid/x.gguf", gpu=True, gpu_count=9)
    )
    with pytest.raises(Invalid, match="count"):
        admin.create("/apis/inference.llmkube.dev/v1alpha1/namespaces/default/models", bad)


# The kubernetes client, and the dashboard's reads without it.
@pytest.mark.parametrize("opener", [Connection.open, Connection.open_for_reading])
def test_unreachable_server_is_a_typed_error_and_fast(
    cluster: LocalCluster, tmp_path: Path, opener
):
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(
        cluster.kubeconfig.read_text().replace(cluster.server, f"https://127.0.0.1:{free_port()}")
    )
    conn = opener(Target(str(dead)))
    started = time.monotonic()
    with pytest.raises(Unreachable, match="cannot reach the API server"):
        list_namespaces(conn)
    assert time.monotonic() - started < 5


def test_missing_kubeconfig_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot load kubeconfig"):
        Connection.open(Target(str(tmp_path / "nope")))
    with pytest.raises(ConfigError):
        Connection.open(Target(str(tmp_path / "nope"), context="missing"))


def test_malformed_cache_size_fails_before_any_call():
    with pytest.raises(ValueError, match="not a size"):
        volume_manifest("x", CacheSettings(size="100 gigs"))


def test_fetcher_configmap_updated_by_many_at_once(admin: Connection, kubeconfig: Path):
    """Pods and operators bringing an old fetcher up to date at the same
    time: the writes that lose the race read again instead of failing."""
    from concurrent.futures import ThreadPoolExecutor

    from llmkube_tui.backend.fetcherbundle import (
        CONFIGMAP,
        configmap_manifest,
        ensure_fetcher_configmap,
    )

    ns = "fetcher-race"
    admin.create("/api/v1/namespaces", {"metadata": {"name": ns}}, exist_ok=True)
    path = f"/api/v1/namespaces/{ns}/configmaps"
    wanted = configmap_manifest(ns)["metadata"]["annotations"]["llmkube.dev/fetcher-digest"]
    for _ in range(3):
        stale = configmap_manifest(ns)
        stale["metadata"]["annotations"]["llmkube.dev/fetcher-digest"] = "old"
        try:
            current = admin.get(f"{path}/{CONFIGMAP}")
            stale["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            admin.request("PUT", f"{path}/{CONFIGMAP}", body=stale)
        except NotFound:
            admin.create(path, stale)
        conns = [Connection.open(Target(str(kubeconfig))) for _ in range(8)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda c: ensure_fetcher_configmap(c, ns), conns))
        annotations = admin.get(f"{path}/{CONFIGMAP}")["metadata"]["annotations"]
        assert annotations["llmkube.dev/fetcher-digest"] == wanted
