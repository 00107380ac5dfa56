import json
import re
import subprocess
import sys

import pytest

from llmkube_tui.catalog import CatalogError, load_catalog

REQUIRED = {"llama-3.1-8b", "mistral-7b", "llama-2-7b"}


def test_shipped_catalog_has_the_documented_models_and_a_spread():
    catalog = load_catalog()
    assert set(catalog) >= REQUIRED
    sizes = [e.size_bytes for e in catalog.values()]
    assert min(sizes) < 1.5e9 and max(sizes) > 35e9  # 1B ... 70B class
    for entry in catalog.values():
        assert re.match(
            r"^https://huggingface\.co/[^/]+/[^/]+/resolve/main/.+\.gguf$", entry.source
        )
        assert entry.gpu_memory_gb > 0


def _write(tmp_path, body):
    path = tmp_path / "catalog.yaml"
    path.write_text(body)
    return path


def test_missing_source_names_the_entry(tmp_path):
    path = _write(
        tmp_path,
        """
models:
  broken-model:
    display_name: X
    quantization: Q4
    parameters: 1B
    size_bytes: 1
    size_estimate: true
    gpu_count: 0
    gpu_memory_gb: 1
""",
    )
    with pytest.raises(CatalogError, match=r"'broken-model'.*missing field\(s\) source"):
        load_catalog(path)


def test_unknown_field_names_the_entry(tmp_path):
    path = _write(
        tmp_path,
        """
models:
  typo-model:
    display_name: X
    source: https://example.invalid/a.gguf
    quantization: Q4
    parameters: 1B
    size_bytes: 1
    size_estimate: true
    gpu_count: 0
    gpu_memory_gb: 1
    gpus: 2
""",
    )
    with pytest.raises(CatalogError, match=r"'typo-model'.*unknown field\(s\) gpus"):
        load_catalog(path)


def test_wrong_type_and_not_yaml(tmp_path):
    with pytest.raises(CatalogError, match="expected a top-level 'models'"):
        load_catalog(_write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(_write(tmp_path, "models: {a: [unclosed\n"))


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "llmkube_tui.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_catalog_command_lists_every_model():
    out = _cli("catalog")
    assert out.returncode == 0, out.stderr
    for name in REQUIRED:
        assert name in out.stdout
    rows = json.loads(_cli("catalog", "-o", "json").stdout)
    assert {r["name"] for r in rows} == set(load_catalog())


def test_cache_key_command_for_model_and_url():
    entry = load_catalog()["llama-3.1-8b"]
    out = _cli("cache", "key", "llama-3.1-8b")
    assert out.returncode == 0
    assert f"key:    {entry.cache_key}" in out.stdout
    assert f"path:   /models/{entry.cache_key}/model.gguf" in out.stdout
    out = _cli("cache", "key", entry.source)
    assert entry.cache_key in out.stdout


def test_cache_key_command_unknown_model_is_a_clear_error():
    out = _cli("cache", "key", "no-such-model")
    assert out.returncode != 0
    assert "unknown model 'no-such-model'" in out.stderr
    assert "Traceback" not in out.stderr
