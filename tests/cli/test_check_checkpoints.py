"""``archcalc check`` and ``archcalc tensors`` against real transformers checkpoints.

Every case of tests/data/reference/checkpoints.json was saved by transformers'
``save_pretrained`` (reference/checkpoint_headers.py) and is rebuilt here by hand, weights
as zeros: Llama (plain, tied, sharded bf16 with biases) and a tiny model of every other
transformer model type archcalc counts (each is held to having one), RWKV-4 included, and of
the recurrent family xLSTM, which names its tensors as transformers does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcalc import api
from archcalc.check import NAMED_FAMILY, spec_tensors
from archcalc.registry import load_registry
from archcalc.state_dict import NAMINGS
from archcalc.tensors import total_numel
from tests.checkpoints import CASES, case, write_case, write_header, write_tensors
from tests.helpers import DATA, EXAMPLES

runner = CliRunner()

#: Where a block index sits in each convention's names (XLM keeps one module list per
#: part: attentions.0, ffns.0, layer_norm1.0...).
BLOCK = re.compile(r"(^|\.)(layers|h|layer|block|blocks|attentions|ffns|layer_norm[12])\.(\d+)\.")


def _check(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app_cli(), ["check", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def app_cli():
    from archcalc.cli import app

    return app


def _target(folder: Path, name: str) -> Path:
    return folder / ("model.safetensors.index.json" if case(name)["index"] else "model.safetensors")


@pytest.mark.parametrize("name", CASES)
def test_the_config_agrees_with_its_checkpoint(tmp_path: Path, name: str) -> None:
    folder = write_case(tmp_path / name, name)
    for against in (folder, _target(folder, name)):
        code, report = _check(str(folder / "config.json"), "--against", str(against))
        assert code == 0, report
        # families other than the transformer name their tensors as transformers does
        own = case(name)["model_type"] if case(name)["model_type"] in NAMINGS else None
        assert report["agree"] and report["model_type"] == own
        assert report["spec_params"] == case(name)["total_params"]
        assert report["matched"] + len(report["unsaved"]) == report["spec_tensors"]
    # the folder itself works as the spec too (its config.json)
    assert _check(str(folder), "--against", str(folder))[0] == 0


def _stored(name: str) -> dict[str, list[int]]:
    """The tensors a case's checkpoint files hold: name -> shape."""
    files = case(name)["files"].values()
    return {k: v["shape"] for h in files for k, v in h.items() if k != "__metadata__"}


def _stack_of(name: str) -> str:
    """What comes before the block index: 'model', 'encoder', 'model.decoder'..."""
    match = BLOCK.search(name)
    return name[: match.start()] if match else ""


