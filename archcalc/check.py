"""Does a spec describe a checkpoint? Tensor by tensor: names, shapes and totals.

The spec's tensors (its family's :attr:`~archcalc.Family.tensors`, named as transformers
saves them for a model type, see :mod:`archcalc.state_dict`) are compared with the
tensors a checkpoint's headers list (:mod:`archcalc.checkpoint`). Everything that differs
is reported one by one: tensors the spec implies but the checkpoint lacks, tensors the
checkpoint holds but the spec does not imply, and tensors whose shapes differ; then the
index's ``metadata.total_parameters`` and ``metadata.total_size`` against the spec.

Differences that are conventions, not disagreements, are handled rather than reported,
each said in a note: a base-model prefix (``model.``, ``transformer.``, ``bert.``) that the
checkpoint's names carry or lack; a second stored copy of a tied embedding; buffers that
transformers saves beside the parameters (BART's ``final_logits_bias``); routed experts
stored fused per layer as transformers 5 holds them in memory instead of one tensor per
expert (:func:`archcalc.state_dict.fused_experts`); a checkpoint in another layout its
model type is found in (OLMo-Hybrid's released files, :attr:`Naming.variants`); layers
transformers does not load (DeepSeek-V3's multi-token-prediction layer,
:attr:`Naming.ignored`); the scales of quantised weights where the config.json declares
the quantisation (:mod:`archcalc.quantization`: FP8, MXFP4).

The naming convention comes from, in order: ``--model-type``; the spec (a Hugging Face
config, or a spec imported from one, records its ``model_type``); the ``config.json``
beside the checkpoint; else every known convention the spec can be named in is tried
and the one matching most of the checkpoint's names is used (and said).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from archcalc.errors import DiagnosticSink, SpecError, UsageError, safe
from archcalc.state_dict import (
    NAMINGS,
    Expected,
    Naming,
    UnnamedTensor,
    fused_experts,
    state_dict,
)
from archcalc.tensors import DTYPE_BITS, Tensor, tensors_of

if TYPE_CHECKING:
    from archcalc.api import Spec
    from archcalc.checkpoint import Checkpoint, StoredTensor
    from archcalc.quantization import Quantization

__all__ = ["CheckReport", "check", "model_type_of_spec", "spec_tensors"]

#: The family whose tensors :mod:`archcalc.state_dict` knows how to rename.
NAMED_FAMILY = "transformer"


def model_type_of_spec(spec: Spec) -> str | None:
    """The Hugging Face model_type a spec records (configs and specs imported from one)."""
    from archcalc.hf import model_type_of

    return model_type_of(spec.doc)


def _refuse(spec: Spec, message: str) -> SpecError:
    """The spec cannot be named tensor by tensor: one located error at its family."""
    sink = DiagnosticSink(spec.file)
    sink.error(spec.doc.mark(("family",)), message, code="K807")
    return SpecError(sink.diagnostics)


def _naming(spec: Spec, model_type: str, given: bool) -> Naming:
    """The naming of ``model_type``; ``given``: it came from --model-type, not the spec."""
    if spec.family.name != NAMED_FAMILY:
        raise UsageError(
            f"--model-type names transformers' state-dict convention; family "
            f"'{spec.family.name}' has one naming of its own"
        )
    naming = NAMINGS.get(model_type)
    if naming is not None:
        return naming
    if given:
        known = ", ".join(sorted(NAMINGS))
        raise UsageError(
            f"no state-dict naming for model type '{safe(model_type, 40)}' (known: {known})"
        )
    # The spec's own model type, counted by a plugin but not named here: the command line
    # was fine, the spec is what archcalc cannot name.
    raise _refuse(
        spec,
        f"archcalc counts model type '{safe(model_type, 40)}' but does not know the names "
        "its checkpoints give the tensors (try --model-type with a type saved alike)",
    )


def spec_tensors(spec: Spec, model_type: str | None = None) -> tuple[list[Expected], str | None]:
    """The spec's tensors named as ``model_type`` saves them (the spec's own type by default).

    Without a model type (or for a family other than the transformer) the family's own
    names are used. Returns the tensors and the model type whose names they carry.
    """
    listed = tensors_of(spec)
    if listed is None:
        raise _refuse(
            spec,
            f"family '{safe(spec.family.name, 40)}' does not list its tensors, so archcalc "
            "cannot name them (its plugin gives no Family.tensors)",
        )
    given = model_type is not None
    if spec.family.name == NAMED_FAMILY:
        model_type = model_type or model_type_of_spec(spec)
    if model_type is None:
        return [Expected(t, (t.name,)) for t in listed], None
    try:
        return state_dict(listed, _naming(spec, model_type, given)), model_type
    except UnnamedTensor as exc:
        raise _refuse(spec, str(exc)) from None


@dataclass(frozen=True)
class CheckReport:
    """What a spec and a checkpoint agree and disagree on."""

    spec: str
    #: The spec's file (a config.json for a model folder), as displayed.
    spec_file: str
    source: str
    #: The model type whose names were compared (None: the family's own names).
    model_type: str | None
    #: Where the naming came from ("--model-type", "the spec", a config path, "detected").
    naming_from: str
    expected: list[Expected]
    matched: int
    missing: list[Expected] = field(default_factory=list)
    #: Parameters the model type's checkpoints never hold (Naming.unsaved), absent here.
    unsaved: list[Expected] = field(default_factory=list)
    unexpected: list[StoredTensor] = field(default_factory=list)
    mismatched: list[tuple[Expected, StoredTensor]] = field(default_factory=list)
    buffers: list[StoredTensor] = field(default_factory=list)
    tied_copies: list[StoredTensor] = field(default_factory=list)
    #: Tensors transformers does not load for the model type (Naming.ignored).
    ignored: list[StoredTensor] = field(default_factory=list)
    #: Scales of quantised weights (as config.json's quantization_config declares them).
    quantization: list[StoredTensor] = field(default_factory=list)
    #: A base-model prefix the checkpoint's names carry or lack (handled).
    prefix_note: str | None = None
    spec_params: int = 0
    checkpoint_params: int = 0
    checkpoint_tensors: int = 0
    #: The index's claims, and what the spec's tensors come to at the stored dtypes.
    total_parameters: int | None = None
    total_size: int | None = None
    expected_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    #: A likely reason for an unexpected tensor, by its name.
    hints: dict[str, str] = field(default_factory=dict)
    #: What else the reader should know (the checkpoint was saved from another class...).
    notes: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched or self.problems)


def _strip(name: str, prefixes: Sequence[str]) -> str:
    for prefix in prefixes:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _compare(
    spec: Spec,
    expected: list[Expected],
    checkpoint: Checkpoint,
    naming: Naming | None,
    model_type: str | None,
    naming_from: str,
    quantization: Quantization | None = None,
) -> CheckReport:
    prefixes = naming.prefixes if naming is not None else ()
    stored: dict[str, StoredTensor] = {}
    clashes: list[StoredTensor] = []
    for tensor in checkpoint:
        key = _strip(tensor.name, prefixes)
        if key in stored:
            clashes.append(tensor)  # both "model.x" and "x": one of them is extra
        else:
            stored[key] = tensor
    scales: list[StoredTensor] = []
    problems: list[str] = []
    if quantization is not None:
        from archcalc.quantization import unpack

        unpacked = unpack(stored, quantization)
        stored, scales, problems = unpacked.tensors, unpacked.scales, unpacked.problems
    fused = 0
    if naming is not None:
        expected, fused = fused_experts(expected, stored, naming)
    missing: list[Expected] = []
    unsaved: list[Expected] = []
    mismatched: list[tuple[Expected, StoredTensor]] = []
    used: set[str] = set()
    matched = prefixed = 0
    for entry in expected:
        hit = next(
            (k for n in entry.names if (k := _strip(n, prefixes)) in stored and k not in used),
            None,
        )
        if hit is None:
            if naming is not None and naming.is_unsaved(entry.tensor.name):
                unsaved.append(entry)
            else:
                missing.append(entry)
            continue
        used.add(hit)
        found = stored[hit]
        matched += 1
        if found.name not in entry.names:
            prefixed += 1
        if tuple(found.shape) != tuple(entry.tensor.shape):
            mismatched.append((entry, found))
    embedding = next((e for e in expected if "embed_tokens.weight" in e.canonical), None)
    tied_keys = {_strip(n, prefixes) for n in (naming.tied_copies if naming else ())}
    buffers, tied, ignored, unexpected = [], [], [], list(clashes)
    for key, tensor in stored.items():
        if key in used:
            continue
        if naming is not None and (naming.is_buffer(tensor.name) or naming.is_buffer(key)):
            buffers.append(tensor)
        elif naming is not None and (
            naming.is_ignored(tensor.name) or naming.is_ignored(naming.base + key)
        ):
            ignored.append(tensor)
        elif key in tied_keys and embedding is not None and tensor.shape == embedding.tensor.shape:
            tied.append(tensor)
        else:
            unexpected.append(tensor)
    report = CheckReport(
        spec=spec.name,
        spec_file=spec.file,
        source=checkpoint.source,
        model_type=model_type,
        naming_from=naming_from,
        expected=expected,
        matched=matched,
        missing=missing,
        unsaved=unsaved,
        unexpected=sorted(unexpected, key=lambda t: t.name),
        mismatched=mismatched,
        buffers=buffers,
        tied_copies=tied,
        quantization=scales,
        ignored=ignored,
        prefix_note=_prefix_note(expected, checkpoint, prefixes) if prefixed else None,
        spec_params=sum(e.tensor.numel for e in expected),
        checkpoint_params=sum(t.numel for t in (*stored.values(), *clashes)),
        checkpoint_tensors=len(checkpoint.tensors),
        total_parameters=checkpoint.total_parameters,
        total_size=checkpoint.total_size,
        expected_bytes=_expected_bytes(
            [e for e in expected if all(e is not u for u in unsaved)],
            stored,
            prefixes,
            buffers + tied + scales + ignored,
            checkpoint,
        ),
        problems=problems,
    )
    _check_totals(report)
    if scales and quantization is not None:
        report.notes.append(
            f"{len(scales):,} tensor(s) are quantisation data ({quantization.describe()} in "
            "config.json's quantization_config): the scales of quantised weights, not "
            "parameters"
        )
    if fused:
        report.notes.append(
            f"the routed experts of {fused} layer{'s' if fused != 1 else ''} are stored fused "
            "(mlp.experts.gate_up_proj (E, 2F, d), mlp.experts.down_proj (E, d, F)), as "
            "transformers 5 holds them in memory: compared in that layout"
        )
    if naming is not None and embedding is not None:
        head = _strip(naming.head, prefixes)
        for tensor in report.unexpected:
            if _strip(tensor.name, prefixes) == head and tensor.shape == embedding.tensor.shape:
                report.hints[tensor.name] = (
                    "the spec ties the LM head to the embeddings (tie_embeddings); a "
                    "safetensors file stores a tied tensor once, so this head is separate"
                )
    return report


def _prefix_note(expected: list[Expected], checkpoint: Checkpoint, prefixes: Sequence[str]) -> str:
    ours = {p for e in expected for p in prefixes if e.tensor.name.startswith(p)}
    theirs = {p for t in checkpoint for p in prefixes if t.name.startswith(p)}
    added, dropped = sorted(theirs - ours), sorted(ours - theirs)
    parts = [f"carry the prefix '{p}'" for p in added] + [f"lack the prefix '{p}'" for p in dropped]
    return "the checkpoint's names " + " and ".join(parts or ["differ by a base-model prefix"])


def _expected_bytes(
    expected: list[Expected],
    stored: dict[str, StoredTensor],
    prefixes: Sequence[str],
    extra: list[StoredTensor],
    checkpoint: Checkpoint,
) -> int:
    """Bytes of the spec's tensors at the dtypes they are stored in, plus buffers and copies.

    A tensor the checkpoint lacks is counted at the checkpoint's most common dtype.
    """
    common = next(iter(checkpoint.by_dtype()), "F32")
    bits = 0
    for entry in expected:
        found = next((stored[k] for n in entry.names if (k := _strip(n, prefixes)) in stored), None)
        bits += entry.tensor.numel * DTYPE_BITS[found.dtype if found else common]
    return bits // 8 + sum(t.nbytes for t in extra)


def _check_totals(report: CheckReport) -> None:
    if report.total_parameters is not None and report.total_parameters != report.spec_params:
        report.problems.append(
            f"the index's metadata.total_parameters is {report.total_parameters:,}; the spec "
            f"has {report.spec_params:,}"
        )
    if report.total_size is not None and report.total_size != report.expected_bytes:
        report.problems.append(
            f"the index's metadata.total_size is {report.total_size:,} bytes; the spec's "
            f"tensors at the checkpoint's dtypes (and its buffers) take {report.expected_bytes:,}"
        )


def _config_value(checkpoint: Checkpoint, key: str) -> object:
    """A value of the config.json beside the checkpoint, if there is a readable one."""
    if checkpoint.config is None:
        return None
    from archcalc.hf import load_config

    try:
        return load_config(checkpoint.config).data.get(key)
    except SpecError:
        return None


def _config_model_type(checkpoint: Checkpoint) -> str | None:
    value = _config_value(checkpoint, "model_type")
    return value if isinstance(value, str) and value in NAMINGS else None


#: The class-name endings each Auto class archcalc counts by builds (LlamaForCausalLM...).
_AUTO_SUFFIXES = {
    "AutoModelForCausalLM": ("ForCausalLM", "LMHeadModel"),
    "AutoModelForSeq2SeqLM": ("ForConditionalGeneration",),
}


def _built_by(class_name: str, auto_class: str) -> bool:
    suffixes = _AUTO_SUFFIXES.get(auto_class)
    if suffixes is None:  # AutoModel: the base model, BertModel
        return class_name.endswith("Model") and "For" not in class_name
    return class_name.endswith(suffixes)


def _head_class_note(spec: Spec, report: CheckReport, checkpoint: Checkpoint) -> None:
    """Unexpected or missing tensors from a checkpoint saved by another head class."""
    if not (report.unexpected or report.missing) or report.model_type is None:
        return
    classes = _config_value(checkpoint, "architectures")
    hf_type = spec.registry.hf_model_types.get(report.model_type)
    if not isinstance(classes, list) or not classes or hf_type is None:
        return
    if any(_built_by(str(c), hf_type.auto_class) for c in classes):
        return
    shown = ", ".join(safe(str(c), 60) for c in classes[:3])
    report.notes.append(
        f"the checkpoint was saved from {shown} (its config.json's architectures); archcalc "
        f"counts {report.model_type} as transformers' {hf_type.auto_class} builds it, so a "
        "task head of another class shows as unexpected and a part that class lacks as missing"
    )


def _quantization(spec: Spec, checkpoint: Checkpoint) -> Quantization | None:
    """What the config.json beside the checkpoint (else the spec, a config.json) declares."""
    from archcalc.quantization import quantization_of

    value = _config_value(checkpoint, "quantization_config")
    if value is None and model_type_of_spec(spec) is not None and spec.file.endswith(".json"):
        from archcalc.hf import load_config

        try:
            value = load_config(Path(spec.file)).data.get("quantization_config")
        except SpecError:
            value = None
    return quantization_of({"quantization_config": value})


def _check(
    spec: Spec, checkpoint: Checkpoint, model_type: str | None, q: Quantization | None
) -> CheckReport:
    if model_type is not None:
        expected, used = spec_tensors(spec, model_type)
        naming = NAMINGS.get(used or "")
        return _compare(spec, expected, checkpoint, naming, used, "--model-type", q)
    own = model_type_of_spec(spec) if spec.family.name == NAMED_FAMILY else None
    if own is not None:
        expected, _ = spec_tensors(spec)
        return _compare(spec, expected, checkpoint, NAMINGS.get(own), own, "the spec", q)
    if spec.family.name != NAMED_FAMILY:
        expected, _ = spec_tensors(spec)
        return _compare(spec, expected, checkpoint, None, None, f"family {spec.family.name}", q)
    beside = _config_model_type(checkpoint)
    if beside is not None:
        expected, _ = spec_tensors(spec, beside)
        where = str(checkpoint.config)
        return _compare(spec, expected, checkpoint, NAMINGS[beside], beside, where, q)
    return _detect(spec, checkpoint, q)


def check(spec: Spec, checkpoint: Checkpoint, model_type: str | None = None) -> CheckReport:
    """Compare ``spec`` with ``checkpoint``; see the module docstring for the naming order."""
    q = _quantization(spec, checkpoint)
    report = _check(spec, checkpoint, model_type, q)
    report = _variant(spec, report, checkpoint, q)
    _head_class_note(spec, report, checkpoint)
    return report


def _variant(
    spec: Spec, report: CheckReport, checkpoint: Checkpoint, q: Quantization | None
) -> CheckReport:
    """The report in another layout of the model type (Naming.variants) when that agrees.

    A model type whose checkpoints are found in more than one layout (OLMo-Hybrid's
    released files and what save_pretrained writes) is compared in each until one agrees;
    a disagreement is reported in the main layout, the one ``tensors`` shows.
    """
    naming = NAMINGS.get(report.model_type or "")
    if report.agree or naming is None or not naming.variants:
        return report
    listed = tensors_of(spec) or []
    for variant in naming.variants:
        try:
            expected = state_dict(listed, variant)
        except UnnamedTensor:
            continue
        other = _compare(
            spec, expected, checkpoint, variant, report.model_type, report.naming_from, q
        )
        if other.agree:
            other.notes.append(f"compared {variant.layout}")
            return other
    return report


def _detect(spec: Spec, checkpoint: Checkpoint, q: Quantization | None) -> CheckReport:
    """Try every naming the spec can be given; keep the one matching most stored names."""
    listed = tensors_of(spec) or []
    best: CheckReport | None = None
    for model_type, naming in NAMINGS.items():
        try:
            expected = state_dict(listed, naming)
        except UnnamedTensor:
            continue
        report = _compare(spec, expected, checkpoint, naming, model_type, "detected", q)
        if best is None or (report.matched, -len(report.unexpected)) > (
            best.matched,
            -len(best.unexpected),
        ):
            best = report
    if best is None or best.matched == 0:
        own = [Expected(Tensor(t.name, t.shape), (t.name,)) for t in listed]
        return _compare(spec, own, checkpoint, None, None, "archcalc's own names", q)
    return best
