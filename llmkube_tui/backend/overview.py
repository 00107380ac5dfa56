"""What the dashboard's first screen shows: one summary row per namespace."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from llmkube_tui.backend.cachevolume import CacheVolume
from llmkube_tui.backend.inferenceservice import InferenceService
from llmkube_tui.backend.inventory import (
    Listing,
    ListState,
    list_cache_volumes,
    list_inference_services,
    list_models,
    list_namespaces,
    server_version,
)
from llmkube_tui.backend.model import Model

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection

T = TypeVar("T")


@dataclass(frozen=True)
class NamespaceSummary:
    name: str
    cache: CacheVolume | None
    models: int
    services: int
    gpus: int


@dataclass(frozen=True)
class Overview:
    context: str
    server: str
    version: str
    namespaces: Listing[NamespaceSummary]
    volumes: Listing[CacheVolume]
    models: Listing[Model]
    services: Listing[InferenceService]

    def models_in(self, namespace: str) -> tuple[Model, ...]:
        return tuple(m for m in self.models.items if m.namespace == namespace)

    def services_in(self, namespace: str) -> tuple[InferenceService, ...]:
        return tuple(s for s in self.services.items if s.namespace == namespace)


def _per_namespace(
    conn: Connection,
    lister: Callable[[Connection, str | None], Listing[T]],
    cluster_wide: Listing[T],
    names: tuple[str, ...],
) -> Listing[T]:
    """A cluster-wide list that RBAC refused, gathered namespace by namespace."""
    if cluster_wide.state is not ListState.FORBIDDEN:
        return cluster_wide
    parts = [lister(conn, n) for n in names]
    allowed = [part for part in parts if part.ok]
    if not allowed:
        return parts[0] if parts else cluster_wide
    return Listing(tuple(item for part in allowed for item in part.items))


def load_overview(conn: Connection) -> Overview:
    """Four cluster-wide lists, whatever the number of namespaces, sent at
    once: on a large cluster each takes a few hundred milliseconds, mostly
    waiting on the API server.

    A user whom RBAC keeps out of cluster-wide lists sees the namespace of
    their context instead, as kubectl would show them.
    """
    with ThreadPoolExecutor(max_workers=5) as pool:
        version_call = pool.submit(server_version, conn)
        namespaces_call = pool.submit(list_namespaces, conn)
        volumes_call = pool.submit(list_cache_volumes, conn, None)
        models_call = pool.submit(list_models, conn, None)
        services_call = pool.submit(list_inference_services, conn, None)
        namespaces = namespaces_call.result()
        names = tuple(sorted(namespaces.items)) if namespaces.ok else (conn.namespace,)
        volumes = _per_namespace(conn, list_cache_volumes, volumes_call.result(), names)
        models = _per_namespace(conn, list_models, models_call.result(), names)
        services = _per_namespace(conn, list_inference_services, services_call.result(), names)
        version = version_call.result()

    by_ns_volume = {v.namespace: v for v in volumes.items}
    model_counts = Counter(m.namespace for m in models.items)
    service_counts = Counter(s.namespace for s in services.items)
    gpu_counts: Counter[str] = Counter()
    for s in services.items:
        gpu_counts[s.namespace] += s.gpus * s.desired_replicas
    summaries = tuple(
        NamespaceSummary(
            name=n,
            cache=by_ns_volume.get(n),
            models=model_counts[n],
            services=service_counts[n],
            gpus=gpu_counts[n],
        )
        for n in names
    )
    ns_listing = Listing(summaries, namespaces.state, namespaces.message)
    return Overview(conn.context, conn.server, version, ns_listing, volumes, models, services)
