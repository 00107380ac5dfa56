"""The fetcher as it travels to a cluster: a ConfigMap with fetcher.py and
the cache key module it imports, mounted read-only into every pod that
touches the cache, and run by a stock Python image."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmkube_tui.backend.errors import Conflict

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection

CONFIGMAP = "llmkube-fetcher"
UPDATE_ATTEMPTS = 5
MOUNT_PATH = "/opt/llmkube-fetcher"
MANAGED_BY = ("app.kubernetes.io/managed-by", "llmkube-tui")
_PACKAGE = Path(__file__).resolve().parents[1]
_FILES = ("fetcher.py", "cachekey.py")


def bundle_files() -> dict[str, str]:
    return {name: (_PACKAGE / name).read_text(encoding="utf-8") for name in _FILES}


def bundle_digest(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:16]


def configmap_manifest(namespace: str) -> dict[str, Any]:
    files = bundle_files()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": CONFIGMAP,
            "namespace": namespace,
            "labels": {MANAGED_BY[0]: MANAGED_BY[1]},
            "annotations": {"llmkube.dev/fetcher-digest": bundle_digest(files)},
        },
        "data": files,
    }


def ensure_fetcher_configmap(conn: Connection, namespace: str) -> None:
    """Create it, or bring it up to this version of the tool. It is ours
    alone, so replacing it changes nobody else's object."""
    manifest = configmap_manifest(namespace)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    try:
        conn.request("POST", path, body=manifest)
        return
    except Conflict:
        pass
    wanted = manifest["metadata"]["annotations"]["llmkube.dev/fetcher-digest"]
    # Several pods or operators may bring it up to date at once: a write that
    # lost the race reads again and finds the work done, or tries again.
    for attempt in range(UPDATE_ATTEMPTS):
        current = conn.get(f"{path}/{CONFIGMAP}")
        have = (current["metadata"].get("annotations") or {}).get("llmkube.dev/fetcher-digest")
        if have == wanted:
            return
        manifest["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        try:
            conn.request("PUT", f"{path}/{CONFIGMAP}", body=manifest)
            return
        except Conflict:
            if attempt == UPDATE_ATTEMPTS - 1:
                raise


def fetcher_command(subcommand: str, *args: str) -> list[str]:
    """The argv of a fetcher run: exec form, never a shell, so a source URL
    is never interpreted by anything."""
    return ["python3", f"{MOUNT_PATH}/fetcher.py", subcommand, *args]
