"""GPU nodes: what each advertises against what pods on it request."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection


GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class GpuNode:
    name: str
    allocatable: int
    requested: int

    @property
    def free(self) -> int:
        return max(self.allocatable - self.requested, 0)


def _pod_gpus(pod: dict[str, Any]) -> int:
    """What the scheduler counts: the larger of the containers' sum and the
    largest init container, requests falling back to limits."""

    def gpus(container: dict[str, Any]) -> int:
        resources = container.get("resources") or {}
        value = (resources.get("requests") or {}).get(GPU_RESOURCE) or (
            resources.get("limits") or {}
        ).get(GPU_RESOURCE)
        return int(value or 0)

    spec = pod.get("spec", {})
    regular = sum(gpus(c) for c in spec.get("containers", []))
    init = max((gpus(c) for c in spec.get("initContainers") or []), default=0)
    return max(regular, init)


def list_gpu_nodes(conn: Connection) -> list[GpuNode]:
    nodes = conn.get("/api/v1/nodes")["items"]
    pods = conn.get(
        "/api/v1/pods",
        query={"fieldSelector": "status.phase!=Succeeded,status.phase!=Failed"},
    )["items"]
    requested: Counter[str] = Counter()
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node:
            requested[node] += _pod_gpus(pod)
    found = []
    for node in nodes:
        allocatable = int((node["status"].get("allocatable") or {}).get(GPU_RESOURCE, 0))
        name = node["metadata"]["name"]
        if allocatable or requested[name]:
            found.append(GpuNode(name, allocatable, requested[name]))
    return found
