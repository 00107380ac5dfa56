"""Sample objects for the demo cluster, and CRD installation for it and the tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from llmkube_tui.backend.cachevolume import volume_manifest
from llmkube_tui.backend.config import Config, load_config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import (
    DeployRequest,
    deploy,
    inference_service_object,
    model_object,
)
from llmkube_tui.backend.errors import Conflict
from llmkube_tui.backend.model import GROUP, VERSION
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.catalog import load_catalog

if TYPE_CHECKING:
    from llmkube_tui.localcluster.cluster import LocalCluster

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def install_crds(conn: Connection, directory: Path, timeout: float = 30.0) -> list[str]:
    """Create every CRD in the directory's YAML files and wait until each is
    established, so the caller can create objects of it right away."""
    names = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                conn.create(CRD_PATH, doc, exist_ok=True)
                names.append(doc["metadata"]["name"])
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            crd = conn.get(f"{CRD_PATH}/{name}")
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not established after {timeout:.0f}s")
            time.sleep(0.1)
    return names


def namespace_manifest(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}},
    }


# namespace -> (cache size or None, [(catalog model, replicas or 0 for no service)])
DEMO: dict[str, tuple[str | None, list[tuple[str, int]]]] = {
    "ml-prod": ("200Gi", [("llama-3.1-8b", 2), ("mistral-7b", 1), ("mixtral-8x7b", 1)]),
    "ml-staging": ("100Gi", [("llama-2-7b", 1), ("llama-3.2-3b", 0)]),
    "research": ("500Gi", [("llama-3.1-70b", 1), ("qwen2.5-14b", 0)]),
    "sandbox": (None, [("tinyllama-1.1b", 0)]),
}


def seed(
    conn: Connection,
    plan: dict[str, tuple[str | None, list[tuple[str, int]]]],
    with_models: bool = True,
) -> None:
    catalog = load_catalog()
    for namespace, (size, models) in plan.items():
        conn.create("/api/v1/namespaces", namespace_manifest(namespace), exist_ok=True)
        if size:
            settings = CacheSettings(size=size, annotations={"llmkube.dev/seeded": "true"})
            conn.create(
                f"/api/v1/namespaces/{namespace}/persistentvolumeclaims",
                volume_manifest(namespace, settings),
                exist_ok=True,
            )
        if not with_models:
            continue
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}"
        for name, replicas in models:
            entry = catalog[name]
            req = DeployRequest(
                name, entry.source, namespace, replicas, entry.gpu_count > 0, entry.gpu_count
            )
            conn.create(f"{base}/models", model_object(req), exist_ok=True)
            if replicas:
                conn.create(
                    f"{base}/inferenceservices",
                    inference_service_object(req, Config()),
                    exist_ok=True,
                )


def seed_demo(conn: Connection) -> None:
    seed(conn, DEMO)


SERVING_NAMESPACE = "llm-demo"
SERVING_NAME = "tiny-llama"


def demo_values(cluster: LocalCluster) -> Path:
    """Settings for the demo cluster: the locally built images, and our own
    Deployments even though LLMKube's CRDs are installed, because no LLMKube
    operator runs here to turn its objects into pods."""
    from llmkube_tui.localcluster.images import LLAMA_SERVER_IMAGE, PYTHON_IMAGE

    values = {
        "mode": "standalone",
        "modelCache": {"size": "20Gi"},
        "images": {
            "fetcher": PYTHON_IMAGE,
            "server": LLAMA_SERVER_IMAGE,
            "serverCuda": LLAMA_SERVER_IMAGE,
            "pullPolicy": "Never",
        },
    }
    path = cluster.state_dir / "values.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def seed_serving(conn: Connection, cluster: LocalCluster) -> str:
    """Put the tiny real llama on the demo's origin and deploy it through the
    cache, so the dashboard opens on a service that really answers. Returns
    the path of the settings that made it (pass them as --values)."""
    from llmkube_tui.localcluster.images import sha256_file
    from llmkube_tui.localcluster.tinymodel import ensure_tiny_llama

    model = ensure_tiny_llama()
    published = cluster.origin_dir / model.name
    if not published.exists():
        tmp = published.with_suffix(".partial")
        try:
            os.link(model, tmp)
        except OSError:
            shutil.copyfile(model, tmp)
        tmp.rename(published)
    values = demo_values(cluster)
    conn.create("/api/v1/namespaces", namespace_manifest(SERVING_NAMESPACE), exist_ok=True)
    request = DeployRequest(
        SERVING_NAME,
        f"{cluster.origin_url}/{model.name}",
        SERVING_NAMESPACE,
        sha256=sha256_file(model),
    )
    # Conflict: seeded by an earlier `up`, and left as it is.
    with contextlib.suppress(Conflict):
        deploy(conn, load_config(values), request)
    return str(values)
