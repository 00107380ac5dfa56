"""The node's host side: containerd and kubelet configuration, the pod
network, and cleaning up what a kubelet leaves behind (mounts, processes).

Every path lives under the cluster's state directory and every name carries
the cluster's bridge name, so the demo's node and the tests' node coexist,
and neither touches a containerd the machine may already run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from llmkube_tui.localcluster.images import PAUSE_IMAGE

NODE_NAME = "localhost"
HOSTPATH_PV_DIR = Path("/tmp/hostpath_pv")


@dataclass(frozen=True)
class PodNetwork:
    bridge: str
    subnet: str

    @property
    def gateway(self) -> str:
        base = self.subnet.split("/")[0].rsplit(".", 1)[0]
        return f"{base}.1"


@dataclass(frozen=True)
class NodeLayout:
    state_dir: Path

    @property
    def containerd_dir(self) -> Path:
        return self.state_dir / "containerd"

    @property
    def socket(self) -> Path:
        return self.containerd_dir / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.containerd_dir / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state_dir / "cni"

    @property
    def kubelet_dir(self) -> Path:
        return self.state_dir / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.state_dir / "kubelet.yaml"


def write_containerd_config(layout: NodeLayout, network: PodNetwork) -> None:
    d = layout.containerd_dir
    d.mkdir(parents=True, exist_ok=True)
    # restrict_oom_score_adj: this machine's root lacks CAP_SYS_RESOURCE, and
    # runc fails every sandbox when it tries to lower oom_score_adj.
    # netns_mounts_under_state_dir: pod network namespaces stay inside the
    # state directory, where `down` finds and unmounts them.
    layout.containerd_config.write_text(f"""version = 2
root = "{d / "root"}"
state = "{d / "state"}"

[grpc]
  address = "{layout.socket}"

[ttrpc]
  address = "{layout.socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{layout.cni_conf_dir}"
""")
    layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    # No masquerading and no default route: pods reach the bridge subnet and
    # the host's bridge address, and nothing beyond.
    conflist = {
        "cniVersion": "0.4.0",
        "name": network.bridge,
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.subnet, "gateway": network.gateway}]],
                },
            },
            {"type": "loopback"},
        ],
    }
    (layout.cni_conf_dir / "10-llmkube.conflist").write_text(json.dumps(conflist, indent=2))


CGROUP_MOUNT = Path("/sys/fs/cgroup")


def _cgroup_hierarchies() -> list[Path]:
    return [d for d in CGROUP_MOUNT.iterdir() if (d / "cgroup.procs").exists()]


def ensure_cgroup_root(name: str) -> str:
    """A cgroup of this node's own for its pods, in every hierarchy.

    With the default root, two kubelets on one machine (the demo's and the
    tests') each take the other's pod cgroups for orphans and kill them.
    """
    for hierarchy in _cgroup_hierarchies():
        group = hierarchy / name
        group.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            # A new cpuset cgroup starts with no CPUs and no memory nodes.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                if not (group / knob).read_text().strip():
                    (group / knob).write_text((hierarchy / knob).read_text())
    return f"/{name}"


def remove_cgroup_root(name: str) -> None:
    for hierarchy in _cgroup_hierarchies():
        root = hierarchy / name
        if not root.exists():
            continue
        groups = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for group in [*groups, root]:
            with contextlib.suppress(OSError):
                group.rmdir()


def write_kubelet_config(
    layout: NodeLayout,
    ca: Path,
    cert: Path,
    key: Path,
    port: int,
    healthz_port: int,
    cgroup_root: str,
) -> None:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": port,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "readOnlyPort": 0,
        "tlsCertFile": str(cert),
        "tlsPrivateKeyFile": str(key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{layout.socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        # The machine mounts cgroup v1 with a v2 hierarchy beside it.
        "failCgroupV1": False,
        "failSwapOn": False,
        # A test machine's disk and memory must never evict the pods under test.
        "evictionHard": {},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "enforceNodeAllocatable": [],
        "podLogsDir": str(layout.state_dir / "pod-logs"),
        "clusterDomain": "cluster.local",
        "serializeImagePulls": False,
        "syncFrequency": "5s",
        "fileCheckFrequency": "5s",
        "nodeStatusUpdateFrequency": "5s",
    }
    layout.kubelet_config.write_text(yaml.safe_dump(config))


# -- clean-up ---------------------------------------------------------------
def mounts_under(root: Path) -> list[str]:
    """Mount points below `root`, deepest first, so each unmount succeeds."""
    prefix = str(root.resolve())
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def unmount_all(root: Path) -> None:
    # Several rounds: the kubelet bind-mounts its root dir onto itself, and
    # a mount can hide another one at the same point.
    for _ in range(5):
        points = mounts_under(root)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", "-l", point], capture_output=True)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def kill_tree(pid: int) -> None:
    tree = _children()
    stack, victims = [pid], []
    while stack:
        current = stack.pop()
        victims.append(current)
        stack.extend(tree.get(current, []))
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def kill_shims(socket: Path) -> None:
    """containerd's shims (and the containers under them) outlive containerd;
    find the ones started for this cluster's socket and end them."""
    needle = str(socket).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and needle in cmdline:
            kill_tree(int(entry))


def ensure_bridge(network: PodNetwork) -> None:
    """Create the pod bridge with its gateway address before the first pod
    does (the CNI plugin adopts it), so that a test's HTTP origin can bind
    to the bridge address, the one place both the host and pods reach."""
    prefix = network.subnet.split("/")[1]
    subprocess.run(["ip", "link", "add", network.bridge, "type", "bridge"], capture_output=True)
    subprocess.run(
        ["ip", "addr", "replace", f"{network.gateway}/{prefix}", "dev", network.bridge],
        check=True,
        capture_output=True,
    )
    subprocess.run(["ip", "link", "set", network.bridge, "up"], check=True, capture_output=True)


def delete_bridge(network: PodNetwork) -> None:
    subprocess.run(["ip", "link", "delete", network.bridge], capture_output=True)
