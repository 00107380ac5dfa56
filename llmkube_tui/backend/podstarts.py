"""Whether a service's last pod start was a cache hit.

The fetcher's init container ends with one JSON line (`{"result": "hit"}` or
`"miss"`) that Kubernetes keeps as the container's termination message, so
the answer is in the pod status: no log read, no exec.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from llmkube_tui.backend.objectview import NAME_LABEL

if TYPE_CHECKING:
    from collections.abc import Iterable

    from llmkube_tui.backend.connection import Connection


def fetch_result(pod: dict[str, Any]) -> str | None:
    """ "hit" or "miss" from the pod's fetcher init container, if it ended."""
    for status in pod.get("status", {}).get("initContainerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated") or {}
        for line in reversed(str(terminated.get("message") or "").splitlines()):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("result") in ("hit", "miss"):
                return str(doc["result"])
    return None


def _owner_name(pod: dict[str, Any], names: set[str]) -> str | None:
    meta = pod["metadata"]
    labelled = (meta.get("labels") or {}).get(NAME_LABEL)
    if labelled in names:
        return str(labelled)
    # A ReplicaSet's pods are named <deployment>-<hash>-<hash>: the longest
    # matching name wins, so "llama" does not claim "llama-70b"'s pods.
    candidates = [n for n in names if meta["name"].startswith(f"{n}-")]
    return max(candidates, key=len) if candidates else None


def last_start_results(conn: Connection, namespace: str, names: Iterable[str]) -> dict[str, str]:
    """Service name -> "hit" or "miss" of its newest pod whose fetcher
    finished. Names with no such pod are absent."""
    wanted = set(names)
    pods = conn.get(f"/api/v1/namespaces/{namespace}/pods").get("items", [])
    pods.sort(key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))
    results: dict[str, str] = {}
    for pod in pods:  # oldest first: the newest pod's answer is written last
        owner = _owner_name(pod, wanted)
        result = fetch_result(pod) if owner else None
        if owner and result:
            results[owner] = result
    return results
