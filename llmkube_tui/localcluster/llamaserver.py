"""llama.cpp's llama-server, built from source by `serving/build.sh` into the
machine-wide cache, and the llama.cpp source tree it came from."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from llmkube_tui.localcluster.build import CACHE_DIR, REPO

LLAMA_CPP_PYTHON_VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
BUILD_SCRIPT = REPO / "serving" / "build.sh"


def _root() -> Path:
    return CACHE_DIR / f"llama-cpp-python-{LLAMA_CPP_PYTHON_VERSION}"


def llama_server() -> Path:
    """The binary; built first when the cache lacks it (about 15 minutes)."""
    binary = _root() / "bin" / "llama-server"
    if os.access(binary, os.X_OK):
        return binary
    if not BUILD_SCRIPT.exists():
        raise RuntimeError(
            f"missing {binary}, and no source checkout with serving/build.sh to build it"
        )
    try:
        subprocess.run([str(BUILD_SCRIPT)], check=True, stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(f"building llama-server failed (exit {err.returncode})") from err
    return binary


def llama_source() -> Path:
    """llama.cpp's source tree (its vocab files make the tiny model)."""
    source = _root() / "src" / "vendor" / "llama.cpp"
    if not source.is_dir():
        llama_server()
    return source
