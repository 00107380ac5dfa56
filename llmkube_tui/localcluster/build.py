"""Where the locally built Kubernetes binaries live, and building them.

The Go build itself is `cluster/build.sh` in the source checkout; this module
only finds its output and runs it when something is missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

K8S_VERSION = os.environ.get("K8S_VERSION", "1.34.4")
CACHE_DIR = Path(os.environ.get("LLMKUBE_TUI_CACHE", "/var/cache/llmkube-tui"))
REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "cluster" / "build.sh"


def bin_dir() -> Path:
    return CACHE_DIR / f"k8s-v{K8S_VERSION}" / "bin"


def binary(name: str) -> Path:
    return bin_dir() / name


def ensure_built(names: list[str]) -> None:
    missing = [n for n in names if not os.access(binary(n), os.X_OK)]
    if not missing:
        return
    if not BUILD_SCRIPT.exists():
        raise RuntimeError(
            f"missing {', '.join(missing)} in {bin_dir()}, and no source checkout "
            "with cluster/build.sh to build them"
        )
    try:
        subprocess.run([str(BUILD_SCRIPT), *missing], check=True)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(f"building {', '.join(missing)} failed (exit {err.returncode})") from err