#: How a case grows by one block, when ``--set n_layers=3`` cannot: hybrid stacks place
#: their kinds of block by config keys, so the config gets one more layer instead.
#: case -> (--set arguments, the stored block the new one repeats, the new block's index)
ONE_MORE: dict[str, tuple[tuple[str, ...], int, int]] = {
    "jamba": (("num_hidden_layers=3",), 0, 2),
    "bamba": (("num_hidden_layers=3",), 0, 2),
    "granitemoehybrid": (
        (
            "num_hidden_layers=3",
            'layer_types=["linear_attention","full_attention","linear_attention"]',
        ),
        0,
        2,
    ),
    # Laguna: the heads per layer are listed, and layer 2 is sparse like layer 1
    "laguna": (
        (
            "num_hidden_layers=3",
            "num_attention_heads_per_layer=[4,2,2]",
            'layer_types=["full_attention","full_attention","full_attention"]',
            'mlp_layer_types=["dense","sparse","sparse"]',
        ),
        1,
        2,
    ),
    "minimax": (
        (
            "num_hidden_layers=3",
            'layer_types=["linear_attention","full_attention","linear_attention"]',
        ),
        0,
        2,
    ),
    "recurrent_gemma": (("num_hidden_layers=3",), 0, 2),
    **{
        name: (("num_hidden_layers=3", f'layer_types=["conv","{kind}","{kind}"]'), 1, 2)
        for name, kind in (
            ("lfm2-conv", "full_attention"),
            ("lfm3", "sliding_attention"),
            ("lfm3-plain", "full_attention"),
        )
    },
    # Kimi Linear, Ling 3: layer 2 repeats layer 1 (latent attention, experts)
    **{
        name: (
            (
                "num_hidden_layers=3",
                'layer_types=["linear_attention","full_attention","full_attention"]',
                'mlp_layer_types=["dense","sparse","sparse"]',
            ),
            1,
            2,
        )
        for name in ("kimi_linear", "bailing_hybrid")
    },
    "olmo_hybrid": (
        (
            "num_hidden_layers=3",
            'layer_types=["linear_attention","full_attention","linear_attention"]',
        ),
        0,
        2,
    ),
    "llama4_text": (
        (
            "num_hidden_layers=3",
            'layer_types=["chunked_attention","chunked_attention","chunked_attention"]',
        ),
        0,
        2,
    ),
    "lara_mini": (
        (
            "num_hidden_layers=3",
            'layer_types=["linear_attention","sliding_attention","linear_attention"]',
        ),
        0,
        2,
    ),
    "nemotron_h": (
        ('layers_block_type=["linear_attention","moe","full_attention","mlp","linear_attention"]',),
        0,
        4,
    ),
    **{
        name: (
            (
                "num_hidden_layers=3",
                'layer_types=["linear_attention","full_attention","linear_attention"]',
            ),
            0,
            2,
        )
        for name in ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text")
    },
    # every layer dense (first_k_dense_replace 3 > 2 layers): a third layer is dense too
    **{
        name: (("num_hidden_layers=3",), 1, 2)
        for name in ("deepseek_v3-all-dense", "glm4_moe-all-dense")
    },
}


@pytest.mark.parametrize("name", CASES)
def test_one_more_block_names_the_missing_tensors_of_block_2(tmp_path: Path, name: str) -> None:
    folder = write_case(tmp_path / name, name)
    sets, like, new = ONE_MORE.get(name, (("n_layers=3",), 1, 2))
    args = [a for value in sets for a in ("--set", value)]
    code, report = _check(str(folder / "config.json"), "--against", str(folder), *args)
    if case(name)["model_type"] == "albert":  # ALBERT's blocks share one set of weights
        assert code == 0 and report["agree"]
        return
    assert code == 1 and not report["agree"]
    assert report["unexpected"] == [] and report["shape_mismatches"] == []
    missing = {t["name"] for t in report["missing"]}
    naming = NAMINGS.get(case(name)["model_type"])  # None: a family's own names (xlstm)
    stored = {k for k in _stored(name) if not (naming and naming.is_buffer(k))}
    # the new block holds what the stored block it repeats holds (MoE included)
    first_stack = {_stack_of(n) for n in missing}
    assert len(first_stack) == 1
    repeated = {
        BLOCK.sub(lambda m: f"{m[1]}{m[2]}.{new}.", n, count=1)
        for n in stored
        if (m := BLOCK.search(n)) and m[3] == str(like) and _stack_of(n) in first_stack
    }
    assert missing == repeated
    assert all(BLOCK.search(n)[3] == str(new) for n in missing)


def test_the_text_report_names_each_missing_tensor(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "m", "llama")
    result = runner.invoke(
        app_cli(),
        ["check", str(folder / "config.json"), "--against", str(folder), "--set", "n_layers=3"],
    )
    assert result.exit_code == 1
    assert "missing     model.layers.2.self_attn.q_proj.weight  32×32" in result.stdout
    assert "missing     model.layers.2.mlp.down_proj.weight  32×48" in result.stdout
    assert "disagree: 9 missing, 0 unexpected, 0 with another shape" in result.stdout


def test_a_wrong_width_is_a_shape_mismatch_per_tensor(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "m", "mixtral")
    code, report = _check(str(folder / "config.json"), "--against", str(folder), "--set", "d_ff=40")
    assert code == 1
    mismatched = {m["name"]: m for m in report["shape_mismatches"]}
    assert len(mismatched) == 2 * 3 * 3  # 2 blocks × 3 experts × w1, w2, w3
    w2 = mismatched["model.layers.1.block_sparse_moe.experts.2.w2.weight"]
    assert (w2["spec_shape"], w2["checkpoint_shape"]) == ([32, 40], [32, 48])


