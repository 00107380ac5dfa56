"""A DataTable whose rows are kept in sync by key.

DataTable.clear() throws away the cursor and the scroll position; a refresh
that rebuilt the table would make the selection jump every few seconds.
"""

from __future__ import annotations

import re
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Row = tuple[str, ...]
SortValue = tuple[int, float, str]

_UNITS = {"Byte": 1, "Bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?) (Bytes?|KiB|MiB|GiB|TiB)$")
_FRACTION = re.compile(r"^([0-9]+)/([0-9]+)$")
_PERCENT = re.compile(r"([0-9]+)%$")
_AGE = re.compile(r"^([0-9]+)([smhd])$")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def sort_value(cell: str) -> SortValue:
    """Order cells as an operator reads them: "2 GiB" after "512 MiB",
    "10" after "9", "3/3" after "1/3", usage bars by their percentage, and
    "-" (unknown) before everything."""
    text = cell.strip()
    if text in ("", "-"):
        return (0, 0.0, "")
    if match := _SIZE.match(text):
        return (1, float(match[1]) * _UNITS[match[2]], "")
    if match := _FRACTION.match(text):
        return (1, int(match[1]) + int(match[2]) / 1e6, "")
    if match := _AGE.match(text):
        return (1, int(match[1]) * _AGE_UNITS[match[2]], "")
    if match := _PERCENT.search(text):
        return (1, float(match[1]), "")
    try:
        return (1, float(text), "")
    except ValueError:
        return (2, 0.0, text.lower())


class ResourceTable(DataTable[str]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, columns: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._column_names = columns
        self.sort_column = 0
        self.sort_reverse = False
        # What each row shows, to compare a refresh against without asking
        # the DataTable cell by cell.
        self._cells: dict[str, Row] = {}

    @property
    def column_names(self) -> tuple[str, ...]:
        return self._column_names

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

    def select(self, key: str) -> bool:
        """Put the cursor on the row of `key`; False when there is none."""
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index, animate=False)
        return True

    def _order(self, cells: Row) -> tuple[SortValue, Row]:
        return (sort_value(cells[self.sort_column]), cells)

    def sort_by(self, column: int, reverse: bool) -> None:
        """Order rows by one column (ties by the whole row), keeping the
        selected row selected."""
        self.sort_column = column % len(self._column_names)
        self.sort_reverse = reverse
        selected = self.selected_key
        self.sort(key=self._order, reverse=reverse)
        if selected is not None:
            self.select(selected)

    def sync(self, rows: dict[str, Row]) -> None:
        """Make the table show `rows`, in the sort order, touching only what
        changed: a refresh that changed nothing costs a comparison per row."""
        selected = self.selected_key
        shown = self._cells
        changed = False
        for key in shown.keys() - rows.keys():
            self.remove_row(key)
            changed = True
        for key, cells in rows.items():
            before = shown.get(key)
            if before is None:
                self.add_row(*cells, key=key)
                changed = True
            elif before != cells:
                for column, old, new in zip(self._column_names, before, cells, strict=False):
                    if old != new:
                        # A cell that grows ("-" to "miss") widens its column.
                        self.update_cell(key, column, new, update_width=True)
                changed = True
        self._cells = dict(rows)
        if changed:
            wanted = sorted(rows, key=lambda k: self._order(rows[k]), reverse=self.sort_reverse)
            if [row.key.value for row in self.ordered_rows] != wanted:
                self.sort(key=self._order, reverse=self.sort_reverse)
        if selected in rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=False)
