"""Read side: namespaces, cache volumes, Models and InferenceServices.

A list that RBAC forbids, or whose API is not installed, comes back as a
Listing in that state rather than as an exception, so one refused list never
hides the others. An unreachable server still raises: nothing can be shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from llmkube_tui.backend.cachevolume import CLAIM_NAME, CacheVolume
from llmkube_tui.backend.errors import Forbidden, NotFound
from llmkube_tui.backend.fetcherbundle import MANAGED_BY
from llmkube_tui.backend.gcpause import collector_paused
from llmkube_tui.backend.inferenceservice import InferenceService
from llmkube_tui.backend.model import GROUP, VERSION, Model

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection

T = TypeVar("T")


class ListState(str, Enum):
    OK = "ok"
    FORBIDDEN = "forbidden"
    NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Listing(Generic[T]):
    items: tuple[T, ...]
    state: ListState = ListState.OK
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.state is ListState.OK


def _list(
    conn: Connection,
    path: str,
    parse: Callable[[dict[str, Any]], T],
    query: dict[str, str] | None = None,
) -> Listing[T]:
    with collector_paused():
        try:
            doc = conn.get(path, query=query)
        except Forbidden as err:
            return Listing((), ListState.FORBIDDEN, str(err))
        except NotFound as err:
            return Listing((), ListState.NOT_INSTALLED, str(err))
        return Listing(tuple(parse(item) for item in doc.get("items", [])))


def _scoped(prefix: str, resource: str, namespace: str | None) -> str:
    if namespace is None:
        return f"{prefix}/{resource}"
    return f"{prefix}/namespaces/{namespace}/{resource}"


def list_namespaces(conn: Connection) -> Listing[str]:
    return _list(conn, "/api/v1/namespaces", lambda o: str(o["metadata"]["name"]))


def list_cache_volumes(conn: Connection, namespace: str | None = None) -> Listing[CacheVolume]:
    return _list(
        conn,
        _scoped("/api/v1", "persistentvolumeclaims", namespace),
        CacheVolume.from_api,
        {"fieldSelector": f"metadata.name={CLAIM_NAME}"},
    )


_LLMKUBE = f"/apis/{GROUP}/{VERSION}"


def list_models(conn: Connection, namespace: str | None = None) -> Listing[Model]:
    return _list(conn, _scoped(_LLMKUBE, "models", namespace), Model.from_api)


def list_inference_services(
    conn: Connection, namespace: str | None = None
) -> Listing[InferenceService]:
    """LLMKube's InferenceServices and our own serving Deployments, together."""
    llmkube = _list(
        conn, _scoped(_LLMKUBE, "inferenceservices", namespace), InferenceService.from_api
    )
    ours = _list(
        conn,
        _scoped("/apis/apps/v1", "deployments", namespace),
        InferenceService.from_deployment,
        {"labelSelector": f"{MANAGED_BY[0]}={MANAGED_BY[1]}"},
    )
    if llmkube.state is ListState.NOT_INSTALLED:
        return ours
    allowed = [part for part in (llmkube, ours) if part.ok]
    if not allowed:
        return llmkube
    refused = "; ".join(part.message for part in (llmkube, ours) if not part.ok)
    return Listing(tuple(s for part in allowed for s in part.items), message=refused)


def server_version(conn: Connection) -> str:
    return str(conn.get("/version").get("gitVersion", "unknown"))
