"""LLMKube `Model` objects (inference.llmkube.dev/v1alpha1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmkube_tui.cachekey import cache_key

GROUP = "inference.llmkube.dev"
VERSION = "v1alpha1"


@dataclass(frozen=True)
class Model:
    namespace: str
    name: str
    source: str
    cache_key: str
    phase: str
    size: str
    gpu_count: int

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Model:
        meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status") or {}
        source = spec.get("source", "")
        gpu = (spec.get("hardware") or {}).get("gpu") or {}
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            source=source,
            # The controller fills status.cacheKey once it has seen the object;
            # until then the key follows from the source the same way.
            cache_key=status.get("cacheKey") or cache_key(source),
            phase=status.get("phase", "Pending"),
            size=status.get("size", ""),
            gpu_count=int(gpu.get("count", 0) or 0),
        )
