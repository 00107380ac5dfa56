"""Files that ship with the package: the catalog and the stylesheets."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """A wheel carries the file inside the package; a source checkout (and an
    editable install) keeps it at the top of the repository."""
    inside = _PACKAGE / name
    if inside.exists():
        return inside
    return _PACKAGE.parent / name
