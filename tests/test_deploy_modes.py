"""Deploy against the control plane: LLMKube objects that the real CRDs
accept, standalone objects where LLMKube is absent, and every refusal."""

from __future__ import annotations

import pytest

from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, deploy, deployment_object, resolve_mode
from llmkube_tui.backend.errors import Conflict, Forbidden, Invalid
from llmkube_tui.backend.inventory import list_inference_services
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.backend.target import Target
from llmkube_tui.catalog import load_catalog

from .conftest import RESTRICTED_NAMESPACE

ENTRY = load_catalog()["llama-3.1-8b"]
ANNOTATED = Config(
    cache=CacheSettings(size="150Gi", annotations={"backup.example.com/skip": "true"})
)


def test_llmkube_mode_objects_validate_against_the_real_crds(admin: Connection):
    admin.create("/api/v1/namespaces", {"metadata": {"name": "mode-llmkube"}}, exist_ok=True)
    assert resolve_mode(admin, Config()) == "llmkube"
    req = DeployRequest(
        "llama-3-1-8b",
        ENTRY.source,
        "mode-llmkube",
        replicas=2,
        gpu=True,
        gpu_count=1,
        quantization=ENTRY.quantization,
    )
    result = deploy(admin, ANNOTATED, req)
    assert result.mode == "llmkube"
    assert result.objects == ("Model/llama-3-1-8b", "InferenceService/llama-3-1-8b")
    base = "/apis/inference.llmkube.dev/v1alpha1/namespaces/mode-llmkube"
    model = admin.get(f"{base}/models/llama-3-1-8b")
    assert model["spec"]["source"] == ENTRY.source
    assert model["spec"]["hardware"]["gpu"]["count"] == 1
    isvc = admin.get(f"{base}/inferenceservices/llama-3-1-8b")
    assert isvc["spec"]["modelCache"] == {
        "persistence": "Cached",
        "claimName": "llmkube-model-cache",
    }
    assert isvc["spec"]["replicas"] == 2 and isvc["spec"]["resources"]["gpu"] == 1

    # The PVC carries every configured field, annotations included.
    pvc = admin.get("/api/v1/namespaces/mode-llmkube/persistentvolumeclaims/llmkube-model-cache")
    assert pvc["metadata"]["annotations"]["backup.example.com/skip"] == "true"
    assert pvc["metadata"]["labels"]["app.kubernetes.io/component"] == "model-cache"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "150Gi"
    assert "ownerReferences" not in pvc["metadata"]

    with pytest.raises(Conflict, match="Model llama-3-1-8b exists already"):
        deploy(admin, ANNOTATED, req)


def test_existing_volume_is_reported_never_changed(admin: Connection):
    admin.create("/api/v1/namespaces", {"metadata": {"name": "mode-keep"}}, exist_ok=True)
    deploy(admin, Config(), DeployRequest("first", ENTRY.source, "mode-keep"))
    second = deploy(admin, ANNOTATED, DeployRequest("second", ENTRY.source, "mode-keep"))
    assert second.volume is not None and not second.volume.created
    assert any("settings say 150Gi" in d for d in second.volume.differences)
    pvc = admin.get("/api/v1/namespaces/mode-keep/persistentvolumeclaims/llmkube-model-cache")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_standalone_mode_without_crds(bare_cluster):
    conn = Connection.open(Target(str(bare_cluster.kubeconfig)))
    conn.create("/api/v1/namespaces", {"metadata": {"name": "plain"}}, exist_ok=True)
    result = deploy(conn, Config(), DeployRequest("mistral", ENTRY.source, "plain", gpu=True))
    assert result.mode == "standalone"
    assert result.objects == ("Deployment/mistral", "Service/mistral")
    d = conn.get("/apis/apps/v1/namespaces/plain/deployments/mistral")
    pod = d["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (server,) = pod["containers"]
    # exec form: the URL is an argument, never shell text.
    assert init["command"][:2] == ["python3", "/opt/llmkube-fetcher/fetcher.py"]
    assert ENTRY.source in init["command"]
    assert all(m["readOnly"] for m in server["volumeMounts"])
    assert server["image"].endswith(":server-cuda")
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["fsGroup"] == 1000
    cm = conn.get("/api/v1/namespaces/plain/configmaps/llmkube-fetcher")
    assert set(cm["data"]) == {"fetcher.py", "cachekey.py"}
    # Without LLMKube, our Deployment is what the services view lists.
    (service,) = list_inference_services(conn, "plain").items
    assert (service.kind, service.name, service.gpus, service.desired_replicas) == (
        "Deployment",
        "mistral",
        1,
        1,
    )
    assert service.endpoint == "http://mistral.plain.svc:8080"


def test_disabled_cache_uses_emptydir_and_no_volume():
    obj = deployment_object(
        DeployRequest("x", ENTRY.source), Config(cache=CacheSettings(enabled=False))
    )
    cache = obj["spec"]["template"]["spec"]["volumes"][0]
    assert cache == {"name": "model-cache", "emptyDir": {}}


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (DeployRequest("Bad_Name", ENTRY.source), "invalid name"),
        (DeployRequest("ok", ENTRY.source, replicas=11), "replicas"),
        (DeployRequest("ok", ENTRY.source, sha256="xyz"), "sha256"),
    ],
)
def test_bad_requests_are_refused_before_any_call(admin: Connection, req, message):
    with pytest.raises(Invalid, match=message):
        deploy(admin, Config(), req)


def test_restricted_user_is_forbidden_outside_its_namespace(restricted_kubeconfig):
    conn = Connection.open(Target(str(restricted_kubeconfig)))
    with pytest.raises(Forbidden, match="forbidden"):
        deploy(conn, Config(), DeployRequest("x", ENTRY.source, "default"))
    result = deploy(conn, Config(), DeployRequest("allowed", ENTRY.source, RESTRICTED_NAMESPACE))
    assert result.mode == "llmkube"


def test_cli_deploys_a_dotted_catalog_name_under_a_valid_object_name(
    kubeconfig, admin: Connection, capsys
):
    from llmkube_tui.cli import main

    admin.create("/api/v1/namespaces", {"metadata": {"name": "cli-dots"}}, exist_ok=True)
    assert main(["--kubeconfig", str(kubeconfig), "deploy", "llama-3.2-3b", "-n", "cli-dots"]) == 0
    assert "deployed llama-3-2-3b in cli-dots (llmkube mode)" in capsys.readouterr().out
    model = admin.get(
        "/apis/inference.llmkube.dev/v1alpha1/namespaces/cli-dots/models/llama-3-2-3b"
    )
    assert model["spec"]["source"] == load_catalog()["llama-3.2-3b"].source
