"""The header line: context, cluster version, namespace, connection state,
the age of the data, and READ-ONLY when mutations are off.

No clock here: the age comes from the app's clock, which tests freeze.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from llmkube_tui.ui.first_frame import status_line
from llmkube_tui.ui.views.cells import age

# States an operator must notice are shown in reverse video, which survives
# NO_COLOR and any palette.
CALM_STATES = ("connected",)


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
        return status_line(
            context=self.context,
            version=self.version,
            namespace=self.namespace,
            state=self.state,
            data_age=self.data_age,
            read_only=self.read_only,
            calm=self.state in CALM_STATES,
            width=self.content_size.width,
        )
