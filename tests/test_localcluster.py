"""The local control plane itself: version, restart after a crash, clean stop."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.inventory import server_version
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.cluster import LocalCluster, Ports


def _pids(cluster: LocalCluster) -> dict[str, int | None]:
    return {c.name: cluster._pid(c) for c in cluster.components()}


def test_version_reported_by_the_api_server(admin: Connection):
    assert server_version(admin) == "v1.34.4"


@pytest.fixture
def scratch_cluster(tmp_path: Path):
    cluster = LocalCluster(tmp_path / "scratch", Ports.ephemeral())
    yield cluster
    cluster.down()


def test_start_after_kill_9_recovers_and_down_leaves_nothing(scratch_cluster: LocalCluster):
    cluster = scratch_cluster
    cluster.up()
    conn = Connection.open(Target(str(cluster.kubeconfig)))
    conn.create("/api/v1/namespaces", {"metadata": {"name": "survivor"}})
    pids = _pids(cluster)
    assert all(pids.values())

    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    assert cluster.status() == {"etcd": "stopped", "kube-apiserver": "stopped"}

    # The start time is bench/bench_cluster.py's figure, not a pass condition here.
    cluster.up()
    # The data survived the crash: etcd's directory is reused.
    conn = Connection.open(Target(str(cluster.kubeconfig)))
    assert conn.get("/api/v1/namespaces/survivor")["metadata"]["name"] == "survivor"

    # up on a running cluster keeps the processes.
    again = _pids(cluster)
    cluster.up()
    assert _pids(cluster) == again

    cluster.down()
    for pid in again.values():
        assert not Path(f"/proc/{pid}").exists()
    assert cluster.status() == {"etcd": "stopped", "kube-apiserver": "stopped"}


def test_stale_pid_file_pointing_at_another_process_is_ignored(scratch_cluster: LocalCluster):
    cluster = scratch_cluster
    cluster.run_dir.mkdir(parents=True, exist_ok=True)
    # Our own pid stands in for a recycled pid: it must not be taken for etcd.
    (cluster.run_dir / "etcd.pid").write_text(str(os.getpid()))
    assert cluster.status()["etcd"] == "stopped"
    cluster.up()
    assert cluster.status() == {"etcd": "ready", "kube-apiserver": "ready"}
