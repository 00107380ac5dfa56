"""Preload: fill a namespace's cache with one model now, before any pod
needs it, watching the bytes arrive; esc cancels (the Job is deleted, the
partial download stays for a later resume)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Static

from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.preload import preload
from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.catalog import CatalogEntry
from llmkube_tui.ui.screens.action import ActionScreen, status_line
from llmkube_tui.ui.widgets.byte_progress import ByteProgress
from llmkube_tui.ui.widgets.catalog_picker import CatalogPicker

PreloadResult = dict[str, Any]  # the fetcher's result: result, key, size, sha256, ...


class PreloadScreen(ActionScreen[PreloadResult]):
    ACTION = "preload"

    def __init__(
        self,
        connection: Connection,
        config: Config,
        namespace: str,
        catalog: Mapping[str, CatalogEntry],
        *,
        source: str = "",
    ) -> None:
        super().__init__(connection, namespace)
        self.config = config
        self.catalog = catalog
        self.source = source

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="preload"):
            yield Static(
                f"Preload a model into the cache of {self.namespace}", classes="action-title"
            )
            yield CatalogPicker(self.catalog, id="preload-catalog")
            with Vertical(classes="field"):
                yield Label("or a source URL (http, https, hf://)")
                yield Input(self.source, id="preload-source", placeholder="https://...")
            yield ByteProgress(id="preload-progress")
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Preload", id="preload-go", variant="primary")
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        self.query_one(ByteProgress).display = False
        if self.source:
            self.query_one("#preload-source", Input).focus()
        else:
            self.query_one(CatalogPicker).focus()

    def chosen(self) -> tuple[str, str]:
        """(source, expected sha256): a typed URL wins over the catalog."""
        typed = self.query_one("#preload-source", Input).value.strip()
        if typed:
            return typed, ""
        entry = self.query_one(CatalogPicker).selected
        return (entry.source, entry.sha256) if entry else ("", "")

    @on(DataTable.RowSelected, "#preload-catalog")
    @on(Input.Submitted, "#preload-source")
    @on(Button.Pressed, "#preload-go")
    def _submit(self) -> None:
        source, sha256 = self.chosen()
        if not source:
            self.failed("pick a model from the catalog or type a source URL")
            return
        progress = self.query_one(ByteProgress)
        progress.display = True
        progress.show_waiting("starting the preload Job (esc cancels)")
        self.start(
            f"preloading {source} into {self.namespace}",
            lambda cancel: self._preload(source, sha256, cancel),
            self._done,
        )

    @on(Button.Pressed, "#action-cancel")
    def _cancel(self) -> None:
        self.action_close()

    def _preload(self, source: str, sha256: str, cancel: threading.Event) -> PreloadResult:
        def relay(event: dict[str, Any]) -> None:
            kind = event.get("event")
            if kind == "progress":
                done, total = int(event.get("bytes") or 0), event.get("total")
                if self.progress_due(final=total is not None and done >= int(total)):
                    rate = float(event.get("rate") or 0)
                    self.to_ui(self._progress, done, int(total) if total else None, rate)
            elif event.get("message"):
                # waiting (another pod holds the download), retry, restart, adopted
                self.to_ui(self.set_status, f"{kind}: {event['message']}")

        return preload(
            self.connection,
            self.config,
            self.namespace,
            source,
            sha256=sha256,
            on_progress=relay,
            cancel=cancel,
        )

    def _progress(self, done: int, total: int | None, rate: float) -> None:
        self.query_one(ByteProgress).show_bytes("downloading", done, total, rate)

    def _done(self, result: PreloadResult) -> None:
        size = format_bytes(int(result.get("size") or 0))
        moved = format_bytes(int(result.get("bytes_downloaded") or 0))
        self.finish(
            f"{result.get('result', 'done')}: {result.get('key')} in {self.namespace}, "
            f"{size}, {moved} downloaded",
            result,
        )

    def set_busy(self, busy: bool) -> None:
        for widget in self.query("CatalogPicker, Input, #preload-go"):
            widget.disabled = busy
