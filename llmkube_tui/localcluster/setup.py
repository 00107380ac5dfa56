"""API-side set-up of the local node: storage, readiness, GPUs."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import NotFound
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.node import HOSTPATH_PV_DIR, NODE_NAME

FAKE_GPUS = "2"
STORAGE_CLASS = "local-hostpath"


def _connect(kubeconfig: Path) -> Connection:
    return Connection.open(Target(str(kubeconfig)))


def prepare_node(kubeconfig: Path, deadline: float, since: datetime) -> None:
    """A default StorageClass that provisions and accepts resizes, the node
    Ready (as reported by this kubelet, after `since`), and GPUs it does not
    have, so GPU requests schedule."""
    conn = _connect(kubeconfig)
    conn.create(
        "/apis/storage.k8s.io/v1/storageclasses",
        {
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubernetes.io/host-path",
            "allowVolumeExpansion": True,
            "reclaimPolicy": "Delete",
        },
        exist_ok=True,
    )
    while not node_ready(conn, since):
        if time.monotonic() > deadline:
            raise TimeoutError(f"node {NODE_NAME} not Ready in time")
        time.sleep(0.2)
    # The kubelet keeps an extended resource that it does not manage itself,
    # and derives allocatable from it.
    conn.request(
        "PATCH",
        f"/api/v1/nodes/{NODE_NAME}/status",
        body={"status": {"capacity": {"nvidia.com/gpu": FAKE_GPUS}}},
        content_type="application/merge-patch+json",
    )
    while True:
        node = conn.get(f"/api/v1/nodes/{NODE_NAME}")
        if node["status"].get("allocatable", {}).get("nvidia.com/gpu") == FAKE_GPUS:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("node does not advertise nvidia.com/gpu")
        time.sleep(0.2)


def node_ready(conn: Connection, since: datetime) -> bool:
    """Ready, with a heartbeat newer than `since`: after a restart the node
    object still says Ready from the kubelet's previous life."""
    try:
        node = conn.get(f"/api/v1/nodes/{NODE_NAME}")
    except NotFound:
        return False
    for c in node.get("status", {}).get("conditions") or []:
        if c["type"] == "Ready" and c["status"] == "True":
            beat = datetime.fromisoformat(c["lastHeartbeatTime"].replace("Z", "+00:00"))
            return beat >= since.replace(microsecond=0)
    return False


def hostpath_volumes(kubeconfig: Path) -> list[Path]:
    """The provisioner's directories that belong to this cluster's volumes;
    other clusters on the machine share the parent directory."""
    pvs = _connect(kubeconfig).get("/api/v1/persistentvolumes").get("items", [])
    found = []
    for pv in pvs:
        path = (pv["spec"].get("hostPath") or {}).get("path", "")
        if path.startswith(str(HOSTPATH_PV_DIR) + "/"):
            found.append(Path(path))
    return found
