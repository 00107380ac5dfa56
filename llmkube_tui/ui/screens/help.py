"""The `?` screen: every key of the dashboard, k9s-style, and the `:`
commands. Keys of the action screens come from the app's bindings, so a new
action appears here by being bound."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

NAVIGATION = (
    ("j/k ↑/↓", "move in a table"),
    ("enter", "open a namespace's cache"),
    ("esc", "clear filter, then back"),
    ("1 2 3 4", "ns, cache, svc, gpu view"),
    ("/", "filter the view"),
    ("O", "sort by the next column"),
    ("I", "invert the sort"),
    ("y", "YAML of the selection"),
    ("l", "logs or events"),
    ("ctrl+r", "refresh now"),
    ("?", "this help"),
    ("q", "quit"),
)
COMMANDS = (
    (":ns", "namespaces view"),
    (":ns NAME|-A", "switch namespace"),
    (":cache [NAME]", "cache entries"),
    (":svc [NAME|-A]", "inference services"),
    (":gpu", "GPU nodes"),
    (":ctx [NAME]", "switch context"),
    (":q", "quit"),
)


def _lines(rows: tuple[tuple[str, str], ...], width: int) -> Text:
    # Text, not markup: keys such as "[NAME]" would read as markup tags.
    text = Text()
    for i, (key, what) in enumerate(rows):
        text.append("\n" if i else "")
        text.append(key.ljust(width), style="bold")
        text.append(f" {what}")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def __init__(self, actions: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__()
        self.actions = actions

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static("[b]llmkube-tui keys[/b]", id="help-title")
            with VerticalScroll(id="help-body"), Horizontal(id="help-columns"):
                yield Static(_lines(NAVIGATION, 8), classes="help-column")
                right = _lines(COMMANDS, 14)
                if self.actions:
                    right.append("\n\n")
                    right.append_text(_lines(self.actions, 8))
                yield Static(right, classes="help-column")

    def action_close(self) -> None:
        self.dismiss()
