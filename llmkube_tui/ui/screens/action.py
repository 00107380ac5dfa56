"""What every action modal shares: refusal in read-only mode, one backend
call at a time in a thread worker, errors as the backend words them (in the
modal and as a notification), and throttled progress from the worker.

A screen takes everything it needs in its constructor (connection,
settings, namespace, entries), so it runs on any App; the app offers only
`read_only`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from llmkube_tui.backend.access import denied_actions
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import BackendError
from llmkube_tui.catalog import CatalogError
from llmkube_tui.resources import resource_path

ResultType = TypeVar("ResultType")
CallResult = TypeVar("CallResult")

# Errors whose message is written for an operator. OSError covers a bundle
# path that cannot be written or read.
OPERATOR_ERRORS = (BackendError, CatalogError, OSError)
# Progress arrives far faster than a terminal redraws (a callback per 16 KiB
# on export); a message per update would flood the UI's queue.
PROGRESS_INTERVAL = 0.1


def is_read_only(app: App[Any]) -> bool:
    return bool(getattr(app, "read_only", False))


def refuse_action(app: App[Any], action: str) -> None:
    app.notify(
        f"read-only mode: {action} changes the cluster and is refused",
        title=action,
        severity="warning",
        markup=False,
    )


def open_action(
    app: App[Any],
    screen: ActionScreen[ResultType],
    on_result: Callable[[ResultType | None], None] | None = None,
) -> bool:
    """Push `screen` unless the app is read-only; say so when refused."""
    if screen.MUTATES and is_read_only(app):
        refuse_action(app, screen.ACTION)
        return False
    app.push_screen(screen, on_result)
    return True


class FromWorker(Message):
    """A call for the UI thread, posted by a worker: posting never blocks
    the worker, and a screen already gone simply drops it."""

    def __init__(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        super().__init__()
        self.callback = callback
        self.args = args


class ActionScreen(ModalScreen[ResultType]):
    """A modal that runs one backend call at a time and shows its outcome."""

    CSS_PATH = str(resource_path("styles") / "actions.tcss")
    BINDINGS = [Binding("escape", "close", "Cancel / close")]
    # What the action is called in messages ("preload", "clear").
    ACTION: ClassVar[str] = "action"
    # Whether the action changes the cluster: read-only mode refuses those.
    MUTATES: ClassVar[bool] = True

    def __init__(self, connection: Connection, namespace: str) -> None:
        super().__init__()
        self.connection = connection
        self.namespace = namespace
        # True from start() until the thread has returned: a cancelled
        # Textual worker reports CANCELLED at once, while the backend call
        # still runs until it notices the cancel.
        self.running = False
        self.refused = False  # opened in read-only mode
        self.cancelled = False  # the operator cancelled the running call
        self.reading = False  # the running call only reads
        self.denied = ""  # why RBAC would refuse the action here, once known
        self._worker: Worker[None] | None = None
        self._last_progress = 0.0

    def on_mount(self) -> None:
        # A guard for a caller that pushes the screen without open_action:
        # nothing of the action starts, and the screen goes once shown.
        # (Textual calls on_mount of every class in the MRO: subclasses
        # put their start in ready() rather than in an on_mount of their own.)
        self.refused = self.MUTATES and is_read_only(self.app)
        if not self.refused:
            self.ready()
            self.run_worker(
                self._check_access, name="access", group="access", thread=True, exit_on_error=False
            )

    def on_screen_resume(self) -> None:
        if self.refused:
            refuse_action(self.app, self.ACTION)
            self.dismiss(None)

    def ready(self) -> None:
        """The modal is mounted and allowed: focus, defaults, a first read."""

    def _check_access(self) -> None:
        """In a worker: whether RBAC lets the user take this action here."""
        try:
            denied = denied_actions(self.connection, self.namespace, [self.ACTION])
        except BackendError:
            # The action's own call reports what is wrong with the cluster.
            return
        if self.ACTION in denied:
            self.to_ui(self.deny, denied[self.ACTION])

    def deny(self, why: str) -> None:
        """Disable the action: RBAC would refuse it (`why` names the
        permission). Shown above the status line; start() refuses."""
        self.denied = why
        self.query_one("#action-dialog").mount(
            Static(f"forbidden: {why}", id="action-denied", classes="warning", markup=False),
            before="#action-status",
        )

    def allow(self) -> None:
        """Forget a denial (the form now names another namespace)."""
        self.denied = ""
        self.query("#action-denied").remove()

    # -- running the backend ------------------------------------------------
    def start(
        self,
        label: str,
        call: Callable[[threading.Event], CallResult],
        done: Callable[[CallResult], None],
        *,
        reading: bool = False,
    ) -> None:
        """Run `call(cancel)` in a thread; `done(result)` back on the UI
        thread, or the error in the modal. `cancel` is set by esc or by the
        screen going away (the app quitting), and the backend honours it.
        A `reading` call changes nothing: esc abandons it and closes at once,
        where a change is waited for so that the modal can say how it ended."""
        if self.running:
            return
        if self.denied and not reading:
            self.failed(f"forbidden: {self.denied}")
            return
        self.running = True
        self.reading = reading
        self.cancelled = False
        self.set_status(label)
        self.set_busy(True)

        def work() -> None:
            cancel = get_current_worker().cancelled_event
            try:
                result = call(cancel)
            except OPERATOR_ERRORS as err:
                self.to_ui(self.failed, str(err))
            else:
                self.to_ui(self._succeeded, done, result)

        self._worker = self.run_worker(
            work, name=self.ACTION, group="action", thread=True, exit_on_error=False
        )

    def to_ui(self, callback: Callable[..., object], *args: Any) -> None:
        """From the worker: run `callback(*args)` on the UI thread."""
        self.post_message(FromWorker(callback, args))

    @on(FromWorker)
    def _from_worker(self, message: FromWorker) -> None:
        message.callback(*message.args)

    def progress_due(self, final: bool = False) -> bool:
        """From the worker: whether a progress update is worth sending now."""
        now = time.monotonic()
        if final or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            return True
        return False

    def _succeeded(self, done: Callable[[CallResult], None], result: CallResult) -> None:
        self.running = False
        self.set_busy(False)
        done(result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._worker and event.state == WorkerState.ERROR:
            # Not an operator error: a bug. Still no traceback on screen.
            error = event.worker.error
            self.failed(f"unexpected error: {type(error).__name__}: {error}")

    # -- what the modal shows ---------------------------------------------
    def set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#action-status", Static)
        status.update(text)
        status.set_class(error, "error")

    def set_busy(self, busy: bool) -> None:
        """Subclasses disable their inputs while a call runs."""

    def failed(self, message: str) -> None:
        self.running = False
        self.set_busy(False)
        self.set_status(message, error=True)
        if self.cancelled:
            # What the operator asked for; the message says what was kept.
            self.notify(message, title=f"{self.ACTION} cancelled", severity="warning", markup=False)
        else:
            # markup=False: API server messages carry brackets ("[spec.x: ...]").
            self.notify(
                message, title=f"{self.ACTION} failed", severity="error", timeout=10, markup=False
            )

    def finish(self, message: str, result: ResultType, *, warning: bool = False) -> None:
        """Close with `result` and say what was done."""
        self.notify(
            message,
            title=self.ACTION,
            severity="warning" if warning else "information",
            timeout=10 if warning else 5,
            markup=False,
        )
        self.dismiss(result)

    def action_close(self) -> None:
        """esc: cancel a running call (the backend says when it stopped),
        otherwise close."""
        if self.running and not self.reading:
            self.cancelled = True
            if self._worker is not None:
                self._worker.cancel()
            self.set_status(f"cancelling the {self.ACTION}...")
            return
        if self._worker is not None:
            # A read still running is abandoned; its result goes nowhere.
            self._worker.cancel()
        self.dismiss(None)


def status_line() -> Static:
    """The line under a form where progress notes and errors appear."""
    return Static("", id="action-status", markup=False)


def short(text: str, width: int = 56) -> str:
    """The end of a long source URL is the informative part."""
    return text if len(text) <= width else "..." + text[-(width - 3) :]
