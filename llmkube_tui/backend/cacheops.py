"""Operations on a namespace's model cache: list, clear, resize, verify.

Anything that reads or changes files goes through a short-lived pod that
runs the fetcher against the volume, so it works on any cluster, with any
storage, without a node-level agent.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from llmkube_tui.backend.cacheentry import CacheEntry
from llmkube_tui.backend.cachepods import run_fetcher_pod
from llmkube_tui.backend.cachevolume import CLAIM_NAME, CacheVolume
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import KEY_LABEL
from llmkube_tui.backend.errors import (
    BackendError,
    Busy,
    Failed,
    Forbidden,
    Invalid,
    NotFound,
)
from llmkube_tui.backend.inventory import (
    list_cache_volumes,
    list_inference_services,
    list_models,
)
from llmkube_tui.backend.quantity import parse_quantity
from llmkube_tui.cachekey import is_cache_key

# The fetcher's exit codes (documented in fetcher.py).
EXIT_INTEGRITY = 4
EXIT_LOCKED = 7


@dataclass(frozen=True)
class CacheListing:
    namespace: str
    volume: CacheVolume | None
    entries: tuple[CacheEntry, ...] = ()
    error: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def users_by_key(conn: Connection, namespace: str) -> dict[str, list[str]]:
    """Which Models, InferenceServices and our Deployments use each key."""
    users: dict[str, list[str]] = defaultdict(list)
    models = list_models(conn, namespace)
    key_of_model = {m.name: m.cache_key for m in models.items}
    for m in models.items:
        users[m.cache_key].append(f"Model/{m.name}")
    for s in list_inference_services(conn, namespace).items:
        if s.model in key_of_model:
            users[key_of_model[s.model]].append(f"InferenceService/{s.name}")
    deployments = conn.get(
        f"/apis/apps/v1/namespaces/{namespace}/deployments", query={"labelSelector": KEY_LABEL}
    )
    for d in deployments.get("items", []):
        key = d["metadata"]["labels"][KEY_LABEL]
        users[key].append(f"Deployment/{d['metadata']['name']}")
    return users


def _volume(conn: Connection, namespace: str) -> CacheVolume | None:
    try:
        return CacheVolume.from_api(
            conn.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{CLAIM_NAME}")
        )
    except NotFound:
        return None


def list_entries(
    conn: Connection, config: Config, namespace: str, *, timeout: float = 300.0
) -> CacheListing:
    """`timeout` bounds the scan pod's life: the dashboard gives up sooner
    than a script, where no node can run it."""
    volume = _volume(conn, namespace)
    if volume is None:
        return CacheListing(namespace, None)
    run = run_fetcher_pod(conn, config, namespace, "scan", [], read_only=True, timeout=timeout)
    if run.exit_code != 0:
        raise Failed(f"scan of {namespace} failed: {run.result.get('error') or run.log[-300:]}")
    users = users_by_key(conn, namespace)
    entries = tuple(
        CacheEntry.from_scan(namespace, doc, tuple(users.get(doc["key"], ())))
        for doc in run.result.get("entries", [])
        if doc.get("is_key", True)
    )
    return CacheListing(namespace, volume, entries)


def list_all(conn: Connection, config: Config, parallel: int = 8) -> list[CacheListing]:
    """Every namespace with a cache volume, scanned in parallel: unlike
    LLMKube's `-A`, the volumes are really read."""
    namespaces = sorted({v.namespace for v in list_cache_volumes(conn).items})

    def scan(ns: str) -> CacheListing:
        try:
            return list_entries(conn, config, ns)
        except BackendError as err:
            return CacheListing(ns, None, (), str(err))

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(scan, namespaces))


@dataclass(frozen=True)
class ClearResult:
    namespace: str
    removed: tuple[str, ...]
    bytes_freed: int
    skipped: tuple[str, ...] = field(default_factory=tuple)


