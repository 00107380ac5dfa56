"""Colours for terminals that have few: over ssh, in tmux or screen, with
16 colours, on light or dark backgrounds, or with NO_COLOR set.

The ANSI theme uses the terminal's own foreground and background and its
16 named colours, so the terminal's palette decides how they look; the
cursor is reverse video, which stays visible with every colour removed.
"""

from __future__ import annotations

import os

from textual.theme import Theme

ANSI_THEME = Theme(
    name="llmkube-ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    accent="ansi_magenta",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        "ansi-background": "ansi_default",
        "ansi-foreground": "ansi_default",
        "block-cursor-foreground": "ansi_default",
        "block-cursor-background": "ansi_default",
        "block-cursor-text-style": "reverse bold",
        "block-cursor-blurred-foreground": "ansi_default",
        "block-cursor-blurred-background": "ansi_default",
        "block-cursor-blurred-text-style": "reverse",
        "block-hover-background": "ansi_default",
        "footer-key-foreground": "ansi_default",
        "footer-description-foreground": "ansi_default",
        "input-cursor-text-style": "reverse",
        "input-selection-background": "ansi_default",
        "scrollbar": "ansi_default",
        "scrollbar-background": "ansi_default",
        "border": "ansi_default",
        "border-blurred": "ansi_default",
    },
)
DEFAULT_THEME = "textual-dark"
# Accepted for `theme=`: the short name a flag would take.
ALIASES = {"ansi": ANSI_THEME.name}


def choose_theme(requested: str | None) -> str:
    """The requested theme; else ANSI under NO_COLOR (https://no-color.org:
    set to any value), else Textual's default."""
    if requested:
        return ALIASES.get(requested, requested)
    if os.environ.get("NO_COLOR") is not None:
        return ANSI_THEME.name
    return DEFAULT_THEME
