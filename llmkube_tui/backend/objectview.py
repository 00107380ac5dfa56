"""Read-only detail of one object for the dashboard: its YAML, its events,
and the log of the pod that runs it.

The Connection is only a type here: the UI builds ObjectRefs on its event
loop, which must not pay for importing the kubernetes client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from llmkube_tui.backend.errors import NotFound
from llmkube_tui.backend.model import GROUP, VERSION

if TYPE_CHECKING:
    from llmkube_tui.backend.connection import Connection

NAME_LABEL = "app.kubernetes.io/name"
LOG_TAIL_LINES = 500

_LLMKUBE = f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}"
_PATHS = {
    "Namespace": "/api/v1/namespaces/{name}",
    "Node": "/api/v1/nodes/{name}",
    "PersistentVolumeClaim": "/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}",
    "Pod": "/api/v1/namespaces/{namespace}/pods/{name}",
    "Deployment": "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
    "Model": _LLMKUBE + "/models/{name}",
    "InferenceService": _LLMKUBE + "/inferenceservices/{name}",
}
# Kinds whose objects run as pods: `l` shows a pod's log for these.
_POD_OWNERS = ("InferenceService", "Deployment")


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    name: str
    namespace: str | None = None

    @property
    def path(self) -> str:
        try:
            template = _PATHS[self.kind]
        except KeyError as err:
            raise NotFound(f"no API path known for kind {self.kind}") from err
        return template.format(name=self.name, namespace=self.namespace or "")

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Detail:
    """A titled text the dashboard shows in a scrolling screen."""

    title: str
    text: str


def to_yaml(doc: Any) -> str:
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100))


def object_yaml(conn: Connection, ref: ObjectRef) -> Detail:
    obj = conn.get(ref.path)
    # managedFields is bookkeeping of the API server: pages of it would bury
    # the spec an operator came to read (kubectl hides it too).
    (obj.get("metadata") or {}).pop("managedFields", None)
    return Detail(f"{ref} (YAML)", to_yaml(obj))


def _event_line(event: dict[str, Any]) -> str:
    when = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or "-"
    )
    count = int(event.get("count") or 1)
    repeat = f" (x{count})" if count > 1 else ""
    return (
        f"{when}  {event.get('type', '-'):<7} {event.get('reason', '-')}: "
        f"{event.get('message', '').strip()}{repeat}"
    )


def events(conn: Connection, ref: ObjectRef) -> Detail:
    """Events about the object, oldest first."""
    selector = f"involvedObject.name={ref.name},involvedObject.kind={ref.kind}"
    path = (
        f"/api/v1/namespaces/{ref.namespace}/events"
        if ref.namespace and ref.kind != "Namespace"
        else "/api/v1/events"
    )
    items = conn.get(path, query={"fieldSelector": selector}).get("items", [])
    items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    text = "\n".join(_event_line(e) for e in items) or f"no events for {ref}"
    return Detail(f"{ref} (events)", text)


def pods_of(conn: Connection, namespace: str, name: str) -> list[dict[str, Any]]:
    """The pods an InferenceService or a Deployment named `name` runs: by our
    name label, or by the `<name>-<hash>` names a ReplicaSet gives them.
    Newest first."""
    pods = conn.get(f"/api/v1/namespaces/{namespace}/pods").get("items", [])
    mine = [
        p
        for p in pods
        if (p["metadata"].get("labels") or {}).get(NAME_LABEL) == name
        or p["metadata"]["name"].startswith(f"{name}-")
    ]
    mine.sort(key=lambda p: str(p["metadata"].get("creationTimestamp") or ""), reverse=True)
    return mine


def _container_to_read(pod: dict[str, Any]) -> str:
    """The main container, unless an init container is what holds the pod
    back (a download still running or failing): then that one."""
    spec, status = pod.get("spec", {}), pod.get("status", {})
    for init in status.get("initContainerStatuses") or []:
        state = init.get("state") or {}
        terminated = state.get("terminated") or {}
        if "running" in state or (terminated and terminated.get("exitCode") != 0):
            return str(init["name"])
    return str(spec["containers"][0]["name"])


def pod_log(conn: Connection, namespace: str, pod: dict[str, Any]) -> Detail:
    name = pod["metadata"]["name"]
    container = _container_to_read(pod)
    text = conn.text(
        f"/api/v1/namespaces/{namespace}/pods/{name}/log",
        query={"container": container, "tailLines": str(LOG_TAIL_LINES)},
    )
    return Detail(f"Pod {namespace}/{name} [{container}] (log)", text or "(empty log)")


def logs_or_events(conn: Connection, ref: ObjectRef) -> Detail:
    """What `l` shows: the log of the object's newest pod when it runs pods
    that have started, its events otherwise (a pending pod has no log, but
    its events say why)."""
    if ref.kind in _POD_OWNERS and ref.namespace:
        pods = pods_of(conn, ref.namespace, ref.name)
        if pods:
            pod = pods[0]
            if pod.get("status", {}).get("phase") == "Pending" and not any(
                "terminated" in (s.get("state") or {}) or "running" in (s.get("state") or {})
                for s in pod.get("status", {}).get("initContainerStatuses") or []
            ):
                return events(conn, ObjectRef("Pod", pod["metadata"]["name"], ref.namespace))
            return pod_log(conn, ref.namespace, pod)
    return events(conn, ref)
