"""Reference parameter counts for causal-LM architectures, as PyTorch reports them.

This script is the source of truth behind ``tests/data/reference/transformers.json``.
Every number in that file comes from a model that Hugging Face ``transformers`` builds
on PyTorch's ``meta`` device from a config written out below (no weights are
allocated and nothing is downloaded: no ``from_pretrained``, no hub access).  The
convention is PyTorch's: ``sum(p.numel() for p in model.parameters())``, where
``parameters()`` yields a tied tensor (e.g. a language-model head tied to the token
embedding) only once.

It needs torch and transformers, which archcalc itself does not depend on, so it is
not part of the default test run.  Set up a scratch environment outside the repo:

    python3 -m venv /work/refenv
    /work/refenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/refenv/bin/pip install transformers timm accelerate peft

then, from the repository root:

    /work/refenv/bin/python reference/transformer_counts.py          # (re)write the JSON
    /work/refenv/bin/python reference/transformer_counts.py --check  # recompute, compare

``--check`` exits 1 when the recomputed document differs from the committed file in
any way (counts, shapes or the library versions it was generated with).

Each entry of the JSON holds, per case id (sorted):

* ``total_params``: the PyTorch count described above;
* ``active_params`` (mixture-of-experts models only): see ``moe_summary``;
* ``by_component``: numel summed by name group (a partition: the groups add up to
  ``total_params``);
* ``shapes``: name -> shape of every parameter of layer 0 and of every parameter
  outside the layer stack; ``layer_shapes`` (selected cases): the same for layer 1;
* ``tied_parameters``: alias -> name for tensors that ``parameters()`` counts once;
* ``config``: the keyword arguments exactly as given to ``AutoConfig.for_model``, plus
  ``resolved_config`` (values the config object ended up with for fields that shape
  the weights) and ``config_notes`` (given keys that are not fields of the config
  class, or that read back differently from the config object).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "tests" / "data" / "reference" / "transformers.json"

FORMAT_VERSION = 1
CONVENTION = (
    "total_params = sum(p.numel() for p in model.parameters()) of "
    "AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **config)) built "
    "under torch.device('meta') (the case's auto_class instead when it names one: "
    "AutoModelForSeq2SeqLM, or AutoModel for encoders); tied tensors are counted once, as "
    "parameters() yields them once. Buffers (e.g. rotary inv_freq, DeepSeek-V3's "
    "e_score_correction_bias) are not parameters and are not counted."
)
ACTIVE_METHOD = (
    "active_params = total_params - sum over layers of (E_l / n_experts) * "
    "(n_experts - top_k), where E_l is the summed numel of the parameters of layer l "
    "whose dotted name contains the path segment 'experts' (the routed experts only: "
    "router/gate, shared experts and attention stay active)."
)


class _CaseRequired(TypedDict):
    id: str
    model_type: str
    config: dict[str, Any]
    description: str


class Case(_CaseRequired, total=False):
    """One architecture to build: a transformers model type and its config kwargs."""

    #: The transformers auto class (default AutoModelForCausalLM).
    auto_class: str


# Layer ids whose full parameter list goes into ``layer_shapes`` (beyond layer 0).
EXTRA_LAYER_SHAPES: dict[str, int] = {
    "qwen2-moe-small": 1,
    "deepseek-v3-small": 1,
    "llama4-interleaved-moe": 1,
    "qwen2-moe-mlp-only-layers": 1,
    "qwen2-moe-sparse-step": 1,
    "deepseek-v2-lite-like": 2,
    "laguna-per-layer-heads": 2,
    "jamba-small": 2,
    "bamba-small": 2,
    "nemotron-h-small": 1,
}

# Published figures, used only to sanity-check the method; the JSON never copies them.
PUBLISHED: dict[str, dict[str, int]] = {
    "gpt2-small": {"total_params": 124_439_808},
    "gpt-neox-pythia-70m": {"total_params": 70_426_624},
    "mixtral-8x7b": {"total_params": 46_702_792_704, "active_params": 12_879_925_248},
}

CASES: list[Case] = [
    {
        "id": "gpt2-small",
        "model_type": "gpt2",
        "config": {
            "n_layer": 12,
            "n_embd": 768,
            "n_head": 12,
            "n_inner": 3072,
            "n_positions": 1024,
            "vocab_size": 50257,
            "tie_word_embeddings": True,
        },
        "description": "GPT-2 small (124M): learned positions, LayerNorm, GELU MLP, tied head.",
    },
    {
        "id": "gpt3-175b",
        "model_type": "gpt2",
        "config": {
            "n_layer": 96,
            "n_embd": 12288,
            "n_head": 96,
            "n_inner": 49152,
            "n_positions": 2048,
            "vocab_size": 50257,
            "tie_word_embeddings": True,
        },
        "description": "GPT-3 175B shapes on the GPT-2 architecture (dense attention, tied head).",
    },
    {
        "id": "llama-2-7b",
        "model_type": "llama",
        "config": {
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "vocab_size": 32000,
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5,
            "attention_bias": False,
            "mlp_bias": False,
            "tie_word_embeddings": False,
        },
        "description": "Llama 2 7B: MHA, SwiGLU, RMSNorm, untied head.",
    },
    {
        "id": "llama-3-8b",
        "model_type": "llama",
        "config": {
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 128256,
            "max_position_embeddings": 8192,
            "rope_theta": 500000.0,
            "rms_norm_eps": 1e-5,
            "attention_bias": False,
            "mlp_bias": False,
            "tie_word_embeddings": False,
        },
        "description": "Llama 3 8B: GQA (8 KV heads), SwiGLU, 128k vocabulary, untied head.",
    },
    {
        "id": "mistral-7b",
        "model_type": "mistral",
        "config": {
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 32000,
            "sliding_window": 4096,
            "rms_norm_eps": 1e-5,
            "tie_word_embeddings": False,
        },
        "description": "Mistral 7B v0.1: GQA, sliding-window attention (no weights), untied.",
    },
    {
        "id": "mixtral-8x7b",
        "model_type": "mixtral",
        "config": {
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 32000,
            "num_local_experts": 8,
            "num_experts_per_tok": 2,
            "rms_norm_eps": 1e-5,
            "tie_word_embeddings": False,
        },
        "description": "Mixtral 8x7B: 8 SwiGLU experts per layer, top-2 routing, untied.",
    },
    {
        "id": "dense-1t",
        "model_type": "llama",
        "config": {
            "hidden_size": 25600,
            "intermediate_size": 102400,
            "num_hidden_layers": 128,
            "num_attention_heads": 200,
            "num_key_value_heads": 8,
            "vocab_size": 128256,
            "hidden_act": "silu",
            "attention_bias": False,
            "mlp_bias": False,
            "tie_word_embeddings": False,
        },
        "description": "Hypothetical dense Llama-style model above 1e12 parameters (SwiGLU, GQA).",
    },
    {
        "id": "qwen2-0.5b-like",
        "model_type": "qwen2",
        "config": {
            "hidden_size": 896,
            "intermediate_size": 4864,
            "num_hidden_layers": 24,
            "num_attention_heads": 14,
            "num_key_value_heads": 2,
            "vocab_size": 151936,
            "tie_word_embeddings": True,
        },
        "description": "Qwen2-0.5B shapes: biases on q/k/v only (hard-wired), tied head.",
    },
    {
        "id": "gemma-2b-like",
        "model_type": "gemma",
        "config": {
            "hidden_size": 2048,
            "intermediate_size": 16384,
            "num_hidden_layers": 18,
            "num_attention_heads": 8,
            "num_key_value_heads": 1,
            "head_dim": 256,
            "vocab_size": 256000,
            "hidden_act": "gelu_pytorch_tanh",
            "attention_bias": False,
            "tie_word_embeddings": True,
        },
        "description": "Gemma 2B shapes: MQA with head_dim 256, GeGLU MLP, tied head.",
    },
    {
        "id": "gpt-neox-pythia-70m",
        "model_type": "gpt_neox",
        "config": {
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": 6,
            "num_attention_heads": 8,
            "vocab_size": 50304,
            "max_position_embeddings": 2048,
            "rotary_pct": 0.25,
            "use_parallel_residual": True,
            "tie_word_embeddings": False,
        },
        "description": "Pythia-70m: GPT-NeoX, fused QKV with bias, parallel residual, untied.",
    },
    {
        "id": "starcoder2-3b-like",
        "model_type": "starcoder2",
        "config": {
            "hidden_size": 3072,
            "intermediate_size": 12288,
            "num_hidden_layers": 30,
            "num_attention_heads": 24,
            "num_key_value_heads": 2,
            "vocab_size": 49152,
            "max_position_embeddings": 16384,
            "use_bias": True,
            "bos_token_id": 0,
            "eos_token_id": 0,
            "tie_word_embeddings": True,
        },
        "description": "StarCoder2-3B shapes: GQA, biases everywhere, LayerNorm, plain MLP, tied.",
    },
    {
        "id": "llama-explicit-head-dim",
        "model_type": "llama",
        "config": {
            "hidden_size": 2048,
            "intermediate_size": 5632,
            "num_hidden_layers": 4,
            "num_attention_heads": 16,
            "num_key_value_heads": 4,
            "head_dim": 160,
            "vocab_size": 32000,
            "tie_word_embeddings": False,
        },
        "description": "Llama with head_dim 160 != hidden/heads (128): q/o use heads*head_dim.",
    },
    {
        "id": "llama-mqa-bias",
        "model_type": "llama",
        "config": {
            "hidden_size": 1024,
            "intermediate_size": 2816,
            "num_hidden_layers": 3,
            "num_attention_heads": 16,
            "num_key_value_heads": 1,
            "vocab_size": 1000,
            "attention_bias": True,
            "mlp_bias": True,
            "tie_word_embeddings": False,
        },
        "description": "Llama with MQA and biases on every attention and MLP projection.",
    },
    {
        "id": "mixtral-small-top1",
        "model_type": "mixtral",
        "config": {
            "hidden_size": 512,
            "intermediate_size": 1024,
            "num_hidden_layers": 2,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "num_local_experts": 4,
            "num_experts_per_tok": 1,
            "tie_word_embeddings": False,
        },
        "description": "Small Mixtral: 4 experts, top-1 routing, untied.",
    },
    {
        "id": "gpt2-untied-nobias-variant",
        "model_type": "gpt2",
        "config": {
            "n_layer": 2,
            "n_embd": 256,
            "n_head": 4,
            "n_inner": 1024,
            "n_positions": 128,
            "vocab_size": 1000,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small GPT-2 with an untied, bias-free lm_head (GPT-2 has no switch to drop "
            "the other biases; they stay)."
        ),
    },
    {
        "id": "qwen2-moe-small",
        "model_type": "qwen2_moe",
        "config": {
            "hidden_size": 512,
            "intermediate_size": 1024,
            "moe_intermediate_size": 256,
            "shared_expert_intermediate_size": 512,
            "num_experts": 8,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 2,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "decoder_sparse_step": 1,
            "mlp_only_layers": [],
            "qkv_bias": True,
            "tie_word_embeddings": False,
        },
        "description": "Small Qwen2-MoE: 8 routed experts top-2 plus a gated shared expert.",
    },
    {
        "id": "deepseek-v3-small",
        "model_type": "deepseek_v3",
        "config": {
            "hidden_size": 512,
            "intermediate_size": 1024,
            "moe_intermediate_size": 128,
            "n_routed_experts": 8,
            "num_experts_per_tok": 2,
            "n_shared_experts": 1,
            "first_k_dense_replace": 1,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "q_lora_rank": 128,
            "kv_lora_rank": 64,
            "qk_nope_head_dim": 32,
            "qk_rope_head_dim": 16,
            "v_head_dim": 32,
            "vocab_size": 1000,
            "n_group": 1,
            "topk_group": 1,
            "attention_bias": False,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small DeepSeek-V3: MLA attention, layer 0 dense, layers 1-2 with 8 routed "
            "experts top-2 plus 1 shared expert."
        ),
    },
    # Heterogeneous stacks and block parts (issue 10): each has a spec in tests/data/specs.
    {
        "id": "llama4-interleaved-moe",
        "model_type": "llama4_text",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 128,
            "intermediate_size_mlp": 512,
            "num_hidden_layers": 5,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "vocab_size": 1000,
            "num_local_experts": 4,
            "num_experts_per_tok": 1,
            "interleave_moe_layer_step": 2,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small Llama 4 text model: MoE (4 experts top-1 plus a shared expert) in every "
            "second layer (1, 3), dense MLPs of intermediate_size_mlp elsewhere."
        ),
    },
    {
        "id": "qwen2-moe-mlp-only-layers",
        "model_type": "qwen2_moe",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 64,
            "shared_expert_intermediate_size": 128,
            "num_experts": 6,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 5,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "vocab_size": 1000,
            "decoder_sparse_step": 1,
            "mlp_only_layers": [0, 3],
            "qkv_bias": True,
            "tie_word_embeddings": False,
        },
        "description": "Qwen2-MoE whose layers 0 and 3 are dense (mlp_only_layers).",
    },
    {
        "id": "qwen2-moe-sparse-step",
        "model_type": "qwen2_moe",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 384,
            "moe_intermediate_size": 64,
            "shared_expert_intermediate_size": 128,
            "num_experts": 4,
            "num_experts_per_tok": 1,
            "num_hidden_layers": 7,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "decoder_sparse_step": 2,
            "mlp_only_layers": [3],
            "qkv_bias": True,
            "tie_word_embeddings": False,
        },
        "description": (
            "Qwen2-MoE with decoder_sparse_step 2 (MoE in layers 1, 3, 5) and layer 3 "
            "forced dense: MoE only in layers 1 and 5."
        ),
    },
    {
        "id": "deepseek-v2-lite-like",
        "model_type": "deepseek_v2",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 64,
            "n_routed_experts": 8,
            "n_shared_experts": 2,
            "num_experts_per_tok": 2,
            "first_k_dense_replace": 2,
            "num_hidden_layers": 5,
            "num_attention_heads": 8,
            "num_key_value_heads": 8,
            "q_lora_rank": None,
            "kv_lora_rank": 64,
            "qk_nope_head_dim": 16,
            "qk_rope_head_dim": 8,
            "v_head_dim": 32,
            "vocab_size": 1000,
            "tie_word_embeddings": False,
        },
        "description": (
            "DeepSeek-V2-Lite-like: MLA with a full-rank query, two dense layers then MoE "
            "(8 routed experts top-2 and 2 shared)."
        ),
    },
    {
        "id": "gpt-oss-small",
        "model_type": "gpt_oss",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 192,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 48,
            "vocab_size": 1000,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "layer_types": [
                "sliding_attention",
                "full_attention",
                "sliding_attention",
                "full_attention",
            ],
            "tie_word_embeddings": False,
        },
        "description": (
            "Small gpt-oss: attention sinks, biases on q/k/v/o, alternating sliding and full "
            "attention, MoE with a biased router and biased experts."
        ),
    },
    {
        "id": "gemma3-small",
        "model_type": "gemma3_text",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 640,
            "num_hidden_layers": 7,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 64,
            "vocab_size": 1000,
            "sliding_window": 64,
            "tie_word_embeddings": True,
        },
        "description": (
            "Small Gemma 3: sandwich norms (four per block), q/k norms, GeGLU, five sliding "
            "layers per global one, tied embeddings."
        ),
    },
    {
        "id": "gpt2-cross-attention",
        "model_type": "gpt2",
        "config": {
            "n_layer": 3,
            "n_embd": 256,
            "n_head": 4,
            "n_positions": 128,
            "vocab_size": 1000,
            "add_cross_attention": True,
            "tie_word_embeddings": True,
        },
        "description": "GPT-2 decoder with cross-attention in every block (add_cross_attention).",
    },
    {
        "id": "olmo2-small",
        "model_type": "olmo2",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 640,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small OLMo 2: norms after each sub-layer only, q/k norms over the whole q and "
            "k projections."
        ),
    },
    {
        "id": "marian-small",
        "model_type": "marian",
        "auto_class": "AutoModelForSeq2SeqLM",
        "config": {
            "d_model": 256,
            "encoder_layers": 2,
            "decoder_layers": 3,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "encoder_ffn_dim": 512,
            "decoder_ffn_dim": 512,
            "vocab_size": 1000,
            "max_position_embeddings": 128,
            "pad_token_id": 1,
            "eos_token_id": 2,
            "decoder_start_token_id": 1,
        },
        "description": (
            "Small Marian: sinusoidal position tables stored as parameters (one per stack), "
            "post-norm blocks without a final norm, GELU MLPs, tied head."
        ),
    },
    {
        "id": "jamba-small",
        "model_type": "jamba",
        "config": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 8,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "attn_layer_period": 4,
            "attn_layer_offset": 2,
            "expert_layer_period": 2,
            "expert_layer_offset": 1,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "mamba_d_state": 8,
            "mamba_dt_rank": 16,
            "use_mamba_kernels": False,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small Jamba: Mamba mixers (with dt/B/C norms) and attention in layers 2 and 6, "
            "MoE in every odd layer."
        ),
    },
    {
        "id": "jamba-narrow-inner",
        "model_type": "jamba",
        "config": {
            "hidden_size": 48,
            "intermediate_size": 96,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "attn_layer_period": 4,
            "attn_layer_offset": 2,
            "expert_layer_period": 2,
            "expert_layer_offset": 1,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "mamba_d_state": 8,
            "mamba_dt_rank": 16,
            "use_mamba_kernels": False,
            "tie_word_embeddings": False,
        },
        "description": (
            "Jamba whose Mamba-1 inner width (96) is no multiple of Mamba-2's default head "
            "width (64): Mamba-1 has no heads, so nothing about them may refuse it."
        ),
    },
    {
        "id": "bamba-small",
        "model_type": "bamba",
        "config": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "attn_layer_indices": [2],
            "mamba_n_heads": 8,
            "mamba_d_head": 32,
            "mamba_n_groups": 1,
            "mamba_d_state": 16,
            "tie_word_embeddings": False,
        },
        "description": "Small Bamba: Mamba-2 mixers, attention in layer 2, dense MLPs.",
    },
    {
        "id": "nemotron-h-small",
        "model_type": "nemotron_h",
        "config": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 5,
            "layers_block_type": [
                "linear_attention",
                "moe",
                "full_attention",
                "mlp",
                "linear_attention",
            ],
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "vocab_size": 1000,
            "ssm_state_size": 16,
            "mamba_num_heads": 8,
            "mamba_head_dim": 32,
            "n_groups": 2,
            "n_routed_experts": 4,
            "n_shared_experts": 1,
            "moe_intermediate_size": 64,
            "moe_shared_expert_intermediate_size": 96,
            "num_experts_per_tok": 2,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small Nemotron-H: every layer one sub-layer with one norm: Mamba-2, MoE, "
            "attention or MLP."
        ),
    },
    {
        "id": "deepseek-v32-small",
        "model_type": "deepseek_v32",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 64,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "n_shared_experts": 1,
            "first_k_dense_replace": 1,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "q_lora_rank": 96,
            "kv_lora_rank": 64,
            "qk_nope_head_dim": 32,
            "qk_rope_head_dim": 16,
            "v_head_dim": 32,
            "index_n_heads": 4,
            "index_head_dim": 32,
            "vocab_size": 1000,
            "n_group": 1,
            "topk_group": 1,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small DeepSeek-V3.2: MLA with a lightning indexer (wq_b, wk, k_norm, "
            "weights_proj) in every layer; layer 0 dense."
        ),
    },
    {
        "id": "qwen3-next-small",
        "model_type": "qwen3_next",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 6,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "vocab_size": 1000,
            "linear_num_key_heads": 4,
            "linear_num_value_heads": 8,
            "linear_key_head_dim": 32,
            "linear_value_head_dim": 24,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 64,
            "shared_expert_intermediate_size": 96,
            "layer_types": [
                "linear_attention",
                "linear_attention",
                "linear_attention",
                "full_attention",
                "linear_attention",
                "linear_attention",
            ],
            "tie_word_embeddings": False,
        },
        "description": (
            "Small Qwen3-Next: gated DeltaNet linear attention with full attention every "
            "fourth layer (a gated q projection, q/k norms), MoE with a gated shared expert."
        ),
    },
    {
        "id": "bitnet-small",
        "model_type": "bitnet",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 640,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "tie_word_embeddings": False,
        },
        "description": "Small BitNet: norms inside attention (before o_proj) and the MLP.",
    },
    {
        "id": "stablelm-qk-layernorm",
        "model_type": "stablelm",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 640,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "vocab_size": 1000,
            "qk_layernorm": True,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small StableLM with qk_layernorm: every head its own bias-free LayerNorm on "
            "queries and keys; LayerNorms with biases elsewhere."
        ),
    },
    {
        "id": "umt5-small",
        "model_type": "umt5",
        "auto_class": "AutoModelForSeq2SeqLM",
        "config": {
            "d_model": 256,
            "num_layers": 3,
            "num_decoder_layers": 2,
            "num_heads": 4,
            "d_kv": 32,
            "d_ff": 512,
            "vocab_size": 1000,
        },
        "description": (
            "Small UMT5: a relative position bias in every block's self-attention (T5 has "
            "one in the first block only), gated-GELU MLPs, tied head."
        ),
    },
    {
        "id": "modernbert-small",
        "model_type": "modernbert",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 384,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "pad_token_id": 0,
        },
        "description": (
            "Small ModernBERT (AutoModel): no norm before attention in layer 0, bias-free "
            "LayerNorms, a GeGLU MLP (Wi is d → 2·intermediate), embedding and final norms."
        ),
    },
    {
        "id": "deberta-v2-small",
        "model_type": "deberta-v2",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "relative_attention": True,
            "position_buckets": 64,
            "pos_att_type": ["p2c", "c2p"],
            "share_att_key": False,
            "norm_rel_ebd": "layer_norm",
            "position_biased_input": False,
            "type_vocab_size": 0,
        },
        "description": (
            "Small DeBERTa-v2 (AutoModel) without shared attention keys: position key and "
            "query projections per layer, a relative-embedding table of 2·position_buckets "
            "rows with its LayerNorm, no absolute positions."
        ),
    },
    {
        "id": "longformer-small",
        "model_type": "longformer",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "attention_window": [16, 16, 16],
            "max_position_embeddings": 130,
        },
        "description": (
            "Small Longformer (AutoModel): every self-attention has global q, k, v "
            "projections beside the local ones; BERT-style post-norm blocks and pooler."
        ),
    },
    {
        "id": "fnet-small",
        "model_type": "fnet",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "vocab_size": 1000,
            "max_position_embeddings": 128,
        },
        "description": (
            "Small FNet (AutoModel): a parameter-free Fourier transform in place of "
            "attention (its output LayerNorm stays), an embedding projection, a pooler."
        ),
    },
    {
        "id": "nystromformer-small",
        "model_type": "nystromformer",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "max_position_embeddings": 128,
            "conv_kernel_size": 33,
        },
        "description": (
            "Small Nyströmformer (AutoModel): a depthwise convolution over each head's "
            "values (n_heads × 33 taps, no bias); positions with an offset of 2."
        ),
    },
    {
        "id": "lfm2-small",
        "model_type": "lfm2",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "vocab_size": 1000,
            "layer_types": ["conv", "conv", "full_attention", "conv"],
            "conv_L_cache": 3,
            "block_auto_adjust_ff_dim": False,
        },
        "description": (
            "Small LFM2: gated short-convolution blocks (in_proj d → 3d, a depthwise conv of "
            "3 taps, out_proj) and one attention block with per-head q/k norms; tied head."
        ),
    },
    {
        "id": "lfm2-conv-bias",
        "model_type": "lfm2",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "vocab_size": 1000,
            "layer_types": ["conv", "full_attention"],
            "conv_L_cache": 4,
            "conv_bias": True,
            "block_auto_adjust_ff_dim": False,
            "tie_word_embeddings": False,
        },
        "description": "LFM2 with conv_bias: the short convolution's three biases; untied head.",
    },
    {
        "id": "minimax-small",
        "model_type": "minimax",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 128,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 32,
            "vocab_size": 1000,
            "layer_types": [
                "linear_attention",
                "full_attention",
                "linear_attention",
                "full_attention",
            ],
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small MiniMax-Text-01: lightning (linear) attention blocks (fused qkv, output "
            "gate, RMSNorm, out_proj) alternating with full attention; MoE in every block."
        ),
    },
    {
        "id": "recurrent-gemma-small",
        "model_type": "recurrent_gemma",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 768,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 1,
            "vocab_size": 1000,
            "lru_width": 384,
            "conv1d_width": 4,
            "block_types": ["recurrent", "recurrent", "attention"],
        },
        "description": (
            "Small RecurrentGemma (Griffin): RG-LRU recurrent blocks (biased branches, a "
            "conv, block-diagonal gates) with an attention block every third layer; biased "
            "GeGLU MLPs of intermediate_size / 2; tied head."
        ),
    },
    {
        "id": "falcon-h1-small",
        "model_type": "falcon_h1",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "mamba_d_ssm": 384,
            "mamba_n_heads": 8,
            "mamba_d_head": 48,
            "mamba_d_state": 16,
            "mamba_n_groups": 2,
            "mamba_rms_norm": True,
            "tie_word_embeddings": False,
        },
        "description": (
            "Small Falcon-H1: attention and a Mamba-2 mixer side by side in every block "
            "(one input norm, outputs summed), the mixer's width mamba_d_ssm."
        ),
    },
    {
        "id": "olmo-hybrid-small",
        "model_type": "olmo_hybrid",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "vocab_size": 1000,
            "pad_token_id": 0,
            "linear_num_key_heads": 4,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 32,
            "linear_value_head_dim": 64,
            "layer_types": [
                "linear_attention",
                "linear_attention",
                "linear_attention",
                "full_attention",
            ],
            "tie_word_embeddings": False,
        },
        "description": (
            "Small OLMo-Hybrid: pre-norm gated DeltaNet blocks (separate q/k/v/g/a/b/o "
            "projections) and a post-norm attention block with whole-projection q/k norms."
        ),
    },
    {
        "id": "led-small",
        "model_type": "led",
        "auto_class": "AutoModelForSeq2SeqLM",
        "config": {
            "d_model": 256,
            "encoder_ffn_dim": 512,
            "decoder_ffn_dim": 512,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 8,
            "decoder_attention_heads": 8,
            "vocab_size": 1000,
            "max_encoder_position_embeddings": 256,
            "max_decoder_position_embeddings": 64,
            "attention_window": [16, 16],
        },
        "description": (
            "Small LED: Longformer self-attention with global q/k/v in the encoder, BART "
            "decoder; the two position tables of different lengths."
        ),
    },
    {
        "id": "fsmt-small",
        "model_type": "fsmt",
        "auto_class": "AutoModelForSeq2SeqLM",
        "config": {
            "d_model": 256,
            "encoder_ffn_dim": 512,
            "decoder_ffn_dim": 512,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 8,
            "decoder_attention_heads": 8,
            "src_vocab_size": 1000,
            "tgt_vocab_size": 800,
            "max_position_embeddings": 64,
            "langs": ["en", "de"],
        },
        "description": (
            "Small FSMT: source and target vocabularies of their own (an untied output "
            "projection of the target's), sinusoidal tables stored as parameters."
        ),
    },
    {
        "id": "marian-unshared-vocab",
        "model_type": "marian",
        "auto_class": "AutoModelForSeq2SeqLM",
        "config": {
            "d_model": 256,
            "encoder_ffn_dim": 512,
            "decoder_ffn_dim": 512,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 8,
            "decoder_attention_heads": 8,
            "vocab_size": 1000,
            "decoder_vocab_size": 800,
            "share_encoder_decoder_embeddings": False,
            "max_position_embeddings": 64,
            "pad_token_id": 0,
            "decoder_start_token_id": 0,
        },
        "description": (
            "Marian without shared embeddings: the decoder's own token table, the LM head "
            "tied to it."
        ),
    },
    {
        "id": "roformer-small",
        "model_type": "roformer",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "embedding_size": 128,
            "intermediate_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "max_position_embeddings": 128,
        },
        "description": (
            "Small RoFormer (AutoModel): a sinusoidal table of one head's width stored as a "
            "parameter for the rotary positions; factorised embeddings."
        ),
    },
    {
        "id": "kimi-linear-small",
        "model_type": "kimi_linear",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 64,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "linear_num_heads": 4,
            "linear_head_dim": 32,
            "kv_lora_rank": 64,
            "qk_rope_head_dim": 16,
            "qk_nope_head_dim": 32,
            "v_head_dim": 32,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "n_shared_experts": 1,
            "layer_types": [
                "linear_attention",
                "linear_attention",
                "linear_attention",
                "full_attention",
            ],
            "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
        },
        "description": (
            "Small Kimi Linear: Kimi Delta Attention blocks (q/k/v, a conv, low-rank forget "
            "and output gates) with MLA every fourth layer; layer 0 dense, then MoE with a "
            "shared expert."
        ),
    },
    {
        "id": "bailing-hybrid-small",
        "model_type": "bailing_hybrid",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 64,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "head_dim": 32,
            "vocab_size": 1000,
            "pad_token_id": 0,
            "eos_token_id": 2,
            "kv_lora_rank": 64,
            "qk_rope_head_dim": 16,
            "qk_nope_head_dim": 32,
            "v_head_dim": 32,
            "num_experts": 4,
            "num_experts_per_token": 2,
            "num_expert_group": 2,
            "topk_group": 1,
            "layer_types": [
                "linear_attention",
                "linear_attention",
                "linear_attention",
                "full_attention",
            ],
            "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
        },
        "description": (
            "Small Ling 3 hybrid (BailingHybrid): delta attention with full-rank forget and "
            "output gates, MLA with a head-wise output gate every fourth layer; layer 0 "
            "dense, then MoE with a shared expert."
        ),
    },
    {
        "id": "rwkv-small",
        "model_type": "rwkv",
        "config": {
            "hidden_size": 256,
            "attention_hidden_size": 192,
            "intermediate_size": 640,
            "num_hidden_layers": 3,
            "vocab_size": 1000,
            "context_length": 128,
        },
        "description": (
            "Small RWKV-4: time mixing over attention_hidden_size channels and channel "
            "mixing in every block; LayerNorms; the embedding norm (pre_ln) of block 0; an "
            "untied head."
        ),
    },
    {
        "id": "deberta-small",
        "model_type": "deberta",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "relative_attention": True,
            "max_relative_positions": 64,
            "pos_att_type": ["c2p", "p2c"],
            "position_biased_input": False,
            "type_vocab_size": 0,
        },
        "description": (
            "Small DeBERTa (v1, AutoModel): a fused bias-free in_proj with q and v biases "
            "(k none), a bias-free position key projection and a biased position query "
            "projection, 2·max_relative_positions relative embeddings."
        ),
    },
    {
        "id": "gte-small",
        "model_type": "gte",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 3,
            "num_attention_heads": 8,
            "vocab_size": 1000,
        },
        "description": (
            "Small GTE (AutoModel): post-norm blocks with biased attention and a gated MLP "
            "whose only bias is down_proj's; rotary positions, token types."
        ),
    },
    {
        "id": "ernie-task-type",
        "model_type": "ernie",
        "auto_class": "AutoModel",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 8,
            "vocab_size": 1000,
            "max_position_embeddings": 128,
            "use_task_id": True,
            "task_type_vocab_size": 3,
        },
        "description": (
            "Small ERNIE (AutoModel) with use_task_id: a task-type table beside the token types."
        ),
    },
    {
        "id": "laguna-per-layer-heads",
        "model_type": "laguna",
        "config": {
            "hidden_size": 256,
            "intermediate_size": 384,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_attention_heads_per_layer": [4, 8, 2, 6],
            "num_key_value_heads": 2,
            "head_dim": 32,
            "gating": "per-head",
            "vocab_size": 1000,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 64,
            "shared_expert_intermediate_size": 96,
            "tie_word_embeddings": False,
        },
        "description": (
            "Laguna: a different number of query heads in every layer (OpenELM-style "
            "per-layer widths), a per-head output gate, q/k norms, layer 0 dense, MoE with "
            "a router bias and a shared expert."
        ),
    },
]

# Config attributes reported back in ``resolved_config`` when the config object has them.
RESOLVED_FIELDS: tuple[str, ...] = (
    "tie_word_embeddings",
    "head_dim",
    "num_key_value_heads",
    "intermediate_size",
    "n_inner",
    "hidden_act",
    "activation_function",
    "attention_bias",
    "mlp_bias",
    "use_bias",
    "qkv_bias",
    "rope_parameters",
)

# Config attributes that give the number of routed experts, by model family.
N_EXPERTS_FIELDS: tuple[str, ...] = ("num_local_experts", "num_experts", "n_routed_experts")

LAYER_RE = re.compile(r"^(?P<prefix>.*?)\.(?:layers|h)\.(?P<idx>\d+)\.(?P<rest>.+)$")
ATTENTION_MODULES = frozenset({"self_attn", "attn", "attention"})
MLP_MODULES = frozenset({"mlp", "block_sparse_moe", "feed_forward"})
EMBEDDING_MODULES = frozenset({"embed_tokens", "wte", "wpe", "embed_in"})
HEAD_MODULES = frozenset({"lm_head", "embed_out"})


def component_of(name: str) -> str:
    """Return the ``by_component`` group of a parameter name.

    Layer parameters are grouped by the first module under the layer (attention, mlp,
    norm); so a norm inside an attention block (MLA's ``q_a_layernorm``) counts as
    attention.  Anything unrecognised gets its own ``other:`` group so that it shows.
    """
    match = LAYER_RE.match(name)
    if match:
        module = match["rest"].split(".")[0]
        if module in ATTENTION_MODULES:
            return "layers.attention"
        if module in MLP_MODULES:
            return "layers.mlp"
        if "norm" in module or module.startswith("ln_"):
            return "layers.norm"
        return f"layers.other:{module}"
    parts = name.split(".")
    module = parts[-2] if len(parts) > 1 else parts[0]
    if module in EMBEDDING_MODULES or ("embed" in module and module not in HEAD_MODULES):
        return "embeddings"
    if module in HEAD_MODULES:
        return "lm_head"
    if "norm" in module or module == "ln_f":
        return "final_norm"
    return f"other:{module}"


def jsonable(value: Any) -> Any:
    """Convert a config value into plain JSON types (tuples to lists, others to str)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def versions() -> dict[str, str]:
    """Versions of the libraries the numbers depend on (installed distributions)."""
    out: dict[str, str] = {}
    for dist in ("torch", "transformers", "timm", "torchvision", "peft", "accelerate"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def config_notes(config: Any, given: dict[str, Any]) -> dict[str, Any]:
    """Report given keys that the config class does not declare or reads back differently."""
    notes: dict[str, Any] = {}
    fields = (
        {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    )
    if fields:
        unknown = sorted(k for k in given if k not in fields)
        if unknown:
            notes["keys_not_fields_of_config_class"] = unknown
    differs = {
        key: jsonable(getattr(config, key, None))
        for key, value in given.items()
        if jsonable(getattr(config, key, None)) != jsonable(value)
    }
    if differs:
        notes["keys_reading_back_differently"] = differs
    return notes


def moe_summary(config: Any, named: list[tuple[str, Any]], total: int) -> dict[str, Any] | None:
    """Routed-expert bookkeeping and the active parameter count, or None for dense models.

    Method: for each layer, sum the numel of the parameters whose dotted name has the
    exact segment ``experts`` (``shared_expert``/``shared_experts`` do not match).  With
    transformers 5 these are fused tensors whose first dimension is the expert index
    (``experts.gate_up_proj``, ``experts.down_proj``); with per-expert modules they are
    ``experts.<i>.*``.  Either way one routed expert of layer l holds E_l / n_experts
    parameters (checked to divide exactly), and a token skips n_experts - top_k of them:
    active = total - sum_l (n_experts - top_k) * E_l / n_experts.
    """
    per_layer: dict[int, int] = defaultdict(int)
    mlp_parts: dict[str, int] = defaultdict(int)
    for name, param in named:
        match = LAYER_RE.match(name)
        if not match or "experts" not in match["rest"].split("."):
            continue
        per_layer[int(match["idx"])] += param.numel()
    if not per_layer:
        return None
    n_experts = next(int(getattr(config, f)) for f in N_EXPERTS_FIELDS if getattr(config, f, None))
    top_k = int(config.num_experts_per_tok)
    for name, param in named:
        match = LAYER_RE.match(name)
        if match and int(match["idx"]) in per_layer:
            rest = match["rest"].split(".")
            if rest[0] in MLP_MODULES and len(rest) > 2:
                mlp_parts[rest[1]] += param.numel()
    inactive = 0
    for layer, numel in sorted(per_layer.items()):
        if numel % n_experts:
            raise ValueError(f"layer {layer}: {numel} expert params not divisible by {n_experts}")
        inactive += (n_experts - top_k) * (numel // n_experts)
    return {
        "n_routed_experts": n_experts,
        "top_k": top_k,
        "moe_layers": sorted(per_layer),
        "routed_expert_params": sum(per_layer.values()),
        "params_per_routed_expert_by_layer": {
            str(k): v // n_experts for k, v in sorted(per_layer.items())
        },
        "moe_layer_mlp_parts": dict(mlp_parts),
        "inactive_params_per_token": inactive,
        "active_params": total - inactive,
        "method": ACTIVE_METHOD,
    }


def shapes_of(named: list[tuple[str, Any]], layer: int | None) -> dict[str, list[int]]:
    """Name -> shape of the parameters of one layer, or (layer=None) outside the layers."""
    out = {}
    for name, param in named:
        match = LAYER_RE.match(name)
        if (match is None and layer is None) or (match and int(match["idx"]) == layer):
            out[name] = list(param.shape)
    return out


def measure(case: Case) -> dict[str, Any]:
    """Build one case on the meta device and return its JSON entry."""
    import torch
    import transformers
    from transformers import AutoConfig

    auto_class = getattr(transformers, case.get("auto_class", "AutoModelForCausalLM"))
    config = AutoConfig.for_model(case["model_type"], **case["config"])
    with torch.device("meta"):
        model = auto_class.from_config(config)

    named = list(model.named_parameters())  # deduplicated, like model.parameters()
    if any(p.device.type != "meta" for _, p in named):
        raise RuntimeError(f"{case['id']}: a parameter was materialised off the meta device")
    total = sum(p.numel() for p in model.parameters())
    if total != sum(p.numel() for _, p in named):
        raise RuntimeError(f"{case['id']}: named_parameters() and parameters() disagree")

    canonical = {id(p): n for n, p in named}
    tied = {
        alias: canonical[id(p)]
        for alias, p in model.named_parameters(remove_duplicate=False)
        if canonical[id(p)] != alias
    }

    by_component: dict[str, int] = defaultdict(int)
    for name, param in named:
        by_component[component_of(name)] += param.numel()
    if sum(by_component.values()) != total:
        raise RuntimeError(f"{case['id']}: by_component does not partition the total")
    by_component.setdefault("lm_head", 0)  # 0 means tied: see tied_parameters

    entry: dict[str, Any] = {
        "model_type": case["model_type"],
        "model_class": type(model).__name__,
        "description": case["description"],
        "total_params": total,
    }
    moe = moe_summary(config, named, total)
    if moe is not None:
        entry["active_params"] = moe["active_params"]
    entry["by_component"] = dict(sorted(by_component.items()))
    entry["num_layers_built"] = len(
        {int(m["idx"]) for m in (LAYER_RE.match(n) for n, _ in named) if m}
    )
    entry["tied_parameters"] = tied
    if moe is not None:
        entry["moe"] = moe
    entry["shapes"] = {**shapes_of(named, None), **shapes_of(named, 0)}
    if case["id"] in EXTRA_LAYER_SHAPES:
        entry["layer_shapes"] = shapes_of(named, EXTRA_LAYER_SHAPES[case["id"]])
    entry["config"] = case["config"]
    entry["resolved_config"] = {
        f: jsonable(getattr(config, f)) for f in RESOLVED_FIELDS if hasattr(config, f)
    }
    notes = config_notes(config, case["config"])
    if notes:
        entry["config_notes"] = notes
    return entry


def sanity_check(results: dict[str, dict[str, Any]]) -> list[str]:
    """Compare the computed counts with published figures; return the disagreements."""
    problems = []
    for case_id, expected in PUBLISHED.items():
        for key, value in expected.items():
            got = results[case_id].get(key)
            if got != value:
                problems.append(f"{case_id}: {key} = {got}, published {value}")
    return problems


def build_document() -> dict[str, Any]:
    """Measure every case and assemble the JSON document."""
    import transformers

    transformers.logging.set_verbosity_error()  # e.g. token-id-vs-vocab notices
    ids = [c["id"] for c in CASES]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate case id")
    results = {case["id"]: measure(case) for case in sorted(CASES, key=lambda c: c["id"])}
    problems = sanity_check(results)
    if problems:
        raise RuntimeError("method disagrees with published figures:\n" + "\n".join(problems))
    return {
        "format_version": FORMAT_VERSION,
        "generated_by": "reference/transformer_counts.py",
        "convention": CONVENTION,
        "versions": versions(),
        "cases": results,
    }


INT_LIST_RE = re.compile(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]")


def render(document: dict[str, Any]) -> str:
    """Serialise deterministically: two-space indent, integer lists (shapes) on one line."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    text = INT_LIST_RE.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m[1])) + "]", text)
    return text + "\n"


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """List the JSON paths at which two documents differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{sub}: only in recomputed")
            elif key not in new:
                out.append(f"{sub}: only in committed file")
            else:
                out.extend(differences(old[key], new[key], sub))
        return out
    if old != new:
        return [f"{path}: committed {old!r}, recomputed {new!r}"]
    return []


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="recompute and compare with the committed file; exit 1 on any mismatch",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="JSON file to write/check")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    text = render(build_document())
    elapsed = time.perf_counter() - start

    if args.check:
        if not args.output.exists():
            print(f"missing {args.output}", file=sys.stderr)
            return 1
        committed = args.output.read_text(encoding="utf-8")
        if committed == text:
            print(f"OK: {args.output} matches ({elapsed:.1f}s)")
            return 0
        diffs = differences(json.loads(committed), json.loads(text)) or ["formatting only"]
        print(f"MISMATCH: {args.output} ({len(diffs)} difference(s))", file=sys.stderr)
        for line in diffs[:50]:
            print("  " + line, file=sys.stderr)
        return 1

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(CASES)} cases, {elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
