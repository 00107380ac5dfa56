"""The fetcher against real servers: a private nginx and our fault-injecting origin.

Every test runs the fetcher as its own process, the way pods run it, and checks
after each failure that no wrong file was ever published.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmkube_tui import fetcher
from llmkube_tui.cachekey import cache_key
from tests.faultserver import FaultServer
from tests.fetcher_fixtures import (
    FETCHER,
    REPO,
    Nginx,
    Run,
    fetcher_cmd,
    fetcher_env,
    gguf_bytes,
    run_fetcher,
    write_gguf,
)

MB = 1024 * 1024
FILES = {"small.gguf": 2 * MB, "mid.gguf": 24 * MB, "conc.gguf": 16 * MB, "big12.gguf": 12 * MB}
FILES.update({"adopt.gguf": 3 * MB, "space-a.gguf": 2 * MB, "plain.gguf": 5 * MB})


@pytest.fixture(scope="module")
def docroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("www")


@pytest.fixture(scope="module")
def site(docroot: Path) -> dict[str, bytes]:
    return {
        name: write_gguf(docroot / name, size, seed=i)
        for i, (name, size) in enumerate(FILES.items())
    }


@pytest.fixture(scope="module")
def nginx(
    tmp_path_factory: pytest.TempPathFactory, docroot: Path, site: dict[str, bytes]
) -> Iterator[Nginx]:
    server = Nginx.start(tmp_path_factory.mktemp("nginx"), docroot, slow_rate="1m")
    yield server
    server.stop()


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    server = FaultServer()
    yield server
    server.stop()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(root: Path, source: str, *extra: str, env: dict[str, str] | None = None) -> Run:
    args = ["fetch", "--root", str(root), "--source", source, "--json", "--retry-base", "0.05"]
    return run_fetcher([*args, *extra], env=env, timeout=90)


def entry_of(root: Path, source: str) -> Path:
    return root / cache_key(source)


def assert_nothing_wrong_published(root: Path, source: str, data: bytes) -> None:
    """model.gguf is absent or exactly right; metadata, if any, names the right sha."""
    entry = entry_of(root, source)
    model = entry / "model.gguf"
    if model.exists():
        assert sha(model.read_bytes()) == sha(data), "a wrong file was published"
    meta = entry / "metadata.json"
    if meta.exists():
        doc = json.loads(meta.read_text())
        assert doc["sha256"] in (None, sha(data))
        assert model.exists() and model.stat().st_size == doc["size"]


def assert_complete(run: Run, root: Path, source: str, data: bytes) -> None:
    assert run.code == 0, run.stderr
    assert run.result["sha256"] == sha(data)
    model = Path(str(run.result["path"]))
    assert model.read_bytes() == data
    entry = entry_of(root, source)
    leftovers = [p.name for p in entry.iterdir() if p.name.startswith((".fetch-", ".lease"))]
    assert leftovers == []


# --------------------------------------------------------------------------- basics


def test_miss_then_hit_with_metadata_and_termination_log(
    nginx: Nginx, site: dict[str, bytes], root: Path, tmp_path: Path
) -> None:
    source = nginx.url("small.gguf")
    log = tmp_path / "termination-log"
    log.write_text("")
    env = fetcher_env(tmp=tmp_path)
    first = fetch(root, source, env=env)
    assert_complete(first, root, source, site["small.gguf"])
    assert first.result["result"] == "miss"
    assert first.result["bytes_downloaded"] == len(site["small.gguf"])
    assert json.loads(log.read_text()) == first.result
    meta = json.loads((entry_of(root, source) / "metadata.json").read_text())
    assert meta["source"] == source and meta["size"] == len(site["small.gguf"])
    assert meta["sha256"] == sha(site["small.gguf"]) and meta["etag"]
    assert meta["last_modified"] and meta["fetched_at"] and meta["last_used"]
    progress = [json.loads(x) for x in first.stderr.splitlines() if x.startswith("{")]
    assert {"bytes", "total", "rate"} <= set(progress[0])

    second = fetch(root, source, env=env)
    assert second.code == 0 and second.result["result"] == "hit"
    assert second.result["bytes_downloaded"] == 0
    assert second.result["sha256"] == sha(site["small.gguf"])


def test_hit_path_never_reads_the_model(root: Path) -> None:
    source = "http://127.0.0.1:9/never-contacted.gguf"
    entry = entry_of(root, source)
    entry.mkdir()
    size = 8 * 1024**3
    with open(entry / "model.gguf", "wb") as f:
        f.truncate(size)  # sparse: reading it would take seconds
    meta = {
        "source": source,
        "file": "model.gguf",
        "size": size,
        "sha256": "0" * 64,
        "etag": None,
        "last_modified": None,
        "fetched_at": "2025-01-01T00:00:00Z",
        "last_used": "2025-01-01T00:00:00Z",
    }
    (entry / "metadata.json").write_text(json.dumps(meta))
    started = time.monotonic()
    run = fetch(root, source)
    assert run.code == 0 and run.result["result"] == "hit"
    assert time.monotonic() - started < 1.0
    assert float(str(run.result["seconds"])) < 0.05
    assert json.loads((entry / "metadata.json").read_text())["last_used"] != meta["last_used"]


def test_expected_sha256_from_env_and_flag(
    nginx: Nginx, site: dict[str, bytes], root: Path, tmp_path: Path
) -> None:
    data = site["plain.gguf"]
    good = nginx.url("plain.gguf")
    run = fetch(root, good, env=fetcher_env({"LLMKUBE_SHA256": sha(data)}))
    assert_complete(run, root, good, data)

    bad = nginx.url("plain.gguf") + "?v=2"  # another key, same bytes
    run = fetch(root, bad, "--sha256", "ab" * 32)
    assert run.code == fetcher.EXIT_INTEGRITY
    assert run.result["result"] == "error" and "sha256 mismatch" in str(run.result["error"])
    entry = entry_of(root, bad)
    assert not (entry / "model.gguf").exists() and not (entry / "metadata.json").exists()
    assert not list(entry.glob(".fetch-*"))

    # A hit whose recorded sha256 differs from the one asked for is refused.
    run = fetch(root, good, "--sha256", "ab" * 32)
    assert run.code == fetcher.EXIT_INTEGRITY


def test_verify_finds_corruption_and_fetch_verify_repairs(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("small.gguf")
    data = site["small.gguf"]
    assert fetch(root, source).code == 0
    key = cache_key(source)
    ok = run_fetcher(["verify", key, "--root", str(root)])
    assert ok.code == 0 and ok.result["ok"] is True
    model = entry_of(root, source) / "model.gguf"
    with open(model, "r+b") as f:
        f.seek(12345)
        f.write(b"\xff")
    bad = run_fetcher(["verify", key, "--root", str(root)])
    assert bad.code == fetcher.EXIT_INTEGRITY and bad.result["ok"] is False
    # verify removed the bad file: the entry is never served, the next fetch downloads.
    assert not model.exists()
    refetched = fetch(root, source)
    assert refetched.result["result"] == "miss"
    assert_complete(refetched, root, source, data)
    with open(model, "r+b") as f:
        f.seek(12345)
        f.write(b"\xff")
    assert fetch(root, source).result["result"] == "hit"  # the hit path does not hash
    repaired = fetch(root, source, "--verify")
    assert repaired.result["result"] == "miss"
    assert_complete(repaired, root, source, data)
    again = fetch(root, source, "--verify")
    assert again.result["result"] == "hit" and again.result["verified"] is True


def test_single_stream_when_the_server_has_no_range(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("mid.gguf", "norange/")
    run = fetch(root, source)
    assert_complete(run, root, source, site["mid.gguf"])


def test_connections_widen_on_a_throttled_origin(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("mid.gguf", "slow/")
    run = fetch(root, source, "--chunk-size", str(2 * MB))
    assert_complete(run, root, source, site["mid.gguf"])
    assert int(str(run.result["connections"])) > fetcher.START_CONNECTIONS


def test_fixed_connection_count(nginx: Nginx, site: dict[str, bytes], root: Path) -> None:
    source = nginx.url("mid.gguf", "slow/") + "?fixed"
    run = fetch(root, source, "--connections", "2", "--chunk-size", str(MB))
    assert_complete(run, root, source, site["mid.gguf"])
    assert run.result["connections"] == 2


def test_file_source(tmp_path: Path, root: Path) -> None:
    data = gguf_bytes(3 * MB, seed=7)
    src = tmp_path / "air gapped.gguf"
    src.write_bytes(data)
    source = "file://" + str(src).replace(" ", "%20")
    run = fetch(root, source)
    assert_complete(run, root, source, data)
    assert fetch(root, source).result["result"] == "hit"
    missing = fetch(root, "file:///nonexistent/model.gguf")
    assert missing.code == fetcher.EXIT_SOURCE


def test_runs_as_a_plain_script_beside_cachekey(tmp_path: Path, root: Path) -> None:
    configmap = tmp_path / "configmap"
    configmap.mkdir()
    shutil.copy(FETCHER, configmap / "fetcher.py")
    shutil.copy(REPO / "llmkube_tui" / "cachekey.py", configmap / "cachekey.py")
    data = gguf_bytes(MB, seed=3)
    (tmp_path / "m.gguf").write_bytes(data)
    source = f"file://{tmp_path}/m.gguf"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        ["/usr/bin/python3", "fetcher.py", "fetch", "--root", str(root), "--source", source],
        cwd=configmap,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["path"] == str(root / cache_key(source) / "model.gguf")


def test_hf_source_and_token_only_to_the_origin(faults: FaultServer, root: Path) -> None:
    data = gguf_bytes(2 * MB, seed=11)
    cdn = FaultServer()
    try:
        cdn_url = cdn.add("/blob/abc", data)
        faults.add("/org/repo/resolve/main/m.gguf", b"", faults=[("redirect", cdn_url)] * 10)
        env = fetcher_env({"HF_ENDPOINT": faults.url(""), "HF_TOKEN": "hf_secret_token"})
        run = fetch(root, "hf://org/repo/m.gguf", env=env)
        assert_complete(run, root, "hf://org/repo/m.gguf", data)
        origin_seen = faults.resource("/org/repo/resolve/main/m.gguf").headers_seen
        assert all(h.get("Authorization") == "Bearer hf_secret_token" for h in origin_seen)
        assert all("Authorization" not in h for h in cdn.resource("/blob/abc").headers_seen)
        assert "hf_secret_token" not in run.stdout + run.stderr
    finally:
        cdn.stop()


# --------------------------------------------------------------------------- adoption


def test_adopts_an_llmkube_directory_without_downloading(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("adopt.gguf")
    entry = entry_of(root, source)
    entry.mkdir()
    (entry / "model.gguf").write_bytes(site["adopt.gguf"])
    (entry / "model.gguf.tmp").write_bytes(b"stale")
    before = nginx.bytes_served("adopt.gguf")
    run = fetch(root, source)
    assert run.code == 0 and run.result["result"] == "hit" and run.result["adopted"] is True
    assert nginx.bytes_served("adopt.gguf") - before < 4096  # only the one-byte probe
    meta = json.loads((entry / "metadata.json").read_text())
    assert meta["adopted"] is True and meta["size"] == len(site["adopt.gguf"])
    assert (entry / "model.gguf.tmp").exists()  # never delete another writer's temp file


def test_adopts_any_gguf_name_offline_by_its_header(root: Path) -> None:
    source = "http://127.0.0.1:9/unreachable/qwen.gguf"
    entry = entry_of(root, source)
    entry.mkdir()
    data = gguf_bytes(MB, seed=5)
    (entry / "qwen2.5-0.5b-instruct-q4_k_m.gguf").write_bytes(data)
    run = fetch(root, source, "--retries", "0")
    assert run.code == 0 and run.result["adopted"] is True
    assert str(run.result["path"]).endswith("qwen2.5-0.5b-instruct-q4_k_m.gguf")


def test_truncated_llmkube_file_is_not_adopted_but_replaced(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("adopt.gguf") + "?truncated"
    entry = entry_of(root, source)
    entry.mkdir()
    data = site["adopt.gguf"]
    (entry / "model.gguf").write_bytes(data[: len(data) // 2])
    run = fetch(root, source)
    assert run.result["result"] == "miss"
    assert_complete(run, root, source, data)
    assert fetcher.gguf_min_size(str(entry / "model.gguf")) == len(data)


# --------------------------------------------------------------------------- scan / remove


def _write_live_lease(entry: Path) -> None:
    me = fetcher.Identity.current()  # this test process: alive
    body = {"holder": me.__dict__, "beat": 0, "heartbeat_at": time.time()}
    (entry / ".lease").write_text(json.dumps(body))


def test_scan_remove_and_lease_awareness(nginx: Nginx, root: Path) -> None:
    good = nginx.url("small.gguf")
    assert fetch(root, good).code == 0
    corrupt = entry_of(root, "http://x/corrupt")
    corrupt.mkdir()
    (corrupt / "model.gguf").write_bytes(b"x" * 10)
    meta = json.loads((entry_of(root, good) / "metadata.json").read_text())
    (corrupt / "metadata.json").write_text(json.dumps({**meta, "source": "http://x/corrupt"}))
    partial = entry_of(root, "http://x/partial")
    (partial / ".fetch-someone").mkdir(parents=True)
    locked = entry_of(root, "http://x/locked")
    locked.mkdir()
    _write_live_lease(locked)

    scan = run_fetcher(["scan", "--root", str(root)])
    assert scan.code == 0
    states = {e["key"]: e["state"] for e in scan.result["entries"]}  # type: ignore[union-attr]
    assert states == {
        cache_key(good): "complete",
        corrupt.name: "corrupt",
        partial.name: "partial",
        locked.name: "locked",
    }
    complete = next(e for e in scan.result["entries"] if e["key"] == cache_key(good))  # type: ignore[union-attr]
    assert complete["metadata"]["sha256"] and complete["size"] > 0

    refused = run_fetcher(["remove", locked.name, "--root", str(root)])
    assert refused.code == fetcher.EXIT_LOCKED and locked.exists()
    forced = run_fetcher(["remove", locked.name, "--root", str(root), "--force"])
    assert forced.code == 0 and not locked.exists()
    removed = run_fetcher(["remove", cache_key(good), "--root", str(root)])
    assert removed.code == 0 and removed.result["bytes_freed"] > 0
    assert not entry_of(root, good).exists()
    assert run_fetcher(["remove", "0123456789abcdef", "--root", str(root)]).code == 3


def test_stale_lease_of_another_machine_is_taken_over(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("small.gguf") + "?stale"
    entry = entry_of(root, source)
    entry.mkdir()
    ghost = {
        "token": "elsewhere-1-0",
        "host": "another-node",
        "boot_id": "not-this-kernel",
        "pid_ns": "pid:[1]",
        "pid": 1,
        "start_ticks": 1,
    }
    (entry / ".lease").write_text(json.dumps({"holder": ghost, "heartbeat_at": time.time()}))
    started = time.monotonic()
    run = fetch(root, source, "--lease-timeout", "1.5")
    assert_complete(run, root, source, site["small.gguf"])
    assert time.monotonic() - started >= 1.5


# --------------------------------------------------------------------------- faults


def _data(seed: int, size: int = 3 * MB) -> bytes:
    return gguf_bytes(size, seed=seed)


FAULT_CASES = {
    "500-and-503-retry-after": [None, ("status", 503, "1"), ("status", 500, None)],
    "truncated-bodies": [None, *[("truncate", 70_000)] * 6],
    "200-to-range": [None, None, ("ignore_range",)],
    "stalled-connection": [None, ("stall", 5000, 8)],
    "content-length-too-long": [None, ("wrong_length", 1000)],
    "content-length-too-short": [None, ("wrong_length", -1000)],
    "429-throttle": [None, ("status", 429, "0"), ("status", 429, None)],
}


@pytest.mark.parametrize("case", sorted(FAULT_CASES))
def test_fault_ends_in_a_retry_and_a_correct_file(
    case: str, faults: FaultServer, root: Path
) -> None:
    data = _data(hash(case) & 0xFF)
    source = faults.add(f"/{case}.gguf", data, faults=list(FAULT_CASES[case]))
    started = time.monotonic()
    run = fetch(root, source, "--chunk-size", str(MB // 2), "--stall-timeout", "1")
    assert_nothing_wrong_published(root, source, data)
    assert_complete(run, root, source, data)
    if case.startswith("500"):
        assert time.monotonic() - started >= 1.0  # Retry-After honoured
    if case.startswith("stalled"):
        assert time.monotonic() - started < 8


def test_etag_change_mid_download_restarts_from_zero(faults: FaultServer, root: Path) -> None:
    old, new = _data(1), _data(2)
    swap = ("swap", new, '"v2"')
    source = faults.add("/moving.gguf", old, faults=[None, None, None, swap], etag='"v1"')
    run = fetch(root, source, "--chunk-size", str(MB // 2), "--connections", "1")
    assert_complete(run, root, source, new)
    assert "restart" in run.stderr


def test_403_after_working_re_resolves_the_redirect(faults: FaultServer, root: Path) -> None:
    data = _data(3)
    blob = faults.add("/blob", data, faults=[None, None, ("status", 403, None)])
    source = faults.add("/signed", b"", faults=[("redirect", blob + "?sig=1"), ("redirect", blob)])
    run = fetch(root, source, "--chunk-size", str(MB // 2), "--connections", "1")
    assert_complete(run, root, source, data)
    assert faults.resource("/signed").requests == 2


@pytest.mark.parametrize(
    ("case", "plan", "code"),
    [
        ("404", None, fetcher.EXIT_SOURCE),
        ("403", [("status", 403, None)] * 30, fetcher.EXIT_SOURCE),
        ("500-forever", [None, *[("status", 500, None)] * 30], fetcher.EXIT_NETWORK),
        ("stall-forever", [None, *[("stall", 10, 3)] * 30], fetcher.EXIT_NETWORK),
    ],
)
def test_fault_ends_in_a_clear_error(
    case: str, plan: list[tuple[object, ...]] | None, code: int, faults: FaultServer, root: Path
) -> None:
    data = _data(4)
    source = faults.url(f"/{case}.gguf")
    if plan is not None:
        faults.add(f"/{case}.gguf", data, faults=list(plan))
    run = fetch(root, source, "--retries", "2", "--stall-timeout", "0.5", "--connections", "1")
    assert run.code == code, run.stderr
    assert run.result["result"] == "error" and run.result["exit_code"] == code
    assert not (entry_of(root, source) / "model.gguf").exists()


def test_short_body_without_range_is_caught_by_the_sha256(faults: FaultServer, root: Path) -> None:
    data = _data(5)
    plan = [("wrong_length", -1000)]
    source = faults.add("/short.gguf", data, faults=plan, ranges=False)
    run = fetch(root, source, "--sha256", sha(data))
    assert run.code == fetcher.EXIT_INTEGRITY
    assert_nothing_wrong_published(root, source, data)
    again = fetch(root, source, "--sha256", sha(data))
    assert_complete(again, root, source, data)


def test_truncated_body_without_range_restarts_from_zero(faults: FaultServer, root: Path) -> None:
    data = _data(6)
    source = faults.add("/trunc-norange.gguf", data, faults=[("truncate", 100_000)], ranges=False)
    run = fetch(root, source)
    assert_complete(run, root, source, data)
    assert faults.resource("/trunc-norange.gguf").body_bytes == len(data) + 100_000


# --------------------------------------------------------------------------- crashes


def test_sigkill_at_random_points_never_publishes_a_wrong_file(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("mid.gguf", "slow/")
    data = site["mid.gguf"]
    rng = random.Random(20240501)
    args = ["fetch", "--root", str(root), "--source", source, "--connections", "4"]
    args += ["--chunk-size", str(2 * MB)]
    kills = completions = resumed = 0
    while kills < 22:
        proc = subprocess.Popen(
            fetcher_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=fetcher_env()
        )
        time.sleep(rng.uniform(0.02, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        out, _ = proc.communicate()
        assert_nothing_wrong_published(root, source, data)
        if proc.returncode == 0:
            result = json.loads(out)
            assert result["sha256"] == sha(data)
            resumed += int(result.get("resumed_bytes") or 0) > 0
            completions += 1
            # Start over so later kills land in the download again.
            assert run_fetcher(["remove", cache_key(source), "--root", str(root)]).code == 0
    final = fetch(root, source)
    assert_complete(final, root, source, data)
    assert resumed > 0 or final.result.get("resumed_bytes")


def test_sigterm_saves_state_and_exits_143(
    nginx: Nginx, site: dict[str, bytes], root: Path
) -> None:
    source = nginx.url("big12.gguf", "slow/") + "?term"
    args = ["fetch", "--root", str(root), "--source", source, "--connections", "2"]
    args += ["--chunk-size", str(2 * MB)]
    proc = subprocess.Popen(
        fetcher_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=fetcher_env()
    )
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == fetcher.EXIT_SIGTERM
    assert json.loads(out)["exit_code"] == fetcher.EXIT_SIGTERM
    entry = entry_of(root, source)
    (partial,) = entry.glob(".fetch-*")
    state = json.loads((partial / "state.json").read_text())
    assert sum(state["done"]) > 0 and not (entry / ".lease").exists()
    run = fetch(root, source)
    assert_complete(run, root, source, site["big12.gguf"])
    assert int(str(run.result["resumed_bytes"])) > 0


# --------------------------------------------------------------------------- concurrency


def test_eight_processes_one_download(nginx: Nginx, site: dict[str, bytes], root: Path) -> None:
    source = nginx.url("conc.gguf", "slow/")
    data = site["conc.gguf"]
    before = nginx.bytes_served("conc.gguf")
    args = ["fetch", "--root", str(root), "--source", source, "--json"]
    args += ["--chunk-size", str(2 * MB)]
    procs = [
        subprocess.Popen(
            fetcher_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=fetcher_env()
        )
        for _ in range(8)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert {r["sha256"] for r in results} == {sha(data)}
    assert sorted(r["result"] for r in results).count("miss") >= 1
    served = nginx.bytes_served("conc.gguf") - before
    assert served <= 1.1 * len(data), served
    assert (entry_of(root, source) / "model.gguf").read_bytes() == data


# --------------------------------------------------------------------------- ENOSPC


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_no_space_keeps_the_partial_and_other_entries(
    nginx: Nginx, site: dict[str, bytes], small_fs: Path
) -> None:
    other = nginx.url("space-a.gguf")
    assert fetch(small_fs, other).code == 0
    filler = small_fs / "filler"
    filler.write_bytes(b"\0" * 6 * MB)
    source = nginx.url("big12.gguf", "slow/")

    early = fetch(small_fs, source)
    assert early.code == fetcher.EXIT_NO_SPACE
    assert "space" in str(early.result["error"])

    late = fetch(small_fs, source, "--no-space-check", "--chunk-size", str(MB))
    assert late.code == fetcher.EXIT_NO_SPACE, late.stderr
    assert "partial download is kept" in str(late.result["error"])
    entry = entry_of(small_fs, source)
    assert not (entry / "model.gguf").exists()
    (partial,) = entry.glob(".fetch-*")
    kept = sum(json.loads((partial / "state.json").read_text())["done"])
    assert kept > MB

    check = run_fetcher(["verify", cache_key(other), "--root", str(small_fs)])
    assert check.code == 0 and check.result["ok"] is True

    filler.unlink()
    run = fetch(small_fs, source)
    assert_complete(run, small_fs, source, site["big12.gguf"])
    assert int(str(run.result["resumed_bytes"])) >= kept
