"""The per-namespace cache volume: the `llmkube-model-cache` PVC."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmkube_tui.backend.errors import Conflict
from llmkube_tui.backend.quantity import parse_quantity
from llmkube_tui.backend.settings import CacheSettings

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection

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


@dataclass(frozen=True)
class EnsuredVolume:
    volume: CacheVolume
    created: bool
    # Where the PVC found differs from the settings; reported, never applied:
    # changing a live cache volume is an operator's decision (see resize).
    differences: tuple[str, ...] = ()


def _differences(volume: CacheVolume, settings: CacheSettings) -> tuple[str, ...]:
    found = []
    wanted = parse_quantity(settings.size)
    if volume.requested_bytes != wanted:
        found.append(f"size is {volume.requested_bytes} bytes, settings say {settings.size}")
    if settings.storage_class and volume.storage_class != settings.storage_class:
        found.append(
            f"storage class is {volume.storage_class!r}, settings say {settings.storage_class!r}"
        )
    if settings.access_mode not in volume.access_modes:
        modes = ", ".join(volume.access_modes)
        found.append(f"access modes are {modes}, settings say {settings.access_mode}")
    for key, value in settings.annotations.items():
        if volume.annotations.get(key) != value:
            found.append(
                f"annotation {key} is {volume.annotations.get(key)!r}, settings say {value!r}"
            )
    return tuple(found)


def ensure_cache_volume(conn: Connection, namespace: str, settings: CacheSettings) -> EnsuredVolume:
    """Create the namespace's cache PVC as configured, or report how an
    existing one differs from the settings without touching it."""
    manifest = volume_manifest(namespace, settings)
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    try:
        created = CacheVolume.from_api(conn.request("POST", path, body=manifest))
    except Conflict:
        existing = CacheVolume.from_api(conn.get(f"{path}/{CLAIM_NAME}"))
        return EnsuredVolume(existing, False, _differences(existing, settings))
    return EnsuredVolume(created, True)


def wait_until_bound(conn: Connection, namespace: str, timeout: float = 20.0) -> None:
    """Give a new claim of an Immediate storage class the moment it needs to
    bind. A pod created before that is marked unschedulable, and the
    scheduler may take a minute to look at it again. Claims of a
    WaitForFirstConsumer class bind only for a pod, so they return at once."""
    from llmkube_tui.backend.errors import Forbidden, NotFound

    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{CLAIM_NAME}"
    claim = conn.get(path)
    class_name = claim["spec"].get("storageClassName")
    if class_name:
        try:
            storage_class = conn.get(f"/apis/storage.k8s.io/v1/storageclasses/{class_name}")
        except (Forbidden, NotFound):
            return
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
            return
    deadline = time.monotonic() + timeout
    while (claim.get("status") or {}).get("phase") != "Bound" and time.monotonic() < deadline:
        time.sleep(0.2)
        claim = conn.get(path)
