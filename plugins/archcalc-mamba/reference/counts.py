"""Reference counts for archcalc-mamba, as PyTorch reports them.

Builds ``MambaForCausalLM`` / ``Mamba2ForCausalLM`` from explicit configs on the meta device
(no weights allocated, nothing downloaded) and writes ``tests/data/reference.json``:
``sum(p.numel() for p in model.parameters())`` per case, next to the archcalc spec the
case describes. Each case is written once, as an archcalc spec; :func:`hf_config` maps
it to the transformers config, so spec and model cannot drift apart.

Needs torch and transformers (not dependencies of the plugin)::

    /work/refenv/bin/python plugins/archcalc-mamba/reference/counts.py          # rewrite
    /work/refenv/bin/python plugins/archcalc-mamba/reference/counts.py --check  # compare
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "reference.json"
#: Public Hugging Face config.json files (written from the published ones, never downloaded).
HF_CONFIGS = OUTPUT.parent / "hf"

BASE = {"n_layers": 24, "d_model": 768, "vocab_size": 50280}

CASES: dict[str, dict[str, Any]] = {
    # Mamba-1, the published sizes (state-spaces/mamba-*-hf configs).
    "mamba-130m": {"family": "mamba", **BASE, "d_state": 16},
    "mamba-370m": {"family": "mamba", "n_layers": 48, "d_model": 1024, "vocab_size": 50280},
    "mamba-790m": {"family": "mamba", "n_layers": 48, "d_model": 1536, "vocab_size": 50280},
    "mamba-1.4b": {"family": "mamba", "n_layers": 48, "d_model": 2048, "vocab_size": 50280},
    "mamba-2.8b": {"family": "mamba", "n_layers": 64, "d_model": 2560, "vocab_size": 50280},
    # Mamba-1, every switch away from its default.
    "mamba-untied-biases": {
        "family": "mamba",
        **BASE,
        "tie_embeddings": False,
        "bias": True,
        "conv_bias": False,
    },
    "mamba-odd-shapes": {
        "family": "mamba",
        "n_layers": 3,
        "d_model": 100,  # dt_rank = ceil(100 / 16) = 7
        "vocab_size": 1001,
        "d_state": 7,
        "d_conv": 3,
        "expand": 3,
    },
    "mamba-explicit-dt-rank": {"family": "mamba", **BASE, "dt_rank": 5, "d_state": 32},
    # Mamba-2.
    "mamba2-130m": {
        "family": "mamba2",
        "n_layers": 24,
        "d_model": 768,
        "vocab_size": 50288,
        "d_state": 128,
        "head_dim": 64,
        "n_groups": 1,
    },
    "mamba2-2.7b": {
        "family": "mamba2",
        "n_layers": 64,
        "d_model": 2560,
        "vocab_size": 50288,
        "d_state": 128,
        "head_dim": 64,
        "n_groups": 1,
    },
    "mamba2-groups-untied-biases": {
        "family": "mamba2",
        "n_layers": 2,
        "d_model": 256,
        "vocab_size": 1000,
        "d_state": 16,
        "head_dim": 32,
        "n_groups": 4,
        "d_conv": 3,
        "bias": True,
        "conv_bias": False,
        "tie_embeddings": False,
    },
}

#: The ``mamba`` layer type inside ``family: cnn`` specs: one MambaMixer per case.
LAYER_CASES: dict[str, dict[str, Any]] = {
    "layer-defaults": {"input": [128, 768], "args": {}},
    "layer-all-args": {
        "input": [64, 100],
        "args": {
            "d_state": 8,
            "d_conv": 3,
            "expand": 3,
            "dt_rank": 11,
            "conv_bias": False,
            "bias": True,
        },
    },
    "layer-odd-width": {"input": [16, 33], "args": {"d_state": 4}},  # dt_rank = ceil(33/16)
    "layer2-defaults": {"layer": "mamba2", "input": [128, 768], "args": {}},
    "layer2-all-args": {
        "layer": "mamba2",
        "input": [32, 96],
        "args": {
            "d_state": 16,
            "d_conv": 3,
            "expand": 4,
            "head_dim": 24,
            "n_groups": 2,
            "conv_bias": False,
            "bias": True,
        },
    },
}

#: Defaults of the layer types where they differ from the transformers config classes'.
LAYER_DEFAULTS = {"mamba": {}, "mamba2": {"n_groups": 1, "d_state": 128, "head_dim": 64}}

#: archcalc key -> transformers config key (shared by MambaConfig and Mamba2Config).
KEYS = {
    "n_layers": "num_hidden_layers",
    "d_model": "hidden_size",
    "vocab_size": "vocab_size",
    "d_state": "state_size",
    "d_conv": "conv_kernel",
    "expand": "expand",
    "dt_rank": "time_step_rank",
    "bias": "use_bias",
    "conv_bias": "use_conv_bias",
    "tie_embeddings": "tie_word_embeddings",
    "head_dim": "head_dim",
    "n_groups": "n_groups",
}

#: archcalc defaults that differ from the transformers config class's defaults.
DEFAULTS = {
    "mamba": {"tie_embeddings": True},
    "mamba2": {"tie_embeddings": True, "n_groups": 1, "d_state": 128, "head_dim": 64},
}


def hf_config(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The transformers model type and config kwargs for an archcalc spec."""
    family = spec["family"]
    values = {**DEFAULTS[family], **{k: v for k, v in spec.items() if k != "family"}}
    config = {KEYS[k]: v for k, v in values.items()}
    if family == "mamba2":
        expand = values.get("expand", 2)
        config["num_heads"] = expand * values["d_model"] // values["head_dim"]
    return family, config


