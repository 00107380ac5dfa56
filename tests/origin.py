"""Model files for end-to-end tests, and the counting origin that serves them."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from llmkube_tui.localcluster.origin import Origin


def make_gguf(path: Path, size: int) -> Path:
    """A file that starts like a GGUF model (magic, version 3, no tensors,
    no metadata) and is filled with random bytes up to `size`."""
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 0)
    with open(path, "wb") as f:
        f.write(header)
        remaining = size - len(header)
        while remaining > 0:
            chunk = os.urandom(min(remaining, 1 << 20))
            f.write(chunk)
            remaining -= len(chunk)
    return path


__all__ = ["Origin", "make_gguf"]
