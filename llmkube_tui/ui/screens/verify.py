"""Verify cache entries: each is re-hashed in a pod, one after another,
with the count done so far; esc stops before the next entry. A corrupt
entry is removed by the fetcher (never served), and the message says how
to fetch it again."""

from __future__ import annotations

import threading

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from llmkube_tui.backend.cacheops import VerifyResult, verify
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.ui.screens.action import ActionScreen, status_line
from llmkube_tui.ui.widgets.byte_progress import ByteProgress


class VerifyScreen(ActionScreen[list[VerifyResult]]):
    ACTION = "verify"

    def __init__(
        self, connection: Connection, config: Config, namespace: str, *, key: str | None = None
    ) -> None:
        super().__init__(connection, namespace)
        self.config = config
        self.key = key

    def compose(self) -> ComposeResult:
        what = f"entry {self.key}" if self.key else "every entry"
        with Vertical(id="action-dialog", classes="verify"):
            yield Static(f"Verify {what} in {self.namespace}", classes="action-title")
            yield ByteProgress(id="verify-progress")
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        # Opening the modal is the request: verifying only reads, and
        # removes nothing but a file that no longer matches its sha256.
        self.query_one(ByteProgress).show_waiting("scanning the cache (esc cancels)")
        self.start("verifying...", self._verify, self._done)

    def _verify(self, cancel: threading.Event) -> list[VerifyResult]:
        def relay(key: str, done: int, total: int) -> None:
            self.to_ui(self._progress, key, done, total)

        return verify(
            self.connection,
            self.config,
            self.namespace,
            key=self.key,
            model=None,
            on_progress=relay,
            cancel=cancel,
        )

    def _progress(self, key: str, done: int, total: int) -> None:
        self.query_one(ByteProgress).show_count(f"hashing {key}", done, total, "entries done")

    def _done(self, results: list[VerifyResult]) -> None:
        bad = [r for r in results if not r.ok]
        if not results:
            message = f"nothing to verify in {self.namespace}"
        elif not bad:
            message = f"{len(results)} of {len(results)} entries ok in {self.namespace}"
        else:
            message = "\n".join(f"{r.key}: {r.detail}" for r in bad)
        self.finish(message, results, warning=bool(bad))

    @on(Button.Pressed, "#action-cancel")
    def _cancel(self) -> None:
        self.action_close()
