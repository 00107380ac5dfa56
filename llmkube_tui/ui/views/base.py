"""What every view shares: a title line and a table, a filter, a sort.

A view only renders what the app hands it (rows, a scope, a note such as
"forbidden" or "loading"); fetching stays in the app's workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from llmkube_tui.ui.first_frame import LOADING
from llmkube_tui.ui.widgets.resource_table import ResourceTable, Row

if TYPE_CHECKING:
    from llmkube_tui.backend.objectview import Detail, ObjectRef


class ResourceView(Vertical):
    # The name used by `:` commands and by app.current_view.
    NAME: ClassVar[str]
    TITLE: ClassVar[str]
    COLUMNS: ClassVar[tuple[str, ...]]
    # Shown in the table while nothing was loaded yet.
    EMPTY: ClassVar[str] = "nothing here"

    def __init__(self) -> None:
        super().__init__(id=f"{self.NAME}-view", classes="view")
        self.filter_text = ""
        self._rows: dict[str, Row] = {}
        self._scope = ""
        self._note = ""
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE, id=f"{self.NAME}-title", classes="title")
        yield ResourceTable(self.COLUMNS, id=self.NAME)
        yield Static(LOADING, id=f"{self.NAME}-empty", classes="empty")

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    @property
    def selected_key(self) -> str | None:
        return self.table.selected_key

    def show(self, rows: dict[str, Row], *, scope: str = "", note: str = "") -> None:
        """Replace the data; the table changes only where the rows did."""
        self._rows = rows
        self._scope = scope
        self._note = note
        self._loaded = True
        self._render_rows()

    def set_note(self, note: str) -> None:
        self._note = note
        self._render_title()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self._render_rows()

    def cycle_sort(self) -> None:
        """k9s's shift+letter sorts: here one key walks the columns."""
        table = self.table
        table.sort_by(table.sort_column + 1, reverse=False)
        self._render_title()

    def invert_sort(self) -> None:
        table = self.table
        table.sort_by(table.sort_column, reverse=not table.sort_reverse)
        self._render_title()

    def _matches(self, key: str, cells: Row) -> bool:
        needle = self.filter_text.lower()
        return not needle or needle in key.lower() or any(needle in c.lower() for c in cells)

    def _render_rows(self) -> None:
        shown = {k: r for k, r in self._rows.items() if self._matches(k, r)}
        self.table.sync(shown)
        empty = self.query_one(f"#{self.NAME}-empty", Static)
        empty.display = not shown
        if not self._loaded:
            empty.update(LOADING)
        elif self._rows:
            empty.update(Text(f"no row matches /{self.filter_text}"))
        else:
            empty.update(Text(self._note or self.EMPTY))
        self._render_title()

    def _render_title(self) -> None:
        # Text, not markup: names and filters may hold "[...]".
        table = self.table
        shown = table.row_count
        count = f"{shown}" if shown == len(self._rows) else f"{shown}/{len(self._rows)}"
        title = Text()
        title.append(self.TITLE, style="bold")
        if self._scope:
            title.append(f" {self._scope}")
        title.append(f" [{count}]")
        if self.filter_text:
            title.append(f"  /{self.filter_text}")
        arrow = "↓" if table.sort_reverse else "↑"
        title.append(f"  sort: {table.column_names[table.sort_column]}{arrow}")
        if self._note:
            title.append("  ")
            title.append(f" {self._note} ", style="bold reverse")
        self.query_one(f"#{self.NAME}-title", Static).update(title)

    # -- what `y` and `l` show for the selected row ----------------------
    def object_ref(self, key: str) -> ObjectRef | None:
        """The Kubernetes object of the row, for `y`."""
        return None

    def related_ref(self, key: str) -> ObjectRef | None:
        """The object whose pod logs or events `l` shows."""
        return self.object_ref(key)

    def local_detail(self, key: str) -> Detail | None:
        """A detail the view can render from what it holds, without a call."""
        return None
