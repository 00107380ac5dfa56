"""Deploying a model: LLMKube objects where LLMKube is installed, otherwise
our own Deployment and Service with the fetcher as init container."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from llmkube_tui.backend.cachevolume import (
    CLAIM_NAME,
    EnsuredVolume,
    ensure_cache_volume,
    wait_until_bound,
)
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Conflict, Failed, Invalid, NotFound
from llmkube_tui.backend.fetcherbundle import (
    MANAGED_BY,
    ensure_fetcher_configmap,
    fetcher_command,
)
from llmkube_tui.backend.model import GROUP, VERSION
from llmkube_tui.backend.podspec import (
    cache_mount,
    container_security,
    fetcher_container,
    pod_security,
    volumes,
)
from llmkube_tui.cachekey import cache_key

SERVER_PORT = 8080
KEY_LABEL = "llmkube.dev/cache-key"
SOURCE_ANNOTATION = "llmkube.dev/source"
NAME_LABEL = "app.kubernetes.io/name"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def object_name(model: str) -> str:
    """A valid object name for a catalog name: "llama-3.2-3b" becomes
    "llama-3-2-3b" (a Service name is a DNS label, which has no dots)."""
    return re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:63].rstrip("-")


@dataclass(frozen=True)
class DeployRequest:
    name: str
    source: str
    namespace: str = "default"
    replicas: int = 1
    gpu: bool = False
    gpu_count: int = 1
    sha256: str = ""
    quantization: str = ""

    def validate(self) -> None:
        if not _DNS_LABEL.match(self.name) or len(self.name) > 63:
            raise Invalid(f"invalid name {self.name!r}: use lower-case letters, digits and '-'")
        if not 0 <= self.replicas <= 10:
            raise Invalid(f"replicas must be between 0 and 10, got {self.replicas}")
        if self.gpu and not 1 <= self.gpu_count <= 8:
            raise Invalid(f"GPU count must be between 1 and 8, got {self.gpu_count}")
        if self.sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise Invalid("sha256 must be 64 lower-case hex characters")


@dataclass(frozen=True)
class DeployResult:
    mode: str
    namespace: str
    name: str
    cache_key: str
    volume: EnsuredVolume | None
    objects: tuple[str, ...] = field(default_factory=tuple)


def llmkube_installed(conn: Connection) -> bool:
    try:
        conn.get(f"/apis/{GROUP}/{VERSION}")
    except NotFound:
        return False
    return True


def resolve_mode(conn: Connection, config: Config) -> str:
    if config.mode != "auto":
        return config.mode
    return "llmkube" if llmkube_installed(conn) else "standalone"


def model_object(req: DeployRequest) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": req.source, "format": "gguf"}
    if req.sha256:
        spec["sha256"] = req.sha256
    if req.quantization:
        spec["quantization"] = req.quantization
    if req.gpu:
        spec["hardware"] = {
            "accelerator": "cuda",
            "gpu": {"enabled": True, "count": req.gpu_count, "vendor": "nvidia"},
        }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Model",
        "metadata": {"name": req.name, "namespace": req.namespace},
        "spec": spec,
    }


def inference_service_object(req: DeployRequest, config: Config) -> dict[str, Any]:
    cache = config.cache
    spec: dict[str, Any] = {
        "modelRef": req.name,
        "replicas": req.replicas,
        "runtime": "llamacpp",
        "modelCache": (
            {"persistence": "Cached", "claimName": CLAIM_NAME}
            if cache.enabled
            else {"persistence": "Ephemeral"}
        ),
    }
    if req.gpu:
        spec["resources"] = {"gpu": req.gpu_count}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": req.name, "namespace": req.namespace},
        "spec": spec,
    }


def deployment_object(req: DeployRequest, config: Config) -> dict[str, Any]:
    key = cache_key(req.source)
    cache = config.cache
    images = config.images
    model_path = f"{cache.mount_path.rstrip('/')}/{key}/model.gguf"
    fetch_args = ["--root", cache.mount_path, "--source", req.source, "--json"]
    if req.sha256:
        fetch_args += ["--sha256", req.sha256]
    labels = {NAME_LABEL: req.name, MANAGED_BY[0]: MANAGED_BY[1], KEY_LABEL: key}
    server: dict[str, Any] = {
        "name": "server",
        "image": images.server_cuda if req.gpu else images.server,
        "imagePullPolicy": images.pull_policy,
        "args": ["--model", model_path, "--host", "0.0.0.0", "--port", str(SERVER_PORT)],
        "ports": [{"name": "http", "containerPort": SERVER_PORT}],
        # The server only ever reads the cache.
        "volumeMounts": [cache_mount(cache, read_only=True)],
        "readinessProbe": {
            "httpGet": {"path": "/health", "port": SERVER_PORT},
            "periodSeconds": 1,
            "failureThreshold": 600,
        },
        "securityContext": container_security(),
    }
    if req.gpu:
        server["resources"] = {"limits": {"nvidia.com/gpu": str(req.gpu_count)}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": req.name,
            "namespace": req.namespace,
            "labels": labels,
            "annotations": {SOURCE_ANNOTATION: req.source},
        },
        "spec": {
            "replicas": req.replicas,
            "selector": {"matchLabels": {NAME_LABEL: req.name}},
            "template": {
                "metadata": {"labels": labels, "annotations": {SOURCE_ANNOTATION: req.source}},
                "spec": {
                    "securityContext": pod_security(),
                    "initContainers": [
                        fetcher_container(
                            "fetch-model",
                            images.fetcher,
                            images.pull_policy,
                            fetcher_command("fetch", *fetch_args),
                            cache,
                            read_only=False,
                        )
                    ],
                    "containers": [server],
                    "volumes": volumes(cache),
                    "terminationGracePeriodSeconds": 5,
                },
            },
        },
    }


def service_object(req: DeployRequest) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": req.name,
            "namespace": req.namespace,
            "labels": {NAME_LABEL: req.name, MANAGED_BY[0]: MANAGED_BY[1]},
        },
        "spec": {
            "selector": {NAME_LABEL: req.name},
            "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": SERVER_PORT}],
        },
    }


def _create(conn: Connection, path: str, body: dict[str, Any]) -> str:
    kind, name = body["kind"], body["metadata"]["name"]
    try:
        conn.request("POST", path, body=body)
    except Conflict as err:
        raise Conflict(f"{kind} {name} exists already in {body['metadata']['namespace']}") from err
    return f"{kind}/{name}"


def deploy(conn: Connection, config: Config, req: DeployRequest) -> DeployResult:
    req.validate()
    mode = resolve_mode(conn, config)
    ns = req.namespace
    volume = ensure_cache_volume(conn, ns, config.cache) if config.cache.enabled else None
    objects: list[str] = []
    if mode == "llmkube":
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}"
        objects.append(_create(conn, f"{base}/models", model_object(req)))
        objects.append(
            _create(conn, f"{base}/inferenceservices", inference_service_object(req, config))
        )
    else:
        ensure_fetcher_configmap(conn, ns)
        if volume is not None and volume.created:
            wait_until_bound(conn, ns)
        objects.append(
            _create(
                conn, f"/apis/apps/v1/namespaces/{ns}/deployments", deployment_object(req, config)
            )
        )
        objects.append(_create(conn, f"/api/v1/namespaces/{ns}/services", service_object(req)))
    return DeployResult(mode, ns, req.name, cache_key(req.source), volume, tuple(objects))


def undeploy(conn: Connection, namespace: str, name: str, wait: float = 0.0) -> list[str]:
    """Delete what deploy created; the cache volume stays, by design.

    With `wait`, return only once every object is gone (pods included), so
    that a deploy of the same name right after does not meet a Conflict
    with an object still being deleted.
    """
    removed = []
    deleted = []
    for path, kind in (
        (
            f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/inferenceservices/{name}",
            "InferenceService",
        ),
        (f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/models/{name}", "Model"),
        (f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "Deployment"),
        (f"/api/v1/namespaces/{namespace}/services/{name}", "Service"),
    ):
        try:
            conn.request("DELETE", path, body={"propagationPolicy": "Foreground"})
        except NotFound:
            continue
        removed.append(f"{kind}/{name}")
        deleted.append(path)
    deadline = time.monotonic() + wait
    while wait and deleted and time.monotonic() < deadline:
        deleted = [p for p in deleted if _exists(conn, p)]
        time.sleep(0.1)
    if wait and deleted:
        raise Failed(f"{', '.join(removed)} still being deleted after {wait:.0f}s")
    return removed


def _exists(conn: Connection, path: str) -> bool:
    try:
        conn.get(path)
    except NotFound:
        return False
    return True
