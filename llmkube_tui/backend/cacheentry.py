"""One entry of a cache volume, as a scan pod found it, joined with the
objects that use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CacheEntry:
    namespace: str
    key: str
    size: int
    state: str  # complete, partial, corrupt, locked, orphan
    source: str
    file: str
    last_used: str
    users: tuple[str, ...]  # "Model/x", "InferenceService/y", "Deployment/z"
    downloaded: int = 0  # bytes present of a partial download
    expected: int = 0  # the partial download's full size, when known
    sha256: str = ""

    @property
    def percent(self) -> int | None:
        """How far a partial download is, in whole percent (never 100 before
        it is done)."""
        if not self.expected:
            return None
        return min(99, self.downloaded * 100 // self.expected)

    @property
    def in_use_by_service(self) -> bool:
        return any(not u.startswith("Model/") for u in self.users)

    @classmethod
    def from_scan(cls, namespace: str, doc: dict[str, Any], users: tuple[str, ...]) -> CacheEntry:
        meta = doc.get("metadata") or {}
        state = str(doc.get("state", "partial"))
        if state == "complete" and not users:
            state = "orphan"
        partial = doc.get("partial") or []
        return cls(
            namespace=namespace,
            key=str(doc["key"]),
            size=int(doc.get("size") or doc.get("bytes_on_disk") or 0),
            state=state,
            source=str(meta.get("source") or ""),
            file=str(doc.get("file") or ""),
            last_used=str(meta.get("last_used") or ""),
            users=users,
            downloaded=sum(int(p.get("bytes") or 0) for p in partial),
            expected=max((int(p.get("size") or 0) for p in partial), default=0),
            sha256=str(meta.get("sha256") or ""),
        )
