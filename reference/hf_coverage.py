"""Coverage of Hugging Face model types: is archcalc exact, does it refuse, or is it wrong?

Source of truth behind ``tests/data/reference/hf_coverage.json`` and the README's coverage
table. For every model type of the installed transformers that has a causal-LM, masked-LM
or seq2seq class, this script:

1. classifies it: *text*, or *multimodal* (listed in one of transformers' image, audio,
   video or multimodal Auto mappings, or with a vision/audio sub-config);
2. builds its default config (``AutoConfig.for_model(t)``), writes it as the config.json
   transformers would (``to_dict()``), builds the model on the meta device with the Auto
   class archcalc's count corresponds to (``AutoModelForSeq2SeqLM`` when the type has a
   seq2seq class, ``AutoModel`` for masked-LM encoders, ``AutoModelForCausalLM``
   otherwise) and counts ``sum(p.numel() for p in model.parameters())`` and, for
   mixtures of experts, the active parameters (the method of
   ``reference/transformer_counts.py``: routed experts only are inactive);
3. asks archcalc (a separate interpreter with archcalc installed: ``--archcalc-python``)
   to count the same config.json, and records ``exact``, ``refused`` (with archcalc's
   one-line located message) or ``wrong``;
4. with ``--perturb``, for every type archcalc counts exactly, changes every key of the
   default config one at a time (bools flipped; integers doubled, incremented, zeroed and
   nulled; strings and lists replaced by values other configs use; nested mappings one
   level deep) plus the keys every config class inherits (``add_cross_attention``,
   ``is_decoder``, ``pruned_heads``...), then leaves out at once every key whose removal
   alone was exact (the class defaults together), rebuilds the model and asks archcalc
   again.
   Each perturbation must be *exact* or *refused*; ``wrong`` (a different count) and
   ``counted-unbuildable`` (archcalc gives a number for a config transformers cannot
   build) are failures to fix. The perturbations that change the count or that archcalc
   refuses are kept in the JSON, so the tests replay them without torch.

Needs torch and transformers (not archcalc dependencies); run from the repository root:

    /work/refenv/bin/python reference/hf_coverage.py --archcalc-python .venv/bin/python
    /work/refenv/bin/python reference/hf_coverage.py --archcalc-python ... --perturb
    /work/refenv/bin/python reference/hf_coverage.py --archcalc-python ... --types jamba,lfm2
    /work/refenv/bin/python reference/hf_coverage.py --table   # the README table, from the JSON

``--types a,b`` recomputes just those types (their default config, verdict and, when the
JSON holds perturbations, their perturbations) and merges them into the JSON, so several
people can each regenerate their own rows; the tally is kept per type
(``perturbations.tally_by_type``) so it can be updated type by type. The vocabulary of
string values tried is taken from every exactly counted type's default config, as in a
full run.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import subprocess
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "reference"))

import hf_counts  # noqa: E402

OUTPUT = REPO_ROOT / "tests" / "data" / "reference" / "hf_coverage.json"
README = REPO_ROOT / "README.md"
FORMAT_VERSION = 1

#: Words in a transformers Auto mapping's name that mark a non-text modality.
NON_TEXT_MAPPINGS = re.compile(
    r"IMAGE|VISION|AUDIO|SPEECH|CTC|VIDEO|WAVEFORM|SPECTROGRAM|MULTIMODAL|DOCUMENT|VISUAL"
)
#: Sub-config names that mark a multimodal composite config.
NON_TEXT_SUBCONFIG = re.compile(r"vision|audio|speech|vq|acoustic|semantic|projector|image")

#: Keys every config class inherits from PretrainedConfig that may change shapes; tried on
#: every type whether or not its default config lists them.
INHERITED = {
    "add_cross_attention": True,
    "is_decoder": True,
    "is_encoder_decoder": True,
    "pruned_heads": {"0": [0]},
    "tie_word_embeddings": None,  # flipped from the type's default
    "tie_encoder_decoder": True,
}
#: Keys never perturbed: they name things rather than shape them.
NOT_PERTURBED = frozenset({"model_type", "architectures", "transformers_version", "_name_or_path"})
NULL_INT = 64  # what a null integer key is tried as
#: Marks the perturbation that leaves a key out of the config.
REMOVED = "<removed>"
#: The key of the perturbation that leaves out every key whose removal alone was exact.
CLASS_DEFAULTS = "<every removable key>"


# ------------------------------------------------------------------ transformers side


def quiet() -> None:
    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()


def model_types() -> dict[str, dict[str, Any]]:
    """Every model type with a causal-LM, masked-LM or seq2seq class, classified."""
    from transformers.models.auto import modeling_auto as ma

    kinds = {
        "causal": ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        "masked": ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        "seq2seq": ma.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
    }
    other = {
        name: getattr(ma, name)
        for name in dir(ma)
        if name.startswith("MODEL_FOR_")
        and name.endswith("_MAPPING_NAMES")
        and NON_TEXT_MAPPINGS.search(name)
    }
    out: dict[str, dict[str, Any]] = {}
    for model_type in sorted(set().union(*kinds.values())):
        has = [k for k, mapping in kinds.items() if model_type in mapping]
        if "seq2seq" in has:
            auto = "AutoModelForSeq2SeqLM"
        elif "masked" in has:
            auto = "AutoModel"
        else:
            auto = "AutoModelForCausalLM"
        modality = sorted(
            n.removeprefix("MODEL_FOR_").removesuffix("_MAPPING_NAMES")
            for n, m in other.items()
            if model_type in m
        )
        out[model_type] = {"classes": has, "auto_class": auto, "non_text_mappings": modality}
    return out


def finite(value: Any) -> bool:
    """Whether a value survives strict JSON (no NaN/Infinity anywhere inside)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(finite(v) for v in value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return True


def jsonable(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


#: Default configs that leave a value the model needs unset (transformers builds the
#: model but cannot route, or fails to build): the value the published model uses, so the
#: type's default is measured (and perturbed) at all. Each entry is recorded in the JSON.
COMPLETIONS: dict[str, dict[str, Any]] = {
    # DeepseekV2Config leaves num_experts_per_tok None; DeepSeek-V2 and V2-Lite route 6
    "deepseek_v2": {"num_experts_per_tok": 6},
}


def default_config(model_type: str) -> tuple[dict[str, Any], list[str]]:
    """The config.json of a type's defaults (with its COMPLETIONS), and its sub-configs."""
    from transformers import AutoConfig, PretrainedConfig

    config = AutoConfig.for_model(model_type, **COMPLETIONS.get(model_type, {}))
    subs = [k for k, v in vars(config).items() if isinstance(v, PretrainedConfig)]
    data = {k: jsonable(v) for k, v in config.to_dict().items() if finite(v)}
    data["model_type"] = model_type
    return data, subs


def measure(data: dict[str, Any], auto_class: str) -> dict[str, Any]:
    """Build a config.json's model (``hf_counts.measure``), or record why it cannot be."""
    try:
        # a copy: transformers fills nested values (rope_parameters) in place, and the
        # perturbed configs share them with the default config
        entry = hf_counts.measure(copy.deepcopy(data), auto_class)
    except Exception as exc:  # the config is not buildable: that is a fact to record
        text = str(exc).strip().splitlines()
        return {"error": f"{type(exc).__name__}: {text[0][:160] if text else ''}"}
    return {k: v for k, v in entry.items() if k != "auto_class"}


# ------------------------------------------------------------------ archcalc side

#: Runs inside the archcalc interpreter: JSON lines of {"id", "config"} in, results out.
ARCHCALC_RUNNER = r"""
import json, sys
from archcalc import api, hf
from archcalc.errors import PluginError, SpecError
registry = api.default_registry()
owners = dict(registry.hf_owners)
print(json.dumps({"owners": owners}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    out = {"id": job["id"]}
    try:
        text = json.dumps(job["config"], indent=1).encode()
        config = hf.parse_config(text, "config.json")
        translation = hf.translate(config, registry)
        out["read"] = sorted(translation.read)
        spec = api.check_document(hf.to_document(config, translation), (), registry)
        result = api.count(spec)
        out.update(total_params=result.total_params, active_params=result.active_params)
    except SpecError as exc:
        out["refused"] = exc.diagnostics[0].format()
        out["n_errors"] = len(exc.diagnostics)
    except PluginError as exc:
        out["plugin_error"] = str(exc)
    except Exception as exc:
        out["crash"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out), flush=True)
"""


def run_archcalc(python: str, jobs: list[tuple[str, dict[str, Any]]]) -> tuple[dict, dict]:
    """Count many configs in one archcalc process; returns (owners, id -> result)."""
    env = {**os.environ}
    env.pop("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", None)
    payload = "".join(json.dumps({"id": i, "config": c}) + "\n" for i, c in jobs)
    done = subprocess.run(
        [python, "-c", ARCHCALC_RUNNER],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=str(REPO_ROOT / "reference"),
    )
    if done.returncode:
        raise SystemExit(f"archcalc runner failed:\n{done.stderr}")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    owners = lines[0]["owners"]
    return owners, {r["id"]: r for r in lines[1:]}


def verdict(reference: dict[str, Any], archcalc: dict[str, Any], base: int | None = None) -> str:
    """exact / refused / wrong; for a config transformers cannot build, a count is
    ``lenient`` when it is the unperturbed count (archcalc does not read the key: a token id,
    a dtype) and ``counted-unbuildable`` when archcalc read the key and counted anyway."""
    if "total_params" in archcalc:
        if "error" in reference:
            same = archcalc["total_params"] == base
            return "lenient" if same else "counted-unbuildable"
        same = (archcalc["total_params"], archcalc["active_params"]) == (
            reference["total_params"],
            reference["active_params"],
        )
        return "exact" if same else "wrong"
    if "refused" in archcalc:
        return "refused"
    return "archcalc-failure"


# ------------------------------------------------------------------ perturbations


def string_vocabulary(defaults: dict[str, dict[str, Any]]) -> dict[str, set[Any]]:
    """Every string value each key takes in some default config (lists' items too)."""
    seen: dict[str, set[Any]] = defaultdict(set)
    for data in defaults.values():
        for key, value in data.items():
            if isinstance(value, str):
                seen[key].add(value)
            elif isinstance(value, list):
                seen[key].update(v for v in value if isinstance(v, str))
    return seen


def values_for(key: str, value: Any, vocabulary: dict[str, set[Any]]) -> list[Any]:
    """The values a key is tried with, given its default value."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [2 * value, value + 1, 0, None] if value else [1, 2, None]
    if isinstance(value, float):
        return [2 * value if value else 0.5]
    if value is None:
        return [NULL_INT, True]
    if isinstance(value, str):
        return sorted(v for v in vocabulary.get(key, ()) if v != value)[:4]
    if isinstance(value, list):
        if not value:
            return [[0]]
        if all(isinstance(v, str) for v in value):
            others = sorted(v for v in vocabulary.get(key, ()) if v not in value)
            return [[others[0]] * len(value), [others[0], *value[1:]]] if others else []
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [[2 * v for v in value], value[:-1] or [1]]
        return []
    if isinstance(value, dict):
        out = []
        for sub, inner in value.items():
            if isinstance(inner, (bool, int)) and not isinstance(inner, float):
                for new in values_for(sub, inner, vocabulary)[:2]:
                    out.append({**value, sub: new})
        return out
    return []


#: Values tried for a key archcalc reads that the default config does not list.
ABSENT_VALUES = (True, False, 0, 1, 64, "gelu")


def aliases(model_type: str) -> dict[str, str]:
    """The config class's attribute_map: alias key -> the key it stands for."""
    from transformers import CONFIG_MAPPING

    return dict(getattr(CONFIG_MAPPING[model_type], "attribute_map", {}) or {})


def perturbations(data: dict[str, Any], vocabulary: dict[str, set[Any]], read: list[str]):
    """(key, value, config) for every single-key change of a default config, including
    the keys archcalc reads that the config does not list."""
    for key, value in data.items():
        if key in NOT_PERTURBED:
            continue
        for new in values_for(key, value, vocabulary):
            yield key, new, {**data, key: new}, {}
        # Left out: the config class's default applies (what a published config relies on).
        yield key, REMOVED, {k: v for k, v in data.items() if k != key}, {}
    for alias, real in aliases(data["model_type"]).items():
        # A config may use the alias transformers maps onto the real key (num_experts for
        # num_local_experts): changed through the alias alone, it must count the same.
        value = data.get(real)
        if isinstance(value, int) and not isinstance(value, bool) and alias not in data:
            rest = {k: v for k, v in data.items() if k != real}
            for new in (value, 2 * value):
                yield alias, new, {**rest, alias: new}, {"instead_of": real}
    for key in read:
        if key not in data and key not in NOT_PERTURBED:
            for new in (*ABSENT_VALUES, *sorted(vocabulary.get(key, ()))[:3]):
                yield key, new, {**data, key: new}, {}
    for key, new in INHERITED.items():
        if key in data and new is not None:
            continue
        if new is None:
            current = data.get(key)
            if not isinstance(current, bool):
                continue
            new = not current
        yield key, new, {**data, key: new}, {}


# ------------------------------------------------------------------ the document


def build(
    python: str, perturb: bool, only: list[str] | None, vocabulary_of: dict | None = None
) -> dict[str, Any]:
    quiet()
    import transformers

    types = model_types()
    if only:
        unknown = sorted(set(only) - set(types))
        if unknown:
            raise SystemExit(f"not a text model type of this transformers: {', '.join(unknown)}")
        types = {t: v for t, v in types.items() if t in only}
    defaults: dict[str, dict[str, Any]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for model_type, info in types.items():
        entry = dict(info)
        if model_type in COMPLETIONS:
            entry["completed_with"] = COMPLETIONS[model_type]
        try:
            data, subs = default_config(model_type)
        except Exception as exc:
            text = str(exc).strip().splitlines()
            entry.update(
                kind="text",
                status="no-default-config",
                reference={"error": f"{type(exc).__name__}: {text[0][:160] if text else ''}"},
            )
            entries[model_type] = entry
            continue
        non_text_subs = [s for s in subs if NON_TEXT_SUBCONFIG.search(s)]
        text_model = not info["non_text_mappings"] and not non_text_subs
        entry["kind"] = "text" if text_model else "multimodal"
        entry["sub_configs"] = subs
        entry["reference"] = measure(data, info["auto_class"])
        defaults[model_type] = data
        entries[model_type] = entry
    owners, results = run_archcalc(python, list(defaults.items()))
    for model_type in defaults:
        entry = entries[model_type]
        result = results[model_type]
        entry["archcalc"] = result
        entry["owner"] = owners.get(model_type)
        if "error" in entry["reference"]:
            entry["status"] = "unbuildable/" + (
                "refused"
                if "refused" in result
                else ("counted" if "total_params" in result else "archcalc-failure")
            )
        else:
            entry["status"] = verdict(entry["reference"], result)
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "generated_by": "reference/hf_coverage.py",
        "transformers": transformers.__version__,
        "convention": (
            "total_params = sum(p.numel() for p in model.parameters()) of "
            "<auto_class>.from_config(AutoConfig.for_model(model_type, **config)) under "
            "torch.device('meta'); config = AutoConfig.for_model(model_type, "
            "**COMPLETIONS[model_type]).to_dict() (completed_with: the values a default "
            "leaves unset) without keys holding non-finite floats; active_params: routed "
            "experts only "
            "are inactive (method of reference/transformer_counts.py)"
        ),
        "types": entries,
        "defaults": {t: defaults[t] for t, e in entries.items() if e["status"] == "exact"},
    }
    if perturb:
        vocabulary = None if vocabulary_of is None else {**vocabulary_of, **document["defaults"]}
        document["perturbations"] = perturb_all(python, entries, defaults, vocabulary)
    return document


def perturb_all(
    python: str, entries: dict, defaults: dict, vocabulary_of: dict | None = None
) -> dict[str, Any]:
    """Every single-key change of every exactly-counted type's default config (string
    values from the default configs of ``vocabulary_of``, else of ``defaults``)."""
    vocabulary = string_vocabulary(defaults if vocabulary_of is None else vocabulary_of)
    jobs, meta = [], {}
    for model_type, entry in entries.items():
        if entry["status"] != "exact":
            continue
        read = entry["archcalc"].get("read", [])
        changes = perturbations(defaults[model_type], vocabulary, read)
        for n, (key, value, config, extra) in enumerate(changes):
            job_id = f"{model_type}#{n}"
            meta[job_id] = (model_type, key, value, extra, measure(config, entry["auto_class"]))
            jobs.append((job_id, config))
    _, results = run_archcalc(python, jobs)
    # Then, per type, every key whose removal alone was exact removed at once: a published
    # config that lists few keys relies on all those class defaults together, and one
    # removal can be masked by a derived key the default config also lists (T5's
    # is_gated_act beside feed_forward_proj: mT5 without both is gated, not T5's relu).
    removable: dict[str, list[str]] = defaultdict(list)
    for job_id, (model_type, key, value, _, reference) in meta.items():
        if value == REMOVED and verdict(reference, results[job_id]) == "exact":
            removable[model_type].append(key)
    sparse = []
    for model_type, keys in removable.items():
        config = {k: v for k, v in defaults[model_type].items() if k not in keys}
        job_id = f"{model_type}#defaults"
        auto = entries[model_type]["auto_class"]
        extra = {"removed": sorted(keys)}
        meta[job_id] = (model_type, CLASS_DEFAULTS, REMOVED, extra, measure(config, auto))
        sparse.append((job_id, config))
    results.update(run_archcalc(python, sparse)[1])
    kept: dict[str, list[Any]] = defaultdict(list)
    tally: Counter[str] = Counter()
    by_type: dict[str, Counter[str]] = {
        t: Counter() for t, e in entries.items() if e["status"] == "exact"
    }
    problems = []
    for job_id, (model_type, key, value, extra, reference) in meta.items():
        result = results[job_id]
        base = entries[model_type]["reference"]
        outcome = verdict(reference, result, base["total_params"])
        tally[outcome] += 1
        by_type[model_type][outcome] += 1
        changed = (
            reference.get("total_params") != base["total_params"]
            or reference.get("active_params") != base["active_params"]
        )
        row: dict[str, Any] = {"key": key, "value": value, **extra}
        if "error" in reference:
            row["reference"] = "unbuildable"
        else:
            row.update(
                total_params=reference["total_params"], active_params=reference["active_params"]
            )
        row["outcome"] = outcome
        if outcome != "exact" or changed or key == CLASS_DEFAULTS:
            if "refused" in result:
                row["archcalc"] = result["refused"]
            elif "total_params" in result:
                row["archcalc_total_params"] = result["total_params"]
                row["archcalc_active_params"] = result["active_params"]
            else:
                row["archcalc"] = result.get("plugin_error") or result.get("crash")
            if outcome not in ("exact", "refused", "lenient"):
                problems.append((model_type, row))
            if "error" not in reference or outcome not in ("refused", "lenient"):
                kept[model_type].append(row)
    return {
        "tally": dict(tally),
        "tally_by_type": {t: dict(c) for t, c in sorted(by_type.items())},
        "problems": [dict(type=t, **r) for t, r in problems],
        "rows": dict(kept),
    }


def merge(old: dict[str, Any], new: dict[str, Any], types: list[str]) -> dict[str, Any]:
    """``old`` with the entries of ``types`` replaced by ``new``'s (a ``--types`` run).

    Each helper regenerates only the rows of the model types it changed; both documents
    must come from the same transformers."""
    if old.get("transformers") != new["transformers"]:
        raise SystemExit(
            f"{OUTPUT} was measured with transformers {old.get('transformers')}, this run "
            f"with {new['transformers']}: regenerate it whole"
        )
    merged = dict(old)
    merged["convention"] = new["convention"]
    merged["types"] = {**old["types"], **new["types"]}
    merged["defaults"] = {t: d for t, d in old["defaults"].items() if t not in types}
    merged["defaults"].update(new["defaults"])
    merged["defaults"] = dict(sorted(merged["defaults"].items()))
    if "perturbations" not in old:
        return merged
    was, now = old["perturbations"], new["perturbations"]
    by_type = dict(was.get("tally_by_type", {}))
    tally: Counter[str] = Counter(was["tally"])
    for t in types:
        if t in by_type:
            tally.subtract(by_type.pop(t))
        elif old["types"].get(t, {}).get("status") == "exact":
            raise SystemExit(
                f"{t} was perturbed before per-type tallies were kept: run a full --perturb"
            )
    for t, counts in now["tally_by_type"].items():
        by_type[t] = counts
        tally.update(counts)
    rows = {t: r for t, r in was["rows"].items() if t not in types}
    rows.update(now["rows"])
    merged["perturbations"] = {
        "tally": {k: v for k, v in sorted(tally.items()) if v},
        "tally_by_type": dict(sorted(by_type.items())),
        "problems": [p for p in was["problems"] if p["type"] not in types] + now["problems"],
        "rows": dict(sorted(rows.items())),
    }
    return merged


# ------------------------------------------------------------------ the README table


def summary(document: dict[str, Any]) -> dict[str, Any]:
    text = {t: e for t, e in document["types"].items() if e.get("kind") == "text"}
    buildable = {t: e for t, e in text.items() if "error" not in e.get("reference", {"error": 1})}
    status = Counter(e["status"] for e in buildable.values())
    return {
        "text": len(text),
        "buildable": len(buildable),
        "status": dict(status),
        "multimodal": sum(1 for e in document["types"].values() if e.get("kind") == "multimodal"),
    }


def table(document: dict[str, Any]) -> str:
    """The README's coverage section body, generated from the JSON (tests compare)."""
    s = summary(document)
    exact = sorted(
        t
        for t, e in document["types"].items()
        if e.get("kind") == "text" and e["status"] == "exact"
    )
    refused = sorted(
        t
        for t, e in document["types"].items()
        if e.get("kind") == "text" and e["status"] == "refused"
    )
    unbuildable = sorted(
        t
        for t, e in document["types"].items()
        if e.get("kind") == "text" and e["status"].startswith(("unbuildable", "no-default"))
    )
    wrong = sorted(
        t
        for t, e in document["types"].items()
        if e.get("kind") == "text" and e["status"] in ("wrong", "archcalc-failure")
    )
    multimodal = sorted(t for t, e in document["types"].items() if e.get("kind") == "multimodal")
    lines = [
        f"Measured by `reference/hf_coverage.py` against transformers {document['transformers']}"
        f": of its {s['text']} text model types with a causal-LM, masked-LM or seq2seq class, "
        f"{s['buildable']} build from their default config; archcalc counts "
        f"**{len(exact)} exactly** (total and active parameters), refuses {len(refused)} with "
        f"a located error and is wrong on {len(wrong)}.",
        "",
        "| | model types |",
        "|---|---|",
        f"| exact ({len(exact)}) | " + ", ".join(f"`{t}`" for t in exact) + " |",
        f"| refused ({len(refused)}) | " + ", ".join(f"`{t}`" for t in refused) + " |",
    ]
    if wrong:
        lines.append(f"| wrong ({len(wrong)}) | " + ", ".join(f"`{t}`" for t in wrong) + " |")
    lines += [
        f"| default config does not build in transformers ({len(unbuildable)}) | "
        + ", ".join(f"`{t}`" for t in unbuildable)
        + " |",
        f"| multimodal, not counted ({len(multimodal)}) | "
        + ", ".join(f"`{t}`" for t in multimodal)
        + " |",
    ]
    perturbed = document.get("perturbations")
    if perturbed:
        tally = perturbed["tally"]
        total = sum(tally.values())
        lines += [
            "",
            f"Every key of every exactly counted default config was also changed one at a "
            f"time, and all keys whose removal alone was counted exactly were left out at once "
            f"({total:,} configs): archcalc was exact on {tally.get('exact', 0):,}, "
            f"refused {tally.get('refused', 0):,} and wrong on {tally.get('wrong', 0):,}. Of "
            f"the changes transformers itself rejects, archcalc refused some and counted "
            f"{tally.get('lenient', 0):,} whose key has no parameters (a token id, a dtype: "
            f"archcalc does not re-implement transformers' validation of such keys) and "
            f"{tally.get('counted-unbuildable', 0):,} whose key it reads.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--archcalc-python",
        default=os.environ.get("ARCHCALC_PYTHON", "python3"),
        help="an interpreter with archcalc installed (env ARCHCALC_PYTHON)",
    )
    parser.add_argument("--perturb", action="store_true", help="also change every key")
    parser.add_argument("--only", nargs="*", help="just these model types (not written)")
    parser.add_argument(
        "--types",
        type=lambda text: [t for t in text.split(",") if t],
        help="recompute just these comma-separated types and merge them into the JSON "
        "(their perturbations too when the JSON has them)",
    )
    parser.add_argument("--table", action="store_true", help="print the README table")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(OUTPUT.read_text(encoding="utf-8"))))
        return 0
    if args.types:
        old = json.loads(OUTPUT.read_text(encoding="utf-8"))
        others = {t: d for t, d in old["defaults"].items() if t not in args.types}
        new = build(args.archcalc_python, "perturbations" in old, args.types, others)
        document = merge(old, new, args.types)
        OUTPUT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        for t in args.types:
            print(t, document["types"][t]["status"])
        for row in new.get("perturbations", {}).get("problems", []):
            print("PROBLEM", json.dumps(row))
        print(f"wrote {OUTPUT}: {json.dumps(summary(document))}")
        return 0
    document = build(args.archcalc_python, args.perturb, args.only)
    if args.only:
        for t, e in document["types"].items():
            print(t, e["status"], json.dumps(e.get("reference")), json.dumps(e.get("archcalc")))
        for row in document.get("perturbations", {}).get("problems", []):
            print("PROBLEM", json.dumps(row))
        return 0
    OUTPUT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}: {json.dumps(summary(document))}")
    if "perturbations" in document:
        print("perturbations:", document["perturbations"]["tally"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
