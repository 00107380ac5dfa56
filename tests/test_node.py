"""The node is real: Jobs, dynamic PVCs, read-only mounts, GPUs, termination
messages, logs, all through a kubelet and containerd on this machine."""

from __future__ import annotations

import pytest

from llmkube_tui.backend.connection import Connection
from llmkube_tui.localcluster.images import PYTHON_IMAGE

from .kube import phase, pod, wait_for

NS = "node-smoke"


@pytest.fixture(scope="module")
def ns(node: Connection) -> str:
    node.create("/api/v1/namespaces", {"metadata": {"name": NS}}, exist_ok=True)
    return NS


def test_job_writes_into_dynamic_pvc_and_reader_mounts_read_only(node: Connection, ns: str):
    base = f"/api/v1/namespaces/{ns}"
    node.create(
        f"{base}/persistentvolumeclaims",
        {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    writer = pod(
        "writer",
        ["python3", "-c", "open('/data/hello.txt','w').write('from the job')"],
        PYTHON_IMAGE,
        volumes=[volume],
        container={"volumeMounts": [{"name": "data", "mountPath": "/data"}]},
    )
    node.create(
        f"/apis/batch/v1/namespaces/{ns}/jobs",
        {
            "metadata": {"name": "writer"},
            "spec": {"backoffLimit": 0, "template": {"spec": writer["spec"]}},
        },
    )
    job = wait_for(
        node,
        f"/apis/batch/v1/namespaces/{ns}/jobs/writer",
        lambda j: j.get("status", {}).get("succeeded") == 1 or j.get("status", {}).get("failed"),
        timeout=90,
    )
    assert job["status"].get("succeeded") == 1
    assert node.get(f"{base}/persistentvolumeclaims/data")["status"]["phase"] == "Bound"

    script = (
        "import sys\n"
        "print(open('/data/hello.txt').read())\n"
        "try:\n"
        "    open('/data/hello.txt','a').write('x')\n"
        "except OSError as e:\n"
        "    print('write refused:', e.strerror)\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    reader = pod(
        "reader",
        ["python3", "-c", script],
        PYTHON_IMAGE,
        volumes=[{**volume, "persistentVolumeClaim": {"claimName": "data", "readOnly": True}}],
        container={"volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}]},
    )
    node.create(f"{base}/pods", reader)
    done = wait_for(node, f"{base}/pods/reader", phase("Succeeded", "Failed"), timeout=60)
    log = node.text(f"{base}/pods/reader/log")
    assert "from the job" in log
    assert "write refused: Read-only file system" in log
    assert done["status"]["phase"] == "Succeeded"


def test_gpu_requests_schedule_up_to_what_the_node_advertises(node: Connection, ns: str):
    base = f"/api/v1/namespaces/{ns}/pods"
    for name, gpus in (("one-gpu", 1), ("three-gpus", 3)):
        node.create(
            base,
            pod(
                name,
                ["python3", "-c", "import time; time.sleep(600)"],
                PYTHON_IMAGE,
                container={"resources": {"limits": {"nvidia.com/gpu": str(gpus)}}},
            ),
        )
    wait_for(node, f"{base}/one-gpu", phase("Running"), timeout=60)

    def unschedulable(obj):
        conditions = obj.get("status", {}).get("conditions") or []
        return any(c.get("reason") == "Unschedulable" for c in conditions)

    pending = wait_for(node, f"{base}/three-gpus", unschedulable, timeout=60)
    assert pending["status"]["phase"] == "Pending"
    (cond,) = [c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert "Insufficient nvidia.com/gpu" in cond["message"]


def test_termination_message_reaches_pod_status(node: Connection, ns: str):
    base = f"/api/v1/namespaces/{ns}/pods"
    node.create(
        base,
        pod(
            "says-goodbye",
            ["python3", "-c", "open('/dev/termination-log','w').write('{\"result\": \"hit\"}')"],
            PYTHON_IMAGE,
        ),
    )
    done = wait_for(node, f"{base}/says-goodbye", phase("Succeeded", "Failed"), timeout=60)
    (status,) = done["status"]["containerStatuses"]
    assert status["state"]["terminated"]["message"] == '{"result": "hit"}'


def test_pods_reach_nothing_beyond_the_bridge(node_cluster, node: Connection, ns: str):
    """The pod network has no default route: a pod cannot send to any address
    outside its bridge subnet."""
    base = f"/api/v1/namespaces/{ns}/pods"
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 9))\n"  # TEST-NET-1: never routed anywhere
        "    print('routed')\n"
        "except OSError as e:\n"
        "    print('unreachable', e.errno)\n"
    )
    node.create(base, pod("no-route", ["python3", "-c", script], PYTHON_IMAGE))
    wait_for(node, f"{base}/no-route", phase("Succeeded", "Failed"), timeout=60)
    log = node.text(f"{base}/no-route/log")
    assert log.startswith("unreachable"), log
