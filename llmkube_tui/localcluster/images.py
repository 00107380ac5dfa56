"""Container images for the local cluster, built without a registry.

Each image is an OCI archive cached beside the binaries and imported into the
cluster's own containerd. Layers stay uncompressed: they never cross a
network, and gzip would cost more time than it saves.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from llmkube_tui.localcluster.build import CACHE_DIR, REPO
from llmkube_tui.localcluster.llamaserver import LLAMA_CPP_PYTHON_VERSION, llama_server

IMAGE_DIR = CACHE_DIR / "images"
PAUSE_IMAGE = "llmkube.local/pause:1"
PYTHON_IMAGE = "llmkube.local/python:3-bookworm"
_STANDIN_SERVER = Path(__file__).with_name("standin_server.py")
# Tagged by the server's content, so a changed stand-in is a new image and
# no cached archive or containerd image of an old one is ever used.
STANDIN_IMAGE = (
    "llmkube.local/serve-standin:" + hashlib.sha256(_STANDIN_SERVER.read_bytes()).hexdigest()[:12]
)
# llama.cpp's own server, as its published image ghcr.io/ggml-org/llama.cpp:server
# lays it out (/app/llama-server as entrypoint), so deploy's arguments fit both.
LLAMA_SERVER_IMAGE = f"llmkube.local/llama.cpp:server-{LLAMA_CPP_PYTHON_VERSION}"
_DEBIAN_PACKAGES = "python3-minimal,python3,ca-certificates"
# What the statically linked llama-server still loads at run time.
_SERVER_PACKAGES = "libgomp1,libstdc++6,libssl3,ca-certificates"


@dataclass
class ImageSpec:
    name: str
    layers: list[Path]
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(
        default_factory=lambda: [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
    )

    @property
    def archive(self) -> Path:
        return IMAGE_DIR / (self.name.replace("/", "_").replace(":", "_") + ".oci.tar")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def write_oci_archive(spec: ImageSpec) -> Path:
    """An OCI image layout as a tar, ready for `ctr images import`."""
    layer_digests = [(p, sha256_file(p), p.stat().st_size) for p in spec.layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": spec.env, "Entrypoint": spec.entrypoint or None, "Cmd": spec.cmd or None},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for _, d, _ in layer_digests]},
    }
    config_digest, config_bytes = _blob(json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": f"sha256:{d}",
                "size": s,
            }
            for _, d, s in layer_digests
        ],
    }
    manifest_digest, manifest_bytes = _blob(json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {
                    "io.containerd.image.name": spec.name,
                    "org.opencontainers.image.ref.name": spec.name.rsplit(":", 1)[1],
                },
            }
        ],
    }
    tmp = spec.archive.with_suffix(".partial")
    with tarfile.open(tmp, "w") as tar:
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add_bytes(tar, "index.json", json.dumps(index).encode())
        for digest, data in (_blob(config_bytes), _blob(manifest_bytes)):
            _add_bytes(tar, f"blobs/sha256/{digest.split(':')[1]}", data)
        for path, digest, _ in layer_digests:
            tar.add(path, arcname=f"blobs/sha256/{digest}")
    tmp.rename(spec.archive)
    return spec.archive


def _file_layer(out: Path, files: dict[str, tuple[bytes, int]]) -> Path:
    """A layer holding the given files (path in image -> content, mode)."""
    with tarfile.open(out, "w") as tar:
        dirs = sorted({str(Path(p).parent) for p in files} - {"."})
        for d in dirs:
            info = tarfile.TarInfo(d.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out


def _pause_layer() -> Path:
    binary = IMAGE_DIR / "pause"
    if not binary.exists():
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), "."],
            cwd=REPO / "cluster" / "pause",
            env={**os.environ, "CGO_ENABLED": "0"},
            check=True,
        )
    return _file_layer(IMAGE_DIR / "pause-layer.tar", {"/pause": (binary.read_bytes(), 0o755)})


def _debian_rootfs(name: str, packages: str) -> Path:
    out = IMAGE_DIR / f"{name}-rootfs.tar"
    if not out.exists():
        tmp = out.with_suffix(".partial.tar")
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=essential",
                f"--include={packages}",
                "bookworm",
                str(tmp),
            ],
            check=True,
        )
        tmp.rename(out)
    return out


def _standin_layer() -> Path:
    server = _STANDIN_SERVER.read_bytes()
    return _file_layer(
        IMAGE_DIR / "standin-layer.tar", {"/usr/local/bin/llmkube-standin-server": (server, 0o755)}
    )


def _llama_server_layer() -> Path:
    out = IMAGE_DIR / f"llama-server-{LLAMA_CPP_PYTHON_VERSION}-layer.tar"
    if not out.exists():
        binary = llama_server().read_bytes()
        _file_layer(out.with_suffix(".partial"), {"/app/llama-server": (binary, 0o755)}).rename(out)
    return out


def image_specs() -> list[ImageSpec]:
    rootfs = _debian_rootfs("python", _DEBIAN_PACKAGES)
    return [
        ImageSpec(PAUSE_IMAGE, [_pause_layer()], entrypoint=["/pause"]),
        ImageSpec(PYTHON_IMAGE, [rootfs], cmd=["python3"]),
        ImageSpec(
            STANDIN_IMAGE,
            [rootfs, _standin_layer()],
            entrypoint=["python3", "/usr/local/bin/llmkube-standin-server"],
        ),
        ImageSpec(
            LLAMA_SERVER_IMAGE,
            [_debian_rootfs("llama-server", _SERVER_PACKAGES), _llama_server_layer()],
            entrypoint=["/app/llama-server"],
        ),
    ]


def ensure_archives() -> list[ImageSpec]:
    """Build what is missing; one process builds while the others wait."""
    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    with open(IMAGE_DIR / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        specs = image_specs()
        for spec in specs:
            if not spec.archive.exists():
                started = time.monotonic()
                write_oci_archive(spec)
                print(f"image {spec.name} in {time.monotonic() - started:.1f}s", flush=True)
        return specs


def import_images(socket: Path) -> None:
    """Import every image that the cluster's containerd does not have yet."""
    ctr = ["ctr", "--address", str(socket), "--namespace", "k8s.io"]
    have = set(
        subprocess.run(
            [*ctr, "images", "list", "--quiet"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    for spec in ensure_archives():
        if spec.name not in have:
            subprocess.run(
                [*ctr, "images", "import", str(spec.archive)], check=True, capture_output=True
            )
