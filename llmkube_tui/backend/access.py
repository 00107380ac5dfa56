"""Which actions RBAC lets the current user take in a namespace, asked of
the API server (SelfSubjectAccessReview, which every user may create), so
that the dashboard disables an action before the operator tries it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.model import GROUP


@dataclass(frozen=True)
class Permission:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""

    def __str__(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {what}" + (f".{self.group}" if self.group else "")


def _p(verb: str, resource: str, group: str = "", subresource: str = "") -> Permission:
    return Permission(verb, resource, group, subresource)


# What the backend call behind each action does to the cluster.
_VOLUME = _p("create", "persistentvolumeclaims")  # ensure_cache_volume
_FETCHER = _p("create", "configmaps")  # ensure_fetcher_configmap
_POD = (_FETCHER, _p("create", "pods"), _p("get", "pods", subresource="log"), _p("delete", "pods"))
# Deploy needs one of two sets: LLMKube's objects, or our Deployment and Service.
DEPLOY_MODES = (
    (_VOLUME, _p("create", "models", GROUP), _p("create", "inferenceservices", GROUP)),
    (_VOLUME, _FETCHER, _p("create", "deployments", "apps"), _p("create", "services")),
)
NEEDS: dict[str, tuple[Permission, ...]] = {
    "preload": (_VOLUME, _FETCHER, _p("create", "jobs", "batch"), _p("delete", "jobs", "batch")),
    "clear": _POD,
    "clear_all": _POD,
    "verify": _POD,
    "export": (*_POD, _p("create", "pods", subresource="exec")),
    "import": (_VOLUME, *_POD, _p("create", "pods", subresource="exec")),
    "resize": (_p("patch", "persistentvolumeclaims"),),
    # A completion through the API server's service proxy.
    "probe": (_p("get", "services"), _p("create", "services", subresource="proxy")),
}


def allowed(conn: Connection, namespace: str, permission: Permission) -> bool:
    review = conn.request(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": permission.verb,
                    "group": permission.group,
                    "resource": permission.resource,
                    "subresource": permission.subresource,
                }
            },
        },
    )
    return bool(review.get("status", {}).get("allowed"))


def denied_actions(conn: Connection, namespace: str, actions: Iterable[str]) -> dict[str, str]:
    """For each of `actions` the user may not take in `namespace`, why: the
    first permission missing ("create pods/exec"). Each permission is asked
    once, however many actions need it."""
    answers: dict[Permission, bool] = {}

    def missing(needs: tuple[Permission, ...]) -> str:
        for permission in needs:
            if permission not in answers:
                answers[permission] = allowed(conn, namespace, permission)
            if not answers[permission]:
                return str(permission)
        return ""

    denied = {}
    for action in actions:
        if action == "deploy":
            reasons = [missing(needs) for needs in DEPLOY_MODES]
            why = "" if "" in reasons else reasons[0]
        else:
            why = missing(NEEDS[action])
        if why:
            denied[action] = f"may not {why} in {namespace}"
    return denied
