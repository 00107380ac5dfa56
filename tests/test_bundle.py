"""Import refuses hostile or broken bundles before it touches a cluster."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.errors import Invalid, NotFound
from llmkube_tui.backend.transfer import check_bundle, import_bundle, open_bundle
from llmkube_tui.cachekey import cache_key

SOURCE = "https://example.invalid/model.gguf"
KEY = cache_key(SOURCE)
DATA = b"GGUF" + bytes(1000)


def _entry(**over):
    entry = {
        "key": KEY,
        "source": SOURCE,
        "size": len(DATA),
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "file": "model.gguf",
    }
    return {**entry, **over}


def _bundle(tmp_path: Path, entries=None, members=None, manifest=None) -> Path:
    path = tmp_path / "bundle.tar"
    doc = (
        manifest
        if manifest is not None
        else {
            "format": "llmkube-cache-bundle",
            "version": 1,
            "entries": entries or [_entry()],
        }
    )
    with tarfile.open(path, "w") as tar:
        raw = json.dumps(doc).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for info, data in members if members is not None else [(_file(f"{KEY}/model.gguf"), DATA)]:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, size: int = len(DATA)) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def _special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _check(path: Path):
    with open_bundle(path) as tar:
        return check_bundle(tar, path)


def test_a_good_bundle_passes(tmp_path):
    entries, members = _check(_bundle(tmp_path))
    assert [e.key for e in entries] == [KEY] and set(members) == {f"{KEY}/model.gguf"}


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([(_file("/etc/cron.d/evil"), DATA)], "unsafe member path"),
        ([(_file(f"{KEY}/../../evil"), DATA)], "unsafe member path"),
        ([(_special(f"{KEY}/model.gguf", tarfile.SYMTYPE, "/etc/shadow"), None)], "is a link"),
        ([(_special(f"{KEY}/model.gguf", tarfile.LNKTYPE, "manifest.json"), None)], "is a link"),
        ([(_special(f"{KEY}/model.gguf", tarfile.CHRTYPE), None)], "device or fifo"),
        ([(_special(f"{KEY}/model.gguf", tarfile.FIFOTYPE), None)], "device or fifo"),
        ([(_special(KEY, tarfile.DIRTYPE), None)], "not a regular file"),
        ([(_file(f"{KEY}/model.gguf", 10), DATA[:10])], "holds 10 bytes but the manifest says"),
        ([(_file(f"{KEY}/other.gguf"), DATA)], "not in the manifest"),
        ([], "missing data"),
        ([(_file(f"{KEY}/model.gguf"), DATA), (_file(f"{KEY}/model.gguf"), DATA)], "twice"),
    ],
)
def test_hostile_members_are_rejected(tmp_path, members, why):
    with pytest.raises(Invalid, match=why):
        _check(_bundle(tmp_path, members=members))


@pytest.mark.parametrize(
    ("entries", "manifest", "why"),
    [
        ([_entry(key="../../etc")], None, "not a cache key"),
        (
            [_entry(source="https://elsewhere.invalid/x.gguf")],
            None,
            "not the cache key of its source",
        ),
        ([_entry(size=-1)], None, "not a byte count"),
        ([_entry(size="1000")], None, "not a byte count"),
        ([_entry(sha256="nothex")], None, "not a sha256"),
        ([_entry(file="../x")], None, "unexpected file name"),
        ([_entry(), _entry()], None, "lists a key twice"),
        (None, {"format": "zip", "version": 1, "entries": []}, "not an llmkube-tui cache bundle"),
        (None, {"format": "llmkube-cache-bundle", "version": 99}, "version 99"),
    ],
)
def test_lying_manifests_are_rejected(tmp_path, entries, manifest, why):
    with pytest.raises(Invalid, match=why):
        _check(_bundle(tmp_path, entries=entries, manifest=manifest))


def test_not_a_tar_file(tmp_path):
    path = tmp_path / "bundle.tar"
    path.write_bytes(b"not a tar file at all" * 100)
    with pytest.raises(Invalid, match=r"not a readable tar file|first member"):
        _check(path)


def test_rejected_bundle_changes_nothing_in_the_cluster(admin: Connection, tmp_path):
    """Checked before any call: no namespace objects appear."""
    admin.create("/api/v1/namespaces", {"metadata": {"name": "bundle-target"}}, exist_ok=True)
    evil = _bundle(tmp_path, members=[(_file("/etc/passwd"), DATA)])
    with pytest.raises(Invalid, match="nothing was imported"):
        import_bundle(admin, Config(), "bundle-target", evil)
    with pytest.raises(NotFound):
        admin.get("/api/v1/namespaces/bundle-target/persistentvolumeclaims/llmkube-model-cache")
