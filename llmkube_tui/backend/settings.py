"""Cache settings, with the keys and defaults of LLMKube's Helm values."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmkube_tui.cachekey import DEFAULT_MOUNT_PATH


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = True
    size: str = "100Gi"
    storage_class: str = ""
    access_mode: str = "ReadWriteOnce"
    mount_path: str = DEFAULT_MOUNT_PATH
    annotations: dict[str, str] = field(default_factory=dict)
