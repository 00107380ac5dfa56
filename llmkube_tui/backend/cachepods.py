"""Short-lived pods that run the fetcher against a namespace's cache volume:
scan, remove, verify. They mount the volume read-only unless they change it."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Failed, NotFound
from llmkube_tui.backend.fetcherbundle import MANAGED_BY, ensure_fetcher_configmap, fetcher_command
from llmkube_tui.backend.podspec import fetcher_container, pod_security, volumes

PURPOSE_LABEL = "llmkube.dev/purpose"


@dataclass(frozen=True)
class FetcherRun:
    exit_code: int
    result: dict[str, Any]
    log: str


def last_json(log: str) -> dict[str, Any]:
    """The fetcher's result: the last line of its output that is a JSON
    object without an "event" (those are progress lines)."""
    for line in reversed(log.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "event" not in doc:
            return doc
    return {}


def _terminated(pod: dict[str, Any]) -> dict[str, Any] | None:
    for status in pod.get("status", {}).get("containerStatuses") or []:
        state = status.get("state", {})
        if "terminated" in state:
            return dict(state["terminated"])
    return None


def _pending_reason(conn: Connection, namespace: str, name: str) -> str:
    events = conn.get(
        f"/api/v1/namespaces/{namespace}/events",
        query={"fieldSelector": f"involvedObject.name={name}"},
    )["items"]
    return "; ".join(e.get("message", "") for e in events[-3:]) or "no events"


def run_fetcher_pod(
    conn: Connection,
    config: Config,
    namespace: str,
    purpose: str,
    args: list[str],
    *,
    read_only: bool,
    timeout: float = 300.0,
) -> FetcherRun:
    ensure_fetcher_configmap(conn, namespace)
    name = f"llmkube-{purpose}-{secrets.token_hex(3)}"
    cache = config.cache
    container = fetcher_container(
        "fetcher",
        config.images.fetcher,
        config.images.pull_policy,
        fetcher_command(purpose, "--root", cache.mount_path, *args),
        cache,
        read_only=read_only,
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY[0]: MANAGED_BY[1], PURPOSE_LABEL: purpose},
        },
        "spec": {
            "restartPolicy": "Never",
            "securityContext": pod_security(),
            "containers": [container],
            "volumes": volumes(cache),
            "terminationGracePeriodSeconds": 0,
        },
    }
    path = f"/api/v1/namespaces/{namespace}/pods"
    conn.request("POST", path, body=pod)
    try:
        deadline = time.monotonic() + timeout
        while True:
            current = conn.get(f"{path}/{name}")
            terminated = _terminated(current)
            if terminated is not None:
                break
            if time.monotonic() > deadline:
                raise Failed(
                    f"{purpose} pod {name} did not finish in {timeout:.0f}s: "
                    f"{_pending_reason(conn, namespace, name)}"
                )
            time.sleep(0.2)
        log = conn.text(f"{path}/{name}/log")
        result = last_json(log) or last_json(terminated.get("message", ""))
        return FetcherRun(int(terminated.get("exitCode", 1)), result, log)
    finally:
        with contextlib.suppress(NotFound):
            conn.request("DELETE", f"{path}/{name}", body={"gracePeriodSeconds": 0})
