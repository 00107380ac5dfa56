"""Pieces of pod specs shared by deployments, preload Jobs and cache pods.

Every pod runs as a non-root user with an fsGroup and no privilege, as Pod
Security's `restricted` profile asks; no root `chown` container is needed.
"""

from __future__ import annotations

from typing import Any

from llmkube_tui.backend.cachevolume import CLAIM_NAME
from llmkube_tui.backend.fetcherbundle import CONFIGMAP, MOUNT_PATH
from llmkube_tui.backend.settings import CacheSettings

RUN_AS = 1000
CACHE_VOLUME = "model-cache"
FETCHER_VOLUME = "fetcher"


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def volumes(settings: CacheSettings) -> list[dict[str, Any]]:
    """The cache (the namespace's PVC, or an emptyDir per pod when the cache
    is disabled) and the fetcher's ConfigMap."""
    cache: dict[str, Any] = {"name": CACHE_VOLUME}
    if settings.enabled:
        cache["persistentVolumeClaim"] = {"claimName": CLAIM_NAME}
    else:
        cache["emptyDir"] = {}
    return [cache, {"name": FETCHER_VOLUME, "configMap": {"name": CONFIGMAP}}]


def cache_mount(settings: CacheSettings, read_only: bool) -> dict[str, Any]:
    return {"name": CACHE_VOLUME, "mountPath": settings.mount_path, "readOnly": read_only}


def fetcher_mount() -> dict[str, Any]:
    return {"name": FETCHER_VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}


def fetcher_container(
    name: str,
    image: str,
    pull_policy: str,
    command: list[str],
    settings: CacheSettings,
    read_only: bool,
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": command,
        "volumeMounts": [cache_mount(settings, read_only), fetcher_mount()],
        "securityContext": container_security(),
        # The fetcher writes its result there; Kubernetes shows it in the pod status.
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
