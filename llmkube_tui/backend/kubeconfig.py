"""The common kubeconfig, read without the kubernetes client.

Importing the client takes 0.4 s here, and the dashboard's first list waits
for it. Most kubeconfigs name a server, a CA and a client certificate or a
token: those are read here, with kubectl's rules (the current context,
paths relative to the file). Anything else (exec plugins, auth providers,
a proxy, impersonation, several files in KUBECONFIG, in-cluster) gives
None, and the caller uses the client, which knows them all.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmkube_tui.backend.target import Target

_CLUSTER_KEYS = {
    "server",
    "certificate-authority",
    "certificate-authority-data",
    "insecure-skip-tls-verify",
    "tls-server-name",
}
_USER_KEYS = {
    "token",
    "tokenFile",
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
}


@dataclass(frozen=True)
class ClusterAccess:
    context: str
    server: str
    namespace: str
    ca: bytes | None  # PEM
    cert: bytes | None  # PEM
    key: bytes | None  # PEM
    token: str | None
    insecure: bool
    server_name: str | None


def _named(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    for item in doc.get(kind) or []:
        if isinstance(item, dict) and item.get("name") == name:
            inner = item.get(kind.removesuffix("s"))
            return inner if isinstance(inner, dict) else None
    return None


def _pem(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    """`key`-data (base64) or the file `key` names, relative to the kubeconfig."""
    if section.get(f"{key}-data"):
        return base64.b64decode(section[f"{key}-data"])
    if section.get(key):
        return (base / os.path.expanduser(str(section[key]))).read_bytes()
    return None


def simple_access(target: Target) -> ClusterAccess | None:
    """How to reach the target's cluster, when its kubeconfig is one of the
    common kind; None otherwise (and on any doubt)."""
    path = target.kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube/config")
    if os.pathsep in path:
        return None
    try:
        file = Path(os.path.expanduser(path))
        doc = yaml.safe_load(file.read_text())
        if not isinstance(doc, dict):
            return None
        name = target.context or doc.get("current-context")
        context = _named(doc, "contexts", str(name)) if name else None
        if context is None:
            return None
        cluster = _named(doc, "clusters", str(context.get("cluster")))
        user = _named(doc, "users", str(context.get("user"))) or {}
        if cluster is None or set(cluster) - _CLUSTER_KEYS or set(user) - _USER_KEYS:
            return None
        base = file.parent
        token = user.get("token")
        if token is None and user.get("tokenFile"):
            token = (base / str(user["tokenFile"])).read_text().strip()
        cert, key = _pem(user, "client-certificate", base), _pem(user, "client-key", base)
        if (cert is None) != (key is None):
            return None
        server = str(cluster["server"]).rstrip("/")
        if not server.startswith("https://"):
            return None
        return ClusterAccess(
            context=str(name),
            server=server,
            namespace=str(context.get("namespace") or "default"),
            ca=_pem(cluster, "certificate-authority", base),
            cert=cert,
            key=key,
            token=str(token) if token else None,
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            server_name=cluster.get("tls-server-name"),
        )
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return None
