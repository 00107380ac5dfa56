"""Settings: LLMKube's Helm keys for the cache, plus our own.

Read from ~/.config/llmkube-tui/config.yaml or from `--values FILE`; an
LLMKube Helm values file works as it is (unknown keys are ignored there,
since such a file configures much more than the cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmkube_tui.backend.errors import ConfigError
from llmkube_tui.backend.quantity import parse_quantity
from llmkube_tui.backend.settings import CacheSettings

DEFAULT_PATH = Path.home() / ".config" / "llmkube-tui" / "config.yaml"
MODES = ("auto", "llmkube", "standalone")
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod", "ReadOnlyMany")


@dataclass(frozen=True)
class Images:
    fetcher: str = "python:3.12-slim"
    server: str = "ghcr.io/ggml-org/llama.cpp:server"
    server_cuda: str = "ghcr.io/ggml-org/llama.cpp:server-cuda"
    pull_policy: str = "IfNotPresent"


@dataclass(frozen=True)
class Config:
    cache: CacheSettings = field(default_factory=CacheSettings)
    images: Images = field(default_factory=Images)
    mode: str = "auto"


def _section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
    return value


def _string(section: dict[str, Any], key: str, default: str, where: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def parse_config(doc: Any, source: str = "config") -> Config:
    if doc is None:
        return Config()
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        cache_doc = _section(doc, "modelCache")
        images_doc = _section(doc, "images")
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from err
    defaults = CacheSettings()
    where = f"{source}: modelCache"
    enabled = cache_doc.get("enabled", defaults.enabled)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled: expected true or false, got {enabled!r}")
    size = str(cache_doc.get("size", defaults.size))
    try:
        parse_quantity(size)
    except ValueError as err:
        raise ConfigError(f"{where}.size: {err}") from err
    access_mode = _string(cache_doc, "accessMode", defaults.access_mode, where)
    if access_mode not in ACCESS_MODES:
        raise ConfigError(
            f"{where}.accessMode: {access_mode!r} is not one of {', '.join(ACCESS_MODES)}"
        )
    annotations = cache_doc.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ConfigError(f"{where}.annotations: expected a mapping")
    mount_path = _string(cache_doc, "mountPath", defaults.mount_path, where)
    if not mount_path.startswith("/"):
        raise ConfigError(f"{where}.mountPath: must be an absolute path, got {mount_path!r}")
    cache = CacheSettings(
        enabled=enabled,
        size=size,
        storage_class=_string(cache_doc, "storageClass", defaults.storage_class, where),
        access_mode=access_mode,
        mount_path=mount_path,
        annotations={str(k): str(v) for k, v in annotations.items()},
    )
    image_defaults = Images()
    iwhere = f"{source}: images"
    images = Images(
        fetcher=_string(images_doc, "fetcher", image_defaults.fetcher, iwhere),
        server=_string(images_doc, "server", image_defaults.server, iwhere),
        server_cuda=_string(images_doc, "serverCuda", image_defaults.server_cuda, iwhere),
        pull_policy=_string(images_doc, "pullPolicy", image_defaults.pull_policy, iwhere),
    )
    mode = doc.get("mode", "auto")
    if mode not in MODES:
        raise ConfigError(f"{source}: mode: {mode!r} is not one of {', '.join(MODES)}")
    return Config(cache=cache, images=images, mode=mode)


def load_config(path: Path | None = None) -> Config:
    """`path` (from --values) must exist; the default file is optional."""
    chosen = path or DEFAULT_PATH
    if path is None and not chosen.exists():
        return Config()
    try:
        doc = yaml.safe_load(chosen.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read settings {chosen}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"settings {chosen} are not valid YAML: {err}") from err
    return parse_config(doc, str(chosen))
