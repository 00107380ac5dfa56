"""How values read in a table cell: short, fixed-width where it helps the
eye, and "-" for what is not known."""

from __future__ import annotations

import calendar
import time

BAR_WIDTH = 5


def usage_bar(used: int | None, total: int | None, width: int = BAR_WIDTH) -> str:
    """ "██░░░ 40%": block characters, so it reads without colour."""
    if used is None or not total:
        return "-"
    fraction = min(max(used / total, 0.0), 1.0)
    filled = round(fraction * width)
    return f"{'█' * filled}{'░' * (width - filled)} {round(fraction * 100)}%"


def age(seconds: float) -> str:
    """k9s-style ages: 40s, 12m, 5h, 3d."""
    seconds = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def since(timestamp: str, now: float) -> str:
    """Age of an RFC 3339 UTC timestamp ("2025-01-02T10:00:00Z")."""
    try:
        then = calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "-"
    return age(now - then)


def shorten(text: str, width: int) -> str:
    """Keep the end, where a path or a list differs: "…/Q4_K_M.gguf"."""
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :]


def short_source(source: str, width: int = 28) -> str:
    """A model URL as host plus file name: the part that tells two apart."""
    if not source:
        return "-"
    rest = source.split("://", 1)[-1]
    if len(rest) <= width:
        return rest
    host, _, path = rest.partition("/")
    tail = path.rsplit("/", 1)[-1]
    joined = f"{host}/…/{tail}"
    return joined if len(joined) <= width else shorten(tail, width)
