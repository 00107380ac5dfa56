"""Clear cache entries: a confirmation that names every entry it deletes,
the bytes that frees, and who still uses them, read fresh from the cluster
when the modal opens. Entries in use by a running service, or being
downloaded, are deleted only with "force", as on the command line."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Static

from llmkube_tui.backend.cacheentry import CacheEntry
from llmkube_tui.backend.cacheops import ClearResult, clear, users_by_key
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.ui.screens.action import ActionScreen, short, status_line

# The state of an entry whose download holds a live lease: the fetcher
# refuses to remove it unless forced.
DOWNLOADING = ("locked",)


def entries_word(count: int) -> str:
    return f"{count} cache entry" if count == 1 else f"{count} cache entries"


class ClearScreen(ActionScreen[ClearResult]):
    ACTION = "clear"

    def __init__(
        self,
        connection: Connection,
        config: Config,
        namespace: str,
        entries: Sequence[CacheEntry],
    ) -> None:
        super().__init__(connection, namespace)
        self.config = config
        self.entries = tuple(entries)

    @property
    def bytes_freed(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def blocked(self) -> tuple[CacheEntry, ...]:
        """Entries the backend removes only with force."""
        return tuple(e for e in self.entries if e.in_use_by_service or e.state in DOWNLOADING)

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="clear"):
            yield Static(
                f"Delete {entries_word(len(self.entries))} from the cache of {self.namespace}?",
                classes="action-title",
            )
            yield Static("", id="clear-summary", classes="summary", markup=False)
            yield Static("", id="clear-warning", classes="warning", markup=False)
            yield Checkbox("force: delete even when in use or being downloaded", id="clear-force")
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Delete", id="clear-go", variant="error")
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        self._show_entries()
        self.query_one("#action-cancel", Button).focus()
        self.query_one("#clear-go", Button).disabled = True
        if self.entries:
            # The entries came from a scan that may be minutes old; who uses
            # them is cheap to read again and decides the warning.
            self.start(
                "checking what uses these entries...",
                lambda _: users_by_key(self.connection, self.namespace),
                self._users,
                reading=True,
            )

    def _users(self, users: dict[str, list[str]]) -> None:
        self.entries = tuple(
            dataclasses.replace(e, users=tuple(users.get(e.key, ()))) for e in self.entries
        )
        self._show_entries()
        self.set_status("")

    def _show_entries(self) -> None:
        lines = []
        for e in self.entries:
            # One line per entry at 80 columns: the end of the source names it.
            lines.append(f"{e.key}  {format_bytes(e.size):>10}  {e.state:<9} {short(e.source, 36)}")
            if e.users:
                lines.append(f"    used by {', '.join(e.users)}")
        if self.entries:
            lines.append(f"Frees {format_bytes(self.bytes_freed)} ({self.bytes_freed} bytes).")
        else:
            lines.append("Nothing to delete: the cache holds no entries.")
        self.query_one("#clear-summary", Static).update("\n".join(lines))
        warnings = []
        serving = [e for e in self.entries if e.in_use_by_service]
        if serving:
            warnings.append(
                f"{entries_word(len(serving))} in use by "
                "running services: their pods keep the open file, but every new pod "
                "downloads the model again."
            )
        downloading = [e for e in self.entries if e.state in DOWNLOADING]
        if downloading:
            warnings.append(
                f"being downloaded now: {', '.join(e.key for e in downloading)}; "
                "deleting stops that download."
            )
        if warnings:
            warnings.append("Tick force to delete anyway.")
        warning = self.query_one("#clear-warning", Static)
        warning.update("\n".join(warnings))
        warning.display = bool(warnings)
        self.query_one("#clear-force", Checkbox).display = bool(warnings)
        self._enable()

    def _enable(self) -> None:
        force = self.query_one("#clear-force", Checkbox).value
        allowed = bool(self.entries) and not self.running and (force or not self.blocked)
        self.query_one("#clear-go", Button).disabled = not allowed

    @on(Checkbox.Changed, "#clear-force")
    def _forced(self) -> None:
        self._enable()

    @on(Button.Pressed, "#clear-go")
    def _submit(self) -> None:
        keys = [e.key for e in self.entries]
        force = self.query_one("#clear-force", Checkbox).value
        self.start(
            f"deleting {len(keys)} entries from {self.namespace}...",
            lambda _: clear(self.connection, self.config, self.namespace, keys=keys, force=force),
            self._cleared,
        )

    @on(Button.Pressed, "#action-cancel")
    def _cancel(self) -> None:
        self.action_close()

    def _cleared(self, result: ClearResult) -> None:
        message = (
            f"removed {', '.join(result.removed) or 'nothing'} from {result.namespace}; "
            f"freed {format_bytes(result.bytes_freed)}"
        )
        if result.skipped:
            message += "\nskipped " + "; ".join(result.skipped)
        self.finish(message, result, warning=bool(result.skipped))

    def set_busy(self, busy: bool) -> None:
        self.query_one("#clear-force", Checkbox).disabled = busy
        self._enable()
