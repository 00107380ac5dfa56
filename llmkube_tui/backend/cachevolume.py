"""The per-namespace cache volume: the `llmkube-model-cache` PVC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmkube_tui.backend.quantity import parse_quantity
from llmkube_tui.backend.settings import CacheSettings

CLAIM_NAME = "llmkube-model-cache"
COMPONENT_LABEL = ("app.kubernetes.io/component", "model-cache")


def _bytes(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_quantity(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class CacheVolume:
    namespace: str
    name: str
    requested_bytes: int | None
    capacity_bytes: int | None
    phase: str
    storage_class: str
    access_modes: tuple[str, ...]
    annotations: dict[str, str]

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> CacheVolume:
        meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status", {})
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            requested_bytes=_bytes(spec.get("resources", {}).get("requests", {}).get("storage")),
            capacity_bytes=_bytes(status.get("capacity", {}).get("storage")),
            phase=status.get("phase", "Pending"),
            storage_class=spec.get("storageClassName") or "",
            access_modes=tuple(spec.get("accessModes", [])),
            annotations=dict(meta.get("annotations") or {}),
        )


def volume_manifest(namespace: str, settings: CacheSettings) -> dict[str, Any]:
    """The PVC as configured. It has no owner reference on purpose: the cache
    must outlive every Model and deployment that uses it."""
    parse_quantity(settings.size)  # a malformed size fails here, before any API call
    spec: dict[str, Any] = {
        "accessModes": [settings.access_mode],
        "resources": {"requests": {"storage": settings.size}},
    }
    if settings.storage_class:
        spec["storageClassName"] = settings.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": CLAIM_NAME,
            "namespace": namespace,
            "labels": {COMPONENT_LABEL[0]: COMPONENT_LABEL[1]},
            "annotations": dict(settings.annotations),
        },
        "spec": spec,
    }
