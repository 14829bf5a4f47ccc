"""Reference parameter counts for Hugging Face ``config.json`` files, as PyTorch reports them.

Source of truth behind ``tests/data/reference/hf.json``. For every public config written
into ``tests/data/hf/*.json`` (typed from the published ``config.json``; nothing is
downloaded) and for a fixed, seeded set of hypothetical variants of some of them, this
script builds the model with Hugging Face ``transformers`` on PyTorch's ``meta`` device
and records ``sum(p.numel() for p in model.parameters())`` (tied tensors once).

The Auto class follows the model's kind, as ``archcalc count config.json`` does:
``AutoModelForSeq2SeqLM`` for types with a seq2seq class (T5, BART), ``AutoModel`` for
encoders with a masked-LM class (the BERT family, pooler included),
``AutoModelForCausalLM`` otherwise (see :func:`auto_class_name`).

One deliberate deviation, recorded per case as ``adjustment``: transformers 5 ties T5's
LM head to the shared embedding even when the config says ``tie_word_embeddings: false``
(flan-t5, T5 v1.1), while transformers 4.x and the published checkpoints keep a separate
head. archcalc follows the config's own statement, so for such configs the reference is
the transformers-5 count plus the numel of the head transformers 5 tied away (measured
from the built model, not typed).

Active parameters of mixture-of-experts models use the method of
``reference/transformer_counts.py`` (routed experts only are inactive).

Needs torch and transformers (not archcalc dependencies); run from the repository root:

    /work/refenv/bin/python reference/hf_counts.py          # (re)write the JSON
    /work/refenv/bin/python reference/hf_counts.py --check  # recompute, compare
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "reference"))

from transformer_counts import versions  # noqa: E402

CONFIGS = REPO_ROOT / "tests" / "data" / "hf"
OUTPUT = REPO_ROOT / "tests" / "data" / "reference" / "hf.json"
FORMAT_VERSION = 1

SEED = 20261127
VARIANTS_PER_BASE = 4


def auto_class_name(model_type: str) -> str:
    """The Auto class archcalc's count of a model type corresponds to.

    ``AutoModelForSeq2SeqLM`` when transformers has a seq2seq class for the type,
    ``AutoModel`` (the bare encoder, pooler included) when it has a masked-LM class,
    ``AutoModelForCausalLM`` otherwise.
    """
    from transformers.models.auto import modeling_auto as ma

    if model_type in ma.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        return "AutoModelForSeq2SeqLM"
    if model_type in ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return "AutoModel"
    return "AutoModelForCausalLM"


N_EXPERTS_FIELDS = (
    "num_local_experts",
    "num_experts",
    "n_routed_experts",
    "moe_num_experts",
    "num_routed_experts",
)
TOP_K_FIELDS = ("num_experts_per_tok", "moe_k", "top_k", "moe_top_k", "num_selected_experts")
LAYER_RE = re.compile(r"^(?P<prefix>.*?)\.(?:layers|h|block)\.(?P<idx>\d+)\.(?P<rest>.+)$")


def active_params(config: Any, named: list[tuple[str, Any]], total: int) -> int | None:
    """Active parameters per token (None: no routed experts).

    The method of ``reference/transformer_counts.py`` (``moe_summary``), for any model type:
    routed experts are the parameters under a path segment ``experts``; one of layer l's
    ``n_experts`` holds E_l / n_experts of them, and a token skips n_experts - top_k.
    """
    per_layer: dict[int, int] = defaultdict(int)
    for name, param in named:
        match = LAYER_RE.match(name)
        if match and "experts" in match["rest"].split("."):
            per_layer[int(match["idx"])] += param.numel()
    if not per_layer:
        return None

    def field(names: tuple[str, ...]) -> int:
        for source in (config, getattr(config, "ffn_config", None)):
            for name in names:
                value = getattr(source, name, None)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    return value
        raise ValueError(f"no {names[0]} on {type(config).__name__}")

    n_experts, top_k = field(N_EXPERTS_FIELDS), field(TOP_K_FIELDS)
    inactive = 0
    for layer, numel in per_layer.items():
        if numel % n_experts:
            raise ValueError(f"layer {layer}: {numel} expert params not divisible by {n_experts}")
        inactive += (n_experts - top_k) * (numel // n_experts)
    return total - inactive


#: Model types on T5's code, whose LM head transformers 5 ties whatever the config says.
T5_FAMILY = frozenset({"t5", "mt5", "umt5", "longt5"})


def measure(config_dict: dict[str, Any], auto_class: str | None = None) -> dict[str, Any]:
    """Build the config's model on the meta device; total, active and any adjustment."""
    import torch
    import transformers
    from transformers import AutoConfig

    given = dict(config_dict)
    model_type = given.pop("model_type")
    auto_class = auto_class or auto_class_name(model_type)
    config = AutoConfig.for_model(model_type, **given)
    with torch.device("meta"):
        model = getattr(transformers, auto_class).from_config(config)
    named = list(model.named_parameters())
    total = sum(p.numel() for p in model.parameters())
    entry: dict[str, Any] = {"auto_class": auto_class, "total_params": total}
    head = getattr(model, "lm_head", None)
    shared = getattr(model, "shared", None)
    if (
        model_type in T5_FAMILY
        and config_dict.get("tie_word_embeddings") is False
        and head is not None
        and shared is not None
        and head.weight is shared.weight
    ):
        extra = head.weight.numel()
        entry["transformers_total_params"] = total
        entry["adjustment"] = (
            f"+{extra}: the config says tie_word_embeddings: false; transformers 5 ties T5's "
            "lm_head anyway, transformers 4.x and the checkpoint keep it separate"
        )
        total += extra
        entry["total_params"] = total
    active = active_params(config, named, total)
    entry["active_params"] = total if active is None else active
    return entry


