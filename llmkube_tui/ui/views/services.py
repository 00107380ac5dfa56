"""Inference services: model, replicas ready of desired, GPUs, phase,
endpoint, and whether the last pod start found its model in the cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmkube_tui.ui.views.base import ResourceView
from llmkube_tui.ui.widgets.resource_table import Row

if TYPE_CHECKING:
    from llmkube_tui.backend.inferenceservice import InferenceService
    from llmkube_tui.backend.objectview import ObjectRef


def service_key(service: InferenceService) -> str:
    return f"{service.namespace}/{service.name}"


def service_row(service: InferenceService, hits: dict[str, str]) -> Row:
    """`hits`: service key -> "hit" or "miss" of its last start, where known."""
    return (
        service.namespace,
        service.name,
        service.model or "-",
        f"{service.ready_replicas}/{service.desired_replicas}",
        str(service.gpus),
        service.phase,
        service.endpoint or "-",
        hits.get(service_key(service), "-"),
    )


class ServicesView(ResourceView):
    NAME = "services"
    TITLE = "Inference services"
    COLUMNS = ("NAMESPACE", "NAME", "MODEL", "READY", "GPU", "PHASE", "ENDPOINT", "HIT")
    EMPTY = "no inference services"

    def __init__(self) -> None:
        super().__init__()
        # Where LLMKube is absent, our Deployment stands for the service.
        self._kinds: dict[str, str] = {}

    def show_services(
        self,
        services: tuple[InferenceService, ...],
        hits: dict[str, str],
        *,
        namespace: str | None,
        note: str,
    ) -> None:
        rows = {service_key(s): service_row(s, hits) for s in services}
        self._kinds = {service_key(s): s.kind for s in services}
        self.show(rows, scope=f"({namespace or 'all'})", note=note)

    def object_ref(self, key: str) -> ObjectRef:
        from llmkube_tui.backend.objectview import ObjectRef

        namespace, _, name = key.partition("/")
        return ObjectRef(self._kinds.get(key, "InferenceService"), name, namespace)
