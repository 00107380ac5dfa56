"""Start, stop and inspect the local cluster's processes.

One state directory holds everything of one cluster: certificates, etcd data,
logs, pid files and the ports in use. The demo and the test fixtures use
different state directories and ports, so neither disturbs the other.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import yaml

from llmkube_tui.localcluster.build import bin_dir, binary, ensure_built
from llmkube_tui.localcluster.images import import_images
from llmkube_tui.localcluster.node import (
    HOSTPATH_PV_DIR,
    NODE_NAME,
    NodeLayout,
    PodNetwork,
    delete_bridge,
    ensure_bridge,
    ensure_cgroup_root,
    kill_shims,
    remove_cgroup_root,
    unmount_all,
    write_containerd_config,
    write_kubelet_config,
)
from llmkube_tui.localcluster.pki import KeyPair, Pki
from llmkube_tui.localcluster.setup import hostpath_volumes, prepare_node

DEMO_STATE_DIR = Path(os.environ.get("LLMKUBE_TUI_STATE", "/var/lib/llmkube-tui/demo"))
SERVICE_CIDR = "10.0.0.0/24"
DEMO_NETWORK = PodNetwork("llmk-demo", "10.88.0.0/16")
TEST_NETWORK = PodNetwork("llmk-test", "10.89.0.0/16")


class LocalClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Ports:
    apiserver: int = 16443
    etcd_client: int = 12379
    etcd_peer: int = 12380
    controller_manager: int = 20257
    scheduler: int = 20259
    kubelet: int = 20250
    kubelet_healthz: int = 20248
    origin: int = 20280

    @classmethod
    def ephemeral(cls) -> Ports:
        return cls(**{f.name: free_port() for f in fields(cls)})


@dataclass
class Component:
    name: str
    argv: list[str]
    ready: Callable[[], bool] = field(repr=False)
    # Runs once the component is ready, before the next one starts.
    after_ready: Callable[[], None] | None = field(default=None, repr=False)


class LocalCluster:
    """etcd and kube-apiserver on 127.0.0.1 with TLS, client certificates and
    RBAC; with `node`, also a controller manager, a scheduler, containerd and a
    kubelet, so that pods really run.
    """

    def __init__(
        self,
        state_dir: Path = DEMO_STATE_DIR,
        ports: Ports | None = None,
        node: bool = False,
        network: PodNetwork = DEMO_NETWORK,
    ) -> None:
        self.state_dir = state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True)
        saved = self._saved_ports()
        self.ports = ports or saved or Ports()
        self.node = node
        self.network = network
        self.layout = NodeLayout(self.state_dir)
        self.pki = Pki(self.state_dir / "pki")
        self.run_dir = self.state_dir / "run"
        self.log_dir = self.state_dir / "logs"
        self.kubeconfig = self.state_dir / "admin.kubeconfig"
        self.admin = self.pki.issue("admin", "admin", ("system:masters",))

    # -- layout ---------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    def _saved_ports(self) -> Ports | None:
        path = self.state_dir / "cluster.json"
        if not path.exists():
            return None
        try:
            return Ports(**json.loads(path.read_text())["ports"])
        except (ValueError, KeyError, TypeError):
            return None

    def _save(self) -> None:
        (self.state_dir / "cluster.json").write_text(json.dumps({"ports": asdict(self.ports)}))

    def components(self) -> list[Component]:
        control_plane = [self._etcd(), self._apiserver()]
        if not self.node:
            return control_plane
        return [
            *control_plane,
            self._controller_manager(),
            self._volume_permissions(),
            self._scheduler(),
            self._containerd(),
            self._kubelet(),
            self._origin(),
        ]

    def _etcd(self) -> Component:
        p = self.ports
        peer = f"http://127.0.0.1:{p.etcd_peer}"
        client = f"http://127.0.0.1:{p.etcd_client}"
        argv = [
            str(binary("etcd")),
            "--name",
            "default",
            "--data-dir",
            str(self.state_dir / "etcd"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"default={peer}",
            # Test and demo data are disposable; fsync would dominate start-up.
            "--unsafe-no-fsync",
            "--log-level",
            "warn",
        ]
        return Component("etcd", argv, lambda: self._http_ok(p.etcd_client, "/health"))

    def _apiserver(self) -> Component:
        pki = self.pki
        serving = pki.issue(
            "apiserver",
            "kube-apiserver",
            server=True,
            sans=(
                "IP:127.0.0.1",
                "IP:10.0.0.1",
                "DNS:localhost",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
            ),
        )
        kubelet_client = pki.issue(
            "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)
        )
        sa = pki.service_account_key()
        argv = [
            str(binary("kube-apiserver")),
            "--etcd-servers",
            f"http://127.0.0.1:{self.ports.etcd_client}",
            "--bind-address",
            "127.0.0.1",
            "--advertise-address",
            "127.0.0.1",
            "--secure-port",
            str(self.ports.apiserver),
            "--tls-cert-file",
            str(serving.cert),
            "--tls-private-key-file",
            str(serving.key),
            "--client-ca-file",
            str(pki.ca.cert),
            "--service-account-key-file",
            str(sa.cert),
            "--service-account-signing-key-file",
            str(sa.key),
            "--service-account-issuer",
            "https://kubernetes.default.svc",
            "--authorization-mode",
            "Node,RBAC",
            "--service-cluster-ip-range",
            SERVICE_CIDR,
            "--kubelet-client-certificate",
            str(kubelet_client.cert),
            "--kubelet-client-key",
            str(kubelet_client.key),
            "--allow-privileged",
            "--profiling=false",
        ]
        return Component("kube-apiserver", argv, self._apiserver_ready)

    def _client_kubeconfig(self, name: str, user: str, groups: tuple[str, ...] = ()) -> Path:
        path = self.state_dir / f"{name}.kubeconfig"
        if not path.exists():
            self.write_kubeconfig(path, user, self.pki.issue(name, user, groups))
        return path

    def _control_loop_argv(self, name: str, user: str, port: int) -> list[str]:
        """What the controller manager and the scheduler share: their own
        client certificate for everything, and a loopback serving port."""
        kubeconfig = str(self._client_kubeconfig(name, user))
        return [
            str(binary(name)),
            "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig,
            "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1",
            "--secure-port", str(port),
            "--leader-elect=false",
        ]  # fmt: skip

    def _controller_manager(self) -> Component:
        port = self.ports.controller_manager
        common = self._control_loop_argv(
            "kube-controller-manager", "system:kube-controller-manager", port
        )
        argv = [
            *common,
            "--cert-dir", str(self.state_dir / "kcm-certs"),
            "--use-service-account-credentials",
            # The host-path provisioner gives PVCs real directories on this
            # machine; nothing else provisions volumes here.
            "--enable-hostpath-provisioner",
            "--controllers", "*",
            "--root-ca-file", str(self.pki.ca.cert),
            "--service-account-private-key-file", str(self.pki.service_account_key().key),
            "--cluster-signing-cert-file", str(self.pki.ca.cert),
            "--cluster-signing-key-file", str(self.pki.ca.key),
        ]  # fmt: skip
        return Component("kube-controller-manager", argv, lambda: self._https_ok(port, "/healthz"))

    def _write_kubelet_config(self) -> None:
        serving = self.pki.issue(
            "kubelet-serving", NODE_NAME, server=True, sans=("IP:127.0.0.1", "DNS:localhost")
        )
        write_kubelet_config(
            self.layout,
            self.pki.ca.cert,
            serving.cert,
            serving.key,
            self.ports.kubelet,
            self.ports.kubelet_healthz,
            ensure_cgroup_root(self.network.bridge),
        )

    def _volume_permissions(self) -> Component:
        argv = [sys.executable, "-m", "llmkube_tui.localcluster.volumeperms", str(HOSTPATH_PV_DIR)]
        return Component("volume-permissions", argv, lambda: True)

    @property
    def origin_dir(self) -> Path:
        return self.state_dir / "origin"

    @property
    def origin_url(self) -> str:
        """Where pods download what is put in origin_dir: the demo's model host."""
        return f"http://{self.network.gateway}:{self.ports.origin}"

    def _origin(self) -> Component:
        self.origin_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "llmkube_tui.localcluster.origin",
            self.network.gateway,
            str(self.ports.origin),
            str(self.origin_dir),
        ]
        return Component("model-origin", argv, self._origin_ready)

    def _origin_ready(self) -> bool:
        try:
            socket.create_connection((self.network.gateway, self.ports.origin), timeout=1).close()
        except OSError:
            return False
        return True

    def _scheduler(self) -> Component:
        port = self.ports.scheduler
        argv = self._control_loop_argv("kube-scheduler", "system:kube-scheduler", port)
        return Component("kube-scheduler", argv, lambda: self._https_ok(port, "/healthz"))

    def _containerd(self) -> Component:
        argv = ["containerd", "--config", str(self.layout.containerd_config)]
        return Component(
            "containerd",
            argv,
            self._containerd_ready,
            after_ready=lambda: import_images(self.layout.socket),
        )

    def _kubelet(self) -> Component:
        kubeconfig = self._client_kubeconfig(
            "kubelet", f"system:node:{NODE_NAME}", ("system:nodes",)
        )
        argv = [
            str(binary("kubelet")),
            "--kubeconfig",
            str(kubeconfig),
            "--config",
            str(self.layout.kubelet_config),
            "--root-dir",
            str(self.layout.kubelet_dir),
            "--cert-dir",
            str(self.layout.kubelet_dir / "pki"),
            # The kubelet refuses a loopback node IP; named localhost, it is
            # reached by the API server through its Hostname address instead.
            "--hostname-override",
            NODE_NAME,
        ]
        ports = self.ports
        return Component("kubelet", argv, lambda: self._http_ok(ports.kubelet_healthz, "/healthz"))

    # -- probes ---------------------------------------------------------
    def _https_ok(self, port: int, path: str) -> bool:
        # The component's serving certificate is self-signed; this is a
        # liveness probe on loopback, not a trust decision.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return _get_ok(http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=ctx), path)

    def _containerd_ready(self) -> bool:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(self.layout.socket))
            except OSError:
                return False
        return True

    def _http_ok(self, port: int, path: str) -> bool:
        return _get_ok(http.client.HTTPConnection("127.0.0.1", port, timeout=2), path)

    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca.cert))
        ctx.load_cert_chain(str(self.admin.cert), str(self.admin.key))
        return ctx

    def _apiserver_ready(self) -> bool:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.ports.apiserver, timeout=2, context=self._tls_context()
        )
        return _get_ok(conn, "/readyz")

    # -- processes ------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def _pid(self, component: Component) -> int | None:
        """The pid of this cluster's running copy of the component, if any.

        A pid file can outlive its process (kill -9, reboot) and the pid can be
        reused, so the process's command line must still be ours.
        """
        try:
            pid = int(self._pidfile(component.name).read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if cmdline[: len(component.argv)] != [a.encode() for a in component.argv]:
            return None
        return pid

    def _start(self, component: Component) -> subprocess.Popen[bytes]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{component.name}.log", "ab") as log:
            proc = subprocess.Popen(
                component.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: the cluster outlives `llmkube-tui local up`
                # and a terminal's ctrl-c.
                start_new_session=True,
            )
        self._pidfile(component.name).write_text(str(proc.pid))
        return proc

    def _wait_ready(
        self, component: Component, proc: subprocess.Popen[bytes], deadline: float
    ) -> None:
        while time.monotonic() < deadline:
            if component.ready():
                return
            # The child's own exit status, not /proc: right after the fork
            # its command line is still the parent's.
            if proc.poll() is not None:
                raise LocalClusterError(
                    f"{component.name} exited during start-up; see "
                    f"{self.log_dir / (component.name + '.log')}:\n{self._log_tail(component)}"
                )
            time.sleep(0.1)
        raise LocalClusterError(f"{component.name} not ready in time:\n{self._log_tail(component)}")

    def _log_tail(self, component: Component, lines: int = 15) -> str:
        try:
            text = (self.log_dir / f"{component.name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _kill(self, pid: int, grace: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            if _is_zombie(pid):
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    def stop_component(self, name: str, grace: float = 10.0) -> None:
        for component in self.components():
            if component.name == name:
                pid = self._pid(component)
                if pid is not None:
                    self._kill(pid, grace)
                self._pidfile(name).unlink(missing_ok=True)

    def start_component(self, name: str, timeout: float = 60.0) -> None:
        for component in self.components():
            if component.name == name and self._pid(component) is None:
                proc = self._start(component)
                self._wait_ready(component, proc, time.monotonic() + timeout)

    # -- lifecycle ------------------------------------------------------
    def is_up(self) -> bool:
        return all(self._pid(c) is not None and c.ready() for c in self.components())

    def up(self, timeout: float = 120.0) -> Path:
        """Start whatever is not running and return the admin kubeconfig path.

        Running and healthy components are kept, so `up` is cheap when the
        cluster already runs; a component left half-dead by a crash is
        stopped and started again.
        """
        components = self.components()
        ensure_built([c.name for c in components if Path(c.argv[0]).parent == bin_dir()])
        self._save()
        if self.node:
            stop_stale_clusters(self.network, self.state_dir)
            write_containerd_config(self.layout, self.network)
            self._write_kubelet_config()
            ensure_bridge(self.network)
            if not self._running("kubelet"):
                # What a crashed kubelet or containerd left behind: stale
                # mounts under its root dir, shims and their containers.
                kill_shims(self.layout.socket)
                unmount_all(self.layout.kubelet_dir)
                unmount_all(self.layout.containerd_dir)
        deadline = time.monotonic() + timeout
        started = datetime.now(timezone.utc)
        for component in components:
            pid = self._pid(component)
            if pid is not None and component.ready():
                continue
            if pid is not None:
                self._kill(pid, 5)
            proc = self._start(component)
            self._wait_ready(component, proc, deadline)
            if component.after_ready:
                component.after_ready()
        self.write_kubeconfig(self.kubeconfig, "admin", self.admin)
        if self.node:
            prepare_node(self.kubeconfig, deadline, started)
        return self.kubeconfig

    def _running(self, name: str) -> bool:
        return any(c.name == name and self._pid(c) is not None for c in self.components())

    def down(self) -> None:
        volumes: list[Path] = []
        if self.node and self.is_up():
            # Only a clean-up aid: whatever the API answers, everything stops.
            with contextlib.suppress(Exception):
                volumes = hostpath_volumes(self.kubeconfig)
        for component in reversed(self.components()):
            # The kubelet gets no grace: on SIGTERM it starts tearing pods down
            # one by one, which the clean-up below does at once.
            self.stop_component(component.name, grace=0 if component.name == "kubelet" else 10)
            if component.name == "kubelet":
                kill_shims(self.layout.socket)
        if self.node:
            unmount_all(self.layout.kubelet_dir)
            unmount_all(self.layout.containerd_dir)
            delete_bridge(self.network)
            remove_cgroup_root(self.network.bridge)
            for volume in volumes:
                shutil.rmtree(volume, ignore_errors=True)

    def status(self) -> dict[str, str]:
        result = {}
        for component in self.components():
            if self._pid(component) is None:
                result[component.name] = "stopped"
            else:
                result[component.name] = "ready" if component.ready() else "not ready"
        return result

    # -- kubeconfigs ----------------------------------------------------
    def write_kubeconfig(
        self, path: Path, user: str, pair: KeyPair, namespace: str | None = None
    ) -> Path:
        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        name = "llmkube-local"
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": b64(self.pki.ca.cert),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": b64(pair.cert),
                        "client-key-data": b64(pair.key),
                    },
                }
            ],
            "contexts": [
                {
                    "name": f"{user}@{name}",
                    "context": {
                        "cluster": name,
                        "user": user,
                        **({"namespace": namespace} if namespace else {}),
                    },
                }
            ],
            "current-context": f"{user}@{name}",
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        tmp.chmod(0o600)
        tmp.rename(path)
        return path

    def user_kubeconfig(
        self, user: str, groups: tuple[str, ...] = (), namespace: str | None = None
    ) -> Path:
        """A kubeconfig for a user authenticated by a client certificate; what
        the user may do is up to the RBAC objects the caller creates."""
        pair = self.pki.issue(f"user-{user}", user, groups)
        return self.write_kubeconfig(self.state_dir / f"{user}.kubeconfig", user, pair, namespace)


def stop_stale_clusters(network: PodNetwork, keep: Path) -> None:
    """Stop any other local cluster whose node uses this pod network: a run
    that died before its teardown would otherwise share the bridge and the
    cgroup root with the new one, and their kubelets kill each other's pods."""
    kubelet = str(binary("kubelet")).encode()
    marker = f"cgroupRoot: /{network.bridge}\n"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or argv[0] != kubelet or b"--root-dir" not in argv:
            continue
        state = Path(argv[argv.index(b"--root-dir") + 1].decode()).parent
        try:
            config = (state / "kubelet.yaml").read_text()
        except OSError:
            continue
        if state.resolve() != keep.resolve() and marker in config:
            LocalCluster(state, node=True, network=network).down()


def _get_ok(conn: http.client.HTTPConnection, path: str) -> bool:
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
