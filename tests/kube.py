"""Small helpers for tests that watch real pods."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import undeploy


def wait_for(
    conn: Connection,
    path: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    obj: dict[str, Any] = {}
    while time.monotonic() < deadline:
        obj = conn.get(path)
        if predicate(obj):
            return obj
        time.sleep(0.2)
    namespace = path.split("/namespaces/")[1].split("/")[0] if "/namespaces/" in path else ""
    raise AssertionError(
        f"timed out waiting on {path}: {obj.get('status')}\n{describe_pods(conn, namespace)}"
    )


def describe_pods(conn: Connection, namespace: str) -> str:
    """Pod states and events of a namespace: what a failing test needs to say."""
    if not namespace:
        return ""
    lines = []
    for p in conn.get(f"/api/v1/namespaces/{namespace}/pods")["items"]:
        status = p.get("status", {})
        containers = status.get("initContainerStatuses", []) + status.get("containerStatuses", [])
        lines.append(f"pod {p['metadata']['name']}: {status.get('phase')}")
        lines += [f"  {c['name']}: {c.get('state')}" for c in containers]
    for e in conn.get(f"/api/v1/namespaces/{namespace}/events")["items"][-15:]:
        lines.append(f"event {e.get('reason')}: {e.get('message')}")
    return "\n".join(lines)


def pod(name: str, command: list[str], image: str, **spec: Any) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "Never",
        "command": command,
        **spec.pop("container", {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def phase(*phases: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: obj.get("status", {}).get("phase") in phases


def ensure_namespace(conn: Connection, name: str) -> str:
    conn.create("/api/v1/namespaces", {"metadata": {"name": name}}, exist_ok=True)
    return name


def deployment_ready(
    conn: Connection, ns: str, name: str, replicas: int = 1, timeout: float = 120
) -> float:
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


def undeployed(conn: Connection, ns: str, name: str) -> None:
    undeploy(conn, ns, name, wait=90)
    selector = {"labelSelector": f"app.kubernetes.io/name={name}"}
    deadline = time.monotonic() + 60
    while conn.get(f"/api/v1/namespaces/{ns}/pods", query=selector)["items"]:
        assert time.monotonic() < deadline, "pods of the deployment did not go away"
        time.sleep(0.2)


def cache_dir_on_host(conn: Connection, ns: str) -> Path:
    """Where the namespace's cache volume lives on this machine (host-path)."""
    pvc = conn.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/llmkube-model-cache")
    pv = conn.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
    return Path(pv["spec"]["hostPath"]["path"])