def _rewrite(folder: Path, name: str, rename) -> None:
    """Rewrite the single-file checkpoint of ``folder`` with every tensor renamed."""
    header = case(name)["files"]["model.safetensors"]
    renamed = {rename(k): v for k, v in header.items() if k != "__metadata__"}
    write_header(folder / "model.safetensors", renamed)


@pytest.mark.parametrize(
    ("name", "rename", "note"),
    [
        ("llama", lambda n: n.removeprefix("model."), "lack the prefix 'model.'"),
        ("gpt2", lambda n: n.removeprefix("transformer."), "lack the prefix 'transformer.'"),
        ("bert", lambda n: f"bert.{n}", "carry the prefix 'bert.'"),
    ],
)
def test_a_base_model_prefix_is_handled_and_noted(
    tmp_path: Path, name: str, rename, note: str
) -> None:
    folder = write_case(tmp_path / name, name)
    _rewrite(folder, name, rename)
    code, report = _check(str(folder / "config.json"), "--against", str(folder))
    assert code == 0, report
    assert any(note in n for n in report["notes"]), report["notes"]


def test_a_base_model_checkpoint_lacks_the_lm_head(tmp_path: Path) -> None:
    """LlamaModel saves 'layers.0...' and no head: the prefix is handled, the head is not."""
    folder = write_case(tmp_path / "llama", "llama")
    header = case("llama")["files"]["model.safetensors"]
    base = {
        k.removeprefix("model."): (v["dtype"], v["shape"])
        for k, v in header.items()
        if k.startswith("model.")
    }
    write_tensors(folder / "model.safetensors", base)
    code, report = _check(str(folder / "config.json"), "--against", str(folder))
    assert code == 1
    assert [t["name"] for t in report["missing"]] == ["lm_head.weight"]
    assert report["unexpected"] == []


def test_saved_buffers_are_noted_not_reported(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "b", "bart")
    code, report = _check(str(folder / "config.json"), "--against", str(folder))
    assert code == 0
    assert [t["name"] for t in report["buffers"]] == ["final_logits_bias"]
    assert report["checkpoint_params"] == case("bart")["saved_numel"]


def test_a_tied_spec_against_a_separate_head_says_why(tmp_path: Path) -> None:
    untied = write_case(tmp_path / "untied", "llama")
    tied = write_case(tmp_path / "tied", "llama-tied")
    code, report = _check(str(tied / "config.json"), "--against", str(untied))
    assert code == 1
    (extra,) = report["unexpected"]
    assert extra["name"] == "lm_head.weight" and "ties the LM head" in extra["hint"]


def test_the_naming_comes_from_the_config_beside_the_checkpoint(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "g", "gpt2")
    spec = tmp_path / "gpt2.yaml"
    imported = runner.invoke(app_cli(), ["import-hf", str(folder / "config.json"), "-o", str(spec)])
    assert imported.exit_code == 0, imported.output
    plain = "\n".join(
        line for line in spec.read_text().splitlines() if not line.startswith("x-hf-")
    )
    spec.write_text(plain + "\n")
    code, report = _check(str(spec), "--against", str(folder))
    assert code == 0 and report["model_type"] == "gpt2"
    assert report["naming_from"] == str(folder / "config.json")
    (folder / "config.json").unlink()  # no config: the best-matching convention is found
    code, report = _check(str(spec), "--against", str(folder))
    assert code == 0 and report["model_type"] == "gpt2" and report["naming_from"] == "detected"


# --------------------------------------------------------------------------- tensors


