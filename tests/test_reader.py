"""The reader process: its protocol with plain handlers, and the dashboard's
reads through it against the real API server (typed errors cross, a dead
reader is replaced by reading in-process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import ConfigError, Forbidden, Unreachable
from llmkube_tui.backend.inventory import ListState
from llmkube_tui.backend.overview import load_overview
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.seed import seed
from llmkube_tui.ui.reader import ReaderGone, ReaderProcess
from llmkube_tui.ui.source import ClusterSource, start_reader


class Unportable(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


def _handler(key: Any, method: str, args: tuple[Any, ...]) -> Any:
    if method == "echo":
        return (key, args)
    if method == "sleep":
        time.sleep(args[0])
        return "slept"
    if method == "forbidden":
        raise Forbidden("forbidden: list pods")
    if method == "unportable":
        raise Unportable(7, "odd")
    if method == "pid":
        return os.getpid()
    if method == "exit":
        os._exit(3)
    raise AssertionError(method)


@pytest.fixture
def plain_reader():
    reader = ReaderProcess.fork(_handler)
    assert reader is not None
    yield reader
    reader.close()


def test_answers_come_back_in_order_of_readiness(plain_reader: ReaderProcess):
    assert plain_reader.call("k", "echo", 1, "two") == ("k", (1, "two"))
    # A slow request (a scan pod) never holds up a quick one (a refresh).
    slow = plain_reader.submit("k", "sleep", 1.0)
    started = time.monotonic()
    assert plain_reader.call("k", "echo") == ("k", ())
    assert time.monotonic() - started < 0.5
    assert slow.result(timeout=5) == "slept"
    assert plain_reader.call("k", "pid") != os.getpid()


def test_errors_cross_typed_or_as_their_text(plain_reader: ReaderProcess):
    with pytest.raises(Forbidden, match="list pods"):
        plain_reader.call("k", "forbidden")
    # Its constructor wants two arguments: it would not unpickle here.
    with pytest.raises(RuntimeError, match="Unportable: odd"):
        plain_reader.call("k", "unportable")
    assert plain_reader.call("k", "echo") == ("k", ())


def test_a_dead_reader_fails_its_calls_and_every_later_one(plain_reader: ReaderProcess):
    pending = plain_reader.submit("k", "sleep", 30)
    with pytest.raises(ReaderGone):
        plain_reader.call("k", "exit")
    with pytest.raises(ReaderGone):
        pending.result(timeout=5)
    assert not plain_reader.alive
    with pytest.raises(ReaderGone):
        plain_reader.call("k", "echo")


def test_the_reader_ends_when_the_dashboard_closes_it():
    reader = ReaderProcess.fork(_handler)
    assert reader is not None
    pid = reader.pid
    reader.close()
    for _ in range(100):
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            break  # reaped by close()
        if finished:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the reader outlived its dashboard")


def test_what_the_reader_sends_back_imports_without_the_kubernetes_client():
    # Unpickling an overview or a scan imports their modules in the dashboard.
    code = (
        "import sys, llmkube_tui.backend.overview, llmkube_tui.backend.gpunode, "
        "llmkube_tui.backend.objectview; print('kubernetes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the dashboard's reads through it, on the real API server -------------------------
@pytest.fixture
def reader():
    process = start_reader()
    assert process is not None
    yield process
    process.close()


def test_overview_through_the_reader_matches_one_read_here(
    admin: Connection, kubeconfig: Path, reader: ReaderProcess
):
    seed(admin, {"reader-a": ("3Gi", [("llama-3.1-8b", 1)])})
    source = ClusterSource(Target(str(kubeconfig)), reader=reader)
    # As the CLI does: the first load starts before anything asks for it.
    source.prefetch()
    through_reader = source.overview()
    here = load_overview(admin)
    # Equal dataclasses, not the same objects: they crossed a process.
    assert through_reader.namespaces == here.namespaces
    assert through_reader.models == here.models
    assert through_reader.version == here.version
    assert reader.alive and source.reader is reader
    # The actions' connection opens in this process, in the background.
    for _ in range(100):
        if source.connection() is not None:
            break
        time.sleep(0.05)
    assert source.connection() is not None


def test_typed_errors_reach_the_dashboard(
    tmp_path: Path, cluster, restricted_kubeconfig: Path, reader: ReaderProcess
):
    from llmkube_tui.localcluster.cluster import free_port

    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(
        cluster.kubeconfig.read_text().replace(cluster.server, f"https://127.0.0.1:{free_port()}")
    )
    with pytest.raises(Unreachable, match="cannot reach the API server"):
        ClusterSource(Target(str(dead)), reader=reader).overview()
    with pytest.raises(ConfigError, match="cannot load kubeconfig"):
        ClusterSource(Target(str(dead)), reader=reader).with_context("no-such-context")
    alice = ClusterSource(Target(str(restricted_kubeconfig)), reader=reader)
    assert alice.overview().namespaces.state is ListState.FORBIDDEN
    assert alice.gpu_nodes().state is ListState.FORBIDDEN
    assert reader.alive


def test_a_killed_reader_is_replaced_by_reading_here(
    admin: Connection, kubeconfig: Path, reader: ReaderProcess
):
    seed(admin, {"reader-b": (None, [])})
    source = ClusterSource(Target(str(kubeconfig)), reader=reader)
    assert "reader-b" in {n.name for n in source.overview().namespaces.items}
    os.kill(reader.pid, signal.SIGKILL)
    overview = source.overview()
    assert "reader-b" in {n.name for n in overview.namespaces.items}
    assert source.reader is None
