"""Preload: a Job that runs the fetcher into the namespace's cache volume,
with live progress from the fetcher's JSON lines and the result from its
termination message."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from llmkube_tui.backend.cachepods import last_json
from llmkube_tui.backend.cachevolume import ensure_cache_volume
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import BackendError, Failed, Invalid
from llmkube_tui.backend.fetcherbundle import MANAGED_BY, ensure_fetcher_configmap, fetcher_command
from llmkube_tui.backend.podspec import fetcher_container, pod_security, volumes
from llmkube_tui.cachekey import cache_key

Progress = Callable[[dict[str, Any]], None]


def job_manifest(
    config: Config, namespace: str, name: str, source: str, sha256: str
) -> dict[str, Any]:
    args = ["--root", config.cache.mount_path, "--source", source, "--json"]
    if sha256:
        args += ["--sha256", sha256]
    container = fetcher_container(
        "fetch-model",
        config.images.fetcher,
        config.images.pull_policy,
        fetcher_command("fetch", *args),
        config.cache,
        read_only=False,
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY[0]: MANAGED_BY[1], "llmkube.dev/cache-key": cache_key(source)},
        },
        "spec": {
            # A retried pod resumes where the previous one stopped.
            "backoffLimit": 3,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {MANAGED_BY[0]: MANAGED_BY[1]}},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": volumes(config.cache),
                },
            },
        },
    }


def _job_pods(conn: Connection, namespace: str, name: str) -> list[dict[str, Any]]:
    pods = conn.get(
        f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": f"job-name={name}"}
    )["items"]
    return sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"])


def _finished(job: dict[str, Any]) -> str | None:
    for c in job.get("status", {}).get("conditions") or []:
        if c["type"] in ("Complete", "Failed") and c["status"] == "True":
            return str(c["type"])
    return None


def _result_of(pod: dict[str, Any]) -> dict[str, Any]:
    for status in pod.get("status", {}).get("containerStatuses") or []:
        terminated = status.get("state", {}).get("terminated")
        if terminated:
            return last_json(terminated.get("message", ""))
    return {}


def _follow(
    conn: Connection,
    namespace: str,
    pod: str,
    on_progress: Progress | None,
    cancel: threading.Event | None,
) -> None:
    """Relay the fetcher's JSON progress lines until the container ends, or
    until a cancel: the fetcher writes a line every half second while it
    downloads, so a cancel is seen within about that."""
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
    for line in conn.stream_lines(path, {"follow": "true"}):
        if cancel is not None and cancel.is_set():
            return
        if on_progress is None or not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            on_progress(event)


def preload(
    conn: Connection,
    config: Config,
    namespace: str,
    source: str,
    *,
    sha256: str = "",
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 6 * 3600,
) -> dict[str, Any]:
    """Fill the cache with one model; returns the fetcher's result."""
    if "://" not in source:
        raise Invalid(f"not a source URL: {source!r}")
    if not config.cache.enabled:
        raise Invalid("the model cache is disabled in the settings (modelCache.enabled: false)")
    ensure_cache_volume(conn, namespace, config.cache)
    ensure_fetcher_configmap(conn, namespace)
    name = f"llmkube-preload-{cache_key(source)}-{int(time.time()) % 100000}"
    jobs = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    conn.request("POST", jobs, body=job_manifest(config, namespace, name, source, sha256))
    deadline = time.monotonic() + timeout
    followed: set[str] = set()
    while True:
        if cancel is not None and cancel.is_set():
            conn.request("DELETE", f"{jobs}/{name}", body={"propagationPolicy": "Background"})
            raise Failed(f"preload of {source} cancelled; the partial download is kept for resume")
        job = conn.get(f"{jobs}/{name}")
        outcome = _finished(job)
        pods = _job_pods(conn, namespace, name)
        if outcome:
            result = _result_of(pods[-1]) if pods else {}
            if outcome == "Complete":
                return result
            raise Failed(
                f"preload of {source} failed: {result.get('error') or 'see the Job ' + name}"
            )
        for pod in pods:
            pod_name = pod["metadata"]["name"]
            running = any(
                "running" in s.get("state", {}) or "terminated" in s.get("state", {})
                for s in pod.get("status", {}).get("containerStatuses") or []
            )
            if running and pod_name not in followed:
                followed.add(pod_name)
                # A broken log stream loses progress lines, not the outcome:
                # the Job's status still tells that.
                with contextlib.suppress(BackendError):
                    _follow(conn, namespace, pod_name, on_progress, cancel)
        if time.monotonic() > deadline:
            raise Failed(f"preload of {source} did not finish in {timeout:.0f}s (Job {name})")
        time.sleep(0.2)
