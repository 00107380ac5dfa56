"""Command line: `llmkube-tui` opens the dashboard; subcommands do the same
work from scripts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from llmkube_tui.backend.errors import BackendError
from llmkube_tui.cachekey import cache_key, model_path
from llmkube_tui.catalog import CatalogError


def _target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmkube-tui",
        description="Persistent model cache for LLM serving on Kubernetes.",
    )
    _target_args(parser)
    parser.add_argument(
        "--filter", default="", help="show only namespaces whose name contains this"
    )
    sub = parser.add_subparsers(dest="command")

    catalog = sub.add_parser("catalog", help="list the models of the catalog")
    catalog.add_argument("-o", "--output", choices=("table", "json"), default="table")

    cache = sub.add_parser("cache", help="model cache operations")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True)
    key = cache_sub.add_parser("key", help="print the cache key and path of a model or URL")
    key.add_argument("model", help="catalog name or source URL")
    key.add_argument("--mount-path", default="/models")

    local = sub.add_parser("local", help="the local cluster for the demo (built from source)")
    local.add_argument("action", choices=("up", "down", "status"))
    local.add_argument("--state-dir", type=Path, help="cluster state directory")
    local.add_argument("--seed", action="store_true", help="create sample objects after up")
    local.add_argument("--crds", type=Path, help="install the CRD manifests in this directory")
    local.add_argument(
        "--no-node", action="store_true", help="only the control plane: no kubelet, no pods"
    )
    return parser


def _resolve_source(name_or_url: str) -> tuple[str, str | None]:
    from llmkube_tui.catalog import load_catalog

    if "://" in name_or_url:
        return name_or_url, None
    catalog = load_catalog()
    if name_or_url not in catalog:
        raise SystemExit(
            f"unknown model {name_or_url!r}: not in the catalog and not a URL "
            f"(catalog: {', '.join(sorted(catalog))})"
        )
    return catalog[name_or_url].source, name_or_url


def cmd_catalog(args: argparse.Namespace) -> int:
    from llmkube_tui.backend.quantity import format_bytes
    from llmkube_tui.catalog import load_catalog

    entries = load_catalog()
    if args.output == "json":
        print(
            json.dumps([vars(e) | {"cache_key": e.cache_key} for e in entries.values()], indent=2)
        )
        return 0
    header = ("NAME", "PARAMS", "QUANT", "SIZE", "GPUS", "GPU MEM", "CACHE KEY")
    rows = [
        (
            e.name,
            e.parameters,
            e.quantization,
            ("~" if e.size_estimate else "") + format_bytes(e.size_bytes),
            str(e.gpu_count),
            f"{e.gpu_memory_gb} GB",
            e.cache_key,
        )
        for e in entries.values()
    ]
    _print_table(header, rows)
    return 0


def cmd_cache_key(args: argparse.Namespace) -> int:
    source, name = _resolve_source(args.model)
    if name:
        print(f"model:  {name}")
    print(f"source: {source}")
    print(f"key:    {cache_key(source)}")
    print(f"path:   {model_path(source, args.mount_path)}")
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    from llmkube_tui.localcluster.cluster import DEMO_STATE_DIR, LocalCluster

    cluster = LocalCluster(args.state_dir or DEMO_STATE_DIR, node=not args.no_node)
    if args.action == "down":
        cluster.down()
        return 0
    if args.action == "status":
        for name, state in cluster.status().items():
            print(f"{name:<24} {state}")
        print(f"kubeconfig: {cluster.kubeconfig}")
        return 0
    kubeconfig = cluster.up()
    if args.crds or args.seed:
        from llmkube_tui.backend.connection import Connection
        from llmkube_tui.backend.target import Target
        from llmkube_tui.localcluster.seed import install_crds, seed_demo

        conn = Connection.open(Target(str(kubeconfig)))
        if args.crds:
            install_crds(conn, args.crds)
        if args.seed:
            seed_demo(conn)
    # stdout carries only the path, so scripts can capture it.
    print(kubeconfig)
    return 0


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "catalog":
            return cmd_catalog(args)
        if args.command == "cache" and args.cache_command == "key":
            return cmd_cache_key(args)
        if args.command == "local":
            return cmd_local(args)
    except (BackendError, CatalogError, OSError, RuntimeError) as err:
        print(f"llmkube-tui: {err}", file=sys.stderr)
        return 1
    from llmkube_tui.backend.target import Target
    from llmkube_tui.ui.app import LlmkubeApp

    LlmkubeApp(Target(args.kubeconfig, args.context), namespace_filter=args.filter).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
