"""Inference services: LLMKube `InferenceService` objects
(inference.llmkube.dev/v1alpha1), and the Deployments that llmkube-tui makes
itself where LLMKube is not installed, shown the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InferenceService:
    namespace: str
    name: str
    model: str
    ready_replicas: int
    desired_replicas: int
    gpus: int
    phase: str
    endpoint: str
    # Which object stands for the service: "InferenceService" or "Deployment".
    kind: str = "InferenceService"

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> InferenceService:
        meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status") or {}
        replicas = spec.get("replicas", 1)
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            model=spec.get("modelRef", ""),
            ready_replicas=int(status.get("readyReplicas", 0) or 0),
            desired_replicas=int(status.get("desiredReplicas", replicas) or 0),
            gpus=int((spec.get("resources") or {}).get("gpu", 0) or 0),
            phase=status.get("phase", "Pending"),
            endpoint=status.get("endpoint", ""),
        )

    @classmethod
    def from_deployment(cls, obj: dict[str, Any]) -> InferenceService:
        meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status") or {}
        desired = int(spec.get("replicas", 1) or 0)
        ready = int(status.get("readyReplicas", 0) or 0)
        pod = (spec.get("template") or {}).get("spec") or {}
        gpus = sum(
            int(((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", 0) or 0)
            for c in pod.get("containers", [])
        )
        ports = [p for c in pod.get("containers", []) for p in c.get("ports", [])]
        port = ports[0]["containerPort"] if ports else 8080
        if desired == 0:
            phase = "Scaled down"
        elif ready >= desired:
            phase = "Ready"
        else:
            phase = "Progressing"
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            model=meta["name"],
            ready_replicas=ready,
            desired_replicas=desired,
            gpus=gpus,
            phase=phase,
            endpoint=f"http://{meta['name']}.{meta['namespace']}.svc:{port}",
            kind="Deployment",
        )
