"""Probe an inference service: one short completion through the API server's
service proxy, with the reply, the latency and the server's tokens per
second. It changes nothing in the cluster, so read-only mode allows it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from llmkube_tui.ui.screens.action import ActionScreen, status_line

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection
    from llmkube_tui.backend.probe import ProbeResult


class ProbeScreen(ActionScreen["ProbeResult"]):
    ACTION = "probe"
    MUTATES = False

    def __init__(self, connection: Connection, namespace: str, service: str) -> None:
        super().__init__(connection, namespace)
        self.service = service

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="probe"):
            yield Static(
                f"Probe {self.service} in {self.namespace}", classes="action-title", markup=False
            )
            yield Static("", id="probe-reply", markup=False)
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Again", id="probe-again")
                yield Button("Close", id="action-cancel")

    def ready(self) -> None:
        self._probe()

    def _probe(self) -> None:
        self.start("asking for a short completion...", self._call, self._done)

    def _call(self, cancel: threading.Event) -> ProbeResult:
        from llmkube_tui.backend.probe import probe

        return probe(self.connection, self.namespace, self.service)

    def _done(self, result: ProbeResult) -> None:
        self.query_one("#probe-reply", Static).update(f"reply: {result.reply.strip()!r}")
        self.set_status(
            f"{result.tokens} tokens in {result.latency_seconds:.2f} s through the proxy; "
            f"{result.tokens_per_second:.1f} tokens/s at the server"
        )

    def set_busy(self, busy: bool) -> None:
        self.query_one("#probe-again", Button).disabled = busy

    @on(Button.Pressed, "#probe-again")
    def _again(self) -> None:
        self._probe()

    @on(Button.Pressed, "#action-cancel")
    def _close(self) -> None:
        self.action_close()