def resolve_keys(
    conn: Connection, namespace: str, *, key: str | None, model: str | None
) -> list[str] | None:
    """The keys an operator named; None means every entry."""
    if key:
        if not is_cache_key(key):
            raise Invalid(f"not a cache key: {key!r} (16 lower-case hex characters)")
        return [key]
    if model:
        for m in list_models(conn, namespace).items:
            if m.name == model:
                return [m.cache_key]
        deployment = conn.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{model}")
        labels = deployment["metadata"].get("labels") or {}
        if KEY_LABEL not in labels:
            raise NotFound(f"{model} in {namespace} does not use the model cache")
        return [labels[KEY_LABEL]]
    return None


def clear(
    conn: Connection,
    config: Config,
    namespace: str,
    *,
    key: str | None = None,
    model: str | None = None,
    keys: Sequence[str] | None = None,
    force: bool = False,
) -> ClearResult:
    """Remove the entry of `key` or `model`, exactly `keys` (what a
    confirmation listed), or every entry when none of them is given."""
    listing = list_entries(conn, config, namespace)
    if listing.volume is None:
        raise NotFound(f"namespace {namespace} has no model cache volume")
    wanted = list(keys) if keys is not None else resolve_keys(conn, namespace, key=key, model=model)
    entries = {e.key: e for e in listing.entries}
    targets = list(entries) if wanted is None else wanted
    missing = [k for k in targets if k not in entries]
    if wanted is not None and missing:
        raise NotFound(f"no cache entry {', '.join(missing)} in {namespace}")
    busy = [k for k in targets if entries[k].in_use_by_service]
    if busy and not force:
        users = "; ".join(f"{k}: {', '.join(entries[k].users)}" for k in busy)
        raise Busy(f"in use by running services ({users}); pass --force to remove anyway")
    removed, skipped, freed = [], [], 0
    for k in targets:
        run = run_fetcher_pod(
            conn,
            config,
            namespace,
            "remove",
            [k, *(["--force"] if force else [])],
            read_only=False,
        )
        if run.exit_code == EXIT_LOCKED:
            skipped.append(f"{k}: {run.result.get('error', 'being downloaded')}")
            continue
        if run.exit_code != 0:
            raise Failed(f"removing {k} failed: {run.result.get('error') or run.log[-300:]}")
        removed.append(k)
        freed += int(run.result.get("bytes_freed") or entries[k].size)
    if skipped and not removed:
        raise Busy("; ".join(skipped) + " (pass --force to remove anyway)")
    return ClearResult(namespace, tuple(removed), freed, tuple(skipped))


@dataclass(frozen=True)
class VerifyResult:
    namespace: str
    key: str
    ok: bool
    sha256: str
    detail: str


# key about to be checked, entries checked so far, entries in all
VerifyProgress = Callable[[str, int, int], None]


def verify(
    conn: Connection,
    config: Config,
    namespace: str,
    *,
    key: str | None,
    model: str | None,
    on_progress: VerifyProgress | None = None,
    cancel: threading.Event | None = None,
) -> list[VerifyResult]:
    listing = list_entries(conn, config, namespace)
    listing_sources = {e.key: e.source for e in listing.entries}
    wanted = resolve_keys(conn, namespace, key=key, model=model)
    keys = wanted if wanted is not None else list(listing_sources)
    results: list[VerifyResult] = []
    for k in keys:
        # Between entries only: a hash under way finishes in its pod anyway.
        if cancel is not None and cancel.is_set():
            raise Failed(f"verify cancelled after {len(results)} of {len(keys)} entries")
        if on_progress is not None:
            on_progress(k, len(results), len(keys))
        run = run_fetcher_pod(conn, config, namespace, "verify", [k], read_only=False, timeout=3600)
        doc = run.result
        if run.exit_code == 0:
            results.append(VerifyResult(namespace, k, True, str(doc.get("sha256") or ""), "ok"))
        elif run.exit_code == EXIT_INTEGRITY:
            results.append(
                VerifyResult(
                    namespace,
                    k,
                    False,
                    str(doc.get("sha256") or ""),
                    f"corrupt: {doc.get('error') or 'sha256 mismatch'}; it is never served; "
                    f"the next pod start downloads it again, or now: "
                    f"llmkube-tui cache preload {_source_of(listing_sources, k)} -n {namespace}",
                )
            )
        else:
            raise Failed(f"verify of {k} failed: {doc.get('error') or run.log[-300:]}")
    return results


