"""A scrolling text screen for `y` (YAML) and `l` (logs or events).

It opens at once with a loading line; the app's worker fills it in, or puts
the backend's message there when the call fails.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back"),
        Binding("j,down", "scroll('down')", "Down", show=False),
        Binding("k,up", "scroll('up')", "Up", show=False),
        Binding("g,home", "scroll('home')", "Top", show=False),
        Binding("G,end", "scroll('end')", "Bottom", show=False),
        Binding("space,pagedown", "scroll('page_down')", "Page", show=False),
        Binding("b,pageup", "scroll('page_up')", "Page up", show=False),
    ]

    def __init__(self, title: str, text: str | None = None) -> None:
        """Without `text` the screen says it is loading until show_text."""
        super().__init__()
        self.heading = title
        self.text = text
        self.loaded = text is not None

    def compose(self) -> ComposeResult:
        yield Static(Text(self.heading), id="detail-title", classes="title")
        with VerticalScroll(id="detail-body"):
            yield Static(Text("loading…" if self.text is None else self.text), id="detail-text")
        yield Footer()

    def show_text(self, title: str, text: str) -> None:
        self.heading = title
        self.loaded = True
        self.query_one("#detail-title", Static).update(Text(title))
        self.query_one("#detail-text", Static).update(Text(text))

    def show_error(self, message: str) -> None:
        self.loaded = True
        self.query_one("#detail-text", Static).update(Text(f"could not load: {message}"))

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        {
            "down": body.scroll_down,
            "up": body.scroll_up,
            "home": body.scroll_home,
            "end": body.scroll_end,
            "page_down": body.scroll_page_down,
            "page_up": body.scroll_page_up,
        }[where](animate=False)

    def action_close(self) -> None:
        self.dismiss()
