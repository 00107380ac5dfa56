"""Certificates for the local cluster, made with the openssl command line so
the package needs no crypto library of its own."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_DAYS = "3650"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


class Pki:
    """A CA under `directory` that signs serving and client certificates.

    Files are created once and reused, so a restart keeps every kubeconfig
    written before it valid.
    """

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = KeyPair(self.dir / "ca.crt", self.dir / "ca.key")
        if not self.ca.cert.exists():
            _openssl("genrsa", "-out", "ca.key", "2048", cwd=self.dir)
            _openssl(
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-days",
                _DAYS,
                "-subj",
                "/CN=llmkube-tui-local-ca",
                "-out",
                "ca.crt.tmp",
                cwd=self.dir,
            )
            (self.dir / "ca.crt.tmp").rename(self.ca.cert)

    def service_account_key(self) -> KeyPair:
        pair = KeyPair(self.dir / "sa.pub", self.dir / "sa.key")
        if not pair.cert.exists():
            _openssl("genrsa", "-out", "sa.key", "2048", cwd=self.dir)
            _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=self.dir)
        return pair

    def issue(
        self,
        name: str,
        common_name: str,
        organizations: tuple[str, ...] = (),
        sans: tuple[str, ...] = (),
        server: bool = False,
    ) -> KeyPair:
        pair = KeyPair(self.dir / f"{name}.crt", self.dir / f"{name}.key")
        if pair.cert.exists():
            return pair
        subject = "".join(f"/O={o}" for o in organizations) + f"/CN={common_name}"
        usage = "serverAuth" if server else "clientAuth"
        ext = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if sans:
            ext.append("subjectAltName=" + ",".join(sans))
        extfile = self.dir / f"{name}.ext"
        extfile.write_text("\n".join(ext) + "\n")
        _openssl("genrsa", "-out", pair.key.name, "2048", cwd=self.dir)
        _openssl(
            "req",
            "-new",
            "-key",
            pair.key.name,
            "-subj",
            subject,
            "-out",
            f"{name}.csr",
            cwd=self.dir,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            _DAYS,
            "-extfile",
            extfile.name,
            "-out",
            f"{name}.crt.tmp",
            cwd=self.dir,
        )
        # The certificate appears last, so an interrupted issue is redone whole.
        (self.dir / f"{name}.crt.tmp").rename(pair.cert)
        return pair
