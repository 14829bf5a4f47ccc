"""Reference forward FLOPs and KV-cache sizes, as PyTorch counts them.

The source of truth behind ``tests/data/reference/flops.json``. Each case builds a
*small* causal LM with Hugging Face transformers from an explicit config (random
weights, CPU, nothing downloaded), runs one forward pass over ``seq_len`` tokens under
``torch.utils.flop_counter.FlopCounterMode`` and records what it counts. It needs torch
and transformers, so it is not part of the default test run:

    /work/refenv/bin/python reference/flops_counts.py          # (re)write the JSON
    /work/refenv/bin/python reference/flops_counts.py --check  # recompute, compare

Apples to apples with archcalc's convention (matmul FLOPs, 2·m·n·k, non-causal):

* FlopCounterMode counts every matmul as 2·m·n·k (``mm``, ``addmm``, ``bmm``, SDPA's two
  products), bias adds and elementwise ops not at all; the eager attention computes the
  full S×S score matrix and masks it, so its count is the *non-causal* one.
* The LM head's matmul is included (it runs even when tied), as in archcalc.
* Hugging Face's rotary embedding computes its position-frequency table with a small
  matmul (``inv_freq @ positions``: d_head·S FLOPs per forward). It is not a weight
  matmul and archcalc does not count it; it is recorded separately as
  ``rotary_flops`` (FLOPs of modules whose name ends in ``rotary_emb``) and subtracted:
  ``flops = raw_flops - rotary_flops``.
* Mixture of experts: the experts run with transformers' "eager" experts implementation,
  which applies each expert (``F.linear``) to the tokens routed to it, so the count is
  router + top_k experts per token, whatever the routing. (The default "grouped_mm"
  kernel has no FlopCounterMode formula and would count the experts as 0 FLOPs.)
* KV cache: the number of elements of every key and value tensor in the returned
  ``past_key_values`` after the forward pass over ``seq_len`` tokens. For multi-head
  latent attention (DeepSeek-V3) transformers caches the latent (``kv_lora_rank`` "keys"
  and ``qk_rope_head_dim`` "values", one head), as archcalc counts it.

Each case also holds ``spec``: the archcalc spec of the same architecture, so the test
counts exactly what was built.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "tests" / "data" / "reference" / "flops.json"
FORMAT_VERSION = 1

CASES: list[dict[str, Any]] = [
    {
        "id": "tiny-llama-gqa",
        "model_type": "llama",
        "seq_len": 64,
        "config": {
            "hidden_size": 256,
            "intermediate_size": 688,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "max_position_embeddings": 256,
            "tie_word_embeddings": False,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 3,
            "d_model": 256,
            "n_heads": 8,
            "n_kv_heads": 2,
            "d_ff": 688,
            "vocab_size": 1000,
            "positional": "rope",
            "mlp": "swiglu",
            "norm": "rmsnorm",
        },
    },
    {
        "id": "tiny-llama-head-dim",
        "model_type": "llama",
        "seq_len": 40,
        "config": {
            "hidden_size": 192,
            "intermediate_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 6,
            "num_key_value_heads": 1,
            "head_dim": 48,
            "vocab_size": 777,
            "max_position_embeddings": 128,
            "tie_word_embeddings": True,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 2,
            "d_model": 192,
            "n_heads": 6,
            "n_kv_heads": 1,
            "d_head": 48,
            "d_ff": 512,
            "vocab_size": 777,
            "positional": "rope",
            "mlp": "swiglu",
            "norm": "rmsnorm",
            "tie_embeddings": True,
        },
    },
    {
        "id": "tiny-gpt2",
        "model_type": "gpt2",
        "seq_len": 48,
        "config": {
            "n_layer": 2,
            "n_embd": 128,
            "n_head": 4,
            "n_inner": 512,
            "n_positions": 64,
            "vocab_size": 500,
            "tie_word_embeddings": True,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 2,
            "d_model": 128,
            "n_heads": 4,
            "d_ff": 512,
            "vocab_size": 500,
            "max_seq_len": 64,
            "positional": "learned",
            "mlp": "gelu",
            "norm": "layernorm",
            "bias": True,
            "tie_embeddings": True,
        },
    },
    {
        "id": "tiny-mixtral-top2",
        "model_type": "mixtral",
        "seq_len": 32,
        "config": {
            "hidden_size": 128,
            "intermediate_size": 320,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 300,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "max_position_embeddings": 128,
            "tie_word_embeddings": False,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 2,
            "d_model": 128,
            "n_heads": 4,
            "n_kv_heads": 2,
            "d_ff": 320,
            "vocab_size": 300,
            "positional": "rope",
            "mlp": "swiglu",
            "norm": "rmsnorm",
            "moe": {"n_experts": 4, "top_k": 2},
        },
    },
    {
        "id": "tiny-qwen2-moe-shared-gate",
        "model_type": "qwen2_moe",
        "seq_len": 24,
        "config": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "moe_intermediate_size": 64,
            "shared_expert_intermediate_size": 96,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 300,
            "decoder_sparse_step": 1,
            "mlp_only_layers": [],
            "qkv_bias": True,
            "max_position_embeddings": 128,
            "tie_word_embeddings": False,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 2,
            "d_model": 128,
            "n_heads": 4,
            "n_kv_heads": 2,
            "d_ff": 256,
            "vocab_size": 300,
            "positional": "rope",
            "mlp": "swiglu",
            "norm": "rmsnorm",
            "qkv_bias": True,
            "moe": {
                "n_experts": 4,
                "top_k": 2,
                "d_ff_expert": 64,
                "n_shared_experts": 1,
                "d_ff_shared": 96,
                "shared_expert_gate": True,
            },
        },
    },
    {
        "id": "tiny-deepseek-v3-mla",
        "model_type": "deepseek_v3",
        "seq_len": 24,
        "config": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "moe_intermediate_size": 32,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "n_shared_experts": 1,
            "first_k_dense_replace": 1,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,  # MLA expands k and v to every head
            "q_lora_rank": 48,
            "kv_lora_rank": 32,
            "qk_nope_head_dim": 16,
            "qk_rope_head_dim": 8,
            "v_head_dim": 16,
            "vocab_size": 300,
            "n_group": 1,
            "topk_group": 1,
            "max_position_embeddings": 128,
            "attention_bias": False,
            "tie_word_embeddings": False,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 3,
            "d_model": 128,
            "n_heads": 4,
            "d_ff": 256,
            "vocab_size": 300,
            "positional": "rope",
            "mlp": "swiglu",
            "norm": "rmsnorm",
            "mla": {
                "q_lora_rank": 48,
                "kv_lora_rank": 32,
                "qk_rope_head_dim": 8,
                "qk_nope_head_dim": 16,
                "v_head_dim": 16,
            },
            "moe": {
                "n_experts": 4,
                "top_k": 2,
                "d_ff_expert": 32,
                "n_shared_experts": 1,
                "first_dense_layers": 1,
            },
        },
    },
    {
        # A heterogeneous stack: layers 0 and 2 dense, 1 and 3 MoE (decoder_sparse_step 2).
        # (Not Llama 4: its modeling code runs every expert on every token, zero-weighted.)
        "id": "tiny-qwen2-moe-sparse-step",
        "model_type": "qwen2_moe",
        "seq_len": 32,
        "config": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "moe_intermediate_size": 64,
            "shared_expert_intermediate_size": 96,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 300,
            "decoder_sparse_step": 2,
            "mlp_only_layers": [],
            "qkv_bias": True,
            "max_position_embeddings": 128,
            "tie_word_embeddings": False,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 4,
            "d_model": 128,
            "n_heads": 4,
            "n_kv_heads": 2,
            "d_ff": 256,
            "vocab_size": 300,
            "qkv_bias": True,
            "moe": {
                "n_experts": 4,
                "top_k": 2,
                "d_ff_expert": 64,
                "n_shared_experts": 1,
                "d_ff_shared": 96,
                "shared_expert_gate": True,
            },
            "blocks": {"dense": {"moe": False}},
            "stack": [{"pattern": ["dense", "default"]}],
        },
    },
    {
        "id": "tiny-gpt-oss",
        "model_type": "gpt_oss",
        "seq_len": 32,
        "config": {
            "hidden_size": 128,
            "intermediate_size": 96,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 48,
            "vocab_size": 300,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "sliding_window": 64,
            "max_position_embeddings": 128,
            "tie_word_embeddings": False,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 2,
            "d_model": 128,
            "n_heads": 4,
            "n_kv_heads": 2,
            "d_head": 48,
            "d_ff": 96,
            "vocab_size": 300,
            "bias": True,
            "attention_sinks": True,
            "moe": {"n_experts": 4, "top_k": 2, "router_bias": True},
        },
    },
    {
        # RWKV-4: the recurrence keeps a state (output.state), no KV cache. (transformers'
        # forward fails when attention_hidden_size differs from hidden_size.)
        "id": "tiny-rwkv",
        "model_type": "rwkv",
        "seq_len": 32,
        "config": {
            "hidden_size": 64,
            "attention_hidden_size": 64,
            "intermediate_size": 160,
            "num_hidden_layers": 2,
            "vocab_size": 300,
            "context_length": 64,
        },
        "spec": {
            "family": "transformer",
            "n_layers": 2,
            "d_model": 64,
            "n_heads": 1,
            "d_ff": 160,
            "vocab_size": 300,
            "mixer": "rwkv",
            "mlp": "rwkv",
            "norm": "layernorm",
            "positional": "none",
            "embedding_norm": True,
        },
    },
]


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Build the case's model, run one forward pass, count FLOPs and the KV cache."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    config = AutoConfig.for_model(case["model_type"], **case["config"])
    config._attn_implementation = "eager"
    if hasattr(config, "_experts_implementation"):
        # The default "grouped_mm" kernel has no FlopCounterMode formula (it counts 0).
        config._experts_implementation = "eager"
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
    seq_len = case["seq_len"]
    input_ids = torch.randint(0, case["config"].get("vocab_size", 100), (1, seq_len))
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        output = model(input_ids=input_ids, use_cache=True)
    raw = int(counter.get_total_flops())
    by_module = counter.get_flop_counts()
    rotary = 0
    for name, ops in by_module.items():
        if name.endswith("rotary_emb"):
            rotary += int(sum(ops.values()))
    kv_elements = 0
    cache = getattr(output, "past_key_values", None)  # None: a recurrent state (RWKV)
    for layer in cache.layers if cache is not None else ():
        kv_elements += int(layer.keys.numel()) + int(layer.values.numel())
    return {
        "model_type": case["model_type"],
        "seq_len": seq_len,
        "config": case["config"],
        "spec": case["spec"],
        "raw_flops": raw,
        "rotary_flops": rotary,
        "flops": raw - rotary,
        "kv_cache_elements": kv_elements,
        "n_params": sum(p.numel() for p in model.parameters()),
    }


def document() -> dict[str, Any]:
    import torch
    import transformers

    return {
        "format": FORMAT_VERSION,
        "generated_by": "reference/flops_counts.py",
        "convention": (
            "flops = FlopCounterMode total of one eager forward pass over seq_len tokens "
            "(batch 1, matmuls as 2*m*n*k, full SxS attention, LM head included) minus the "
            "rotary_emb module's frequency-table matmul; kv_cache_elements = numel of every "
            "key and value tensor of past_key_values after that pass"
        ),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": sys.version.split()[0],
            "numpy": metadata.version("numpy") if _has("numpy") else None,
        },
        "cases": {case["id"]: measure(case) for case in CASES},
    }


def _has(dist: str) -> bool:
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the JSON, write nothing")
    args = parser.parse_args(argv)
    new = document()
    text = json.dumps(new, indent=2, sort_keys=True) + "\n"
    if args.check:
        old = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if old != text:
            print(f"{OUTPUT} differs from a fresh run", file=sys.stderr)
            return 1
        print(f"{OUTPUT} is up to date")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(new['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
