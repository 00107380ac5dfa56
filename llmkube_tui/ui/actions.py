"""The dashboard's action keys. Each opens one of the action modals
through its opener in llmkube_tui/ui/screens/launch.py, which reads what it
needs from the app (connection(), config(), current_namespace, current_view,
selected_key, scans) and calls refresh_now() after a change.

This module stays light to import: the modals import the backend, and so
the kubernetes client; they are imported when a key is pressed (by then a
refresh has loaded the client in its worker).
"""

from __future__ import annotations

from dataclasses import dataclass

OPENERS_MODULE = "llmkube_tui.ui.screens.launch"


@dataclass(frozen=True)
class ActionKey:
    key: str
    name: str  # the binding's argument: act('<name>')
    description: str
    opener: str  # a function of OPENERS_MODULE taking the app
    mutates: bool = True


# k9s where it has a key: ctrl+d deletes, s scales (here: resizes).
ACTION_KEYS: tuple[ActionKey, ...] = (
    ActionKey("n", "deploy", "deploy a model", "open_deploy"),
    ActionKey("p", "preload", "preload a model", "open_preload"),
    ActionKey("ctrl+d", "clear", "clear selected entry", "open_clear_entry"),
    ActionKey("C", "clear_all", "clear all entries", "open_clear_all"),
    ActionKey("s", "resize", "resize cache volume", "open_resize"),
    ActionKey("v", "verify", "verify entry or all", "open_verify"),
    ActionKey("x", "export", "export a bundle", "open_export"),
    ActionKey("i", "import", "import a bundle", "open_import"),
    ActionKey("t", "probe", "probe selected service", "open_probe", mutates=False),
)