@pytest.mark.parametrize("name", CASES)
def test_tensors_lists_what_the_checkpoint_stores(tmp_path: Path, name: str) -> None:
    folder = write_case(tmp_path / name, name)
    result = runner.invoke(
        app_cli(), ["tensors", str(folder), "--format", "json", "--dtype", "F32"]
    )
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    record = case(name)
    stored = _stored(name)
    naming = NAMINGS.get(record["model_type"])  # None: a family's own names (xlstm)
    buffers = [k for k in stored if naming and naming.is_buffer(k)]
    assert len(buffers) == len(record["buffers"])  # saved buffers, by their saved names
    # parameters save_pretrained leaves out (Marian's sinusoidal tables) are listed, not stored
    saved = {
        t["name"]: t["shape"]
        for t in listed["tensors"]
        if not (naming and naming.is_unsaved(t["name"]))
    }
    assert saved.items() <= stored.items()
    assert len(saved) == len(stored) - len(buffers)
    assert listed["total_params"] == record["total_params"]
    assert listed["total_bytes"] == 4 * record["total_params"]


HF_CONFIGS = sorted((DATA / "hf").glob("*.json"))
#: The built-in families (each lists its tensors).
LISTED = ("family: transformer", "family: cnn", "family: vit")
EXAMPLES_WITH_TENSORS = [
    p
    for p in sorted(EXAMPLES.rglob("*.yaml"))
    if "lint" not in p.parts and any(f in p.read_text() for f in LISTED)
]


@pytest.mark.parametrize(
    "path", HF_CONFIGS + EXAMPLES_WITH_TENSORS, ids=lambda p: str(p.relative_to(p.parents[1]))
)
def test_tensors_sum_to_the_count(path: Path) -> None:
    spec = api.load_spec(path)
    expected, model_type = spec_tensors(spec)
    assert total_numel(e.tensor for e in expected) == api.count(spec).total_params
    if path.suffix == ".json":  # named as transformers saves that model type
        assert model_type == json.loads(path.read_text())["model_type"]


#: Model types whose config class is another type's: save_pretrained writes that one.
SAVED_AS = {"gpt-sw3": "gpt2"}
#: Model types counted but not named yet, and why (their tensors/check: a K807 refusal).
NOT_NAMED: dict[str, str] = {}


def test_every_model_type_count_reads_is_named_as_a_saved_checkpoint_names_it() -> None:
    """A model type a plugin adds must bring its naming, measured on a saved checkpoint.

    Its state-dict naming goes in archcalc/state_dict.py, its case (a tiny model saved by
    save_pretrained) in reference/checkpoint_headers.py; a family other than the
    transformer must list its tensors (Family.tensors) under the names its checkpoints use.
    """
    registry = load_registry()
    measured = {case(c)["model_type"] for c in CASES}
    lacking = []
    for model_type, hf_type in sorted(registry.hf_model_types.items()):
        if hf_type.family != NAMED_FAMILY:
            family = registry.family(hf_type.family)
            if family is None or family.tensors is None:
                lacking.append(f"{model_type}: family {hf_type.family} lists no tensors")
        elif model_type in NOT_NAMED:
            assert model_type not in NAMINGS, f"{model_type} is named now: drop it from NOT_NAMED"
        elif model_type not in NAMINGS:
            lacking.append(f"{model_type}: no naming in archcalc/state_dict.py")
        elif SAVED_AS.get(model_type, model_type) not in measured:
            lacking.append(f"{model_type}: no case in reference/checkpoint_headers.py")
    assert lacking == []
    for alias, saved in SAVED_AS.items():
        assert NAMINGS[alias].rules == NAMINGS[saved].rules


def _model_type_mark(config: Path) -> str:
    """``line:col`` of the ``model_type`` value in a config.json written by json.dumps."""
    for number, line in enumerate(config.read_text().splitlines(), 1):
        if '"model_type"' in line:
            return f"{number}:{line.index(':') + 3}"
    raise AssertionError("no model_type")


def test_a_model_type_without_a_naming_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_case(tmp_path / "g", "granite")
    config = folder / "config.json"
    monkeypatch.delitem(NAMINGS, "granite")
    for command in (["tensors", str(config)], ["check", str(config), "--against", str(folder)]):
        result = runner.invoke(app_cli(), command)
        assert result.exit_code == 1, result.output
        assert result.output == (
            f"{config}:{_model_type_mark(config)}: error: archcalc counts model type 'granite' "
            "but does not know the names its checkpoints give the tensors (try --model-type "
            "with a type saved alike) [K807]\n"
        )
    # naming them as a type saved alike works; a --model-type archcalc lacks is a usage error
    assert _check(str(config), "--against", str(folder), "--model-type", "llama")[0] == 0
    result = runner.invoke(app_cli(), ["tensors", str(config), "--model-type", "granite"])
    assert result.exit_code == 2
    assert "no state-dict naming for model type 'granite'" in result.output


