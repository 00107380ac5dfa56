"""End-to-end on the real node: the promises of the cache, proven with an
origin that counts the bytes it serves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmkube_tui.backend.config import Config, Images
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, deploy, undeploy
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.cachekey import cache_key
from llmkube_tui.localcluster.cluster import LocalCluster
from llmkube_tui.localcluster.images import PYTHON_IMAGE, STANDIN_IMAGE

from .kube import cache_dir_on_host, deployment_ready, ensure_namespace, undeployed, wait_for
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


def test_cold_deploy_downloads_then_recreate_downloads_nothing(node: Connection, origin: Origin):
    ns = ensure_namespace(node, "e2e-recreate")
    source = origin.source("model-0.gguf")
    result = deploy(node, CONFIG, DeployRequest("tiny", source, ns))
    assert result.mode == "standalone" and result.volume and result.volume.created
    deployment_ready(node, ns, "tiny")
    cold = origin.served["model-0.gguf"]
    # The fetcher probes Range support with one byte before it splits the file.
    assert MODEL_SIZE <= cold <= MODEL_SIZE + 16

    undeployed(node, ns, "tiny")
    deploy(node, CONFIG, DeployRequest("tiny", source, ns))
    # How fast is bench/bench_cache.py's question; this test proves no byte moved.
    deployment_ready(node, ns, "tiny")
    assert origin.served["model-0.gguf"] == cold, "the warm start downloaded again"


def test_two_namespaces_each_download_once(node: Connection, origin: Origin):
    source = origin.source("model-1.gguf")
    for ns in ("e2e-team-a", "e2e-team-b"):
        ensure_namespace(node, ns)
        deploy(node, CONFIG, DeployRequest("shared", source, ns))
    for ns in ("e2e-team-a", "e2e-team-b"):
        deployment_ready(node, ns, "shared")
    first = origin.served["model-1.gguf"]
    assert 2 * MODEL_SIZE <= first <= 2 * MODEL_SIZE + 32
    for ns in ("e2e-team-a", "e2e-team-b"):
        undeployed(node, ns, "shared")
        deploy(node, CONFIG, DeployRequest("shared", source, ns))
        deployment_ready(node, ns, "shared")
    assert origin.served["model-1.gguf"] == first


def test_preload_then_deploy_list_clear_and_download_again(node: Connection, origin: Origin):
    from llmkube_tui.backend.cacheops import clear, list_entries
    from llmkube_tui.backend.errors import Busy
    from llmkube_tui.backend.preload import preload
    from llmkube_tui.cachekey import cache_key

    ns = ensure_namespace(node, "e2e-preload")
    source = origin.source("model-2.gguf")
    events: list[dict] = []
    result = preload(node, CONFIG, ns, source, on_progress=events.append)
    assert result["result"] == "miss" and result["size"] == MODEL_SIZE
    assert any(e.get("event") == "progress" for e in events)
    after_preload = origin.served["model-2.gguf"]

    deploy(node, CONFIG, DeployRequest("preloaded", source, ns))
    deployment_ready(node, ns, "preloaded")
    assert origin.served["model-2.gguf"] == after_preload, "deploy after preload downloaded"

    listing = list_entries(node, CONFIG, ns)
    (entry,) = listing.entries
    assert entry.key == cache_key(source)
    assert (entry.size, entry.state, entry.source) == (MODEL_SIZE, "complete", source)
    assert entry.users == ("Deployment/preloaded",)
    assert listing.total_bytes == MODEL_SIZE

    with pytest.raises(Busy, match="in use by running services"):
        clear(node, CONFIG, ns, model="preloaded")

    undeployed(node, ns, "preloaded")
    (entry,) = list_entries(node, CONFIG, ns).entries
    assert entry.state == "orphan"
    cleared = clear(node, CONFIG, ns, key=entry.key)
    assert cleared.removed == (entry.key,) and cleared.bytes_freed >= MODEL_SIZE
    assert list_entries(node, CONFIG, ns).entries == ()

    deploy(node, CONFIG, DeployRequest("preloaded", source, ns))
    deployment_ready(node, ns, "preloaded")
    assert origin.served["model-2.gguf"] >= after_preload + MODEL_SIZE


def test_truncated_entry_is_detected_and_downloaded_again(node: Connection, origin: Origin):
    from llmkube_tui.cachekey import cache_key

    ns = ensure_namespace(node, "e2e-truncate")
    source = origin.source("model-3.gguf")
    deploy(node, CONFIG, DeployRequest("fragile", source, ns))
    deployment_ready(node, ns, "fragile")
    before = origin.served["model-3.gguf"]
    undeployed(node, ns, "fragile")

    cached = cache_dir_on_host(node, ns) / cache_key(source) / "model.gguf"
    with open(cached, "r+b") as f:
        f.truncate(MODEL_SIZE // 2)

    deploy(node, CONFIG, DeployRequest("fragile", source, ns))
    deployment_ready(node, ns, "fragile")
    assert origin.served["model-3.gguf"] >= before + MODEL_SIZE // 2
    assert cached.stat().st_size == MODEL_SIZE


def test_disabled_cache_downloads_in_every_pod(node: Connection, origin: Origin):
    ns = ensure_namespace(node, "e2e-nocache")
    source = origin.source("model-0.gguf") + "?nocache"
    config = Config(cache=CacheSettings(enabled=False), images=LOCAL_IMAGES, mode="standalone")
    before = origin.served["model-0.gguf"]
    result = deploy(node, config, DeployRequest("ephemeral", source, ns, replicas=2))
    assert result.volume is None
    deployment_ready(node, ns, "ephemeral", replicas=2)
    assert origin.served["model-0.gguf"] - before >= 2 * MODEL_SIZE


def test_two_replicas_starting_at_once_download_once(node: Connection, origin: Origin):
    ns = ensure_namespace(node, "e2e-replicas")
    source = origin.source("model-0.gguf") + "?pair"
    before = origin.served["model-0.gguf"]
    deploy(node, CONFIG, DeployRequest("pair", source, ns, replicas=2))
    deployment_ready(node, ns, "pair", replicas=2)
    assert origin.served["model-0.gguf"] - before <= 1.1 * MODEL_SIZE


def test_verify_finds_a_flipped_byte_and_says_how_to_recover(node: Connection, origin: Origin):
    from llmkube_tui.backend.cacheops import list_entries, verify
    from llmkube_tui.cachekey import cache_key

    ns = ensure_namespace(node, "e2e-verify")
    source = origin.source("model-1.gguf") + "?verify"
    from llmkube_tui.backend.preload import preload

    preload(node, CONFIG, ns, source)
    (good,) = verify(node, CONFIG, ns, key=cache_key(source), model=None)
    assert good.ok

    cached = cache_dir_on_host(node, ns) / cache_key(source) / "model.gguf"
    with open(cached, "r+b") as f:
        f.seek(MODEL_SIZE // 3)
        byte = f.read(1)
        f.seek(MODEL_SIZE // 3)
        f.write(bytes([byte[0] ^ 0xFF]))
    (bad,) = verify(node, CONFIG, ns, key=cache_key(source), model=None)
    assert not bad.ok
    assert f"llmkube-tui cache preload {source} -n {ns}" in bad.detail
    (entry,) = list_entries(node, CONFIG, ns).entries
    assert entry.state == "corrupt"

    # Never served: the next pod start downloads it again.
    before = origin.served["model-1.gguf"]
    deploy(node, CONFIG, DeployRequest("recovers", source, ns))
    deployment_ready(node, ns, "recovers")
    assert origin.served["model-1.gguf"] >= before + MODEL_SIZE


def test_resize_grows_and_rejects_shrink_and_garbage(node: Connection, origin: Origin):
    from llmkube_tui.backend.cacheops import resize
    from llmkube_tui.backend.cachevolume import ensure_cache_volume
    from llmkube_tui.backend.errors import Invalid

    ns = ensure_namespace(node, "e2e-resize")
    ensure_cache_volume(node, ns, CONFIG.cache)
    wait_for(
        node,
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims/llmkube-model-cache",
        lambda pvc: pvc.get("status", {}).get("phase") == "Bound",
    )
    with pytest.raises(Invalid, match="not a size"):
        resize(node, ns, "lots")
    with pytest.raises(Invalid, match="cannot shrink"):
        resize(node, ns, "1Gi")
    result = resize(node, ns, "3Gi")
    assert (result.old, result.new) == ("2Gi", "3Gi")
    pvc = node.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/llmkube-model-cache")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "3Gi"


def test_operations_as_a_user_bound_only_to_the_shipped_role(
    node_cluster: LocalCluster, node: Connection, origin: Origin
):
    """Everything a namespace operator does, with exactly the shipped Role."""
    import yaml

    from llmkube_tui.backend.cacheops import clear, list_entries, resize, verify
    from llmkube_tui.backend.errors import Forbidden
    from llmkube_tui.backend.preload import preload
    from llmkube_tui.backend.target import Target
    from llmkube_tui.resources import resource_path

    ns = ensure_namespace(node, "e2e-rbac")
    manifests = yaml.safe_load_all((resource_path("manifests") / "rbac.yaml").read_text())
    (role,) = [m for m in manifests if m["kind"] == "Role"]
    node.create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", role, exist_ok=True)
    node.create(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
        {
            "metadata": {"name": "operator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "llmkube-tui",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "operator"}
            ],
        },
        exist_ok=True,
    )
    user = Connection.open(Target(str(node_cluster.user_kubeconfig("operator", namespace=ns))))
    source = origin.source("model-2.gguf") + "?rbac"

    deploy(user, CONFIG, DeployRequest("served", source, ns))
    deployment_ready(node, ns, "served")
    assert preload(user, CONFIG, ns, source)["result"] == "hit"
    (entry,) = list_entries(user, CONFIG, ns).entries
    assert entry.users == ("Deployment/served",)
    (checked,) = verify(user, CONFIG, ns, key=entry.key, model=None)
    assert checked.ok
    assert resize(user, ns, "4Gi").new == "4Gi"
    undeploy(user, ns, "served")
    assert clear(user, CONFIG, ns, key=entry.key, force=True).removed == (entry.key,)
    with pytest.raises(Forbidden):
        list_entries(user, CONFIG, "default")


def test_export_then_import_elsewhere_serves_offline(
    node: Connection, origin: Origin, tmp_path: Path
):
    from llmkube_tui.backend.cacheops import list_entries
    from llmkube_tui.backend.preload import preload
    from llmkube_tui.backend.transfer import export_entries, import_bundle

    source = origin.source("model-3.gguf") + "?bundle"
    src = ensure_namespace(node, "e2e-export")
    preload(node, CONFIG, src, source)
    bundle = tmp_path / "models.tar"
    progress: list[int] = []
    (exported,) = export_entries(
        node, CONFIG, src, bundle, on_progress=lambda k, done, total: progress.append(done)
    )
    assert exported.size == MODEL_SIZE and progress[-1] == MODEL_SIZE
    assert bundle.stat().st_size > MODEL_SIZE

    served = origin.served["model-3.gguf"]
    dst = ensure_namespace(node, "e2e-import")
    saved = origin.files.pop("model-3.gguf")  # the origin is gone: the target is air-gapped
    try:
        (imported,) = import_bundle(node, CONFIG, dst, bundle)
        assert (imported.key, imported.result) == (exported.key, "imported")
        (entry,) = list_entries(node, CONFIG, dst).entries
        assert (entry.sha256, entry.size, entry.source) == (exported.sha256, MODEL_SIZE, source)
        deploy(node, CONFIG, DeployRequest("offline", source, dst))
        deployment_ready(node, dst, "offline")
        assert origin.served["model-3.gguf"] == served
        # Importing again publishes nothing new and replaces nothing.
        (again,) = import_bundle(node, CONFIG, dst, bundle)
        assert again.result == "exists"
    finally:
        origin.files["model-3.gguf"] = saved


def _cli(node_cluster: LocalCluster, values: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmkube_tui.cli", "--kubeconfig", str(node_cluster.kubeconfig),
         "--values", str(values), *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _values(tmp_path: Path) -> Path:
    """CONFIG as a --values file, for the CLI."""
    values = tmp_path / "values.yaml"
    values.write_text(
        "modelCache: {size: 2Gi}\nmode: standalone\n"
        f"images: {{fetcher: '{PYTHON_IMAGE}', server: '{STANDIN_IMAGE}', pullPolicy: Never}}\n"
    )
    return values


def test_the_cli_as_the_readme_shows_it(
    node_cluster: LocalCluster, node: Connection, origin: Origin, tmp_path: Path
):
    values = _values(tmp_path)
    source = origin.source("model-0.gguf") + "?cli"
    ns = ensure_namespace(node, "e2e-cli")

    out = _cli(node_cluster, values, "deploy", source, "--name", "cli-model", "-n", ns)
    assert out.returncode == 0, out.stderr
    assert "created Deployment/cli-model" in out.stdout
    deployment_ready(node, ns, "cli-model")

    out = _cli(node_cluster, values, "cache", "list", "-A")
    assert out.returncode == 0, out.stderr
    assert "CACHE KEY" in out.stdout and "cli-model" in out.stdout
    assert "Total:" in out.stdout
    out = _cli(node_cluster, values, "cache", "list", "-n", ns, "-o", "json")
    (listing,) = json.loads(out.stdout)
    assert listing["entries"][0]["users"] == ["Deployment/cli-model"]

    out = _cli(node_cluster, values, "cache", "clear", "--model", "cli-model", "-n", ns)
    assert out.returncode == 1 and "in use by running services" in out.stderr
    assert "Traceback" not in out.stderr

    out = _cli(node_cluster, values, "cache", "resize", "3Gi", "-n", ns)
    assert out.returncode == 0 and "2Gi -> 3Gi" in out.stdout, out.stderr
    out = _cli(node_cluster, values, "cache", "resize", "1Gi", "-n", ns)
    assert out.returncode == 1 and "cannot shrink" in out.stderr

    out = _cli(node_cluster, values, "gpus")
    assert out.returncode == 0 and "localhost" in out.stdout

    local = tmp_path / "airgap"
    out = _cli(node_cluster, values, "cache", "preload", source, "--dir", str(local))
    assert out.returncode == 0, out.stderr
    assert (local / cache_key(source) / "model.gguf").stat().st_size == MODEL_SIZE


def test_cache_list_all_names_a_failed_scan_and_lists_the_rest(
    node_cluster: LocalCluster, node: Connection, origin: Origin, tmp_path: Path
):
    from llmkube_tui.backend.cachevolume import ensure_cache_volume
    from llmkube_tui.backend.preload import preload

    values = _values(tmp_path)
    good = ensure_namespace(node, "e2e-list-good")
    source = origin.source("model-0.gguf") + "?list-all"
    preload(node, CONFIG, good, source)
    bad = ensure_namespace(node, "e2e-list-bad")
    ensure_cache_volume(node, bad, CONFIG.cache)
    # A quota of no pods: the scan pod is refused at once, a real failure.
    quotas = f"/api/v1/namespaces/{bad}/resourcequotas"
    node.create(quotas, {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})
    try:
        wait_for(node, f"{quotas}/no-pods", lambda q: bool(q.get("status", {}).get("hard")))
        out = _cli(node_cluster, values, "cache", "list", "-A")
        assert out.returncode == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert f"{bad}: forbidden" in out.stderr and "exceeded quota" in out.stderr
        assert cache_key(source) in out.stdout and "Total:" in out.stdout
        out = _cli(node_cluster, values, "cache", "list", "-A", "-o", "json")
        assert out.returncode == 1
        listings = {li["namespace"]: li for li in json.loads(out.stdout)}
        assert "exceeded quota" in listings[bad]["error"]
        assert listings[good]["error"] == ""
        assert [e["key"] for e in listings[good]["entries"]] == [cache_key(source)]
    finally:
        node.request("DELETE", f"{quotas}/no-pods")
