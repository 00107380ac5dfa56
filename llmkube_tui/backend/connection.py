"""A connection to one cluster: kubeconfig and context, raw JSON requests,
and the mapping of transport and HTTP failures onto typed errors.

Lists are read as raw JSON into our own dataclasses: on large clusters the
client's typed models cost about twice the time of the request itself.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import urllib3

from llmkube_tui.backend.errors import (
    BackendError,
    BadGateway,
    ConfigError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Unauthorized,
    Unreachable,
)
from llmkube_tui.backend.target import KubeContexts, Target

if TYPE_CHECKING:
    from kubernetes import client

    from llmkube_tui.backend.directhttp import DirectTransport

# (connect, read) seconds. Every request carries one: a hung API server must
# never hang the dashboard or a script.
DEFAULT_TIMEOUT = (3.0, 15.0)
RETRIES = 5

_STATUS_ERRORS: dict[int, type[BackendError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    502: BadGateway,
    503: BadGateway,
    504: BadGateway,
}


class Connection:
    def __init__(
        self,
        api_client: client.ApiClient | None,
        context: str,
        server: str,
        namespace: str = "default",
        direct: DirectTransport | None = None,
    ) -> None:
        """One of `api_client` (the kubernetes client: everything) and
        `direct` (plain requests, see open_for_reading)."""
        self._api_client = api_client
        self._direct = direct
        self.context = context
        self.server = server
        # The context's namespace: where a user who may not list namespaces works.
        self.namespace = namespace

    @property
    def api_client(self) -> client.ApiClient:
        """The kubernetes client, for what plain requests cannot do (exec,
        port-forward)."""
        if self._api_client is None:
            raise BackendError("internal: a connection for reading cannot stream or exec")
        return self._api_client

    @classmethod
    def open_for_reading(cls, target: Target | None = None) -> Connection:
        """A connection for requests and lists that, for the common
        kubeconfig, never imports the kubernetes client (0.4 s before the
        first request); any other kubeconfig gets open()."""
        from llmkube_tui.backend.directhttp import DirectTransport
        from llmkube_tui.backend.kubeconfig import simple_access

        access = simple_access(target or Target())
        if access is None:
            return cls.open(target)
        try:
            direct = DirectTransport(access)
        except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
            raise ConfigError(f"cannot load kubeconfig: {err}") from err
        return cls(None, access.context, access.server, access.namespace, direct=direct)

    @classmethod
    def open(cls, target: Target | None = None) -> Connection:
        """Kubeconfig (flag, $KUBECONFIG, ~/.kube/config) first, then the
        in-cluster service account, as kubectl does."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        target = target or Target()
        cfg = client.Configuration()
        kubeconfig = target.kubeconfig or os.environ.get("KUBECONFIG") or None
        default_path = Path.home() / ".kube" / "config"
        try:
            if kubeconfig or default_path.exists():
                path = kubeconfig or str(default_path)
                config.load_kube_config(
                    config_file=path,
                    context=target.context,
                    client_configuration=cfg,
                    persist_config=False,
                )
                contexts, active = config.list_kube_config_contexts(config_file=path)
                chosen = next((c for c in contexts if c["name"] == target.context), active)
                context = chosen["name"]
                namespace = chosen.get("context", {}).get("namespace") or "default"
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=cfg)
                context = "in-cluster"
                namespace = _incluster_namespace()
            else:
                raise ConfigError(
                    "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create "
                    f"{default_path}"
                )
        except (ConfigException, OSError, ValueError, TypeError, KeyError) as err:
            raise ConfigError(f"cannot load kubeconfig: {err}") from err
        # Fail fast on a dead server; the callers decide when to try again.
        cfg.retries = 0
        return cls(client.ApiClient(cfg), context, str(cfg.host), namespace)

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        if self._api_client is not None:
            self._api_client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        raw: bool = False,
    ) -> Any:
        """One API call; the decoded JSON answer (the bytes with `raw`), or a
        typed BackendError."""
        if query:
            path = f"{path}?{urlencode(query)}"
        headers = {"Accept": "*/*" if raw else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in range(RETRIES + 1):
            status, data, retry_after = self._call(method, path, headers, body, timeout)
            if 200 <= status < 300:
                break
            # 429 means the server did not act on the request (throttled, or a
            # cache still warming up after a start), so any verb may be sent
            # again; 503 only for reads, which are idempotent.
            retryable = status == 429 or (status == 503 and method == "GET")
            if not retryable or attempt == RETRIES:
                raise _status_error(status, data, method, path)
            time.sleep(min(retry_after or 0.2 * 2**attempt, 5.0))
        if raw:
            return data
        return json.loads(data) if data else None

    def _call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any,
        timeout: tuple[float, float] | float,
    ) -> tuple[int, bytes, float | None]:
        send = self._direct.call if self._direct is not None else self._client_call
        try:
            status, data, retry_after = send(method, path, headers, body, timeout)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise Unreachable(
                f"cannot reach the API server at {self.server}: {_reason(err)}"
            ) from err
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return status, data, seconds

    def _client_call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any,
        timeout: tuple[float, float] | float,
    ) -> tuple[int, bytes, str | None]:
        from kubernetes.client.exceptions import ApiException

        try:
            serialized = self.api_client.param_serialize(
                method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = self.api_client.call_api(*serialized, _request_timeout=timeout)
            data = response.read()
        except ApiException as err:
            # The client reports TLS failures as status 0.
            raise Unreachable(
                f"cannot reach the API server at {self.server}: {err.reason}"
            ) from err
        return int(response.status), bytes(data), response.headers.get("Retry-After")

    def stream_lines(
        self, path: str, query: dict[str, str] | None = None, read_timeout: float = 300.0
    ) -> Iterator[str]:
        """Lines of a streaming response (a followed log), as they arrive;
        memory stays bounded whatever the stream's length."""
        if query:
            path = f"{path}?{urlencode(query)}"
        method, url, headers, _, _ = self.api_client.param_serialize(
            "GET", path, header_params={"Accept": "*/*"}, auth_settings=["BearerToken"]
        )
        try:
            response = self.api_client.rest_client.pool_manager.request(
                method,
                url,
                headers=headers,
                preload_content=False,
                timeout=urllib3.Timeout(connect=DEFAULT_TIMEOUT[0], read=read_timeout),
            )
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise Unreachable(
                f"cannot reach the API server at {self.server}: {_reason(err)}"
            ) from err
        try:
            if not 200 <= response.status < 300:
                raise _status_error(response.status, response.read(), "GET", path)
            pending = b""
            for chunk in response.stream(64 * 1024):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
            if pending:
                yield pending.decode(errors="replace")
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise Unreachable(f"the stream from {self.server} broke: {_reason(err)}") from err
        finally:
            response.release_conn()

    def text(self, path: str, **kwargs: Any) -> str:
        """A plain-text resource, such as a pod's log."""
        return bytes(self.request("GET", path, raw=True, **kwargs)).decode(errors="replace")

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def create(self, path: str, body: dict[str, Any], *, exist_ok: bool = False) -> Any:
        """POST `body` to the collection at `path`. With exist_ok an object of
        that name is left as it is and returned, never changed."""
        try:
            return self.request("POST", path, body=body)
        except Conflict:
            if not exist_ok:
                raise
            return self.get(f"{path}/{body['metadata']['name']}")


def list_contexts(target: Target | None = None) -> KubeContexts:
    """The kubeconfig's contexts, for the operator to pick one (in-cluster
    there is only "in-cluster")."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    target = target or Target()
    path = target.kubeconfig or os.environ.get("KUBECONFIG") or None
    default_path = Path.home() / ".kube" / "config"
    if path is None and not default_path.exists():
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return KubeContexts(("in-cluster",), "in-cluster")
        raise ConfigError(f"no kubeconfig found (looked for {default_path})")
    try:
        contexts, active = config.list_kube_config_contexts(config_file=path or str(default_path))
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(f"cannot load kubeconfig: {err}") from err
    return KubeContexts(
        tuple(sorted(str(c["name"]) for c in contexts)), str((active or {}).get("name", ""))
    )


def _incluster_namespace() -> str:
    try:
        return Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read_text().strip()
    except OSError:
        return "default"


def _reason(err: Exception) -> str:
    reason = getattr(err, "reason", None)
    return str(reason or err)


def _status_error(status: int, data: bytes, method: str, path: str) -> BackendError:
    message = ""
    try:
        message = json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        message = data[:200].decode(errors="replace")
    kind = _STATUS_ERRORS.get(status, BackendError)
    prefix = {
        Forbidden: "forbidden",
        Unauthorized: "unauthorized",
        NotFound: "not found",
        Conflict: "conflict",
        Gone: "expired (list or watch again)",
        Invalid: "invalid",
    }.get(kind, f"HTTP {status}")
    return kind(f"{prefix}: {message or method + ' ' + path}")
