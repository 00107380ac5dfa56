"""Opens the local cluster's host-path volumes to non-root pods.

Kubernetes' host-path provisioner creates each volume directory as root with
mode 0750, and applies no fsGroup to host-path volumes, so the non-root pods
this tool runs could not write their cache. Storage drivers of real clusters
honour fsGroup; here a small host process does what local-path-provisioner's
helper does elsewhere: it makes each new volume directory world-writable.

    python3 -m llmkube_tui.localcluster.volumeperms DIR
"""

from __future__ import annotations

import os
import stat
import sys
import time

POLL_SECONDS = 0.05


def open_new_volumes(root: str) -> None:
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode) and stat.S_IMODE(mode) != 0o777:
                os.chmod(entry.path, 0o777)
        except FileNotFoundError:
            continue


def main() -> None:
    root = sys.argv[1]
    while True:
        open_new_volumes(root)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
