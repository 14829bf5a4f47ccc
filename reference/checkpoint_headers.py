"""Tiny checkpoints saved by Hugging Face transformers, recorded header by header.

Source of truth behind ``tests/data/reference/checkpoints.json``. For every case below this
script builds a tiny model of a supported ``model_type`` with transformers (on the CPU,
random weights), saves it with ``save_pretrained`` (safetensors; one case sharded with a
small ``max_shard_size``, some in bfloat16) into a temporary folder, and records what was
written: ``config.json``, each ``.safetensors`` file's header (tensor names, dtypes, shapes,
data offsets, ``__metadata__``), ``model.safetensors.index.json`` when sharded, the model's
``sum(p.numel() for p in model.parameters())`` (tied tensors once), the elements of all
saved tensors, and the model's buffers in its state dict (in-memory names: a buffer can be
saved, as BART's ``final_logits_bias``). The tests rebuild each checkpoint from this record
with a hand-written safetensors writer (zeros of the right size), so they need neither
torch nor the weights.

The Auto class follows ``archcalc count config.json`` (see ``reference/hf_counts.py``):
``AutoModelForCausalLM`` for decoders, ``AutoModel`` for encoders, ``AutoModelForSeq2SeqLM``
for encoder-decoders.

Needs torch, transformers and safetensors (not archcalc dependencies); from the repo root:

    /work/refenv/bin/python reference/checkpoint_headers.py            # (re)write the JSON
    /work/refenv/bin/python reference/checkpoint_headers.py --check    # recompute, compare
    /work/refenv/bin/python reference/checkpoint_headers.py --keep DIR # also keep the folders
    /work/refenv/bin/python reference/checkpoint_headers.py --cases jamba,bamba  # just these

The Mamba plugin's cases (``MAMBA_CASES``) are pinned in its own
``plugins/archcalc-mamba/tests/data/checkpoints.json``.

``--keep DIR`` leaves each saved folder (weights included) in ``DIR/<case>`` for checking
archcalc by hand on checkpoints that are not in the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "reference"))

from hf_counts import auto_class_name  # noqa: E402
from transformer_counts import versions  # noqa: E402

OUTPUT = REPO_ROOT / "tests" / "data" / "reference" / "checkpoints.json"
FORMAT_VERSION = 1

#: Small widths shared by most decoder cases (two blocks: a check with n_layers=3 must
#: then name the missing tensors of block 2).
LLAMA = {
    "num_hidden_layers": 2,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 64,
    "max_position_embeddings": 128,
}

#: Experts for the MoE cases (the first layer dense where the type has a dense first few).
SMALL_MOE = {**LLAMA, "num_experts": 3, "num_experts_per_tok": 2, "moe_intermediate_size": 16}
#: DeepSeek's latent attention and experts, small.
SMALL_MLA = {
    **LLAMA,
    "num_key_value_heads": 4,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "n_group": 1,
    "topk_group": 1,
    "n_shared_experts": 1,
    "moe_intermediate_size": 16,
    "first_k_dense_replace": 1,
    "kv_lora_rank": 16,
    "qk_rope_head_dim": 8,
    "qk_nope_head_dim": 8,
    "v_head_dim": 8,
}

#: case name -> model_type, config fields, save options.
CASES: dict[str, dict[str, Any]] = {
    "llama": {"model_type": "llama", "config": LLAMA},
    "llama-tied": {"model_type": "llama", "config": {**LLAMA, "tie_word_embeddings": True}},
    "llama-sharded": {
        "model_type": "llama",
        "config": {**LLAMA, "attention_bias": True, "mlp_bias": True},
        "max_shard_size": "8KB",
        "dtype": "bfloat16",
    },
    "mistral": {"model_type": "mistral", "config": {**LLAMA, "head_dim": 16}},
    "qwen2": {"model_type": "qwen2", "config": {**LLAMA, "tie_word_embeddings": True}},
    "qwen3": {"model_type": "qwen3", "config": {**LLAMA, "head_dim": 8}},
    "gemma": {"model_type": "gemma", "config": {**LLAMA, "head_dim": 8}},
    "gemma2": {"model_type": "gemma2", "config": {**LLAMA, "head_dim": 8}},
    "phi3": {"model_type": "phi3", "config": {**LLAMA, "pad_token_id": 0}},
    "olmo": {"model_type": "olmo", "config": {**LLAMA, "pad_token_id": 0}},
    "starcoder2": {"model_type": "starcoder2", "config": LLAMA},
    "mixtral": {
        "model_type": "mixtral",
        "config": {**LLAMA, "num_local_experts": 3, "num_experts_per_tok": 2},
        "dtype": "bfloat16",
    },
    "qwen2_moe": {
        "model_type": "qwen2_moe",
        "config": {
            **LLAMA,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 16,
            "shared_expert_intermediate_size": 40,
        },
    },
    "deepseek_v3": {
        "model_type": "deepseek_v3",
        "config": {
            **LLAMA,
            "num_key_value_heads": 4,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "n_group": 1,
            "topk_group": 1,
            "n_shared_experts": 1,
            "moe_intermediate_size": 16,
            "first_k_dense_replace": 1,
            "q_lora_rank": 24,
            "kv_lora_rank": 16,
            "qk_rope_head_dim": 8,
            "qk_nope_head_dim": 8,
            "v_head_dim": 8,
        },
    },
    # decoders of plugins/transformer_hf_decoders.py
    "bitnet": {"model_type": "bitnet", "config": LLAMA},
    "granite_swa": {"model_type": "granite_swa", "config": LLAMA},
    "granitemoe_swa": {
        "model_type": "granitemoe_swa",
        "config": {
            **LLAMA,
            "num_local_experts": 3,
            "num_experts_per_tok": 2,
            "shared_intermediate_size": 24,
        },
    },
    "jais2": {"model_type": "jais2", "config": LLAMA},
    "exaone_moe": {"model_type": "exaone_moe", "config": {**SMALL_MOE, "head_dim": 8}},
    "hy_v3": {"model_type": "hy_v3", "config": {**SMALL_MOE, "head_dim": 8}},
    "flint": {
        "model_type": "flint",
        "config": {
            **SMALL_MOE,
            "head_dim": 8,
            "mlp_only_layers": [0],
            "shared_expert_intermediate_size": 24,
        },
    },
    "deepseek_v2": {"model_type": "deepseek_v2", "config": {**SMALL_MLA, "q_lora_rank": None}},
    "deepseek_v32": {
        "model_type": "deepseek_v32",
        "config": {**SMALL_MLA, "q_lora_rank": 24, "index_n_heads": 2, "index_head_dim": 8},
    },
    "glm_moe_dsa": {
        "model_type": "glm_moe_dsa",
        "config": {
            **SMALL_MLA,
            "q_lora_rank": 24,
            "index_n_heads": 2,
            "index_head_dim": 8,
            "indexer_types": ["full", "shared"],
        },
    },
    "glm4_moe_lite": {"model_type": "glm4_moe_lite", "config": {**SMALL_MLA, "q_lora_rank": 24}},
    "gpt2": {
        "model_type": "gpt2",
        "config": {"n_layer": 2, "n_embd": 32, "n_head": 4, "vocab_size": 64, "n_positions": 40},
    },
    "gpt_neox": {
        "model_type": "gpt_neox",
        "config": {**LLAMA, "num_key_value_heads": 4},
    },
    "gptj": {
        "model_type": "gptj",
        "config": {
            "n_layer": 2,
            "n_embd": 32,
            "n_head": 4,
            "vocab_size": 64,
            "n_positions": 40,
            "rotary_dim": 4,
        },
    },
    "falcon": {
        "model_type": "falcon",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "num_attention_heads": 4,
            "vocab_size": 64,
        },
    },
    "opt": {
        "model_type": "opt",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "word_embed_proj_dim": 32,
            "ffn_dim": 48,
            "num_attention_heads": 4,
            "vocab_size": 64,
            "max_position_embeddings": 40,
            "pad_token_id": 1,
        },
    },
    "bert": {
        "model_type": "bert",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "num_attention_heads": 4,
            "intermediate_size": 48,
            "vocab_size": 64,
            "max_position_embeddings": 40,
        },
    },
    "roberta": {
        "model_type": "roberta",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "num_attention_heads": 4,
            "intermediate_size": 48,
            "vocab_size": 64,
            "max_position_embeddings": 40,
            "type_vocab_size": 1,
        },
    },
    "distilbert": {
        "model_type": "distilbert",
        "config": {
            "n_layers": 2,
            "dim": 32,
            "n_heads": 4,
            "hidden_dim": 48,
            "vocab_size": 64,
            "max_position_embeddings": 40,
        },
    },
    "albert": {
        "model_type": "albert",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "num_attention_heads": 4,
            "intermediate_size": 48,
            "vocab_size": 64,
            "embedding_size": 16,
            "max_position_embeddings": 40,
        },
    },
    "t5": {
        "model_type": "t5",
        "config": {
            "num_layers": 2,
            "num_decoder_layers": 2,
            "d_model": 32,
            "d_kv": 8,
            "num_heads": 4,
            "d_ff": 48,
            "vocab_size": 64,
            "relative_attention_num_buckets": 8,
            "feed_forward_proj": "gated-gelu",
        },
    },
    "bart": {
        "model_type": "bart",
        "config": {
            "encoder_layers": 2,
            "decoder_layers": 2,
            "d_model": 32,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "encoder_ffn_dim": 48,
            "decoder_ffn_dim": 48,
            "vocab_size": 64,
            "max_position_embeddings": 40,
        },
    },
    # hybrid and recurrent decoders (plugins/transformer_hf_hybrid.py)
    "jamba": {
        "model_type": "jamba",
        "config": {
            **LLAMA,
            "attn_layer_period": 2,
            "attn_layer_offset": 1,
            "expert_layer_period": 2,
            "expert_layer_offset": 0,
            "num_experts": 3,
            "num_experts_per_tok": 2,
            "mamba_d_state": 4,
            "mamba_dt_rank": 4,
            "mamba_d_conv": 3,
            "pad_token_id": 0,
        },
    },
    "bamba": {
        "model_type": "bamba",
        "config": {
            **LLAMA,
            "attn_layer_indices": [1],
            "mamba_n_heads": 4,
            "mamba_d_head": 16,
            "mamba_n_groups": 2,
            "mamba_d_state": 8,
            "mamba_d_conv": 3,
            "pad_token_id": 0,
        },
    },
    "granitemoehybrid": {
        "model_type": "granitemoehybrid",
        "config": {
            **LLAMA,
            "layer_types": ["linear_attention", "full_attention"],
            "num_local_experts": 3,
            "num_experts_per_tok": 2,
            "shared_intermediate_size": 40,
            "mamba_n_heads": 4,
            "mamba_d_head": 16,
            "mamba_n_groups": 1,
            "mamba_d_state": 8,
            "position_embedding_type": "rope",
        },
    },
    "nemotron_h": {
        "model_type": "nemotron_h",
        "config": {
            **LLAMA,
            "layers_block_type": ["linear_attention", "moe", "full_attention", "mlp"],
            "head_dim": 8,
            "ssm_state_size": 8,
            "mamba_num_heads": 4,
            "mamba_head_dim": 16,
            "n_groups": 2,
            "n_routed_experts": 3,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 16,
            "moe_shared_expert_intermediate_size": 24,
            "pad_token_id": 0,
        },
    },
    "falcon_mamba": {
        "model_type": "falcon_mamba",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "vocab_size": 64,
            "state_size": 4,
            "time_step_rank": 4,
            "pad_token_id": 0,
        },
    },
    "qwen3_next": {
        "model_type": "qwen3_next",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "layer_types": ["linear_attention", "full_attention"],
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 6,
            "num_experts": 3,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 16,
            "shared_expert_intermediate_size": 24,
            "mlp_only_layers": [1],
        },
    },
    "qwen3_5_text": {
        "model_type": "qwen3_5_text",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "layer_types": ["linear_attention", "full_attention"],
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 6,
        },
    },
    "qwen3_5_moe_text": {
        "model_type": "qwen3_5_moe_text",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "layer_types": ["linear_attention", "full_attention"],
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 6,
            "num_experts": 3,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 16,
            "shared_expert_intermediate_size": 24,
        },
    },
    "lfm2": {"model_type": "lfm2", "config": {**LLAMA, "pad_token_id": 0}},
    "llama4_text": {
        "model_type": "llama4_text",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "intermediate_size_mlp": 40,
            "num_local_experts": 3,
            "num_experts_per_tok": 1,
            "interleave_moe_layer_step": 2,
            "attention_bias": True,
        },
    },
    "laguna": {
        "model_type": "laguna",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "num_attention_heads_per_layer": [4, 2],
            "num_experts": 3,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 16,
            "shared_expert_intermediate_size": 24,
        },
    },
    "minimax": {
        "model_type": "minimax",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "layer_types": ["linear_attention", "full_attention"],
            "num_local_experts": 3,
            "num_experts_per_tok": 2,
        },
    },
    "falcon_h1": {
        "model_type": "falcon_h1",
        "config": {
            **LLAMA,
            "mamba_d_ssm": 48,
            "mamba_n_heads": 4,
            "mamba_d_head": 12,
            "mamba_d_state": 8,
            "mamba_n_groups": 2,
            "mamba_rms_norm": True,
        },
    },
    "recurrent_gemma": {
        "model_type": "recurrent_gemma",
        "config": {
            **LLAMA,
            "lru_width": 40,
            "conv1d_width": 3,
            "block_types": ["recurrent", "attention"],
        },
    },
    "lara_mini": {
        "model_type": "lara_mini",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "layer_types": ["linear_attention", "sliding_attention"],
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 6,
            "num_experts": 3,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 16,
            "shared_expert_intermediate_size": 24,
            "attention_bias": True,
        },
    },
    "lfm2-conv": {
        "model_type": "lfm2",
        "config": {
            **LLAMA,
            "pad_token_id": 0,
            "layer_types": ["conv", "full_attention"],
            "conv_L_cache": 4,
            "conv_bias": True,
        },
    },
    "lfm3": {
        "model_type": "lfm3",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "layer_types": ["conv", "sliding_attention"],
            "attention_bias": True,
        },
    },
    "lfm3-plain": {
        "model_type": "lfm3",
        "config": {
            **LLAMA,
            "head_dim": 8,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "layer_types": ["conv", "full_attention"],
            "use_sandwich_norm": False,
            "use_attention_gate": False,
            "conv_bias": True,
        },
    },
    "kimi_linear": {
        "model_type": "kimi_linear",
        "config": {
            **LLAMA,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "layer_types": ["linear_attention", "full_attention"],
            "linear_num_heads": 2,
            "linear_head_dim": 8,
            "linear_conv_kernel_dim": 3,
            "kv_lora_rank": 16,
            "qk_rope_head_dim": 4,
            "qk_nope_head_dim": 8,
            "v_head_dim": 8,
            "num_experts": 3,
            "num_experts_per_token": 2,
            "moe_intermediate_size": 16,
            "attention_bias": True,
        },
    },
    # OLMo-Hybrid: its DeltaNet's convolution (16 + 16 + 24 channels) is saved in three
    # torch.chunk pieces (19, 19, 18), its norms renamed (archcalc/state_dict.py)
    "olmo_hybrid": {
        "model_type": "olmo_hybrid",
        "config": {
            **LLAMA,
            "pad_token_id": 0,
            "layer_types": ["linear_attention", "full_attention"],
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 6,
        },
    },
    "bailing_hybrid": {
        "model_type": "bailing_hybrid",
        "config": {
            **LLAMA,
            "pad_token_id": 0,
            "eos_token_id": 2,
            "head_dim": 8,
            "short_conv_kernel_size": 3,
            "layer_types": ["linear_attention", "full_attention"],
            "mlp_layer_types": ["dense", "sparse"],
            "kv_lora_rank": 16,
            "qk_rope_head_dim": 4,
            "qk_nope_head_dim": 8,
            "v_head_dim": 8,
            "num_experts": 4,
            "num_experts_per_token": 2,
            "num_expert_group": 2,
            "topk_group": 1,
            "moe_intermediate_size": 16,
            "attention_bias": True,
        },
    },
    # recurrent models: RWKV-4 (plugins/rwkv.py, as transformer specs) and xLSTM
    "rwkv": {
        "model_type": "rwkv",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "attention_hidden_size": 24,
            "intermediate_size": 48,
            "vocab_size": 64,
            "context_length": 128,
        },
    },
    "xlstm": {
        "model_type": "xlstm",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 64,
            "num_heads": 4,
            "vocab_size": 64,
            "use_bias": True,
        },
    },
}


#: Size keys of a default config, shrunk for the cases built with ``"tiny": True``: every
#: key a model type's config has among these takes the small value.
SMALL = {
    ("num_hidden_layers", "n_layer", "num_layers", "n_layers"): 2,
    ("hidden_size", "n_embd", "d_model", "dim"): 32,
    ("intermediate_size", "n_inner", "ffn_dim", "hidden_dim", "d_ff"): 48,
    ("num_attention_heads", "n_head", "n_heads", "num_heads"): 4,
    ("num_key_value_heads", "n_kv_heads", "num_kv_heads", "multi_query_group_num"): 2,
    ("head_dim", "kv_channels"): 8,
    ("vocab_size",): 64,
    ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len"): 64,
    ("moe_intermediate_size", "expert_intermediate_size"): 16,
    ("shared_expert_intermediate_size",): 24,
    ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts"): 4,
    ("num_experts_per_tok", "moe_k", "moe_top_k"): 2,
    ("rotary_dim",): 4,
}

#: Model types whose default config only needs shrinking (``SMALL``), each with the
#: fields that must change beside it. (Not gpt-sw3: its config class is GPT2Config, so
#: save_pretrained writes model_type gpt2, the "gpt2" case.)
TINY: dict[str, dict[str, Any]] = {
    "arcee": {},
    "biogpt": {},
    "bloom": {},
    "camembert": {},
    "codegen": {},
    "cohere": {},
    "cohere2": {},
    "cwm": {},
    "data2vec-text": {},
    "ernie4_5": {},
    "exaone": {},
    "exaone4": {},
    "flex_olmo": {},
    "gemma3_text": {},
    "glm": {},
    "glm4": {},
    "glm4_moe": {},
    "gpt_bigcode": {},
    "gpt_oss": {},
    "granite": {},
    "granitemoe": {},
    "helium": {},
    "hyperclovax": {},
    "internlm3": {},
    "iquestcoder": {},
    "ministral3": {},
    "mpt": {},
    "nanochat": {},
    "olmo2": {},
    "olmo3": {},
    "olmoe": {},
    "openai-gpt": {},
    "persimmon": {},
    "phi": {},
    "phimoe": {},
    "qwen3_moe": {},
    "sarvam_moe": {},
    "seed_oss": {},
    "smollm3": {},
    "solar_open": {},
    "stablelm": {},
    "vaultgemma": {},
    "xglm": {},
    "xlm-roberta": {},
    "gpt_neo": {"attention_types": [[["global", "local"], 1]]},
    "granitemoeshared": {"shared_intermediate_size": 24},
    # decoders of plugins/transformer_hf_decoders.py (the first layer dense where the
    # type has a dense first few)
    "afmoe": {},
    "cohere2_moe": {"num_shared_experts": 1},
    "ctrl": {"dff": 48},
    "ernie4_5_moe": {},
    "gpt_neox_japanese": {},
    "kolibri1": {},
    "mellum": {"mlp_layer_types": ["dense", "sparse"]},
    "minicpm3": {"q_lora_rank": 24, "kv_lora_rank": 16, "qk_rope_head_dim": 4},
    "gemma4_unified_text": {"global_head_dim": 16},
    "minimax_m2": {},
    "minimax_m3_vl_text": {
        "dense_intermediate_size": 40,
        "shared_intermediate_size": 24,
        "mlp_layer_types": ["dense", "sparse"],
    },
    "sarvam_mla": {"kv_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 8},
    "youtu": {"q_lora_rank": 24, "kv_lora_rank": 16, "qk_rope_head_dim": 8},
}
CASES.update({t: {"model_type": t, "config": c, "tiny": True} for t, c in TINY.items()})
# MoE cases whose in-memory state dict (experts fused per layer) is recorded too.
for _name in ("mixtral", "qwen2_moe", "deepseek_v3", "phimoe"):
    CASES[_name]["in_memory"] = True

# first_k_dense_replace beyond num_hidden_layers (tiny test models keep the default 3):
# transformers makes every layer dense.
CASES["deepseek_v3-all-dense"] = {
    "model_type": "deepseek_v3",
    "config": {**CASES["deepseek_v3"]["config"], "first_k_dense_replace": 3},
}
CASES["glm4_moe-all-dense"] = {
    "model_type": "glm4_moe",
    "config": {"first_k_dense_replace": 3},
    "tiny": True,
}


def tiny_config(model_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` over the default config's size keys shrunk to ``SMALL``'s values."""
    from transformers import AutoConfig

    default = AutoConfig.for_model(model_type).to_dict()
    small = {k: v for keys, v in SMALL.items() for k in keys if k in default}
    # token ids must index the tiny vocabulary (an embedding's padding_idx)
    for key, value in (("pad_token_id", 0), ("bos_token_id", 1), ("eos_token_id", 2)):
        if isinstance(default.get(key), int) and default[key] >= small.get("vocab_size", 64):
            small[key] = value
    return {**small, **fields}


