"""The cache key: where a model source lives inside the cache volume.

This module is the single implementation. It is standard library only because
the fetcher ships it to clusters beside itself and imports it there.
"""

from __future__ import annotations

import hashlib

KEY_LENGTH = 16
MODEL_FILE = "model.gguf"
DEFAULT_MOUNT_PATH = "/models"


def cache_key(source: str) -> str:
    """First 16 hex characters of sha256 over the raw source string.

    LLMKube computes it this way, without normalising the URL, so both tools
    meet in the same directory; two spellings of one file get two keys.
    """
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def model_path(source: str, mount_path: str = DEFAULT_MOUNT_PATH) -> str:
    return f"{mount_path.rstrip('/')}/{cache_key(source)}/{MODEL_FILE}"


def is_cache_key(text: str) -> bool:
    return len(text) == KEY_LENGTH and all(c in "0123456789abcdef" for c in text)
