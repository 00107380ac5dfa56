"""Resize a namespace's cache volume: the modal reads the claim first and
says what it holds and what it may become (larger only, on a bound claim
whose storage class allows expansion), then checks each size as typed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from llmkube_tui.backend.cacheops import ResizeBounds, ResizeResult, resize, resize_bounds
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Invalid
from llmkube_tui.backend.quantity import format_bytes, parse_quantity
from llmkube_tui.ui.screens.action import ActionScreen, status_line


class AllowedSize(Validator):
    """The backend's own check (ResizeBounds.check), as the operator types."""

    def __init__(self, screen: ResizeScreen) -> None:
        super().__init__()
        self.form = screen

    def validate(self, value: str) -> ValidationResult:
        bounds = self.form.bounds
        if bounds is None:
            return self.failure("the cache volume is still being read")
        try:
            bounds.check(value)
        except Invalid as err:
            return self.failure(str(err))
        return self.success()


def describe(bounds: ResizeBounds) -> str:
    requested = f"{bounds.requested} ({format_bytes(parse_quantity(bounds.requested))})"
    lines = [f"requested  {requested}"]
    lines.append(f"capacity   {bounds.capacity or '- (not bound)'}")
    lines.append(f"phase      {bounds.phase}")
    lines.append(f"class      {bounds.storage_class or '(the cluster default)'}")
    if bounds.refusal:
        lines.append(f"no resize now: {bounds.refusal}")
    else:
        lines.append(f"allowed    more than {bounds.requested}; Kubernetes never shrinks a volume")
    return "\n".join(lines)


class ResizeScreen(ActionScreen[ResizeResult]):
    ACTION = "resize"

    def __init__(self, connection: Connection, namespace: str) -> None:
        super().__init__(connection, namespace)
        self.bounds: ResizeBounds | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="resize"):
            yield Static(f"Resize the cache volume of {self.namespace}", classes="action-title")
            yield Static("", id="resize-bounds", classes="summary", markup=False)
            with Vertical(classes="field"):
                yield Label("new size (such as 200Gi)")
                yield Input(
                    id="resize-size",
                    validators=[AllowedSize(self)],
                    validate_on=["changed", "submitted"],
                )
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Resize", id="resize-go", variant="primary")
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        self.set_busy(True)
        self.start(
            "reading the cache volume...",
            lambda _: resize_bounds(self.connection, self.namespace),
            self._bounds,
            reading=True,
        )

    def _bounds(self, bounds: ResizeBounds) -> None:
        self.bounds = bounds
        self.query_one("#resize-bounds", Static).update(describe(bounds))
        self.set_status("")
        self.set_busy(False)
        self.query_one("#resize-size", Input).focus()

    @on(Input.Changed, "#resize-size")
    def _typed(self, event: Input.Changed) -> None:
        result = event.validation_result
        if not event.value or result is None or result.is_valid:
            self.set_status("")
        else:
            self.set_status("; ".join(result.failure_descriptions), error=True)

    @on(Input.Submitted, "#resize-size")
    @on(Button.Pressed, "#resize-go")
    def _submit(self) -> None:
        if self.bounds is None:
            return
        size = self.query_one("#resize-size", Input).value.strip()
        try:
            self.bounds.check(size)
        except Invalid as err:
            self.failed(str(err))
            return
        self.start(
            f"asking for {size}...",
            lambda _: resize(self.connection, self.namespace, size),
            self._resized,
        )

    @on(Button.Pressed, "#action-cancel")
    def _cancel(self) -> None:
        self.action_close()

    def _resized(self, result: ResizeResult) -> None:
        lines = [f"cache volume in {result.namespace}: {result.old} -> {result.new} requested"]
        lines += [f"condition {c}" for c in result.conditions]
        lines += [f"event {e}" for e in result.events]
        self.finish("\n".join(lines), result)

    def set_busy(self, busy: bool) -> None:
        # Nothing to ask for when the claim cannot grow now.
        blocked = busy or self.bounds is None or bool(self.bounds.refusal)
        self.query_one("#resize-size", Input).disabled = blocked
        self.query_one("#resize-go", Button).disabled = blocked
