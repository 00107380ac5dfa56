"""The catalog as a table to pick from: what each model costs in disk and
in GPUs is visible before it is chosen."""

from __future__ import annotations

from collections.abc import Mapping

from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.catalog import CatalogEntry

COLUMNS = ("MODEL", "PARAMS", "QUANT", "SIZE", "GPUS", "GPU MEM")


def gpu_needs(entry: CatalogEntry) -> str:
    return str(entry.gpu_count) if entry.gpu_count else "none"


class CatalogPicker(DataTable[str]):
    def __init__(self, catalog: Mapping[str, CatalogEntry], *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", id=id)
        self.catalog = dict(catalog)

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)
        for e in self.catalog.values():
            self.add_row(
                e.name,
                e.parameters,
                e.quantization,
                # "~": the catalog's sizes are rounded from the model cards.
                ("~" if e.size_estimate else "") + format_bytes(e.size_bytes),
                gpu_needs(e),
                f"{e.gpu_memory_gb} GB",
                key=e.name,
            )

    @property
    def selected(self) -> CatalogEntry | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except RowDoesNotExist:
            return None
        return self.catalog.get(key or "")

    def select(self, name: str) -> None:
        self.move_cursor(row=self.get_row_index(name), animate=False)
