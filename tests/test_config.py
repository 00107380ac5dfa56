"""Settings: LLMKube Helm values work as they are; bad values are clear errors."""

from __future__ import annotations

import pytest

from llmkube_tui.backend.config import Config, load_config
from llmkube_tui.backend.errors import ConfigError

HELM_VALUES = """
controllerManager:
  replicas: 1
modelCache:
  enabled: true
  size: 250Gi
  storageClass: fast-nvme
  accessMode: ReadWriteMany
  mountPath: /models
  annotations:
    backup.velero.io/backup-volumes-excludes: model-cache
images:
  fetcher: registry.local/python:3.12-slim
mode: standalone
"""


def test_helm_values_file_as_it_is(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(HELM_VALUES)
    config = load_config(path)
    cache = config.cache
    assert (cache.size, cache.storage_class, cache.access_mode) == (
        "250Gi",
        "fast-nvme",
        "ReadWriteMany",
    )
    assert cache.annotations == {"backup.velero.io/backup-volumes-excludes": "model-cache"}
    assert config.images.fetcher == "registry.local/python:3.12-slim"
    assert config.images.server == "ghcr.io/ggml-org/llama.cpp:server"
    assert config.mode == "standalone"


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr("llmkube_tui.backend.config.DEFAULT_PATH", tmp_path / "absent.yaml")
    assert load_config() == Config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modelCache: {size: lots}", r"modelCache.size: not a size: 'lots'"),
        ("modelCache: {size: 10GB}", "not a size"),
        ("modelCache: {enabled: maybe}", "expected true or false"),
        ("modelCache: {accessMode: ReadWriteSometimes}", "is not one of"),
        ("modelCache: {mountPath: models}", "absolute path"),
        ("modelCache: [1, 2]", "expected a mapping"),
        ("mode: turbo", "mode: 'turbo' is not one of"),
        ("modelCache: {size: [unclosed", "not valid YAML"),
    ],
)
def test_bad_values_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "values.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_values_file_that_does_not_exist(tmp_path):
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_config(tmp_path / "nope.yaml")
