"""The dashboard's first frame, drawn before Textual is imported.

Importing Textual and mounting the app take 0.45-0.8 s on a 2-core VM,
nearly all of it Textual's own work, and the screen stays blank meanwhile.
This module writes, on the alternate screen Textual then takes over, the
frame Textual paints first: the header, the namespaces title and column
headers, an empty table and "loading…", in the default theme's colours. It
imports only rich (which Textual imports next anyway), so the frame is on
screen about 0.1 s after start, and Textual's own first frame draws the
same cells over it (tests/test_first_frame.py compares the two in tmux).

It is drawn only where it can match: a terminal wide enough for the
header and the columns, Textual's default theme, no --filter, and none of
the environment settings that change Textual's colours or output
(NO_COLOR, TEXTUAL_COLOR_SYSTEM, TEXTUAL_FILTERS, TEXTUAL_DRIVER);
elsewhere Textual draws the first frame as before.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import TextIO

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from rich.text import Text

APP_NAME = "llmkube-tui"
NAMESPACE_TITLE = "Namespaces"
NAMESPACE_COLUMNS = ("NAMESPACE", "REQ", "CAP", "USED", "USAGE", "ENTRIES", "MODELS", "SVC", "GPU")
LOADING = "loading…"
# Blank columns either side of every table cell, as DataTable draws them.
CELL_PADDING = 1

# The default theme's computed styles of each part of the first frame;
# tests/test_first_frame.py reads them back from the running app.
STATUS_STYLE = "#ddedf9 on #0178d4"
TITLE_STYLE = "#fea62b on #121212"
TABLE_STYLE = "#e0e0e0 on #272727"
HEADER_STYLE = "bold #e0e0e0 on #242f38"
EMPTY_STYLE = "#a0a0a0 on #121212"

_COLOR_SYSTEMS = {
    "standard": ColorSystem.STANDARD,
    "256": ColorSystem.EIGHT_BIT,
    "truecolor": ColorSystem.TRUECOLOR,
}
ENTER = "\x1b[?1049h\x1b[?25l"
LEAVE = "\x1b[?1049l\x1b[?25h"


def status_line(
    *,
    context: str = "",
    version: str = "",
    namespace: str = "",
    state: str = "connecting",
    data_age: str = "no data",
    read_only: bool = False,
    calm: bool = False,
    width: int,
) -> Text:
    """The header's text, as the status bar renders it; `calm` states are
    bold, the rest reverse video, which survives NO_COLOR and any palette."""
    # Text, not markup: a context name may hold "[...]".
    line = Text()
    for part in (f"ctx: {context or '-'}", f"k8s: {version or '-'}", f"ns: {namespace or 'all'}"):
        line.append(f"{part}  ")
    if calm:
        line.append(state, style="bold")
    else:
        line.append(f" {state} ", style="bold reverse")
    line.append(f"  {data_age}")
    if read_only:
        line.append("  ")
        line.append(" READ-ONLY ", style="bold reverse")
    # The name goes first where there is room; at 80 columns the state
    # and READ-ONLY matter more.
    name = f"{APP_NAME}  "
    if line.cell_len + len(name) <= width:
        line = Text(name, style="bold") + line
    return line


def table_line(cells: tuple[str, ...], widths: list[int]) -> str:
    pad = " " * CELL_PADDING
    return "".join(
        f"{pad}{cell}{' ' * (width - cell_len(cell))}{pad}"
        for cell, width in zip(cells, widths, strict=False)
    )


@dataclass
class FirstFrame:
    """A frame on the alternate screen, until Textual takes the screen over."""

    out: TextIO
    width: int
    height: int
    color_system: ColorSystem
    read_only: bool = False
    shown: bool = False

    def draw(self) -> None:
        # Marked first: an interrupt half-way through still gives the
        # screen back.
        self.shown = True
        self.out.write(ENTER + render(self.width, self.height, self.color_system, self.read_only))
        self.out.flush()

    def close(self) -> None:
        """Gives the terminal back when Textual will not start (an error
        before it ran): the shell's screen and cursor as they were."""
        if self.shown:
            self.shown = False
            self.out.write(LEAVE)
            self.out.flush()

    def handed_over(self) -> None:
        """Textual ran: it entered and left the alternate screen itself."""
        self.shown = False


def _color_system(out: TextIO) -> ColorSystem | None:
    # The detection Textual's console makes (rich's, on the same
    # environment), so both frames use the same colour codes.
    name = Console(file=out, force_terminal=True).color_system
    return _COLOR_SYSTEMS.get(name or "")


def _fill(text: Text, width: int, style: Style) -> Text:
    text = text.copy()
    text.truncate(width, pad=True)
    text.stylize_before(style)
    return text


def render(width: int, height: int, color_system: ColorSystem, read_only: bool = False) -> str:
    """The frame as escape codes: every line of the screen, positioned."""
    lines: list[Text] = []
    status = Text(" ") + status_line(read_only=read_only, width=width - 2)
    lines.append(_fill(status, width, Style.parse(STATUS_STYLE)))
    lines.append(_fill(Text(f" {NAMESPACE_TITLE}"), width, Style.parse(TITLE_STYLE)))
    widths = [cell_len(name) for name in NAMESPACE_COLUMNS]
    header = Text(table_line(NAMESPACE_COLUMNS, widths))
    lines.append(_fill(header, width, Style.parse(HEADER_STYLE)))
    table = Style.parse(TABLE_STYLE)
    lines += [_fill(Text(), width, table) for _ in range(max(height - 4, 0))]
    lines.append(_fill(Text(f"  {LOADING}"), width, Style.parse(EMPTY_STYLE)))
    console = Console(width=width, force_terminal=True, color_system=None)
    codes = []
    for y, line in enumerate(lines[:height]):
        codes.append(f"\x1b[{y + 1};1H")
        for segment in line.render(console):
            style = segment.style or Style()
            codes.append(style.render(segment.text, color_system=color_system))
    return "".join(codes)


def matching(
    theme: str | None, read_only: bool, filter_text: str = "", out: TextIO | None = None
) -> FirstFrame | None:
    """The frame to draw where it will match Textual's, else None. The
    stream is Textual's: its drivers write to stderr."""
    out = out or sys.__stderr__
    if out is None:
        return None
    # A filter given at start-up is in the table's title from Textual's
    # first frame on, with the count and sort this frame does not draw.
    if (
        theme is not None
        or filter_text
        or any(
            name in os.environ
            for name in ("NO_COLOR", "TEXTUAL_COLOR_SYSTEM", "TEXTUAL_FILTERS", "TEXTUAL_DRIVER")
        )
    ):
        return None
    if not out.isatty() or os.environ.get("TERM", "dumb") == "dumb":
        return None
    # Textual's own measure (COLUMNS and LINES first, then the terminal).
    width, height = shutil.get_terminal_size()
    color_system = _color_system(out)
    if color_system is None or height < 5 or not _fits(width, read_only):
        return None
    return FirstFrame(out, width, height, color_system, read_only)


def _fits(width: int, read_only: bool) -> bool:
    """Narrower, Textual wraps the header and gives the table a scrollbar,
    which this frame does not draw."""
    table = sum(cell_len(name) + 2 * CELL_PADDING for name in NAMESPACE_COLUMNS)
    header = status_line(read_only=read_only, width=width - 2).cell_len
    return width >= table and header <= width - 2
