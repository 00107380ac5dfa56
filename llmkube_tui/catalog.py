"""The catalog of models users pick by name (catalog.yaml)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmkube_tui.cachekey import cache_key
from llmkube_tui.resources import resource_path


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    display_name: str
    source: str
    quantization: str
    parameters: str
    size_bytes: int
    size_estimate: bool
    gpu_count: int
    gpu_memory_gb: int
    sha256: str = ""

    @property
    def cache_key(self) -> str:
        return cache_key(self.source)


_FIELDS = {f.name: f for f in dataclasses.fields(CatalogEntry) if f.name != "name"}
_REQUIRED = {n for n, f in _FIELDS.items() if f.default is dataclasses.MISSING}
_TYPES: dict[str, type] = {
    "display_name": str,
    "source": str,
    "quantization": str,
    "parameters": str,
    "size_bytes": int,
    "size_estimate": bool,
    "gpu_count": int,
    "gpu_memory_gb": int,
    "sha256": str,
}


def _entry(name: str, raw: Any) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"catalog entry {name!r}: expected a mapping of fields")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise CatalogError(f"catalog entry {name!r}: unknown field(s) {', '.join(unknown)}")
    missing = sorted(_REQUIRED - set(raw))
    if missing:
        raise CatalogError(f"catalog entry {name!r}: missing field(s) {', '.join(missing)}")
    for field, value in raw.items():
        want = _TYPES[field]
        # bool is an int in Python; a size of `true` is still a mistake.
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise CatalogError(
                f"catalog entry {name!r}: field {field!r} must be {want.__name__}, got {value!r}"
            )
    if not raw["source"].strip():
        raise CatalogError(f"catalog entry {name!r}: empty source")
    if raw["size_bytes"] <= 0 or raw["gpu_count"] < 0 or raw["gpu_count"] > 8:
        raise CatalogError(f"catalog entry {name!r}: size or GPU count out of range")
    return CatalogEntry(name=name, **raw)


def load_catalog(path: Path | None = None) -> dict[str, CatalogEntry]:
    path = path or resource_path("catalog.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise CatalogError(f"cannot read catalog {path}: {err}") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict):
        raise CatalogError(f"catalog {path}: expected a top-level 'models' mapping")
    return {str(name): _entry(str(name), raw) for name, raw in doc["models"].items()}
