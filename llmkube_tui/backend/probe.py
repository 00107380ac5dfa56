"""Probing a running inference service: one short completion request sent
through the API server's service proxy, so it works from anywhere kubectl
does, with no port-forward and no ingress."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import BadGateway, Failed, Forbidden, NotFound

DEFAULT_PROMPT = "The model cache"


@dataclass(frozen=True)
class ProbeResult:
    namespace: str
    service: str
    reply: str
    latency_seconds: float
    tokens: int
    # As the server measured its own generation, without the proxy's hops.
    tokens_per_second: float


def _service_port(conn: Connection, namespace: str, service: str) -> str:
    try:
        svc = conn.get(f"/api/v1/namespaces/{namespace}/services/{service}")
    except NotFound as err:
        raise NotFound(f"no service {service} in namespace {namespace}") from err
    ports = (svc.get("spec") or {}).get("ports") or []
    if not ports:
        raise Failed(f"service {service} has no ports")
    chosen = next((p for p in ports if p.get("name") == "http"), ports[0])
    return str(chosen.get("name") or chosen["port"])


def probe(
    conn: Connection,
    namespace: str,
    service: str,
    *,
    prompt: str = DEFAULT_PROMPT,
    tokens: int = 16,
    timeout: float = 60.0,
) -> ProbeResult:
    """Ask the service's llama.cpp server (or anything speaking its
    /completion API) for `tokens` tokens; raise a readable BackendError when
    the proxy is forbidden or the service does not answer."""
    port = _service_port(conn, namespace, service)
    path = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/completion"
    body = {"prompt": prompt, "n_predict": tokens, "cache_prompt": False}
    started = time.monotonic()
    try:
        answer: Any = conn.request("POST", path, body=body, timeout=(3.0, timeout))
    except Forbidden as err:
        raise Forbidden(
            f"the cluster forbids the service proxy here (services/proxy in {namespace}): {err}"
        ) from err
    except NotFound as err:
        raise NotFound(f"service {service} in {namespace} has no /completion: {err}") from err
    except BadGateway as err:
        # No ready endpoint behind the proxy, or the server died.
        raise Failed(f"service {service} in {namespace} did not answer: {err}") from err
    latency = time.monotonic() - started
    if not isinstance(answer, dict) or "content" not in answer:
        raise Failed(f"service {service} in {namespace} answered without a completion")
    timings = answer.get("timings") or {}
    return ProbeResult(
        namespace=namespace,
        service=service,
        reply=str(answer["content"]),
        latency_seconds=latency,
        tokens=int(answer.get("tokens_predicted") or timings.get("predicted_n") or 0),
        tokens_per_second=float(timings.get("predicted_per_second") or 0.0),
    )
