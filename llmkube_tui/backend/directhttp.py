"""HTTPS to the API server over urllib3 alone, for the dashboard's reads.

TLS is Python's default context: the server's certificate is checked
against the kubeconfig's CA (or the system's) and its name, unless the
kubeconfig says insecure-skip-tls-verify, as kubectl does.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
from typing import Any

import urllib3

from llmkube_tui.backend.kubeconfig import ClusterAccess


def _ssl_context(access: ClusterAccess) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=access.ca.decode() if access.ca else None)
    if access.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if access.cert and access.key:
        # The ssl module loads a key pair from files only: a private
        # directory, removed as soon as they are read.
        with tempfile.TemporaryDirectory(prefix="llmkube-tls-") as tmp:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            for path, data in ((cert, access.cert), (key, access.key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
            context.load_cert_chain(cert, key)
    return context


class DirectTransport:
    def __init__(self, access: ClusterAccess) -> None:
        self.server = access.server
        pool_args: dict[str, Any] = {"maxsize": 8, "ssl_context": _ssl_context(access)}
        if access.server_name:
            pool_args["server_hostname"] = access.server_name
        self._pool = urllib3.PoolManager(**pool_args)
        self._auth = {"Authorization": f"Bearer {access.token}"} if access.token else {}

    def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any,
        timeout: tuple[float, float] | float,
    ) -> tuple[int, bytes, str | None]:
        """Status, body and Retry-After; transport failures raise urllib3's
        errors or OSError, as the client's do."""
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        response = self._pool.request(
            method,
            f"{self.server}{path}",
            headers={**headers, **self._auth},
            body=None if body is None else json.dumps(body).encode(),
            timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False,
            redirect=False,
        )
        return int(response.status), bytes(response.data), response.headers.get("Retry-After")

    def close(self) -> None:
        self._pool.clear()
