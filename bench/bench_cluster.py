"""Start-up figures of the local cluster (binaries and images already cached).

    .venv/bin/python bench/bench_cluster.py [--runs N]

Prints: control-plane warm start (launch to /readyz), full node warm `up`
(launch to node Ready with GPUs advertised), and a trivial pod's apply to
Running. Uses its own state directory and ports; the demo is not touched.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.cluster import LocalCluster, PodNetwork, Ports
from llmkube_tui.localcluster.images import PYTHON_IMAGE

BENCH_NETWORK = PodNetwork("llmk-bench", "10.93.0.0/16")


def timed_up(cluster: LocalCluster) -> float:
    started = time.monotonic()
    cluster.up(timeout=300)
    return time.monotonic() - started


def pod_start(conn: Connection, name: str) -> float:
    body = {
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": PYTHON_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "600"],
                }
            ],
        },
    }
    started = time.monotonic()
    conn.create("/api/v1/namespaces/default/pods", body)
    while conn.get(f"/api/v1/namespaces/default/pods/{name}")["status"].get("phase") != "Running":
        time.sleep(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmkube-bench-") as tmp:
        control = LocalCluster(Path(tmp) / "cp", Ports.ephemeral())
        first_cp = timed_up(control)
        cp_warm = []
        for _ in range(args.runs):
            control.down()
            cp_warm.append(timed_up(control))
        control.down()

        node = LocalCluster(Path(tmp) / "node", Ports.ephemeral(), node=True, network=BENCH_NETWORK)
        first_node = timed_up(node)
        node_warm = []
        pods = []
        try:
            for run in range(args.runs):
                node.down()
                node_warm.append(timed_up(node))
                conn = Connection.open(Target(str(node.kubeconfig)))
                pods.append(pod_start(conn, f"trivial-{run}"))
        finally:
            node.down()

    def row(label: str, values: list[float]) -> str:
        return (
            f"{label:<44} median {statistics.median(values):6.2f} s"
            f"   min {min(values):6.2f}   max {max(values):6.2f}   (n={len(values)})"
        )

    print(f"{'first up, new state dir (control plane)':<44} {first_cp:6.2f} s")
    print(row("warm up, control plane (launch to /readyz)", cp_warm))
    print(f"{'first up, new state dir (node)':<44} {first_node:6.2f} s")
    print(row("warm up, node (launch to node Ready + GPUs)", node_warm))
    print(row("trivial pod, apply to Running", pods))


if __name__ == "__main__":
    main()
