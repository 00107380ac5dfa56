"""Fixed data for the dashboard's snapshots: the backend's own dataclasses,
handed to the app through its DataSource seam, so that the pictures never
move with a cluster's timing. Pilot tests use the real API server instead."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmkube_tui.backend.cacheentry import CacheEntry
from llmkube_tui.backend.cacheops import CacheListing
from llmkube_tui.backend.cachevolume import CacheVolume
from llmkube_tui.backend.config import Config
from llmkube_tui.backend.errors import NotFound
from llmkube_tui.backend.gpunode import GpuNode
from llmkube_tui.backend.inferenceservice import InferenceService
from llmkube_tui.backend.inventory import Listing, ListState
from llmkube_tui.backend.model import Model
from llmkube_tui.backend.objectview import Detail, ObjectRef
from llmkube_tui.backend.overview import NamespaceSummary, Overview
from llmkube_tui.backend.target import KubeContexts
from llmkube_tui.cachekey import cache_key

GI = 2**30
# The frozen clock: 2025-06-01T12:00:00Z. The data was loaded at that instant.
NOW = 1748779200.0

HF = "https://huggingface.co"
LLAMA = f"{HF}/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/resolve/main/Meta-Llama-3.1-8B-Q4_K_M.gguf"
MISTRAL = f"{HF}/TheBloke/Mistral-7B-Instruct-v0.2-GGUF/resolve/main/mistral-7b-q4_k_m.gguf"
TINY = f"{HF}/TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/resolve/main/tinyllama-q4_k_m.gguf"
QWEN = f"{HF}/Qwen/Qwen2.5-14B-Instruct-GGUF/resolve/main/qwen2.5-14b-q4_k_m.gguf"


def _volume(namespace: str, size: int, bound: bool = True) -> CacheVolume:
    return CacheVolume(
        namespace=namespace,
        name="llmkube-model-cache",
        requested_bytes=size * GI,
        capacity_bytes=size * GI if bound else None,
        phase="Bound" if bound else "Pending",
        storage_class="standard",
        access_modes=("ReadWriteOnce",),
        annotations={},
    )


def _model(namespace: str, name: str, source: str, gpus: int = 1) -> Model:
    return Model(namespace, name, source, cache_key(source), "Ready", "4.6 GiB", gpus)


def _service(
    namespace: str, name: str, model: str, ready: int, want: int, gpus: int
) -> InferenceService:
    phase = "Ready" if ready == want else "Progressing"
    endpoint = f"http://{name}.{namespace}.svc:8080" if ready else ""
    return InferenceService(namespace, name, model, ready, want, gpus, phase, endpoint)


VOLUMES = (_volume("ml-prod", 200), _volume("ml-staging", 100), _volume("research", 500, False))
MODELS = (
    _model("ml-prod", "llama-3.1-8b", LLAMA),
    _model("ml-prod", "mistral-7b", MISTRAL),
    _model("ml-prod", "qwen2.5-14b", QWEN, 2),
    _model("ml-staging", "llama-3.1-8b", LLAMA),
    _model("sandbox", "tinyllama", TINY, 0),
)
SERVICES = (
    _service("ml-prod", "llama-3.1-8b", "llama-3.1-8b", 2, 2, 1),
    _service("ml-prod", "mistral-7b", "mistral-7b", 0, 1, 1),
    _service("ml-staging", "llama-3.1-8b", "llama-3.1-8b", 1, 1, 1),
)
NAMESPACES = (
    NamespaceSummary("ml-prod", VOLUMES[0], 3, 2, 3),
    NamespaceSummary("ml-staging", VOLUMES[1], 1, 1, 1),
    NamespaceSummary("research", VOLUMES[2], 0, 0, 0),
    NamespaceSummary("sandbox", None, 1, 0, 0),
)
OVERVIEW = Overview(
    context="prod-cluster",
    server="https://10.0.0.1:6443",
    version="v1.34.4",
    namespaces=Listing(NAMESPACES),
    volumes=Listing(VOLUMES),
    models=Listing(MODELS),
    services=Listing(SERVICES),
)


def _entry(
    key_source: str, size: float, state: str, users: tuple[str, ...], used: str, got: float = 0
) -> CacheEntry:
    return CacheEntry(
        namespace="ml-prod",
        key=cache_key(key_source),
        size=int(size * GI),
        state=state,
        source=key_source,
        file="model.gguf",
        last_used=used,
        users=users,
        downloaded=int(got * GI),
        expected=int(size * GI) if got else 0,
        sha256="",
    )


ENTRIES = CacheListing(
    "ml-prod",
    VOLUMES[0],
    (
        _entry(
            LLAMA,
            4.6,
            "complete",
            ("Model/llama-3.1-8b", "InferenceService/llama-3.1-8b"),
            "2025-06-01T11:58:00Z",
        ),
        _entry(
            MISTRAL, 4.1, "locked", ("Model/mistral-7b", "InferenceService/mistral-7b"), "", 1.7
        ),
        _entry(
            f"{HF}/old/model/resolve/main/old-13b.gguf", 7.3, "orphan", (), "2025-05-20T08:00:00Z"
        ),
        _entry(
            f"{HF}/broken/model/resolve/main/broken.gguf",
            2.0,
            "corrupt",
            (),
            "2025-05-30T12:00:00Z",
        ),
    ),
)
GPU_NODES = Listing(
    (GpuNode("gpu-a100-1", 8, 6), GpuNode("gpu-a100-2", 8, 1), GpuNode("gpu-l4-1", 2, 2))
)
HITS = {"ml-prod": {"llama-3.1-8b": "hit"}}
PVC_YAML = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: llmkube-model-cache
  namespace: ml-prod
  labels:
    app.kubernetes.io/component: model-cache
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 200Gi
  storageClassName: standard
status:
  phase: Bound
  capacity:
    storage: 200Gi
"""


