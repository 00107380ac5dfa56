"""Sample objects for the demo cluster, and CRD installation for it and the tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from llmkube_tui.backend.cachevolume import volume_manifest
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, inference_service_object, model_object
from llmkube_tui.backend.model import GROUP, VERSION
from llmkube_tui.backend.settings import CacheSettings
from llmkube_tui.catalog import load_catalog

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
