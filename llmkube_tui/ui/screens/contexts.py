"""The `:ctx` picker: the kubeconfig's contexts, the dashboard's own marked;
enter switches, esc keeps the current one."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ContextScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, names: tuple[str, ...], current: str) -> None:
        super().__init__()
        self.names = names
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="contexts"):
            yield Static("[b]contexts[/b]  enter switches, esc stays", id="contexts-title")
            yield OptionList(
                *(
                    Option(f"{'*' if name == self.current else ' '} {name}", id=name)
                    for name in self.names
                ),
                id="contexts-list",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.names:
            options.highlighted = self.names.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