def _source_of(sources: dict[str, str], key: str) -> str:
    return sources.get(key) or f"<source of {key}>"


@dataclass(frozen=True)
class ResizeResult:
    namespace: str
    old: str
    new: str
    conditions: tuple[str, ...]
    events: tuple[str, ...]


@dataclass(frozen=True)
class ResizeBounds:
    """What a resize of a namespace's cache volume may ask, read before
    asking, so that a form can show it and check a size as it is typed."""

    namespace: str
    requested: str  # the claim's request as written, such as "2Gi"
    capacity: str  # what the bound volume provides; empty before binding
    phase: str
    storage_class: str
    refusal: str = ""  # why no size is allowed now; empty when one is

    def check(self, size: str) -> int:
        """The bytes of `size`, or Invalid saying why it is not allowed."""
        try:
            wanted = parse_quantity(size)
        except ValueError as err:
            raise Invalid(str(err)) from err
        if self.refusal:
            raise Invalid(self.refusal)
        old = self.requested
        if wanted < parse_quantity(old):
            raise Invalid(
                f"cannot shrink the cache volume from {old} to {size}: Kubernetes forbids it"
            )
        if wanted == parse_quantity(old):
            raise Invalid(f"the cache volume already requests {old}")
        return wanted


def resize_bounds(conn: Connection, namespace: str) -> ResizeBounds:
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{CLAIM_NAME}"
    try:
        pvc = conn.get(path)
    except NotFound as err:
        raise NotFound(f"namespace {namespace} has no model cache volume") from err
    phase = pvc.get("status", {}).get("phase", "Pending")
    sc_name = pvc["spec"].get("storageClassName") or ""
    refusal = ""
    if phase != "Bound":
        # Kubernetes accepts a new size only on a bound claim.
        refusal = f"the cache volume in {namespace} is {phase}, not Bound; resize it once bound"
    elif sc_name:
        sc: dict[str, Any] = {"allowVolumeExpansion": True}
        # A namespace-only user may not read storage classes; the API server's
        # own admission check still refuses an expansion the class forbids.
        with contextlib.suppress(Forbidden):
            sc = conn.get(f"/apis/storage.k8s.io/v1/storageclasses/{sc_name}")
        if not sc.get("allowVolumeExpansion"):
            refusal = (
                f"storage class {sc_name} does not allow volume expansion "
                "(allowVolumeExpansion is not true)"
            )
    return ResizeBounds(
        namespace,
        requested=pvc["spec"]["resources"]["requests"]["storage"],
        capacity=pvc.get("status", {}).get("capacity", {}).get("storage", ""),
        phase=phase,
        storage_class=sc_name,
        refusal=refusal,
    )


def resize(conn: Connection, namespace: str, size: str) -> ResizeResult:
    try:
        parse_quantity(size)
    except ValueError as err:
        raise Invalid(str(err)) from err
    bounds = resize_bounds(conn, namespace)
    bounds.check(size)
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{CLAIM_NAME}"
    conn.request(
        "PATCH",
        path,
        body={"spec": {"resources": {"requests": {"storage": size}}}},
        content_type="application/merge-patch+json",
    )
    current = conn.get(path)
    conditions = tuple(
        f"{c['type']}={c['status']}" + (f" ({c.get('message')})" if c.get("message") else "")
        for c in current.get("status", {}).get("conditions") or []
    )
    events = conn.get(
        f"/api/v1/namespaces/{namespace}/events",
        query={"fieldSelector": f"involvedObject.name={CLAIM_NAME}"},
    )["items"]
    return ResizeResult(
        namespace,
        bounds.requested,
        size,
        conditions,
        tuple(f"{e.get('reason')}: {e.get('message')}" for e in events[-5:]),
    )