@dataclass
class FixedSource:
    """A DataSource of the data above; calls are counted for assertions."""

    overview_data: Overview = OVERVIEW
    calls: list[str] = field(default_factory=list)

    def connection(self) -> None:
        return None

    def config(self) -> Config:
        return Config()

    def overview(self) -> Overview:
        self.calls.append("overview")
        return self.overview_data

    def gpu_nodes(self) -> Listing[GpuNode]:
        self.calls.append("gpu_nodes")
        return GPU_NODES

    def cache_entries(self, namespace: str) -> CacheListing:
        self.calls.append(f"cache_entries {namespace}")
        if namespace == "ml-prod":
            return ENTRIES
        return CacheListing(namespace, None)

    def last_starts(self, namespace: str, services: tuple[str, ...]) -> dict[str, str]:
        return HITS.get(namespace, {})

    def object_yaml(self, ref: ObjectRef) -> Detail:
        if ref.kind == "PersistentVolumeClaim":
            return Detail(f"{ref} (YAML)", PVC_YAML)
        raise NotFound(f"not found: {ref}")

    def logs_or_events(self, ref: ObjectRef) -> Detail:
        return Detail(f"{ref} (events)", "2025-06-01T11:00:00Z  Normal  Bound: volume bound")

    def denied_actions(self, namespace: str, actions: tuple[str, ...]) -> dict[str, str]:
        return {a: f"may not create pods/exec in {namespace}" for a in actions if a in DENIED}

    def contexts(self) -> KubeContexts:
        return KubeContexts(("prod-cluster", "staging-cluster"), "prod-cluster")

    def with_context(self, context: str) -> FixedSource:
        raise NotFound(f'context "{context}" does not exist')


# What RBAC refuses the fixed user: the help screen marks these.
DENIED = ("export", "import")
FORBIDDEN_GPUS = Listing((), ListState.FORBIDDEN, "forbidden: nodes is forbidden")
