"""GPU nodes: `nvidia.com/gpu` each node advertises against what the pods
on it request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmkube_tui.ui.views.base import ResourceView
from llmkube_tui.ui.views.cells import usage_bar
from llmkube_tui.ui.widgets.resource_table import Row

if TYPE_CHECKING:
    from llmkube_tui.backend.gpunode import GpuNode
    from llmkube_tui.backend.inventory import Listing
    from llmkube_tui.backend.objectview import ObjectRef


def gpu_row(node: GpuNode) -> Row:
    return (
        node.name,
        str(node.allocatable),
        str(node.requested),
        str(node.free),
        usage_bar(node.requested, node.allocatable),
    )


class GpuNodesView(ResourceView):
    NAME = "gpus"
    TITLE = "GPU nodes"
    COLUMNS = ("NODE", "ALLOCATABLE", "REQUESTED", "FREE", "USAGE")
    EMPTY = "no node advertises nvidia.com/gpu"

    def show_nodes(self, nodes: Listing[GpuNode]) -> None:
        note = "" if nodes.ok else f"nodes {nodes.state.value}"
        self.show({n.name: gpu_row(n) for n in nodes.items}, note=note)

    def object_ref(self, key: str) -> ObjectRef:
        from llmkube_tui.backend.objectview import ObjectRef

        return ObjectRef("Node", key)
