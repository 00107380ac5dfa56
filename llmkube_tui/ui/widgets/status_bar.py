"""The header line: context, cluster version, connection state."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    context = reactive("")
    version = reactive("")
    state = reactive("connecting")
    detail = reactive("")

    def render(self) -> str:
        parts = [
            "[b]llmkube-tui[/b]",
            f"ctx: {self.context or '-'}",
            f"k8s: {self.version or '-'}",
            f"[b]{self.state}[/b]",
        ]
        if self.detail:
            parts.append(self.detail)
        return "  ".join(parts)