FAMILY_WITHOUT_TENSORS = """\
from archcalc import Breakdown, Family, Field, Part, hookimpl


@hookimpl
def archcalc_families():
    return [Family(name="opaque", description="", fields=(Field("width", "size", ""),),
                   count=lambda spec: Breakdown((Part("all", spec.values.width),)))]
"""


def test_a_family_that_lists_no_tensors_is_a_located_error(tmp_path: Path) -> None:
    plugin = tmp_path / "opaque.py"
    plugin.write_text(FAMILY_WITHOUT_TENSORS)
    spec = tmp_path / "o.yaml"
    spec.write_text("name: o\nfamily: opaque\nwidth: 3\n")
    result = runner.invoke(app_cli(), ["tensors", str(spec), "--plugin", str(plugin)])
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"{spec}:2:9: error: family 'opaque' does not list its tensors, so archcalc cannot "
        "name them (its plugin gives no Family.tensors) [K807]\n"
    )


def test_a_checkpoint_of_another_head_class_is_explained(tmp_path: Path) -> None:
    """BertForMaskedLM's checkpoint has a cls.* head that AutoModel (archcalc's bert) lacks."""
    folder = write_case(tmp_path / "mlm", "bert")
    config = {**case("bert")["config"], "architectures": ["BertForMaskedLM"]}
    (folder / "config.json").write_text(json.dumps(config))
    header = case("bert")["files"]["model.safetensors"]
    tensors = {
        f"bert.{k}": (v["dtype"], v["shape"]) for k, v in header.items() if k != "__metadata__"
    }
    write_tensors(folder / "model.safetensors", {**tensors, "cls.predictions.bias": ("F32", [64])})
    code, report = _check(str(folder / "config.json"), "--against", str(folder))
    assert code == 1
    assert [t["name"] for t in report["unexpected"]] == ["cls.predictions.bias"]
    assert any("saved from BertForMaskedLM" in n and "AutoModel" in n for n in report["notes"])
    # a checkpoint of the class archcalc counts needs no such note
    plain = write_case(tmp_path / "plain", "llama")
    _, report = _check(str(plain / "config.json"), "--against", str(plain), "--set", "n_layers=3")
    assert not any("saved from" in n for n in report["notes"])


def test_parameters_a_model_type_never_saves_are_noted_not_missing(tmp_path: Path) -> None:
    """Marian's sinusoidal tables are parameters that save_pretrained leaves out."""
    folder = write_case(tmp_path / "marian", "marian")
    code, report = _check(str(folder / "config.json"), "--against", str(folder))
    assert code == 0 and report["missing"] == []
    assert {t["name"] for t in report["unsaved"]} == {
        "model.encoder.embed_positions.weight",
        "model.decoder.embed_positions.weight",
    }
    assert any("never store" in note for note in report["notes"])
    stored = {k for h in case("marian")["files"].values() for k in h}
    assert not stored & {t["name"] for t in report["unsaved"]}


@pytest.mark.parametrize("name", ["mixtral", "qwen2_moe", "deepseek_v3", "phimoe"])
def test_experts_stored_fused_as_transformers_holds_them_agree(tmp_path: Path, name: str) -> None:
    """A checkpoint of the in-memory state dict: mlp.experts.gate_up_proj (E, 2F, d)."""
    folder = write_case(tmp_path / name, name)
    memory = case(name)["state_dict"]
    assert any(k.endswith(".mlp.experts.gate_up_proj") for k in memory)
    write_tensors(folder / "model.safetensors", {k: ("F32", v) for k, v in memory.items()})
    config = str(folder / "config.json")
    code, report = _check(config, "--against", str(folder))
    assert code == 0, report
    assert any("are stored fused" in n for n in report["notes"])
    assert report["spec_params"] == case(name)["total_params"]
    # one more block: its tensors are missing (in the saved layout), nothing else differs
    code, report = _check(config, "--against", str(folder), "--set", "n_layers=3")
    assert code == 1 and report["unexpected"] == [] and report["shape_mismatches"] == []
    assert report["missing"] and all(".layers.2." in t["name"] for t in report["missing"])


