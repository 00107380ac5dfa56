"""A DataTable whose rows are kept in sync by key.

DataTable.clear() throws away the cursor and the scroll position; a refresh
that rebuilt the table would make the selection jump every few seconds.
"""

from __future__ import annotations

from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Row = tuple[str, ...]


class ResourceTable(DataTable[str]):
    def __init__(self, columns: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._column_names = columns

    def on_mount(self) -> None:
        for name in self._column_names:
            self.add_column(name, key=name)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except RowDoesNotExist:
            return None
        return key.value

    def sync(self, rows: dict[str, Row]) -> None:
        """Make the table show `rows`, sorted by their cells, touching only what changed."""
        selected = self.selected_key
        existing = [key.value for key in self.rows if key.value is not None]
        for key in existing:
            if key not in rows:
                self.remove_row(key)
        present = set(existing)
        for key, cells in rows.items():
            if key in present:
                for column, value in zip(self._column_names, cells, strict=False):
                    if self.get_cell(key, column) != value:
                        self.update_cell(key, column, value)
            else:
                self.add_row(*cells, key=key)
        if [row.key.value for row in self.ordered_rows] != sorted(rows, key=lambda k: rows[k]):
            self.sort(*self._column_names)
        if selected in rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=False)
