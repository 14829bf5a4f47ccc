"""The rule codes of archcalc's diagnostics: what each one means and how to fix it.

Every diagnostic carries a code (``S201``), printed after its message, in the ``code``
field of JSON, as the rule of a SARIF result, and named by a trailing
``# archcalc: ignore[CODE]`` comment to silence a warning on its line. Codes are grouped
in ranges by area, so that a family or a plugin adds its own without renumbering:

====  ==================================================  =====================
A0xx  archcalc itself (ignore comments)                   core
Y1xx  reading the file: bytes, characters, YAML           core (yamlsafe)
S2xx  schema: keys, types, choices, the family            core (schema)
X3xx  expressions and field kinds                         core (spec, expr)
H4xx  Hugging Face config.json translation                core (hf)
T5xx  family ``transformer``                              built-in plugin
C6xx  family ``cnn`` and its layer types                  built-in plugin
V7xx  family ``vit``                                      built-in plugin
K8xx  checkpoints: safetensors headers, indexes, naming   core (checkpoint)
P9xx  a plugin's diagnostic reported without a code       defaults
====  ==================================================  =====================

A third-party plugin passes its own codes with its own prefix (``MAMBA101``), or none:
then its errors are ``P901`` and its warnings ``P902`` (``P911``/``P912`` from a layer
type), which still lets a user silence them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One rule code, documented in the README's table and in SARIF output."""

    code: str
    severity: str  # the severity its diagnostics usually have: "error" or "warning"
    summary: str
    example: str
    fix: str