# ---------------------------------------------------------------- seeded hypothetical variants


def _heads_width(rng: random.Random) -> tuple[int, int]:
    heads = rng.choice([2, 4, 8])
    return heads, heads * rng.choice([8, 16, 32])


def _decoder_common(rng: random.Random, cfg: dict[str, Any], names: dict[str, str]) -> None:
    heads, width = _heads_width(rng)
    cfg[names["layers"]] = rng.randint(1, 4)
    cfg[names["width"]] = width
    cfg[names["heads"]] = heads
    cfg["vocab_size"] = rng.choice([97, 256, 1000])
    if "ff" in names:
        cfg[names["ff"]] = rng.choice([64, 96, 200])
    if "kv" in names:
        cfg[names["kv"]] = rng.choice([h for h in (1, 2, heads) if heads % h == 0])
    cfg["tie_word_embeddings"] = rng.random() < 0.5


STD = {
    "layers": "num_hidden_layers",
    "width": "hidden_size",
    "heads": "num_attention_heads",
    "ff": "intermediate_size",
    "kv": "num_key_value_heads",
}


def _mutate(base: str, rng: random.Random, cfg: dict[str, Any]) -> None:
    """Change widths, depths, heads, biases, tying and experts, keeping the config buildable."""
    model_type = cfg["model_type"]
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
        cfg.pop(key, None)  # token ids of the real vocabulary need not fit a smaller one
    cfg.pop("forced_eos_token_id", None)
    cfg["pad_token_id"] = 0  # some classes default to an id past a small vocabulary
    if model_type == "gpt2":
        _decoder_common(rng, cfg, {"layers": "n_layer", "width": "n_embd", "heads": "n_head"})
        cfg["n_positions"] = rng.choice([64, 128])
        cfg["n_inner"] = rng.choice([None, 100])
    elif model_type in ("llama", "olmo", "phi3", "qwen3", "gemma2", "mistral", "qwen2"):
        _decoder_common(rng, cfg, STD)
        cfg.pop("head_dim", None)
        if rng.random() < 0.3:
            cfg["head_dim"] = rng.choice([8, 24])
        if model_type in ("llama", "olmo", "qwen3"):
            cfg["attention_bias"] = rng.random() < 0.5
        if model_type == "llama":
            cfg["mlp_bias"] = rng.random() < 0.5
    elif model_type == "mixtral":
        _decoder_common(rng, cfg, STD)
        cfg["num_local_experts"] = rng.randint(2, 6)
        cfg["num_experts_per_tok"] = rng.randint(1, cfg["num_local_experts"])
    elif model_type == "qwen2_moe":
        _decoder_common(rng, cfg, STD)
        cfg["num_experts"] = rng.randint(2, 6)
        cfg["num_experts_per_tok"] = rng.randint(1, cfg["num_experts"])
        cfg["moe_intermediate_size"] = rng.choice([32, 48])
        cfg["shared_expert_intermediate_size"] = rng.choice([32, 80])
    elif model_type == "deepseek_v3":
        _decoder_common(rng, cfg, STD)
        cfg["num_key_value_heads"] = cfg["num_attention_heads"]
        cfg["n_routed_experts"] = rng.choice([4, 8])
        cfg["num_experts_per_tok"] = rng.randint(1, 4)
        cfg["n_group"] = 1
        cfg["topk_group"] = 1
        cfg["n_shared_experts"] = rng.randint(1, 2)
        cfg["moe_intermediate_size"] = rng.choice([16, 32])
        cfg["first_k_dense_replace"] = rng.randint(0, cfg["num_hidden_layers"])
        cfg["q_lora_rank"] = rng.choice([None, 24])
        cfg["kv_lora_rank"] = rng.choice([16, 32])
        cfg["qk_rope_head_dim"] = 8
        cfg["qk_nope_head_dim"] = rng.choice([8, 16])
        cfg["v_head_dim"] = rng.choice([8, 16])
        cfg["attention_bias"] = rng.random() < 0.5
    elif model_type == "falcon":
        heads, width = _heads_width(rng)
        cfg.update(num_hidden_layers=rng.randint(1, 3), hidden_size=width)
        cfg.update(num_attention_heads=heads, vocab_size=rng.choice([97, 500]))
        cfg["bias"] = rng.random() < 0.5
        cfg["tie_word_embeddings"] = rng.random() < 0.5
        cfg["parallel_attn"] = rng.random() < 0.7
        if cfg.get("new_decoder_architecture"):
            cfg["num_kv_heads"] = rng.choice([h for h in (1, 2, heads) if heads % h == 0])
    elif model_type == "gptj":
        _decoder_common(rng, cfg, {"layers": "n_layer", "width": "n_embd", "heads": "n_head"})
        cfg["rotary_dim"] = 4
        cfg["n_inner"] = rng.choice([None, 80])
    elif model_type == "opt":
        heads, width = _heads_width(rng)
        cfg.update(
            num_hidden_layers=rng.randint(1, 3), hidden_size=width, word_embed_proj_dim=width
        )
        cfg.update(num_attention_heads=heads, ffn_dim=rng.choice([64, 100]))
        cfg.update(vocab_size=rng.choice([97, 500]), max_position_embeddings=rng.choice([64, 100]))
        cfg["enable_bias"] = rng.random() < 0.5
        cfg["tie_word_embeddings"] = rng.random() < 0.5
    elif model_type in ("bert", "roberta"):
        heads, width = _heads_width(rng)
        cfg.update(
            num_hidden_layers=rng.randint(1, 3), hidden_size=width, num_attention_heads=heads
        )
        cfg.update(intermediate_size=rng.choice([64, 100]), vocab_size=rng.choice([97, 500]))
        cfg.update(max_position_embeddings=rng.choice([64, 130]), type_vocab_size=rng.randint(1, 3))
    elif model_type == "distilbert":
        heads, width = _heads_width(rng)
        cfg.update(n_layers=rng.randint(1, 3), dim=width, n_heads=heads)
        cfg.update(hidden_dim=rng.choice([64, 100]), vocab_size=rng.choice([97, 500]))
        cfg["max_position_embeddings"] = rng.choice([64, 130])
    elif model_type == "albert":
        heads, width = _heads_width(rng)
        cfg.update(
            num_hidden_layers=rng.randint(1, 4), hidden_size=width, num_attention_heads=heads
        )
        cfg.update(intermediate_size=rng.choice([64, 100]), vocab_size=rng.choice([97, 500]))
        cfg.update(embedding_size=rng.choice([16, width]), type_vocab_size=rng.randint(1, 3))
        cfg["max_position_embeddings"] = rng.choice([64, 130])
    elif model_type == "t5":
        heads = rng.choice([2, 4])
        cfg.update(num_layers=rng.randint(1, 3), num_decoder_layers=rng.randint(1, 3))
        cfg.update(d_model=rng.choice([32, 48]), d_kv=rng.choice([8, 16]), num_heads=heads)
        cfg.update(d_ff=rng.choice([64, 100]), vocab_size=rng.choice([97, 500]))
        cfg["relative_attention_num_buckets"] = rng.choice([8, 32])
        cfg["feed_forward_proj"] = rng.choice(["relu", "gated-gelu"])
        cfg["tie_word_embeddings"] = rng.random() < 0.5
    elif model_type == "bart":
        heads, width = _heads_width(rng)
        cfg.update(encoder_layers=rng.randint(1, 3), decoder_layers=rng.randint(1, 3))
        cfg["num_hidden_layers"] = cfg["encoder_layers"]  # an alias: keep them consistent
        cfg.update(d_model=width, encoder_attention_heads=heads, decoder_attention_heads=heads)
        ffn = rng.choice([64, 100])
        cfg.update(encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, vocab_size=rng.choice([97, 500]))
        cfg["max_position_embeddings"] = rng.choice([64, 130])
    else:
        raise ValueError(f"{base}: no mutator for {model_type}")


