"""Apply-to-Ready, cold against warm, and the init container's hit time, on
the local node, with the stand-in server (binaries and images cached).

    .venv/bin/python bench/bench_cache.py [--runs 5]

It starts its own cluster (own state directory, ports and bridge), serves
models from an origin bound to that bridge, and stops everything at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmkube_tui.backend.config import Config, Images  # noqa: E402
from llmkube_tui.backend.connection import Connection  # noqa: E402
from llmkube_tui.backend.deploy import DeployRequest, deploy, undeploy  # noqa: E402
from llmkube_tui.backend.preload import preload  # noqa: E402
from llmkube_tui.backend.settings import CacheSettings  # noqa: E402
from llmkube_tui.backend.target import Target  # noqa: E402
from llmkube_tui.cachekey import cache_key  # noqa: E402
from llmkube_tui.localcluster.cluster import LocalCluster, PodNetwork, Ports  # noqa: E402
from llmkube_tui.localcluster.images import PYTHON_IMAGE, STANDIN_IMAGE  # noqa: E402
from tests.origin import Origin  # noqa: E402

GiB = 2**30
NS = "bench"
CONFIG = Config(
    cache=CacheSettings(size="20Gi"),
    images=Images(PYTHON_IMAGE, STANDIN_IMAGE, STANDIN_IMAGE, "Never"),
    mode="standalone",
)


def sparse_gguf(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.write(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
        f.truncate(size)
    return path


def wait_ready(conn: Connection, name: str) -> None:
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/{name}"
    while (conn.get(path).get("status", {}).get("readyReplicas") or 0) < 1:
        time.sleep(0.05)


def wait_gone(conn: Connection, name: str) -> None:
    undeploy(conn, NS, name, wait=120)
    selector = {"labelSelector": f"app.kubernetes.io/name={name}"}
    while conn.get(f"/api/v1/namespaces/{NS}/pods", query=selector)["items"]:
        time.sleep(0.1)


def apply_to_ready(conn: Connection, name: str, source: str) -> float:
    started = time.monotonic()
    deploy(conn, CONFIG, DeployRequest(name, source, NS))
    wait_ready(conn, name)
    return time.monotonic() - started


def init_result(conn: Connection, name: str) -> tuple[dict, float]:
    selector = {"labelSelector": f"app.kubernetes.io/name={name}"}
    (pod,) = conn.get(f"/api/v1/namespaces/{NS}/pods", query=selector)["items"]
    (status,) = pod["status"]["initContainerStatuses"]
    term = status["state"]["terminated"]
    start, end = (
        datetime.fromisoformat(term[k].replace("Z", "+00:00")) for k in ("startedAt", "finishedAt")
    )
    return json.loads(term["message"]), (end - start).total_seconds()


def entry_dir(conn: Connection, key: str) -> Path:
    pvc = conn.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/llmkube-model-cache")
    pv = conn.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
    return Path(pv["spec"]["hostPath"]["path"]) / key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmkube-bench-", dir="/var/tmp") as tmp:
        cluster = LocalCluster(
            Path(tmp) / "cluster",
            Ports.ephemeral(),
            node=True,
            network=PodNetwork("llmk-bench", "10.93.0.0/16"),
        )
        cluster.up(timeout=300)
        try:
            conn = Connection.open(Target(str(cluster.kubeconfig)))
            conn.create("/api/v1/namespaces", {"metadata": {"name": NS}}, exist_ok=True)
            files = {
                "one.gguf": sparse_gguf(Path(tmp) / "one.gguf", GiB),
                "eight.gguf": sparse_gguf(Path(tmp) / "eight.gguf", 8 * GiB),
            }
            with Origin(cluster.network.gateway, files) as origin:
                run(conn, origin, args.runs)
        finally:
            cluster.down()


def run(conn: Connection, origin: Origin, runs: int) -> None:
    import shutil

    source = origin.source("one.gguf")
    cold, warm, hit_fetcher, hit_container = [], [], [], []
    for _ in range(runs):
        cold.append(apply_to_ready(conn, "one", source))
        wait_gone(conn, "one")
        warm.append(apply_to_ready(conn, "one", source))
        result, seconds = init_result(conn, "one")
        assert result["result"] == "hit", result
        hit_fetcher.append(float(result["seconds"]))
        hit_container.append(seconds)
        wait_gone(conn, "one")
        shutil.rmtree(entry_dir(conn, cache_key(source)), ignore_errors=True)

    big = origin.source("eight.gguf")
    preload(conn, CONFIG, NS, big)
    big_fetcher, big_container, big_warm = [], [], []
    for _ in range(runs):
        big_warm.append(apply_to_ready(conn, "eight", big))
        result, seconds = init_result(conn, "eight")
        assert result["result"] == "hit", result
        big_fetcher.append(float(result["seconds"]))
        big_container.append(seconds)
        wait_gone(conn, "eight")

    def row(label: str, values: list[float]) -> str:
        spread = f"min {min(values):.3f}, max {max(values):.3f}, n={len(values)}"
        return f"{label:<52} median {statistics.median(values):7.3f} s  ({spread})"

    print(row("1 GiB: apply to Ready, cold (downloads)", cold))
    print(row("1 GiB: apply to Ready, warm (cache hit)", warm))
    print(row("1 GiB: init hit, fetcher's own time", hit_fetcher))
    print(row("1 GiB: init hit, container start to end (1 s res.)", hit_container))
    print(row("8 GiB: apply to Ready, warm (cache hit)", big_warm))
    print(row("8 GiB: init hit, fetcher's own time", big_fetcher))
    print(row("8 GiB: init hit, container start to end (1 s res.)", big_container))


if __name__ == "__main__":
    main()