_RULES = (
    # --- archcalc itself
    Rule(
        "A001",
        "warning",
        "an ignore comment names a code that is not reported on its line",
        "`d_ff: 14336  # archcalc: ignore[T510]`",
        "remove the comment, or the code that no longer applies",
    ),
    Rule(
        "A002",
        "warning",
        "an ignore comment that cannot work: an unknown code, or an error",
        "`n_kv_heads: 6  # archcalc: ignore[T501]`",
        "fix the error (errors cannot be silenced: the spec cannot be counted); "
        "check the code's spelling",
    ),
    Rule(
        "A003",
        "error",
        "more problems in this file than archcalc shows (it stops after 100)",
        "a generated spec with thousands of misspelt keys",
        "fix the problems shown and run again; the output of one file stays bounded",
    ),
    # --- reading the file
    Rule(
        "Y101",
        "error",
        "the file cannot be read: missing, unreadable, not a regular file, a link (a "
        "config.json may link within its folder or, in a Hugging Face cache snapshot, its "
        "repo's `blobs/`), over 1 MiB",
        "`models/llama.yaml -> /etc/passwd`",
        "pass a regular file of at most 1 MiB",
    ),
    Rule(
        "Y102",
        "error",
        "the bytes are not UTF-8 text",
        "a file saved as UTF-16 or Latin-1",
        "save the file as UTF-8",
    ),
    Rule(
        "Y103",
        "error",
        "a character that hides or changes text: a control, bidi or tab character",
        "U+202E (right-to-left override) in `name`",
        "delete the character (use spaces for indentation)",
    ),
    Rule(
        "Y104",
        "error",
        "YAML syntax error",
        "`d_model: [4096`",
        "fix the YAML at the position shown",
    ),
    Rule(
        "Y105",
        "error",
        "the file exceeds a bound: nesting depth, node count, scalar length, alias expansion",
        "a 'billion laughs' alias bomb",
        "write a smaller, flatter spec without alias chains",
    ),
    Rule(
        "Y106",
        "error",
        "not one mapping: an empty file, several documents, or a list or scalar at the top",
        "`- family: cnn`",
        "write a single mapping of `key: value` pairs",
    ),
    Rule(
        "Y107",
        "error",
        "a YAML tag (`!!python/object`, `!Ref`...): specs are plain data",
        "`d_model: !!int 4096`",
        "remove the tag",
    ),
    Rule(
        "Y108",
        "error",
        "a key given twice in one mapping",
        "`d_model: 4096` ... `d_model: 8192`",
        "keep one of them",
    ),
    Rule(
        "Y109",
        "error",
        "a mapping key that is not plain ASCII text",
        "`1: relu`, or `d_model` typed with a Cyrillic letter for `o`",
        "retype the key in ASCII; quote keys meant as text",
    ),
    Rule(
        "Y110",
        "error",
        "a value YAML tools read differently (YAML 1.1 against 1.2)",
        "`tie_embeddings: yes`, `n_layers: 010`, `width: 1_024`",
        "write `true`/`false` and plain decimal numbers, or quote text",
    ),
    Rule(
        "Y111",
        "error",
        "a number literal out of range: too many digits, huge exponent, NaN or infinity",
        "`d_model: 1e999`",
        "write a finite number of at most 30 digits",
    ),
    Rule(
        "Y112",
        "error",
        "a merge key `<<` whose value is not a mapping or a list of mappings",
        "`<<: 5`",
        "merge an anchored mapping: `<<: *defaults`",
    ),
    Rule(
        "Y100",
        "error",
        "the file could not be read as YAML for another reason",
        "",
        "fix the YAML at the position shown",
    ),
    # --- schema
    Rule(
        "S201",
        "error",
        "unknown key",
        "`d_modle: 4096`",
        "fix the spelling (a suggestion is shown), remove it, or rename it `x-...`",
    ),
    Rule(
        "S202",
        "error",
        "missing required key",
        "a transformer without `vocab_size`",
        "add the key",
    ),
    Rule(
        "S203",
        "error",
        "a value of the wrong type",
        '`n_layers: [32]`, `bias: "false"`',
        "write the type the key takes (number, true/false, list, mapping)",
    ),
    Rule(
        "S204",
        "error",
        "not one of the allowed choices",
        "`norm: rms_norm`",
        "use one of the choices listed (a suggestion is shown)",
    ),
    Rule(
        "S205",
        "error",
        "a number below the key's minimum",
        "`n_layers: 0`",
        "give a larger number",
    ),
    Rule(
        "S206",
        "error",
        "`family` missing, not a string, or not an installed family",
        "`family: transformers`",
        "write an installed family (`archcalc plugins` lists them)",
    ),
    Rule(
        "S200",
        "error",
        "the value breaks another schema constraint",
        "",
        "see the message",
    ),
    # --- expressions
    Rule(
        "X301",
        "error",
        "an expression archcalc does not accept: syntax, or a construct outside the language",
        '`d_ff: "4 * d_model)"`, `d_ff: "__import__(\'os\')"`',
        "use numbers, names, `+ - * / // % **`, `min max ceil floor multiple_of`",
    ),
    Rule(
        "X302",
        "error",
        "an expression names something that is neither a var nor a numeric field",
        "`d_model: widht`",
        "fix the spelling (a suggestion is shown) or declare it under `vars`",
    ),
    Rule(
        "X303",
        "error",
        "fields or vars defined in terms of each other",
        "`d_model: d_ff / 4` with `d_ff: 4 * d_model`",
        "give one of them a number",
    ),
    Rule(
        "X304",
        "error",
        "a value of the wrong kind: a size must be a positive integer, a count an integer >= 0",
        '`d_ff: "8 * d_model / 3"` (a fraction)',
        "round it with `ceil()`, `floor()` or `multiple_of()`, or give the field",
    ),
    Rule(
        "X305",
        "error",
        "a value or an expression beyond archcalc's bounds",
        '`d_model: "10 ** 40"`',
        "use realistic sizes (at most 1e18 per field)",
    ),
    Rule(
        "X306",
        "error",
        "a var name that is not a lowercase identifier, or that a field already uses",
        "`vars: {Width: 4096}`",
        "rename the var (lowercase letters, digits, `_`)",
    ),
    Rule(
        "X307",
        "error",
        "arithmetic that has no value: division by zero, `multiple_of(x, 0)`, a bad exponent",
        '`d_head: "d_model / 0"`',
        "fix the expression",
    ),
    Rule(
        "X308",
        "error",
        "a value that reads as a date",
        "`n_layers: 2024-01-01`",
        "write a number or an expression",
    ),
    Rule(
        "X309",
        "error",
        "a formula that would expand to more than 10,000 terms, or hold more than 128 floor "
        "terms from a stack pattern repeated a symbolic number of times (`formula`, `diff`, "
        "`solve`)",
        '`d_ff: "(a+b+c+d)*(b+c+d+e)*..."` over twelve sums',
        "write the expression with fewer products of sums, or use --keep",
    ),
    # --- Hugging Face configs
    Rule(
        "H401",
        "error",
        "a Hugging Face config lacks a field the count needs, or has one of the wrong type",
        "a llama config without `num_hidden_layers`",
        "add the field as transformers writes it",
    ),
    Rule(
        "H402",
        "error",
        "a Hugging Face `model_type` or a structural variant archcalc does not model yet",
        "`model_type: bloom`, OPT's `word_embed_proj_dim`",
        "write an archcalc spec by hand, or add the type through a plugin",
    ),
    Rule(
        "H403",
        "error",
        "two fields of a Hugging Face config contradict each other",
        "`n_embd: 768` with `hidden_size: 1024`",
        "remove one of them",
    ),
    # --- transformer
    Rule(
        "T501",
        "error",
        "`n_kv_heads` does not divide `n_heads`",
        "`n_heads: 32`, `n_kv_heads: 6`",
        "use a divisor of `n_heads` (8, 4, 1...)",
    ),
    Rule(
        "T502",
        "error",
        "a feature is missing what it needs: learned positions need `max_seq_len`",
        "`positional: learned` without `max_seq_len`",
        "add the missing key",
    ),
    Rule(
        "T503",
        "error",
        "a count exceeds what it is a part of: `top_k` over `n_experts`, layers over blocks",
        "`moe: {n_experts: 8, top_k: 9}`",
        "lower the first number or raise the second",
    ),
    Rule(
        "T510",
        "warning",
        "a key that has no effect in this architecture",
        "`max_seq_len: 8192` with `positional: rope`",
        "remove the key, or silence it if it is kept as documentation",
    ),
    Rule(
        "T511",
        "warning",
        "a kind of block in `blocks` that no stack uses",
        "`blocks: {dense: {moe: false}}` with no `dense` in `stack`",
        "use it in `stack`, or remove it (a misspelt name in a pattern is an error)",
    ),
    Rule(
        "T520",
        "error",
        "a stack's segments do not add up to its layers",
        "`stack: [{block: dense, layers: 3}]` with `n_layers: 32`",
        "give every segment `layers` adding up to `n_layers`, or leave one without to take "
        "the rest",
    ),
    Rule(
        "T521",
        "error",
        "a stack names a kind of block that `blocks` does not declare",
        "`pattern: [dense, moe]` with `blocks: {dense: ...}` only",
        "declare it in `blocks` (`default` is the top-level block)",
    ),
    Rule(
        "T522",
        "error",
        "keys that lay out the stack disagree or are reserved",
        "`first_dense_layers` beside `stack`; a kind named `default`",
        "describe the layout in one place",
    ),
    Rule(
        "T523",
        "error",
        "a kind of block adds a group without the keys it needs",
        "`blocks: {moe_block: {moe: {top_k: 2}}}` and no top-level `moe`",
        "give the missing keys in the kind, or give the group at the top level",
    ),
    Rule(
        "T524",
        "error",
        "a combination of transformer features that archcalc does not model",
        "`attention_sinks: true` with `mla`",
        "remove one of them; open an issue if a real model needs both",
    ),
    # --- cnn
    Rule(
        "C601",
        "error",
        "an unknown layer, or a layer written in the wrong form",
        "`- conv2D: {out_channels: 64}`",
        "use a layer type listed by `archcalc plugins` (a suggestion is shown)",
    ),
    Rule(
        "C602",
        "error",
        "a layer argument that is unknown, missing, or of the wrong type",
        "`- conv2d: {out_channel: 64}`",
        "use the arguments torch.nn takes (`archcalc schema cnn` lists them)",
    ),
    Rule(
        "C603",
        "error",
        "a shape problem: a size reaches zero, an input too small or of the wrong rank",
        "a 7x7 conv with stride 2 on a 4x4 input",
        "enlarge the input or shrink kernel, stride and padding",
    ),
    Rule(
        "C604",
        "error",
        "the branches of a residual, add, concat, mul or split give shapes that cannot be combined",
        "a residual whose layers change the channels with no shortcut; a concat of a "
        "28x28 and a 14x14 map",
        "make the shapes agree (a 1x1 conv shortcut, matching strides)",
    ),
    Rule(
        "C605",
        "error",
        "a layer's own check failed: channels not divisible by groups, a given size that "
        "disagrees with the inferred one...",
        "`- conv2d: {out_channels: 64, groups: 3}`",
        "see the message; sizes given explicitly must agree with the shapes",
    ),
    Rule(
        "C606",
        "error",
        "following the shapes would take too long",
        "nested `repeat` blocks that keep changing the shape",
        "simplify the repeats",
    ),
    Rule(
        "C607",
        "error",
        "a template or table used wrongly: a missing or unknown argument, a row of the wrong "
        "length, a template that calls itself, a parameter used as the wrong kind",
        "`- bottleneck: {planes: 64}` when the template also needs `stride`",
        "pass every parameter without a default (the message lists them)",
    ),
    Rule(
        "C610",
        "warning",
        "a layer that builds but is probably a mistake",
        "`linear` applied to a (C, H, W) input",
        "add the missing layer (here a `flatten`)",
    ),
    Rule(
        "C611",
        "warning",
        "a template that is never used",
        "`templates: {old_block: ...}` with no `- old_block` in the layers",
        "remove it, or call it",
    ),
    # --- vit
    Rule(
        "V701",
        "error",
        "a size that must divide another does not: patch_size into image_size, heads into width",
        "`image_size: 224`, `patch_size: 15`",
        "use a divisor",
    ),
    Rule(
        "V702",
        "error",
        "`pool: token` without a class token",
        "`pool: token`, `class_token: false`",
        "use `pool: avg`, or `class_token: true`",
    ),
    # --- checkpoints
    Rule(
        "K801",
        "error",
        "not a readable safetensors file: too short, a header length beyond the file or "
        "over the limit, a Git LFS pointer, not a regular file, a link out of its folder",
        "a `model.safetensors` cut short by an interrupted download",
        "fetch the checkpoint again (`git lfs pull` for a pointer)",
    ),
    Rule(
        "K802",
        "error",
        "a safetensors header or index is not strict, bounded JSON",
        "a header that is not UTF-8, nests 100 levels deep or repeats a key",
        "re-save the checkpoint with the safetensors library",
    ),
    Rule(
        "K803",
        "error",
        "a tensor's header entry is invalid: unknown dtype, bad shape or data_offsets, or "
        "a byte size its shape and dtype do not imply",
        '`{"dtype": "F7", "shape": [2], "data_offsets": [0, 8]}`',
        "re-save the checkpoint with the safetensors library",
    ),
    Rule(
        "K804",
        "error",
        "tensors' byte ranges overlap, leave a gap, or do not end where the file ends",
        "two tensors sharing bytes [4, 8), a file truncated mid-tensor",
        "re-save or re-download the checkpoint",
    ),
    Rule(
        "K805",
        "error",
        "a `model.safetensors.index.json` is inconsistent: a shard outside its folder, a "
        "weight_map that disagrees with the shards, malformed metadata",
        '`"weight_map": {"w": "../other.safetensors"}`',
        "regenerate the index with the checkpoint",
    ),
    Rule(
        "K806",
        "error",
        "a folder holds no safetensors checkpoint (or several unrelated ones)",
        "a folder with only `pytorch_model.bin` (archcalc never unpickles)",
        "convert the weights to safetensors, or name the file to read",
    ),
    Rule(
        "K807",
        "error",
        "archcalc does not know the names a model type's checkpoints give the spec's "
        "tensors (one tensor, a whole model type, or a family that lists none)",
        "`--model-type gpt2` for a spec with qk_norm",
        "name the tensors with another --model-type, or drop --model-type",
    ),
    Rule(
        "K808",
        "warning",
        "a `model.safetensors.index.json`'s metadata.total_size is not the bytes its shards "
        "hold (`count` counts the shards)",
        '`"metadata": {"total_size": 999}` beside shards of 8 bytes',
        "regenerate the index with the checkpoint",
    ),
    Rule(
        "V703",
        "error",
        "`distilled` (DeiT) without token pooling and a class token",
        "`distilled: true`, `pool: avg`",
        "use `pool: token` with `class_token: true`",
    ),
    Rule(
        "V704",
        "error",
        "too many blocks to list every tensor (count and formula still work)",
        "`archcalc tensors` on `n_layers: 10000000`",
        "list the tensors of a smaller model",
    ),
    # --- defaults for plugins
    Rule(
        "P901", "error", "an error a plugin's family reported without a code", "", "see the message"
    ),
    Rule(
        "P902",
        "warning",
        "a warning a plugin's family reported without a code",
        "",
        "see the message",
    ),
    Rule(
        "P911",
        "error",
        "an error a plugin's layer type reported without a code",
        "",
        "see the message",
    ),
    Rule(
        "P912",
        "warning",
        "a warning a plugin's layer type reported without a code",
        "",
        "see the message",
    ),
)

RULES: Mapping[str, Rule] = {rule.code: rule for rule in _RULES}

#: Prefixes archcalc reserves: an ignore comment naming an unlisted code with one of these
#: is a typo (A002); any other prefix may belong to a plugin.
RESERVED_PREFIXES = frozenset({"A", "Y", "S", "X", "H", "T", "C", "V", "K", "P"})


def rule(code: str) -> Rule | None:
    """The documented rule of ``code``, or None for a plugin's own code."""
    return RULES.get(code)


def is_reserved(code: str) -> bool:
    """Whether ``code`` uses one of archcalc's own prefixes (a letter, then digits)."""
    prefix = code.rstrip("0123456789")
    return prefix in RESERVED_PREFIXES


def markdown_table() -> str:
    """The README's table of rules (a test keeps the README in sync with it)."""
    lines = ["| code | severity | meaning | example | fix |", "|---|---|---|---|---|"]
    for r in _RULES:
        cells = [f"`{r.code}`", r.severity, r.summary, r.example or "—", r.fix]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m archcalc.rules: the README's table
    print(markdown_table())