def _released_olmo_hybrid(saved: dict[str, list[int]]) -> dict[str, tuple[str, list[int]]]:
    """The olmo_hybrid case as the released OLMo-Hybrid checkpoints store it: module names
    for the norms, the convolution cut at the q/k/v widths (16, 16, 24), not 19, 19, 18."""
    released = {}
    for name, shape in saved.items():
        name = name.replace("attention_layer_norm", "input_layernorm")
        name = name.replace("feedforward_layer_norm", "post_attention_layernorm")
        if "_conv1d" in name:
            projection = name.replace("_conv1d", "_proj")
            shape = [saved[projection][0], *shape[1:]]
        released[name] = ("F32", shape)
    return released


def test_olmo_hybrid_is_checked_in_save_pretrained_s_layout_and_the_released_one(
    tmp_path: Path,
) -> None:
    folder = write_case(tmp_path / "olmo", "olmo_hybrid")
    config = str(folder / "config.json")
    saved = _stored("olmo_hybrid")
    assert [saved[f"model.layers.0.linear_attn.{p}_conv1d.weight"][0] for p in "qkv"] == [
        19,
        19,
        18,
    ]
    code, report = _check(config, "--against", str(folder))
    assert code == 0 and not any("released" in n for n in report["notes"])
    released = _released_olmo_hybrid(saved)
    assert [released[f"model.layers.0.linear_attn.{p}_conv1d.weight"][1][0] for p in "qkv"] == [
        16,
        16,
        24,
    ]
    write_tensors(folder / "model.safetensors", released)
    code, report = _check(config, "--against", str(folder))
    assert code == 0, report
    assert any("as the released OLMo-Hybrid checkpoints store it" in n for n in report["notes"])
    # a checkpoint in neither layout is reported in save_pretrained's, the one tensors shows
    mixed = {**released, "model.layers.0.linear_attn.q_conv1d.weight": ("F32", [19, 1, 4])}
    write_tensors(folder / "model.safetensors", mixed)
    code, report = _check(config, "--against", str(folder))
    assert code == 1 and not any("released" in n for n in report["notes"])
    assert "model.layers.0.attention_layer_norm.weight" in {t["name"] for t in report["missing"]}


#: DeepSeek-V3's multi-token-prediction layer as its published checkpoint stores it (the
#: layer after the 61 decoder layers): its own norms, projection and head, and a block.
MTP = {
    "model.layers.61.enorm.weight": ("F32", [32]),
    "model.layers.61.hnorm.weight": ("F32", [32]),
    "model.layers.61.eh_proj.weight": ("F32", [32, 64]),
    "model.layers.61.shared_head.norm.weight": ("F32", [32]),
    "model.layers.61.shared_head.head.weight": ("F32", [64, 32]),
    "model.layers.61.self_attn.o_proj.weight": ("F32", [32, 32]),
}


def test_layers_transformers_does_not_load_are_noted_not_unexpected(tmp_path: Path) -> None:
    """transformers' DeepSeek-V3 leaves model.layers.61 (the MTP layer) unloaded."""
    for name, ignored in (("deepseek_v3", True), ("llama", False)):
        folder = write_case(tmp_path / name, name)
        stored = {k: ("F32", v) for k, v in _stored(name).items()}
        write_tensors(folder / "model.safetensors", {**stored, **MTP})
        code, report = _check(str(folder / "config.json"), "--against", str(folder))
        names = {t["name"] for t in report["ignored" if ignored else "unexpected"]}
        assert names == set(MTP) and code == (0 if ignored else 1), report
        assert any("does not load" in n for n in report["notes"]) is ignored
