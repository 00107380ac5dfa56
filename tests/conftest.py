"""Session fixtures: real etcd and kube-apiserver processes, built from source.

Two clusters run side by side: one with LLMKube's CRDs installed, one
without, so both of the tool's modes meet a real API server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.cluster import TEST_NETWORK, LocalCluster, Ports
from llmkube_tui.localcluster.node import PodNetwork
from llmkube_tui.localcluster.seed import install_crds

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO.parent / "shared" / "llmkube-crds"
RESTRICTED_NAMESPACE = "team-a"


def _node_network() -> PodNetwork:
    # Two test runs on one machine (two developers, or a run beside a bench)
    # must not share a bridge: a node cluster stops any stale one on its own
    # network. LLMKUBE_TUI_TEST_NETWORK=name:cidr gives a run its own.
    spec = os.environ.get("LLMKUBE_TUI_TEST_NETWORK")
    if not spec:
        return TEST_NETWORK
    name, _, cidr = spec.partition(":")
    return PodNetwork(name, cidr)


def _start(state_dir: Path) -> LocalCluster:
    cluster = LocalCluster(state_dir, Ports.ephemeral())
    cluster.up()
    return cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The control plane with LLMKube's CRDs installed."""
    cluster = _start(tmp_path_factory.mktemp("crd-cluster"))
    try:
        install_crds(Connection.open(Target(str(cluster.kubeconfig))), CRDS)
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def bare_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The control plane without LLMKube: standalone mode's world."""
    cluster = _start(tmp_path_factory.mktemp("bare-cluster"))
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A one-node cluster whose pods really run (kubelet, containerd, runc),
    with LLMKube's CRDs. Only tests that need pods ask for it."""
    cluster = LocalCluster(
        tmp_path_factory.mktemp("node-cluster"),
        Ports.ephemeral(),
        node=True,
        network=_node_network(),
    )
    try:
        cluster.up(timeout=300)
        install_crds(Connection.open(Target(str(cluster.kubeconfig))), CRDS)
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def node(node_cluster: LocalCluster) -> Connection:
    return Connection.open(Target(str(node_cluster.kubeconfig)))


@pytest.fixture(scope="session")
def kubeconfig(cluster: LocalCluster) -> Path:
    return cluster.kubeconfig


@pytest.fixture(scope="session")
def admin(kubeconfig: Path) -> Connection:
    return Connection.open(Target(str(kubeconfig)))


@pytest.fixture(scope="session")
def restricted_kubeconfig(cluster: LocalCluster, admin: Connection) -> Path:
    """A user whom RBAC allows to read and write only in namespace team-a."""
    ns = RESTRICTED_NAMESPACE
    admin.create("/api/v1/namespaces", {"metadata": {"name": ns}}, exist_ok=True)
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    admin.create(
        f"{rbac}/roles",
        {
            "metadata": {"name": "llmkube-user"},
            "rules": [
                {
                    "apiGroups": ["", "apps", "batch", "inference.llmkube.dev"],
                    "resources": [
                        "persistentvolumeclaims",
                        "pods",
                        "pods/log",
                        "configmaps",
                        "services",
                        "deployments",
                        "jobs",
                        "models",
                        "inferenceservices",
                    ],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                }
            ],
        },
        exist_ok=True,
    )
    admin.create(
        f"{rbac}/rolebindings",
        {
            "metadata": {"name": "llmkube-user"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "llmkube-user",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}
            ],
        },
        exist_ok=True,
    )
    return cluster.user_kubeconfig("alice", namespace=ns)