VARIANT_BASES = (
    "gpt2",
    "llama-3.2-1b",
    "mistral-7b-v0.1",
    "mixtral-8x7b-v0.1",
    "qwen2-0.5b",
    "qwen1.5-moe-a2.7b",
    "qwen3-0.6b",
    "gemma-2-9b",
    "phi-3-mini-4k",
    "falcon-7b",
    "falcon-40b",
    "gpt-j-6b",
    "opt-125m",
    "olmo-1b-hf",
    "deepseek-v3",
    "bert-base-uncased",
    "roberta-base",
    "distilbert-base-uncased",
    "albert-base-v2",
    "t5-small",
    "flan-t5-base",
    "bart-base",
)


def variants() -> dict[str, dict[str, Any]]:
    """The seeded hypothetical configs: same seed, same configs, on every machine."""
    rng = random.Random(SEED)
    out: dict[str, dict[str, Any]] = {}
    for base in VARIANT_BASES:
        original = json.loads((CONFIGS / f"{base}.json").read_text())
        for i in range(VARIANTS_PER_BASE):
            cfg = copy.deepcopy(original)
            _mutate(base, rng, cfg)
            out[f"{base}~{i}"] = cfg
    return out


def build_document() -> dict[str, Any]:
    """Measure every public config and every variant."""
    public = {}
    for path in sorted(CONFIGS.glob("*.json")):
        public[path.stem] = measure(json.loads(path.read_text()))
    hypothetical = {}
    for name, cfg in variants().items():
        hypothetical[name] = {"config": cfg, **measure(cfg)}
    return {
        "format_version": FORMAT_VERSION,
        "generated_by": "reference/hf_counts.py",
        "convention": (
            "total_params = sum(p.numel() for p in model.parameters()) of "
            "<auto_class>.from_config(AutoConfig.for_model(**config)) under "
            "torch.device('meta'); see 'adjustment' where the config's tie statement is "
            "followed instead of transformers 5"
        ),
        "versions": versions(),
        "configs": public,
        "variants": hypothetical,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed JSON")
    args = parser.parse_args(argv)
    document = build_document()
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    if args.check:
        old = OUTPUT.read_text() if OUTPUT.exists() else ""
        if old != text:
            print(f"{OUTPUT} differs from a fresh computation", file=sys.stderr)
            return 1
        print(f"{OUTPUT}: up to date")
        return 0
    OUTPUT.write_text(text)
    print(
        f"wrote {OUTPUT}: {len(document['configs'])} configs, {len(document['variants'])} variants"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