#: Tiny widths of the BERT-layout encoder cases (two blocks).
BERT = {
    "num_hidden_layers": 2,
    "hidden_size": 32,
    "num_attention_heads": 4,
    "intermediate_size": 48,
    "vocab_size": 64,
    "max_position_embeddings": 40,
}

#: Tiny widths of the BART-layout encoder-decoder cases (two blocks per stack).
BART = {
    "encoder_layers": 2,
    "decoder_layers": 2,
    "d_model": 32,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 48,
    "decoder_ffn_dim": 48,
    "vocab_size": 64,
    "max_position_embeddings": 40,
}

#: Special token ids inside the tiny vocabularies (some types' defaults point past them).
TOKENS = {
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "decoder_start_token_id": 2,
    "mask_token_id": 3,
}

#: The encoders and encoder-decoders of plugins/transformer_hf_encoders.py beyond the
#: original ones above (one case per model type, named after it).
ENCODER_CASES: dict[str, dict[str, Any]] = {
    **{
        t: {"model_type": t, "config": BERT}
        for t in (
            "ibert",
            "ernie",
            "big_bird",
            "megatron-bert",
            "roberta-prelayernorm",
            "xlm-roberta-xl",
            "mra",
            "nomic_bert",
            "jina_embeddings_v3",
            "gte",
            "bert-generation",
        )
    },
    "trocr": {
        "model_type": "trocr",
        "config": {
            "decoder_layers": 2,
            "d_model": 32,
            "decoder_attention_heads": 4,
            "decoder_ffn_dim": 48,
            "vocab_size": 64,
            "max_position_embeddings": 40,
        },
    },
    "ernie-task-type": {
        "model_type": "ernie",
        "config": {**BERT, "use_task_id": True, "task_type_vocab_size": 3},
    },
    "deberta": {
        "model_type": "deberta",
        "config": {
            **BERT,
            "relative_attention": True,
            "pos_att_type": "c2p|p2c",
            "max_relative_positions": 16,
            "type_vocab_size": 2,
        },
    },
    "electra": {"model_type": "electra", "config": {**BERT, "embedding_size": 16}},
    "rembert": {"model_type": "rembert", "config": {**BERT, "input_embedding_size": 16}},
    "mpnet": {"model_type": "mpnet", "config": {**BERT, "relative_attention_num_buckets": 8}},
    "roformer": {"model_type": "roformer", "config": {**BERT, "embedding_size": 16}},
    "led": {
        "model_type": "led",
        "config": {
            **{k: v for k, v in BART.items() if k != "max_position_embeddings"},
            **TOKENS,
            "max_encoder_position_embeddings": 64,
            "max_decoder_position_embeddings": 40,
            "attention_window": 8,
        },
    },
    "fsmt": {
        "model_type": "fsmt",
        "config": {
            **{k: v for k, v in BART.items() if k != "vocab_size"},
            **TOKENS,
            "src_vocab_size": 64,
            "tgt_vocab_size": 48,
            "langs": ["en", "de"],
        },
    },
    "marian-unshared": {
        "model_type": "marian",
        "config": {
            **BART,
            **TOKENS,
            "share_encoder_decoder_embeddings": False,
            "decoder_vocab_size": 48,
        },
    },
    "yoso": {"model_type": "yoso", "config": {**BERT, "conv_window": 3}},
    "nystromformer": {
        "model_type": "nystromformer",
        "config": {**BERT, "conv_kernel_size": 5, "segment_means_seq_len": 16, "num_landmarks": 4},
    },
    "fnet": {"model_type": "fnet", "config": {**BERT, "type_vocab_size": 4}},
    "longformer": {"model_type": "longformer", "config": {**BERT, "attention_window": 8}},
    "modernbert": {"model_type": "modernbert", "config": {**BERT, **TOKENS}},
    "deberta-v2": {
        "model_type": "deberta-v2",
        "config": {
            **BERT,
            "relative_attention": True,
            "pos_att_type": "p2c|c2p",
            "position_buckets": 8,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": False,
            "position_biased_input": False,
        },
    },
    **{
        t: {
            "model_type": t,
            "config": {
                "n_layers": 2,
                "emb_dim": 32,
                "n_heads": 4,
                "vocab_size": 64,
                "max_position_embeddings": 40,
                "n_langs": 3,
            },
        }
        for t in ("xlm", "flaubert")
    },
    **{t: {"model_type": t, "config": {**LLAMA, **TOKENS}} for t in ("eurobert", "ultrabert")},
    **{t: {"model_type": t, "config": CASES["t5"]["config"]} for t in ("mt5", "umt5", "longt5")},
    **{
        t: {"model_type": t, "config": {**BART, **TOKENS}}
        for t in (
            "mbart",
            "plbart",
            "mvp",
            "marian",
            "pegasus",
            "m2m_100",
            "blenderbot",
            "blenderbot-small",
            "bigbird_pegasus",
        )
    },
}
CASES.update(ENCODER_CASES)

