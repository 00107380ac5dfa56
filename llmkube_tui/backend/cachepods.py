"""Short-lived pods that run the fetcher against a namespace's cache volume:
scan, remove, verify. They mount the volume read-only unless they change it."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
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


def _pod_manifest(
    config: Config, namespace: str, purpose: str, command: list[str], read_only: bool
) -> dict[str, Any]:
    cache = config.cache
    container = fetcher_container(
        "fetcher",
        config.images.fetcher,
        config.images.pull_policy,
        command,
        cache,
        read_only=read_only,
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"llmkube-{purpose}-{secrets.token_hex(3)}",
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


def _delete(conn: Connection, namespace: str, name: str) -> None:
    with contextlib.suppress(NotFound):
        conn.request(
            "DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", body={"gracePeriodSeconds": 0}
        )


def _wait(
    conn: Connection,
    namespace: str,
    name: str,
    purpose: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float,
) -> dict[str, Any]:
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    deadline = time.monotonic() + timeout
    while True:
        pod: dict[str, Any] = conn.get(path)
        if done(pod):
            return pod
        if time.monotonic() > deadline:
            raise Failed(
                f"{purpose} pod {name} not done in {timeout:.0f}s: "
                f"{_pending_reason(conn, namespace, name)}"
            )
        time.sleep(0.2)


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
    command = fetcher_command(purpose, "--root", config.cache.mount_path, *args)
    pod = _pod_manifest(config, namespace, purpose, command, read_only)
    name = pod["metadata"]["name"]
    conn.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod)
    try:
        done = _wait(conn, namespace, name, purpose, lambda p: _terminated(p) is not None, timeout)
        terminated = _terminated(done) or {}
        log = conn.text(f"/api/v1/namespaces/{namespace}/pods/{name}/log")
        result = last_json(log) or last_json(terminated.get("message", ""))
        return FetcherRun(int(terminated.get("exitCode", 1)), result, log)
    finally:
        _delete(conn, namespace, name)


@contextlib.contextmanager
def helper_pod(
    conn: Connection, config: Config, namespace: str, purpose: str, *, read_only: bool
) -> Iterator[str]:
    """A pod that mounts the cache and idles, for exec sessions; deleted on exit."""
    ensure_fetcher_configmap(conn, namespace)
    pod = _pod_manifest(config, namespace, purpose, ["sleep", "86400"], read_only)
    name = pod["metadata"]["name"]
    conn.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod)
    try:

        def running(p: dict[str, Any]) -> bool:
            ended = _terminated(p)
            if ended is not None:
                raise Failed(
                    f"{purpose} pod {name} ended before it was used: {ended.get('reason')} "
                    f"(exit {ended.get('exitCode')}) {ended.get('message') or ''}"
                )
            return bool(p.get("status", {}).get("phase") == "Running")

        _wait(conn, namespace, name, purpose, running, 120.0)
        yield name
    finally:
        _delete(conn, namespace, name)