def count(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type, kwargs = hf_config(spec)
    config = AutoConfig.for_model(model_type, **kwargs)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    return {"spec": spec, "model_type": model_type, "config": kwargs, "total_params": total}


def count_layer(case: dict[str, Any]) -> dict[str, Any]:
    """One MambaMixer / Mamba2Mixer whose hidden size is the width of the layer's input."""
    import torch
    from transformers import Mamba2Config, MambaConfig
    from transformers.models.mamba.modeling_mamba import MambaMixer
    from transformers.models.mamba2.modeling_mamba2 import Mamba2Mixer

    layer = case.get("layer", "mamba")
    width = case["input"][-1]
    values = {**LAYER_DEFAULTS[layer], **case["args"]}
    kwargs = {KEYS[k]: v for k, v in values.items()}
    if layer == "mamba2":
        kwargs["num_heads"] = values.get("expand", 2) * width // values["head_dim"]
    config_class, mixer_class = {
        "mamba": (MambaConfig, MambaMixer),
        "mamba2": (Mamba2Config, Mamba2Mixer),
    }[layer]
    config = config_class(hidden_size=width, num_hidden_layers=1, **kwargs)
    with torch.device("meta"):
        mixer = mixer_class(config, layer_idx=0)
    total = sum(p.numel() for p in mixer.parameters())
    return {**case, "config": kwargs, "total_params": total}


#: Hypothetical configs beyond the public ones: each model type's defaults (the config
#: class fills in everything) and variants changing every key the count depends on.
HF_VARIANTS: dict[str, dict[str, Any]] = {
    "mamba-every-key": {
        "model_type": "mamba",
        "num_hidden_layers": 3,
        "hidden_size": 100,
        "vocab_size": 1001,
        "state_size": 7,
        "conv_kernel": 3,
        "expand": 3,
        "time_step_rank": 9,
        "use_bias": True,
        "use_conv_bias": False,
        "tie_word_embeddings": False,
        "intermediate_size": 1234,  # MambaMixer's width, whatever expand says
    },
    "mamba-auto-rank": {
        "model_type": "mamba",
        "num_hidden_layers": 2,
        "hidden_size": 100,
        "vocab_size": 1000,
        "time_step_rank": "auto",
    },
    "mamba2-every-key": {
        "model_type": "mamba2",
        "num_hidden_layers": 2,
        "hidden_size": 96,
        "vocab_size": 500,
        "state_size": 16,
        "num_heads": 8,
        "head_dim": 36,
        "expand": 3,
        "n_groups": 4,
        "conv_kernel": 3,
        "use_bias": True,
        "use_conv_bias": False,
        "tie_word_embeddings": True,
        "intermediate_size": 1234,  # Mamba2Mixer ignores it: expand * hidden_size
    },
}


def default_config(model_type: str) -> dict[str, Any]:
    """The config.json transformers writes for a model type's defaults (``to_dict()``),
    without keys holding non-finite floats (``time_step_limit``), which JSON cannot carry."""
    import math

    from transformers import AutoConfig

    def finite(value: Any) -> bool:
        if isinstance(value, float):
            return math.isfinite(value)
        if isinstance(value, (list, tuple)):
            return all(finite(v) for v in value)
        return True

    return {k: v for k, v in AutoConfig.for_model(model_type).to_dict().items() if finite(v)}


def count_hf(config_dict: dict[str, Any]) -> dict[str, Any]:
    """A config as ``archcalc count config.json`` reads it: AutoConfig, then the model."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    given = {k: v for k, v in config_dict.items() if k != "model_type"}
    config = AutoConfig.for_model(config_dict["model_type"], **given)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return {"config": config_dict, "total_params": sum(p.numel() for p in model.parameters())}


def build() -> dict[str, Any]:
    return {
        "convention": "sum(p.numel() for p in model.parameters()) of "
        "AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **config)) "
        "on the meta device; tied tensors counted once",
        "versions": {p: metadata.version(p) for p in ("torch", "transformers")},
        "cases": {name: count(spec) for name, spec in sorted(CASES.items())},
        "layer_cases": {name: count_layer(c) for name, c in sorted(LAYER_CASES.items())},
        "hf_configs": {
            path.stem: count_hf(json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(HF_CONFIGS.glob("*.json"))
        },
        "hf_variants": {
            name: count_hf(c)
            for name, c in sorted(
                {
                    **HF_VARIANTS,
                    **{f"{t}-defaults": default_config(t) for t in ("mamba", "mamba2")},
                }.items()
            )
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the JSON file")
    args = parser.parse_args()
    document = build()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.check:
        same = OUTPUT.read_text(encoding="utf-8") == text
        print("reference.json is up to date" if same else "reference.json differs")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    everything = {**document["cases"], **document["layer_cases"], **document["hf_configs"]}
    for name, case in {**everything, **document["hf_variants"]}.items():
        print(f"{name:32} {case['total_params']:>16,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
