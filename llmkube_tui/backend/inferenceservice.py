"""LLMKube `InferenceService` objects (inference.llmkube.dev/v1alpha1)."""

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
