"""Apply to first completion with llama.cpp's real llama-server, cold (the
init container downloads the model) and warm (a cache hit), on the local node.

    .venv/bin/python bench/bench_serving.py [--runs 5]

The clock starts before `deploy` and stops when a completion request sent
through the API server's service proxy returns tokens. It starts its own
cluster (own state directory, ports and bridge) and stops it at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmkube_tui.backend.config import Config, Images  # noqa: E402
from llmkube_tui.backend.connection import Connection  # noqa: E402
from llmkube_tui.backend.deploy import DeployRequest, deploy  # noqa: E402
from llmkube_tui.backend.errors import BackendError  # noqa: E402
from llmkube_tui.backend.probe import probe  # noqa: E402
from llmkube_tui.backend.settings import CacheSettings  # noqa: E402
from llmkube_tui.backend.target import Target  # noqa: E402
from llmkube_tui.cachekey import cache_key  # noqa: E402
from llmkube_tui.localcluster.cluster import LocalCluster, PodNetwork, Ports  # noqa: E402
from llmkube_tui.localcluster.images import LLAMA_SERVER_IMAGE, PYTHON_IMAGE  # noqa: E402
from llmkube_tui.localcluster.tinymodel import ensure_tiny_llama  # noqa: E402
from tests.kube import cache_dir_on_host, undeployed  # noqa: E402
from tests.origin import Origin  # noqa: E402

NS = "bench"
NAME = "tiny"
CONFIG = Config(
    cache=CacheSettings(size="1Gi"),
    images=Images(PYTHON_IMAGE, LLAMA_SERVER_IMAGE, LLAMA_SERVER_IMAGE, "Never"),
    mode="standalone",
)


def first_completion(conn: Connection, source: str) -> tuple[float, float]:
    """Seconds from deploy to Ready-and-answering, and the probe's own latency."""
    started = time.monotonic()
    deploy(conn, CONFIG, DeployRequest(NAME, source, NS))
    while True:
        try:
            answer = probe(conn, NS, NAME, tokens=8, timeout=30)
        except BackendError:
            time.sleep(0.05)
            continue
        if answer.tokens:
            return time.monotonic() - started, answer.latency_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    model = ensure_tiny_llama()
    with tempfile.TemporaryDirectory(prefix="llmkube-bench-", dir="/var/tmp") as tmp:
        cluster = LocalCluster(
            Path(tmp) / "cluster",
            Ports.ephemeral(),
            node=True,
            network=PodNetwork("llmk-bserve", "10.92.0.0/16"),
        )
        cluster.up(timeout=300)
        try:
            conn = Connection.open(Target(str(cluster.kubeconfig)))
            conn.create("/api/v1/namespaces", {"metadata": {"name": NS}}, exist_ok=True)
            with Origin(cluster.network.gateway, {"tiny.gguf": model}) as origin:
                run(conn, origin.source("tiny.gguf"), args.runs, model.stat().st_size)
        finally:
            cluster.down()


def run(conn: Connection, source: str, runs: int, size: int) -> None:
    cold, warm, probe_cold, probe_warm = [], [], [], []
    for _ in range(runs):
        total, latency = first_completion(conn, source)
        cold.append(total)
        probe_cold.append(latency)
        undeployed(conn, NS, NAME)
        total, latency = first_completion(conn, source)
        warm.append(total)
        probe_warm.append(latency)
        undeployed(conn, NS, NAME)
        shutil.rmtree(cache_dir_on_host(conn, NS) / cache_key(source), ignore_errors=True)

    def row(label: str, values: list[float]) -> str:
        spread = f"min {min(values):.3f}, max {max(values):.3f}, n={len(values)}"
        return f"{label:<56} median {statistics.median(values):7.3f} s  ({spread})"

    print(f"model: tiny llama, {size / 2**20:.1f} MiB, llama-server {LLAMA_SERVER_IMAGE}")
    print(row("apply to first completion, cold (downloads)", cold))
    print(row("apply to first completion, warm (cache hit)", warm))
    print(row("  the answering completion itself, cold", probe_cold))
    print(row("  the answering completion itself, warm", probe_warm))


if __name__ == "__main__":
    main()
