"""Which cluster to talk to, as the operator named it on the command line.

Kept apart from the connection so that naming a target does not import the
kubernetes client (a second of start-up)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    kubeconfig: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class KubeContexts:
    """The contexts a kubeconfig names, and the one it makes current."""

    names: tuple[str, ...]
    current: str
