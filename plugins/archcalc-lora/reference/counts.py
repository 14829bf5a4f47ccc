"""Reference counts for archcalc-lora, as peft reports them.

Each case is an archcalc ``transformer-lora`` spec. :func:`hf_config` maps it to a
transformers model (llama, qwen2, mixtral or qwen2_moe, whichever has the spec's shape),
built on the meta device (nothing allocated, nothing downloaded), and :func:`count` wraps
it with ``peft.get_peft_model(model, LoraConfig(...))`` and records
``get_nb_trainable_parameters()`` as ``trainable_params`` and ``total_params``. Writes
``tests/data/reference.json``.

Needs torch, transformers and peft (not dependencies of the plugin)::

    /work/refenv/bin/python plugins/archcalc-lora/reference/counts.py          # rewrite
    /work/refenv/bin/python plugins/archcalc-lora/reference/counts.py --check  # compare
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "reference.json"

LLAMA_3_8B = {
    "n_layers": 32,
    "d_model": 4096,
    "n_heads": 32,
    "n_kv_heads": 8,
    "d_ff": 14336,
    "vocab_size": 128256,
}
MIXTRAL_8X7B = {
    "n_layers": 32,
    "d_model": 4096,
    "n_heads": 32,
    "n_kv_heads": 8,
    "d_ff": 14336,
    "vocab_size": 32000,
    "moe": {"n_experts": 8, "top_k": 2},
}
SMALL = {"n_layers": 2, "d_model": 256, "n_heads": 8, "n_kv_heads": 2, "d_ff": 704}
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def lora(rank: int, targets: list[str] | None = None, bias: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"rank": rank, "alpha": 2 * rank}
    if targets is not None:
        out["target_modules"] = targets
    if bias is not None:
        out["bias"] = bias
    return out


CASES: dict[str, dict[str, Any]] = {
    "llama-3-8b-qv-r16": {**LLAMA_3_8B, "lora": lora(16)},
    "llama-3-8b-all-r8": {**LLAMA_3_8B, "lora": lora(8, ALL)},
    "llama-3-8b-attention-r64": {**LLAMA_3_8B, "lora": lora(64, ALL[:4])},
    "llama-biases-lora-only": {
        **SMALL,
        "vocab_size": 1000,
        "bias": True,
        "lora": lora(4, ["q_proj", "o_proj", "up_proj"], "lora_only"),
    },
    "llama-biases-all": {
        **SMALL,
        "vocab_size": 1000,
        "bias": True,
        "lora": lora(4, ["q_proj", "o_proj", "up_proj"], "all"),
    },
    "llama-tied-head-dim": {
        **SMALL,
        "vocab_size": 1000,
        "d_head": 48,
        "tie_embeddings": True,
        "lora": lora(3, ALL),
    },
    "qwen2-qkv-bias-all": {
        **SMALL,
        "vocab_size": 1000,
        "qkv_bias": True,
        "lora": lora(8, ["k_proj", "o_proj", "down_proj"], "all"),
    },
    "mixtral-8x7b-attention-r16": {**MIXTRAL_8X7B, "lora": lora(16, ALL[:4])},
    "mixtral-mlp-targets-ignored": {
        **SMALL,
        "vocab_size": 1000,
        "moe": {"n_experts": 4, "top_k": 2, "d_ff_expert": 128},
        "lora": lora(8, ALL),
    },
    "qwen2-moe-shared-experts": {
        **SMALL,
        "vocab_size": 1000,
        "qkv_bias": True,
        "moe": {"n_experts": 4, "top_k": 2, "d_ff_expert": 128, "n_shared_experts": 2},
        "lora": lora(8, ALL, "lora_only"),
    },
}

#: Cases whose base model has a tensor archcalc's transformer family does not model
#: (Qwen2-MoE's shared_expert_gate, d_model × 1 per layer): only trainable is compared.
TRAINABLE_ONLY = {"qwen2-moe-shared-experts"}


def hf_config(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The transformers model type and config kwargs with the spec's shape."""
    qkv_bias = spec.get("qkv_bias", spec.get("bias", False))
    bias = spec.get("bias", False)
    config: dict[str, Any] = {
        "hidden_size": spec["d_model"],
        "num_hidden_layers": spec["n_layers"],
        "num_attention_heads": spec["n_heads"],
        "num_key_value_heads": spec.get("n_kv_heads", spec["n_heads"]),
        "vocab_size": spec["vocab_size"],
        "tie_word_embeddings": spec.get("tie_embeddings", False),
    }
    if "d_head" in spec:
        config["head_dim"] = spec["d_head"]
    moe = spec.get("moe")
    if moe is not None:
        config["num_experts_per_tok"] = moe["top_k"]
        if moe.get("n_shared_experts"):
            assert qkv_bias and not bias, "qwen2_moe: q/k/v biases only"
            width = moe["d_ff_expert"]
            config.update(
                num_experts=moe["n_experts"],
                moe_intermediate_size=width,
                shared_expert_intermediate_size=moe["n_shared_experts"] * width,
                intermediate_size=spec["d_ff"],
            )
            return "qwen2_moe", config
        assert not bias and not qkv_bias, "mixtral has no biases"
        config.update(
            num_local_experts=moe["n_experts"],
            intermediate_size=moe.get("d_ff_expert", spec["d_ff"]),
        )
        return "mixtral", config
    config["intermediate_size"] = spec["d_ff"]
    if qkv_bias and not bias:
        return "qwen2", config
    assert qkv_bias == bias, "llama: attention_bias covers q, k, v and o alike"
    config.update(attention_bias=bias, mlp_bias=bias)
    return "llama", config


def count(name: str, lora: dict[str, Any], arch: dict[str, Any]) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type, kwargs = hf_config(arch)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **kwargs))
        base = sum(p.numel() for p in model.parameters())
        peft_config = LoraConfig(
            r=lora["rank"],
            lora_alpha=lora["alpha"],
            target_modules=lora.get("target_modules", ["q_proj", "v_proj"]),
            bias=lora.get("bias", "none"),
        )
        peft_model = get_peft_model(model, peft_config)
    trainable, total = peft_model.get_nb_trainable_parameters()
    return {
        "spec": {"family": "transformer-lora", **arch, "lora": lora},
        "model_type": model_type,
        "config": kwargs,
        "base_params": base,
        "trainable_params": trainable,
        "total_params": total,
        "compare_total": name not in TRAINABLE_ONLY,
    }


def build() -> dict[str, Any]:
    cases = {}
    for name, spec in sorted(CASES.items()):
        arch = {k: v for k, v in spec.items() if k != "lora"}
        cases[name] = count(name, spec["lora"], arch)
    return {
        "convention": "PeftModel.get_nb_trainable_parameters() of get_peft_model("
        "AutoModelForCausalLM.from_config(config), LoraConfig(...)) on the meta device",
        "versions": {p: metadata.version(p) for p in ("torch", "transformers", "peft")},
        "cases": cases,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the JSON file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    document = build()
    text = json.dumps(document, indent=2) + "\n"
    if args.check:
        same = OUTPUT.read_text(encoding="utf-8") == text
        print("reference.json is up to date" if same else "reference.json differs")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    for name, case in document["cases"].items():
        print(f"{name:30} {case['trainable_params']:>14,} {case['total_params']:>16,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
