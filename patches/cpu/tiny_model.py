"""Builds the tiny Qwen3 that the real CPU SGLang server loads in tests.

Random weights from a fixed seed, the real Qwen3 vocabulary (151,936 rows, tied embeddings) and
the real Qwen3 tokenizer files that scorecar ships, so token ids mean the same thing everywhere.
The embedding (which is also the LM head) is initialised wider than a trained model's so that
P(yes) spreads over (0, 1) across prompts instead of sitting at 0.5: a test that changes one id
must move the score by far more than any tolerance used.

Deterministic: the same bytes on every build (fixed seed, single-threaded init, safetensors
without timestamps). `python tiny_model.py OUT_DIR TOKENIZER_DIR` writes the folder.
"""

import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

SEED = 20261203
EMBED_STD = 0.5  # logit spread ~ EMBED_STD * sqrt(hidden): about 4 nats at hidden 64

CONFIG = dict(
    vocab_size=151936,
    hidden_size=64,
    intermediate_size=192,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=2048,
    rope_theta=1000000.0,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
    bos_token_id=151643,
    eos_token_id=151645,
    torch_dtype="float32",
    initializer_range=0.02,
)


def build(out_dir: Path, tokenizer_dir: Path) -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    config = Qwen3Config(**CONFIG)
    config.architectures = ["Qwen3ForCausalLM"]
    model = Qwen3ForCausalLM(config).to(torch.float32)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(SEED + 1)
        emb = model.get_input_embeddings().weight
        emb.copy_(torch.randn(emb.shape, generator=gen) * EMBED_STD)
        for name, p in model.named_parameters():
            if name.endswith("embed_tokens.weight") or p.dim() < 2:
                continue
            p.copy_(torch.randn(p.shape, generator=gen) * 0.08)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(tokenizer_dir / name, out_dir / name)
    digest = hashlib.sha256()
    for f in sorted(out_dir.iterdir()):
        if f.name == "BUILD.json":
            continue
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    (out_dir / "BUILD.json").write_text(
        json.dumps({"seed": SEED, "sha256": digest.hexdigest()}, indent=1) + "\n"
    )


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
