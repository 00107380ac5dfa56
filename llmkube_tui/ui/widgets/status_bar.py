"""The header line: context, cluster version, namespace, connection state,
the age of the data, and READ-ONLY when mutations are off.

No clock here: the age comes from the app's clock, which tests freeze.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from llmkube_tui.ui.views.cells import age

# States an operator must notice are shown in reverse video, which survives
# NO_COLOR and any palette.
CALM_STATES = ("connected",)
APP_NAME = "llmkube-tui"


class StatusBar(Static):
    context = reactive("")
    version = reactive("")
    namespace = reactive("")
    state = reactive("connecting")
    loaded_at: reactive[float | None] = reactive(None)
    read_only = reactive(False)

    def __init__(self, clock: Callable[[], float], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._clock = clock

    @property
    def data_age(self) -> str:
        if self.loaded_at is None:
            return "no data"
        return f"data {age(self._clock() - self.loaded_at)} old"

    def render(self) -> Text:
        # Text, not markup: a context name may hold "[...]".
        line = Text()
        for part in (
            f"ctx: {self.context or '-'}",
            f"k8s: {self.version or '-'}",
            f"ns: {self.namespace or 'all'}",
        ):
            line.append(f"{part}  ")
        if self.state in CALM_STATES:
            line.append(self.state, style="bold")
        else:
            line.append(f" {self.state} ", style="bold reverse")
        line.append(f"  {self.data_age}")
        if self.read_only:
            line.append("  ")
            line.append(" READ-ONLY ", style="bold reverse")
        # The name goes first where there is room; at 80 columns the state
        # and READ-ONLY matter more.
        name = f"{APP_NAME}  "
        if line.cell_len + len(name) <= self.content_size.width:
            line = Text(name, style="bold") + line
        return line
