"""A tiny but real llama model for the local cluster: llama.cpp's own
tokenizer and random weights, small enough to make at test or demo time.

llama-server loads it, answers /health, and returns tokens from /completion
(gibberish, by design). Nothing of it is committed: the tokenizer comes from
the vocab-only GGUF that llama.cpp's source ships, the weights from a seeded
generator, so the same bytes come out on every machine.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmkube_tui.localcluster.build import CACHE_DIR
from llmkube_tui.localcluster.llamaserver import llama_source

MODEL_DIR = CACHE_DIR / "models"
VOCAB = "models/ggml-vocab-llama-spm.gguf"


@dataclass(frozen=True)
class TinyLlama:
    """The shape of the model: a 2-layer, 64-wide llama."""

    layers: int = 2
    width: int = 64
    heads: int = 4
    feed_forward: int = 128
    context: int = 512
    seed: int = 7

    @property
    def file_name(self) -> str:
        return f"tiny-llama-{self.layers}x{self.width}.gguf"


def _copy_tokenizer(writer: Any, vocab: Path) -> int:
    """Copy every tokenizer.* key of the vocab file; returns the vocab size."""
    import gguf

    reader = gguf.GGUFReader(vocab)
    size = 0
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value = field.contents()
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, kind, sub_type=sub)
        if key == "tokenizer.ggml.tokens":
            size = len(value)
    return size


def write_tiny_llama(out: Path, shape: TinyLlama = TinyLlama()) -> Path:
    import gguf
    import numpy as np

    rng = np.random.default_rng(shape.seed)

    def weights(*dims: int) -> Any:
        return (rng.standard_normal(dims) * 0.02).astype(np.float32)

    tmp = out.with_suffix(".partial")
    writer = gguf.GGUFWriter(tmp, "llama")
    writer.add_name("tiny-llama (random weights, llama.cpp spm tokenizer)")
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.width)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.feed_forward)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.heads)
    writer.add_rope_dimension_count(shape.width // shape.heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    vocab_size = _copy_tokenizer(writer, llama_source() / VOCAB)
    writer.add_vocab_size(vocab_size)

    w, ff = shape.width, shape.feed_forward
    writer.add_tensor("token_embd.weight", weights(vocab_size, w))
    for i in range(shape.layers):
        block = f"blk.{i}"
        writer.add_tensor(f"{block}.attn_norm.weight", np.ones(w, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{block}.{name}.weight", weights(w, w))
        writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(w, dtype=np.float32))
        writer.add_tensor(f"{block}.ffn_gate.weight", weights(ff, w))
        writer.add_tensor(f"{block}.ffn_up.weight", weights(ff, w))
        writer.add_tensor(f"{block}.ffn_down.weight", weights(w, ff))
    writer.add_tensor("output_norm.weight", np.ones(w, dtype=np.float32))
    writer.add_tensor("output.weight", weights(vocab_size, w))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(out)
    return out


def ensure_tiny_llama(shape: TinyLlama = TinyLlama()) -> Path:
    """The model file, made once per machine and reused."""
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    out = MODEL_DIR / shape.file_name
    with open(MODEL_DIR / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            write_tiny_llama(out, shape)
    return out
