"""A progress bar with its figures spelled out: "12 MiB / 24 MiB at 5 MiB/s"
reads on any terminal, where a bar alone says little in 16 colours."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from llmkube_tui.backend.quantity import format_bytes


class ByteProgress(Vertical):
    DEFAULT_CSS = """
    ByteProgress {
        height: auto;
    }
    ByteProgress ProgressBar {
        width: 100%;
    }
    ByteProgress Bar {
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.done = 0
        self.total: int | None = None
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="progress-text", markup=False)
        yield ProgressBar(total=None, show_eta=False)

    def _show(self, text: str, done: int, total: int | None) -> None:
        self.done, self.total, self.text = done, total, text
        self.query_one(Static).update(text)
        # A total of None animates the bar: under way, size not known yet.
        self.query_one(ProgressBar).update(total=total, progress=done)

    def show_bytes(self, label: str, done: int, total: int | None, rate: float = 0.0) -> None:
        figures = f"{format_bytes(done)} / {format_bytes(total)}" if total else format_bytes(done)
        if rate:
            figures += f" at {format_bytes(int(rate))}/s"
        self._show(f"{label}: {figures}" if label else figures, done, total or None)

    def show_count(self, label: str, done: int, total: int, noun: str) -> None:
        self._show(f"{label}: {done} of {total} {noun}", done, total)

    def show_waiting(self, text: str) -> None:
        self._show(text, 0, None)
