"""Small helpers for tests that watch real pods."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from llmkube_tui.backend.connection import Connection


def wait_for(
    conn: Connection,
    path: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    obj: dict[str, Any] = {}
    while time.monotonic() < deadline:
        obj = conn.get(path)
        if predicate(obj):
            return obj
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting on {path}: {obj.get('status')}")


def pod(name: str, command: list[str], image: str, **spec: Any) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "Never",
        "command": command,
        **spec.pop("container", {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def phase(*phases: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: obj.get("status", {}).get("phase") in phases
