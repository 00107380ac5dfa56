"""The `?` screen: every key of the dashboard, k9s-style."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("?", "this help"),
    ("up/down, j/k", "move in a table"),
    ("tab", "next table"),
    ("/", "filter namespaces by name"),
    ("ctrl+r", "refresh now"),
    ("esc", "back / clear the filter"),
    ("q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        lines = "\n".join(f"[b]{key:<14}[/b] {what}" for key, what in KEYS)
        with Vertical(id="help"):
            yield Static("[b]llmkube-tui keys[/b]", id="help-title")
            yield Static(lines)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
