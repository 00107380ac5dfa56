"""The dashboard beside k9s, on the same seeded API server, in the same run.

    .venv/bin/python bench/bench_dashboard.py [--namespaces 200] [--per-namespace 25] [--runs 3]

Seeds a local control plane (LLMKube's CRDs installed) with N namespaces of
25 PVCs (one of them the cache volume), 25 Models and 25 InferenceServices
each, then runs each tool in tmux at 120x40 and polls `tmux capture-pane`:

- first frame: process start to the first frame with the header and tables
  (for us: the frame drawn before Textual is imported) or k9s's own first
  screen (its splash); Textual's own first frame is measured too, in runs
  where the early frame is off (`--theme textual-dark`);
- loaded: process start to the first frame showing the loaded table: for us
  the namespaces view (which needs every PVC and Model), for k9s its PVC
  table with -A (the title carries the count);
- key latency: median time from a key sent with `tmux send-keys` to the next
  changed frame, while a refresh runs;
- memory: resident set of the tool's processes once the table is shown
  (ours are two: the UI and its reader), and their proportional set size.

k9s is built from the Go module proxy by bench/build_k9s.sh (cached).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmkube_tui.backend.connection import Connection  # noqa: E402
from llmkube_tui.backend.model import GROUP, VERSION  # noqa: E402
from llmkube_tui.backend.target import Target  # noqa: E402
from llmkube_tui.localcluster.cluster import LocalCluster, Ports  # noqa: E402
from llmkube_tui.localcluster.seed import install_crds  # noqa: E402

CRDS = REPO.parent / "shared" / "llmkube-crds"
SESSION = "llmkube-bench"
POLL = 0.01
# Each tool starts on a quiet API server: right after k9s quits, the server
# is still tearing down its watches and collecting garbage, and whichever
# tool ran next paid for it.
SETTLE = 3.0


def seed(kubeconfig: Path, namespaces: int, per_namespace: int) -> float:
    started = time.monotonic()
    conns = [Connection.open(Target(str(kubeconfig))) for _ in range(8)]

    def one(index: int) -> None:
        conn = conns[index % len(conns)]
        ns = f"team-{index:03d}"
        conn.create("/api/v1/namespaces", {"metadata": {"name": ns}}, exist_ok=True)
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}"
        for j in range(per_namespace):
            claim = "llmkube-model-cache" if j == 0 else f"scratch-{j:02d}"
            conn.create(
                f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
                {
                    "metadata": {"name": claim},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{50 + j}Gi"}},
                    },
                },
                exist_ok=True,
            )
            name = f"model-{j:02d}"
            conn.create(
                f"{base}/models",
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "Model",
                    "metadata": {"name": name},
                    "spec": {"source": f"https://models.example/{ns}/{name}.gguf"},
                },
                exist_ok=True,
            )
            conn.create(
                f"{base}/inferenceservices",
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "InferenceService",
                    "metadata": {"name": name},
                    "spec": {"modelRef": name, "replicas": 1},
                },
                exist_ok=True,
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(namespaces)))
    return time.monotonic() - started


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_until(predicate: Callable[[str], bool], timeout: float = 60.0) -> tuple[float, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen()
        if predicate(text):
            return time.monotonic(), text
        time.sleep(POLL)
    raise TimeoutError(f"screen never matched; last frame:\n{screen()}")


def rss_mib(pid: int) -> tuple[float, float]:
    """Resident set and proportional set size of the process and all its
    descendants (k9s is one process; the dashboard is two: the UI and its
    reader, which share the pages they had before the fork, counted twice
    in the resident set and once in the proportional one)."""
    rss = pss = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        for line in Path(f"/proc/{current}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
        for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
        children = Path(f"/proc/{current}/task/{current}/children")
        pending += [int(child) for child in children.read_text().split()]
    return rss / 1024, pss / 1024


class Tool:
    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        first: Callable[[str], bool],
        loaded: Callable[[str], bool],
        refresh_key: str,
        move_key: str,
    ) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.first, self.loaded = first, loaded
        self.refresh_key, self.move_key = refresh_key, move_key

    def run(self, keys: int) -> dict[str, float]:
        tmux("kill-session", "-t", SESSION)
        time.sleep(SETTLE)
        env_args = [arg for k, v in self.env.items() for arg in ("-e", f"{k}={v}")]
        started = time.monotonic()
        tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", *env_args, *self.argv)
        try:
            first, _ = wait_until(self.first)
            loaded, _ = wait_until(self.loaded)
            pid = int(tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())
            time.sleep(1.0)
            memory, proportional = rss_mib(pid)
            latencies = []
            for i in range(keys):
                if i % 5 == 0:
                    # A refresh in flight: the keys below must not wait on it.
                    tmux("send-keys", "-t", SESSION, self.refresh_key)
                    time.sleep(0.05)
                before = screen()
                sent = time.monotonic()
                tmux("send-keys", "-t", SESSION, self.move_key)
                changed, _ = wait_until(lambda text, b=before: text != b, timeout=10)
                latencies.append(changed - sent)
                time.sleep(0.1)
        finally:
            tmux("kill-session", "-t", SESSION)
        return {
            "first": first - started,
            "loaded": loaded - started,
            "key": statistics.median(latencies) if latencies else 0.0,
            "rss": memory,
            "pss": proportional,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--per-namespace", type=int, default=25)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=20)
    args = parser.parse_args()
    # Bytecode as an installed package has it, even under PYTHONDONTWRITEBYTECODE.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "llmkube_tui")], check=True
    )
    k9s = subprocess.run(
        [str(REPO / "bench" / "build_k9s.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    total = args.namespaces * args.per_namespace
    with tempfile.TemporaryDirectory(prefix="llmkube-bench-") as tmp:
        cluster = LocalCluster(Path(tmp) / "cp", Ports.ephemeral())
        cluster.up()
        try:
            admin = Connection.open(Target(str(cluster.kubeconfig)))
            install_crds(admin, CRDS)
            seconds = seed(cluster.kubeconfig, args.namespaces, args.per_namespace)
            print(
                f"seeded {args.namespaces} namespaces: {total} PVCs, {total} Models, "
                f"{total} InferenceServices in {seconds:.1f} s"
            )
            home = Path(tmp) / "home"
            home.mkdir()
            env = {
                "KUBECONFIG": str(cluster.kubeconfig),
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_STATE_HOME": str(home / ".state"),
                "XDG_DATA_HOME": str(home / ".data"),
                "TERM": os.environ.get("TERM", "xterm-256color"),
            }
            ours = Tool(
                "llmkube-tui",
                [str(REPO / ".venv" / "bin" / "llmkube-tui")],
                env,
                first=lambda s: "llmkube-tui" in s and "NAMESPACE" in s,
                # The loaded namespaces view: the rows carry counts of Models.
                loaded=lambda s: "team-000" in s and f" {args.per_namespace} " in s,
                refresh_key="C-r",
                move_key="Down",
            )
            # The theme named: no frame before Textual's, whose first frame
            # this measures (the figure the early frame stands in for).
            textual_only = Tool(
                "textual-only",
                [str(REPO / ".venv" / "bin" / "llmkube-tui"), "--theme", "textual-dark"],
                env,
                first=ours.first,
                loaded=ours.loaded,
                refresh_key="C-r",
                move_key="Down",
            )
            theirs = Tool(
                "k9s",
                [k9s, "-A", "--command", "pvc"],
                env,
                first=lambda s: bool(s.strip()),
                loaded=lambda s: f"[{total:,}]" in s,
                refresh_key="C-r",
                move_key="Down",
            )
            results: dict[str, list[dict[str, float]]] = {
                "llmkube-tui": [],
                "k9s": [],
                "textual-only": [],
            }
            for _ in range(args.runs):
                for tool in (ours, theirs):
                    results[tool.name].append(tool.run(args.keys))
                results[textual_only.name].append(textual_only.run(0))
        finally:
            cluster.down()

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"{'':<34}{'llmkube-tui':>14}{'k9s':>14}")
    for key, label, unit in (
        ("first", "process start to first frame", "s"),
        ("loaded", "process start to loaded table", "s"),
        ("key", "key to frame during a refresh", "s"),
        ("rss", "resident set after the table", "MiB"),
        ("pss", "proportional set (PSS)", "MiB"),
    ):
        print(
            f"{label:<34}{med('llmkube-tui', key):>12.3f} {unit:<3}{med('k9s', key):>10.3f} {unit}"
        )
    for name in results:
        runs = ", ".join(f"{r['loaded']:.2f}" for r in results[name])
        print(f"  {name} loaded table per run: {runs} s")
    print(
        f"llmkube-tui without the early frame (--theme textual-dark): Textual's first frame "
        f"{med('textual-only', 'first'):.3f} s, loaded table {med('textual-only', 'loaded'):.3f} s"
    )
    ratio = med("llmkube-tui", "loaded") / med("k9s", "loaded")
    print(f"loaded table, ours / k9s: {ratio:.2f} (target 0.5 or less); runs={args.runs}")


if __name__ == "__main__":
    main()
