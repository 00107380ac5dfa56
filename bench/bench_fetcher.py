"""Benchmark of the fetcher against curl and aria2c on a private nginx (127.0.0.1 only).

    .venv/bin/python bench/bench_fetcher.py [--size-gib 2] [--work /var/tmp/fetcher-bench]

(a) unshaped loopback: ours (sha256 computed, file fsynced) vs curl vs aria2c -x16 -s16;
(b) nginx limit_rate 20m: the same three; nginx's cap is per request with about one
    second of burst, so ours also runs with 128 MiB chunks, where the burst is small;
(c) the hit path on an 8 GiB entry (a sparse file with matching metadata).

Each download is timed end to end (process start to exit) into an empty directory
after a `sync`; the best of --repeat runs counts (curl on the shaped origin runs once:
it takes minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmkube_tui.cachekey import cache_key  # noqa: E402
from tests.fetcher_fixtures import Nginx, fetcher_cmd, fetcher_env  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    print(f"generating {size / GiB:.0f} GiB test file {path}", file=sys.stderr)
    with open(path, "wb") as f:
        block = os.urandom(64 * MiB)
        for _ in range(size // len(block)):
            f.write(block)  # repeated random blocks: incompressible enough for loopback
            block = block[1:] + block[:1]


def timed(run: Callable[[Path], None], out: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        subprocess.run(["sync"], check=True)
        started = time.monotonic()
        run(out)
        best = min(best, time.monotonic() - started)
    shutil.rmtree(out, ignore_errors=True)
    return best


def curl(url: str) -> Callable[[Path], None]:
    def run(out: Path) -> None:
        subprocess.run(["curl", "-sf", "-o", str(out / "model.gguf"), url], check=True)

    return run


def aria2(url: str) -> Callable[[Path], None]:
    def run(out: Path) -> None:
        cmd = ["aria2c", "-q", "-x16", "-s16", "--file-allocation=none"]
        subprocess.run([*cmd, "-d", str(out), "-o", "model.gguf", url], check=True)

    return run


def ours(url: str, *extra: str) -> Callable[[Path], None]:
    def run(out: Path) -> None:
        cmd = fetcher_cmd("fetch", "--root", str(out), "--source", url, *extra)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=fetcher_env())
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
        result = json.loads(proc.stdout)
        if not result.get("sha256"):
            raise RuntimeError("no sha256 computed")
        ours.last = result  # type: ignore[attr-defined]

    return run


def hit_path(work: Path, repeat: int = 5) -> float:
    root = work / "hit-root"
    source = "http://127.0.0.1:9/eight-gib.gguf"
    entry = root / cache_key(source)
    entry.mkdir(parents=True, exist_ok=True)
    size = 8 * GiB
    with open(entry / "model.gguf", "wb") as f:
        f.truncate(size)
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
    best = float("inf")
    for _ in range(repeat):
        started = time.monotonic()
        proc = subprocess.run(
            fetcher_cmd("fetch", "--root", str(root), "--source", source),
            capture_output=True,
            text=True,
            env=fetcher_env(),
        )
        elapsed = time.monotonic() - started
        assert proc.returncode == 0 and json.loads(proc.stdout)["result"] == "hit", proc.stderr
        best = min(best, elapsed)
    shutil.rmtree(root)
    return best


def sha256_floor(path: Path, size: int) -> float:
    """How long this CPU takes to sha256 the file from the page cache: our lower bound."""
    started = time.monotonic()
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(8 * MiB):
            digest.update(chunk)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/fetcher-bench"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    size = int(args.size_gib * GiB)
    www, out = args.work / "www", args.work / "out"
    www.mkdir(parents=True, exist_ok=True)
    make_file(www / "big.gguf", size)
    floor = sha256_floor(www / "big.gguf", size)
    nginx = Nginx.start(args.work / "nginx", www, slow_rate="20m", workers=2)
    rows: list[tuple[str, str, float]] = []
    try:
        plain, shaped = nginx.url("big.gguf"), nginx.url("big.gguf", "slow/")
        r = args.repeat
        rows.append(("a unshaped", "curl", timed(curl(plain), out, r)))
        rows.append(("a unshaped", "aria2c -x16 -s16", timed(aria2(plain), out, r)))
        rows.append(("a unshaped", "ours (sha256 + fsync)", timed(ours(plain), out, r)))
        rows.append(("b limit_rate 20m", "curl", timed(curl(shaped), out, 1)))
        rows.append(("b limit_rate 20m", "aria2c -x16 -s16", timed(aria2(shaped), out, r)))
        rows.append(("b limit_rate 20m", "ours (sha256 + fsync)", timed(ours(shaped), out, r)))
        conns = ours.last.get("connections")  # type: ignore[attr-defined]
        big = ours(shaped, "--chunk-size", str(128 * MiB))
        rows.append(("b limit_rate 20m", "ours, 128 MiB chunks", timed(big, out, r)))
    finally:
        nginx.stop()
    hit = hit_path(args.work)

    print(f"\nfile {size / GiB:.1f} GiB, {os.cpu_count()} cores; ", end="")
    print(f"sha256 of it alone on this CPU: {floor:.2f} s ({size / MiB / floor:.0f} MiB/s)\n")
    print("| case | tool | seconds | MiB/s |\n|---|---|---:|---:|")
    times = {(case, tool): t for case, tool, t in rows}
    for case, tool, t in rows:
        print(f"| {case} | {tool} | {t:.2f} | {size / MiB / t:.0f} |")
    print(f"| c hit, 8 GiB entry | ours (process start to exit) | {hit:.3f} | |")

    def ratio(case: str, a: str, b: str) -> float:
        return times[(case, b)] / times[(case, a)]

    a, b = "a unshaped", "b limit_rate 20m"
    me, chunky, aria = "ours (sha256 + fsync)", "ours, 128 MiB chunks", "aria2c -x16 -s16"
    print("\n| target | measured | met |\n|---|---:|---|")
    checks = [
        ("(a) ours >= 0.8x curl", ratio(a, me, "curl"), 0.8),
        ("(b) ours >= 0.95x aria2c", ratio(b, me, aria), 0.95),
        ("(b) ours >= 8x curl", ratio(b, me, "curl"), 8.0),
        ("(b) ours, 128 MiB chunks >= 0.95x aria2c", ratio(b, chunky, aria), 0.95),
    ]
    for name, value, want in checks:
        print(f"| {name} | {value:.2f}x | {'yes' if value >= want else 'NO'} |")
    print(f"| (c) hit <= 0.2 s | {hit:.3f} s | {'yes' if hit <= 0.2 else 'NO'} |")
    print(f"\npeak connections of ours on (b): {conns}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
