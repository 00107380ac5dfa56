"""Reading the common kubeconfig without the kubernetes client: what it
accepts, what it leaves to the client, and TLS and credentials checked for
real against the API server."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Unreachable
from llmkube_tui.backend.inventory import ListState, list_namespaces
from llmkube_tui.backend.kubeconfig import simple_access
from llmkube_tui.backend.overview import load_overview
from llmkube_tui.backend.target import Target
from llmkube_tui.localcluster.cluster import LocalCluster


def _doc(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text()))


def _write(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_reads_the_common_case_and_leaves_the_rest_to_the_client(kubeconfig: Path, tmp_path):
    access = simple_access(Target(str(kubeconfig)))
    assert access is not None and access.cert and access.key and access.ca
    assert access.server.startswith("https://127.0.0.1:")

    doc = _doc(kubeconfig)
    exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}}
    doc["users"][0]["user"] = exec_user
    assert simple_access(Target(_write(tmp_path / "exec", doc))) is None
    assert simple_access(Target(str(kubeconfig), context="nowhere")) is None
    assert simple_access(Target(f"{kubeconfig}:{kubeconfig}")) is None
    assert simple_access(Target(str(tmp_path / "missing"))) is None
    proxied = _doc(kubeconfig)
    proxied["clusters"][0]["cluster"]["proxy-url"] = "http://127.0.0.1:1"
    assert simple_access(Target(_write(tmp_path / "proxy", proxied))) is None


def test_reads_over_plain_https_match_the_client(admin: Connection, kubeconfig: Path, tmp_path):
    direct = Connection.open_for_reading(Target(str(kubeconfig)))
    assert direct._direct is not None
    assert load_overview(direct).namespaces == load_overview(admin).namespaces
    # A kubeconfig the reader leaves alone gets the client.
    doc = _doc(kubeconfig)
    doc["users"][0]["user"]["as"] = "someone"
    assert Connection.open_for_reading(Target(_write(tmp_path / "as", doc)))._direct is None


def test_certificate_files_relative_to_the_kubeconfig(kubeconfig: Path, tmp_path):
    doc = _doc(kubeconfig)
    user = doc["users"][0]["user"]
    (tmp_path / "pki").mkdir()
    for key, name in (("client-certificate", "cert.pem"), ("client-key", "key.pem")):
        (tmp_path / "pki" / name).write_bytes(base64.b64decode(user.pop(f"{key}-data")))
        user[key] = f"pki/{name}"
    conn = Connection.open_for_reading(Target(_write(tmp_path / "files.kubeconfig", doc)))
    assert conn._direct is not None and list_namespaces(conn).state is ListState.OK


def test_a_token_is_sent_and_recognised(admin: Connection, kubeconfig: Path, tmp_path):
    ns = "kubeconfig-token"
    admin.create("/api/v1/namespaces", {"metadata": {"name": ns}}, exist_ok=True)
    admin.create(
        f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "reader"}}, exist_ok=True
    )
    token = admin.request(
        "POST",
        f"/api/v1/namespaces/{ns}/serviceaccounts/reader/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )["status"]["token"]
    doc = _doc(kubeconfig)
    doc["users"][0]["user"] = {"token": token}
    conn = Connection.open_for_reading(Target(_write(tmp_path / "token", doc)))
    assert conn._direct is not None
    review = conn.request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert review["status"]["userInfo"]["username"] == f"system:serviceaccount:{ns}:reader"
    # A service account may not list namespaces: a typed state, not a crash.
    assert list_namespaces(conn).state is ListState.FORBIDDEN


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_is_checked(kubeconfig: Path, bare_cluster: LocalCluster, tmp_path):
    # Another cluster's CA: the server's certificate must not be accepted.
    doc = _doc(kubeconfig)
    other = _doc(bare_cluster.kubeconfig)["clusters"][0]["cluster"]
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = other[
        "certificate-authority-data"
    ]
    wrong_ca = Connection.open_for_reading(Target(_write(tmp_path / "wrong-ca", doc)))
    with pytest.raises(Unreachable, match="CERTIFICATE_VERIFY_FAILED"):
        list_namespaces(wrong_ca)
    # A name the certificate does not carry.
    doc = _doc(kubeconfig)
    doc["clusters"][0]["cluster"]["tls-server-name"] = "elsewhere.invalid"
    wrong_name = Connection.open_for_reading(Target(_write(tmp_path / "wrong-name", doc)))
    with pytest.raises(Unreachable, match=r"elsewhere\.invalid"):
        list_namespaces(wrong_name)
    # Told to skip verification, as kubectl would be.
    doc = _doc(kubeconfig)
    cluster = doc["clusters"][0]["cluster"]
    cluster.pop("certificate-authority-data")
    cluster["insecure-skip-tls-verify"] = True
    insecure = Connection.open_for_reading(Target(_write(tmp_path / "insecure", doc)))
    assert list_namespaces(insecure).state is ListState.OK
