"""A table of rows kept in sync by key, drawing only the rows on screen.

Textual's DataTable measures and stores every cell as it is added: opening
5,000 inference services took 1.0-1.3 s of the event loop here, and a
refresh that changed many cells cost as much again. This table keeps the
rows as plain strings and paints the visible lines from them (the Line
API), so a refresh costs a comparison, a sort and the column widths: tens
of milliseconds for thousands of rows. A refresh never moves the cursor off
its row or the view off its place.
"""

from __future__ import annotations

import re
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from llmkube_tui.ui.first_frame import CELL_PADDING, table_line

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


class RowMessage(Message):
    def __init__(self, table: ResourceTable, key: str) -> None:
        super().__init__()
        self.table = table
        self.key = key

    @property
    def control(self) -> ResourceTable:
        return self.table


class ResourceTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "resource-table--header",
        "resource-table--cursor",
    }
    DEFAULT_CSS = """
    ResourceTable {
        background: $surface;
        color: $foreground;
        & > .resource-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:focus {
            background-tint: $foreground 5%;
        }
        &:ansi > .resource-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .resource-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .resource-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    # k9s's keys beside the arrows: j/k move, g/G jump to the ends.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "ends(0)", "Top", show=False),
        Binding("end,G", "ends(1)", "Bottom", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("enter", "choose", "Select", show=False),
    ]

    class RowHighlighted(RowMessage):
        """The cursor is on another row."""

    class RowSelected(RowMessage):
        """enter, or a click on the row under the cursor."""

    def __init__(self, columns: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._column_names = columns
        self.sort_column = 0
        self.sort_reverse = False
        self._cells: dict[str, Row] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._widths = [cell_len(name) for name in columns]
        self.cursor_row = 0
        self._highlighted: str | None = None
        # (plain, header, cursor): computing a style walks the CSS, and a
        # frame paints every visible line.
        self._styles: tuple[Style, Style, Style] | None = None

    # -- what the views and tests read --------------------------------------
    @property
    def column_names(self) -> tuple[str, ...]:
        return self._column_names

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def rows(self) -> dict[str, Row]:
        return self._cells

    @property
    def ordered_keys(self) -> list[str]:
        return list(self._order)

    def get_row(self, key: str) -> list[str]:
        return list(self._cells[key])

    def column_width(self, name: str) -> int:
        """Characters of the widest cell of a column, or of its name."""
        return self._widths[self._column_names.index(name)]

    @property
    def selected_key(self) -> str | None:
        if not self._order:
            return None
        return self._order[min(self.cursor_row, len(self._order) - 1)]

    # -- changing the rows ------------------------------------------------------
    def sync(self, rows: dict[str, Row]) -> None:
        """Show `rows`, in the sort order; the selected row stays selected
        (the cursor moves on only when its row is gone)."""
        selected = self.selected_key
        if rows != self._cells:
            self._cells = dict(rows)
            self._widths = [
                max([cell_len(name), *(cell_len(r[i]) for r in rows.values())])
                for i, name in enumerate(self._column_names)
            ]
            self._sort()
        self._place_cursor(selected)

    def sort_by(self, column: int, reverse: bool) -> None:
        """Order rows by one column (ties by the whole row), keeping the
        selected row selected."""
        selected = self.selected_key
        self.sort_column = column % len(self._column_names)
        self.sort_reverse = reverse
        self._sort()
        self._place_cursor(selected, scroll=True)

    def select(self, key: str) -> bool:
        """Put the cursor on the row of `key`; False when there is none."""
        if key not in self._index:
            return False
        self._move_to(self._index[key])
        return True

    def _sort(self) -> None:
        column = self.sort_column
        cells = self._cells
        self._order = sorted(
            cells,
            key=lambda k: (sort_value(cells[k][column]), cells[k]),
            reverse=self.sort_reverse,
        )
        self._index = {key: i for i, key in enumerate(self._order)}
        width = sum(w + 2 * CELL_PADDING for w in self._widths)
        self.virtual_size = Size(width, len(self._order) + 1)
        self.refresh()

    def _place_cursor(self, selected: str | None, *, scroll: bool = False) -> None:
        if selected in self._index:
            self.cursor_row = self._index[selected]
        else:
            self.cursor_row = max(0, min(self.cursor_row, len(self._order) - 1))
        if scroll:
            self._scroll_to_cursor()
        self._announce()
        self.refresh()

    def _move_to(self, row: int) -> None:
        if not self._order:
            return
        before, top = self.cursor_row, round(self.scroll_y)
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        self._scroll_to_cursor()
        self._announce()
        if round(self.scroll_y) == top:
            # A key press repaints two lines, not the screen (line 0 is
            # the header).
            self.refresh_line(before + 1)
            self.refresh_line(self.cursor_row + 1)
        else:
            self.refresh()

    def _announce(self) -> None:
        key = self.selected_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    # -- keys and mouse ---------------------------------------------------------
    def action_cursor(self, step: int) -> None:
        self._move_to(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self._move_to(self.cursor_row + direction * page)

    def action_ends(self, end: int) -> None:
        self._move_to(len(self._order) - 1 if end else 0)

    def action_choose(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        row = round(self.scroll_y) + event.y - 1
        if row >= len(self._order):
            return
        if row == self.cursor_row:
            self.action_choose()
        else:
            self._move_to(row)

    # -- painting ---------------------------------------------------------------
    def _line(self, cells: Row | tuple[str, ...], style: Style) -> Strip:
        text = table_line(cells, self._widths)
        return Strip([Segment(text, style)], cell_len(text))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _line_styles(self) -> tuple[Style, Style, Style]:
        if self._styles is None:
            base = self.rich_style
            self._styles = (
                base,
                base + self.get_component_rich_style("resource-table--header"),
                base + self.get_component_rich_style("resource-table--cursor"),
            )
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base, header, cursor = self._line_styles()
        scroll_x = round(self.scroll_x)
        if y == 0:
            style = header
            strip = self._line(self._column_names, style)
        else:
            row = round(self.scroll_y) + y - 1
            if row >= len(self._order):
                return Strip.blank(width, base)
            style = cursor if row == self.cursor_row else base
            strip = self._line(self._cells[self._order[row]], style)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)