#: The Mamba plugin's model types (plugins/archcalc-mamba), pinned beside its tests: the
#: root suite runs without that plugin installed.
MAMBA_CASES: dict[str, dict[str, Any]] = {
    "mamba": {
        "model_type": "mamba",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "vocab_size": 64,
            "state_size": 4,
            "time_step_rank": 4,
            "pad_token_id": 0,
        },
    },
    "mamba-untied-biased": {
        "model_type": "mamba",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "vocab_size": 64,
            "state_size": 4,
            "pad_token_id": 0,
            "tie_word_embeddings": False,
            "use_bias": True,
            "use_conv_bias": False,
        },
    },
    "mamba2": {
        "model_type": "mamba2",
        "config": {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "vocab_size": 64,
            "state_size": 8,
            "num_heads": 4,
            "head_dim": 16,
            "n_groups": 2,
            "pad_token_id": 0,
        },
    },
}
MAMBA_OUTPUT = REPO_ROOT / "plugins" / "archcalc-mamba" / "tests" / "data" / "checkpoints.json"
#: Where each table of cases is pinned.
OUTPUTS = {OUTPUT: CASES, MAMBA_OUTPUT: MAMBA_CASES}


def read_header(path: Path) -> dict[str, Any]:
    """A safetensors file's JSON header, read the plain way (trusted, freshly written)."""
    with path.open("rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header: dict[str, Any] = json.loads(f.read(length))
    return header


def save(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Build, save into ``folder`` and record one case."""
    import torch
    import transformers
    from transformers import AutoConfig

    torch.manual_seed(0)
    model_type = case["model_type"]
    fields = tiny_config(model_type, case["config"]) if case.get("tiny") else case["config"]
    config = AutoConfig.for_model(model_type, **fields)
    auto = getattr(transformers, auto_class_name(model_type))
    model = auto.from_config(config)
    if case.get("dtype"):
        model = model.to(getattr(torch, case["dtype"]))
    options: dict[str, Any] = {"safe_serialization": True}
    if case.get("max_shard_size"):
        options["max_shard_size"] = case["max_shard_size"]
    model.save_pretrained(folder, **options)
    parameters = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    buffers = sorted(set(model.state_dict()) - parameters)
    files = {}
    for path in sorted(folder.glob("*.safetensors")):
        files[path.name] = read_header(path)
    index_path = folder / "model.safetensors.index.json"
    saved = [
        info["shape"]
        for header in files.values()
        for name, info in header.items()
        if name != "__metadata__"
    ]
    record: dict[str, Any] = {}
    if case.get("in_memory"):  # names and shapes as transformers holds them (experts fused)
        record["state_dict"] = {k: list(v.shape) for k, v in model.state_dict().items()}
    return {
        **record,
        "model_type": model_type,
        "auto_class": auto_class_name(model_type),
        "config": json.loads((folder / "config.json").read_text()),
        "total_params": sum(p.numel() for p in model.parameters()),
        "files": files,
        "index": json.loads(index_path.read_text()) if index_path.exists() else None,
        "saved_numel": sum(math.prod(shape) for shape in saved),
        "buffers": buffers,
    }


def build_document(
    keep: Path | None, output: Path, table: dict[str, dict[str, Any]], only: list[str] | None
) -> dict[str, Any]:
    """Every case's record; with ``only``, those cases' records merged into the JSON's."""
    cases = {}
    if only:
        old = json.loads(output.read_text())["cases"] if output.exists() else {}
        cases = {k: v for k, v in old.items() if k in table}
    for name, case in table.items():
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / name
            cases[name] = save(case, folder)
            if keep is not None:
                target = keep / name
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(folder, target)
    return {
        "format_version": FORMAT_VERSION,
        "generated_by": "reference/checkpoint_headers.py",
        "convention": (
            "headers of <auto_class>.from_config(AutoConfig.for_model(**config)) saved with "
            "save_pretrained(safe_serialization=True); total_params = sum(p.numel() for p "
            "in model.parameters())"
        ),
        "versions": versions(),
        "cases": dict(sorted(cases.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed JSON")
    parser.add_argument("--keep", type=Path, help="also keep each saved folder in KEEP/<case>")
    parser.add_argument(
        "--cases",
        type=lambda text: [c for c in text.split(",") if c],
        help="recompute just these comma-separated cases, keep the others' records",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases or ()) - {c for t in OUTPUTS.values() for c in t})
    if unknown:
        raise SystemExit(f"no such case: {', '.join(unknown)}")
    stale = 0
    for output, table in OUTPUTS.items():
        if args.cases and not set(args.cases) & set(table):
            continue
        document = build_document(args.keep, output, table, args.cases)
        text = json.dumps(document, indent=1, sort_keys=True) + "\n"
        shown = output.relative_to(REPO_ROOT)
        if args.check:
            old = output.read_text() if output.exists() else ""
            if old != text:
                print(f"{shown} differs from a fresh computation", file=sys.stderr)
                stale += 1
            else:
                print(f"{shown}: up to date")
            continue
        output.write_text(text)
        print(f"wrote {shown}: {len(document['cases'])} checkpoints")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
