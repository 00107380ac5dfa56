"""Export cache entries to a bundle file, and import a bundle: the
air-gapped workflow of backend.transfer, with the bytes of each entry as
they move. esc cancels: an export leaves no file, an import publishes
nothing half-sent (the fetcher checks size and sha256 first)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Invalid
from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.backend.transfer import (
    BundleEntry,
    ImportResult,
    check_bundle,
    export_entries,
    import_bundle,
    open_bundle,
)
from llmkube_tui.ui.screens.action import ActionScreen, short, status_line
from llmkube_tui.ui.widgets.byte_progress import ByteProgress


def default_bundle_path(namespace: str) -> Path:
    return Path.cwd() / f"llmkube-cache-{namespace}.tar"


def bundle_path(text: str) -> Path:
    if not text.strip():
        raise Invalid("type the path of the bundle file")
    return Path(text.strip()).expanduser()


def writable_bundle(text: str) -> Path:
    """Where an export may write: a file in an existing directory."""
    path = bundle_path(text)
    if path.is_dir():
        raise Invalid(f"{path} is a directory; name the bundle file")
    if not path.parent.is_dir():
        raise Invalid(f"directory {path.parent} does not exist")
    return path


class TransferScreen(ActionScreen[list[BundleEntry] | list[ImportResult]]):
    """The parts export and import share: a path, a progress bar, buttons."""

    def _progress(self, key: str, done: int, total: int) -> None:
        self.query_one(ByteProgress).show_bytes(key, done, total)

    def relay(self, key: str, done: int, total: int) -> None:
        """The backend's progress callback (in the worker)."""
        if self.progress_due(final=done >= total):
            self.to_ui(self._progress, key, done, total)

    @on(Button.Pressed, "#action-cancel")
    def _cancel(self) -> None:
        self.action_close()

    def set_busy(self, busy: bool) -> None:
        for widget in self.query("Input, .go"):
            widget.disabled = busy


class ExportScreen(TransferScreen):
    ACTION = "export"

    def __init__(
        self,
        connection: Connection,
        config: Config,
        namespace: str,
        *,
        keys: Sequence[str] | None = None,
        path: Path | None = None,
    ) -> None:
        super().__init__(connection, namespace)
        self.config = config
        self.path = path or default_bundle_path(namespace)
        self.keys = list(keys) if keys is not None else None

    def compose(self) -> ComposeResult:
        what = ", ".join(self.keys) if self.keys else "every complete entry"
        with Vertical(id="action-dialog", classes="export"):
            yield Static(f"Export from the cache of {self.namespace}", classes="action-title")
            yield Static(f"entries: {what}", classes="summary", markup=False)
            with Vertical(classes="field"):
                yield Label("bundle file to write (replaced if it exists)")
                yield Input(str(self.path), id="export-path")
            yield ByteProgress(id="export-progress")
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Export", id="export-go", classes="go", variant="primary")
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        self.query_one(ByteProgress).display = False
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-go")
    def _submit(self) -> None:
        try:
            path = writable_bundle(self.query_one("#export-path", Input).value)
        except Invalid as err:
            self.failed(str(err))
            return
        progress = self.query_one(ByteProgress)
        progress.display = True
        progress.show_waiting("scanning the cache and starting a reader pod (esc cancels)")
        self.start(
            f"exporting to {path}...",
            lambda cancel: self._export(path, cancel),
            lambda entries: self._exported(path, entries),
        )

    def _export(self, path: Path, cancel: threading.Event) -> list[BundleEntry]:
        return export_entries(
            self.connection,
            self.config,
            self.namespace,
            path,
            self.keys,
            self.relay,
            cancel=cancel,
        )

    def _exported(self, path: Path, entries: list[BundleEntry]) -> None:
        size = format_bytes(sum(e.size for e in entries))
        self.finish(f"exported {len(entries)} entries ({size}) to {path}", entries)


class ImportScreen(TransferScreen):
    """Two steps: check the bundle (locally, nothing sent) and show what it
    holds; then import what the cache lacks."""

    ACTION = "import"

    def __init__(
        self, connection: Connection, config: Config, namespace: str, *, path: Path | None = None
    ) -> None:
        super().__init__(connection, namespace)
        self.config = config
        self.path = path
        self.checked: list[BundleEntry] | None = None  # the bundle's manifest, once checked

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="import"):
            yield Static(
                f"Import a bundle into the cache of {self.namespace}", classes="action-title"
            )
            with Vertical(classes="field"):
                yield Label("bundle file")
                yield Input(str(self.path or ""), id="import-path")
            yield Static("", id="import-summary", classes="summary", markup=False)
            yield ByteProgress(id="import-progress")
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Check", id="import-check", classes="go")
                yield Button("Import", id="import-go", classes="go", variant="primary")
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        self.query_one(ByteProgress).display = False
        self.query_one("#import-summary", Static).display = False
        self.query_one("#import-path", Input).focus()
        self._enable_import()

    def _enable_import(self) -> None:
        self.query_one("#import-go", Button).disabled = self.running or self.checked is None

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self._enable_import()

    @on(Input.Changed, "#import-path")
    def _path_changed(self) -> None:
        # What was checked is another file now.
        self.checked = None
        self.query_one("#import-summary", Static).display = False
        self._enable_import()

    @on(Input.Submitted, "#import-path")
    @on(Button.Pressed, "#import-check")
    def _check(self) -> None:
        try:
            path = bundle_path(self.query_one("#import-path", Input).value)
        except Invalid as err:
            self.failed(str(err))
            return
        self.start(
            f"checking {path}...",
            lambda _: self._read_manifest(path),
            lambda entries: self._checked(path, entries),
            reading=True,
        )

    @staticmethod
    def _read_manifest(path: Path) -> list[BundleEntry]:
        with open_bundle(path) as tar:
            entries, _ = check_bundle(tar, path)
        return entries

    def _checked(self, path: Path, entries: list[BundleEntry]) -> None:
        self.path, self.checked = path, entries
        lines = [f"{e.key}  {format_bytes(e.size):>10}  {short(e.source, 46)}" for e in entries]
        total = format_bytes(sum(e.size for e in entries))
        lines.append(
            f"{len(entries)} entries, {total}; those already in the cache are left as they are."
        )
        summary = self.query_one("#import-summary", Static)
        summary.update("\n".join(lines))
        summary.display = True
        self.set_status("the bundle is sound; Import loads it")
        self._enable_import()
        self.query_one("#import-go", Button).focus()

    @on(Button.Pressed, "#import-go")
    def _submit(self) -> None:
        path = self.path
        if self.checked is None or path is None:
            return
        progress = self.query_one(ByteProgress)
        progress.display = True
        progress.show_waiting("scanning the cache and starting a writer pod (esc cancels)")
        self.start(
            f"importing {path}...", lambda cancel: self._import(path, cancel), self._imported
        )

    def _import(self, path: Path, cancel: threading.Event) -> list[ImportResult]:
        return import_bundle(
            self.connection, self.config, self.namespace, path, self.relay, cancel=cancel
        )

    def _imported(self, results: list[ImportResult]) -> None:
        imported = [r.key for r in results if r.result != "exists"]
        present = [r.key for r in results if r.result == "exists"]
        message = f"imported {', '.join(imported) or 'nothing'} into {self.namespace}"
        if present:
            message += f"; already present: {', '.join(present)}"
        self.finish(message, results)
