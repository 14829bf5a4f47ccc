"""``# archcalc: ignore[CODE]`` comments: silencing one warning on one line.

A trailing comment names the rule codes it silences on its own line::

    max_seq_len: 8192   # archcalc: ignore[T510]  (kept as documentation)

Only warnings can be silenced. An error means the spec cannot be counted (or would be
counted wrong), so an ignore naming one is itself reported (``A002``), as is a code
that does not exist; a code that is not reported on its line any more is ``A001``,
so stale comments do not pile up. Like every other check, these warnings fail
``validate --strict``.

The comment must be a YAML comment: a ``#`` inside a quoted value is text, so a value
cannot silence anything by containing the words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from archcalc.errors import CODE_PATTERN, Diagnostic

#: The comment, its codes in brackets (``ignore[T510, C610]``).
_COMMENT = re.compile(r"#\s*archcalc\s*:\s*ignore\s*\[([^\]\n]{0,200})\]")


@dataclass
class _Ignore:
    line: int
    column: int
    codes: tuple[str, ...]
    used: set[str]


def _comments(source: str) -> dict[int, _Ignore]:
    """Ignore comments by line; a ``#`` inside a YAML scalar does not count."""
    if "archcalc" not in source:  # the common case: nothing to scan
        return {}
    found: dict[int, _Ignore] = {}
    for number, text in enumerate(source.splitlines(), start=1):
        match = _COMMENT.search(text)
        if match is None or (match.start() > 0 and not text[match.start() - 1].isspace()):
            continue
        codes = tuple(c.strip() for c in match.group(1).split(",") if c.strip())
        found[number] = _Ignore(number, match.start() + 1, codes, set())
    if found:
        _drop_inside_scalars(source, found)
    return found


def _drop_inside_scalars(source: str, found: dict[int, _Ignore]) -> None:
    """Forget matches that are part of a scalar's text, such as a quoted ``name``."""
    import yaml

    from archcalc import yamlsafe

    try:
        for token in yaml.scan(source, Loader=yamlsafe.LOADER):
            if not isinstance(token, yaml.ScalarToken):
                continue
            start, end = token.start_mark, token.end_mark
            for line in range(start.line + 1, end.line + 2):
                ignore = found.get(line)
                if ignore is None:
                    continue
                position = (line - 1, ignore.column - 1)
                if (start.line, start.column) <= position < (end.line, end.column):
                    del found[line]
    except yaml.YAMLError:
        return  # the loader reports the syntax; the comments found so far stand


def apply(
    diagnostics: Sequence[Diagnostic], source: str, file: str, report_unused: bool
) -> list[Diagnostic]:
    """``diagnostics`` without the warnings their lines silence, plus problems of the comments.

    ``report_unused`` is false when the spec has errors: checks that could not run then
    did not report what a comment silences, and calling it stale would be wrong.
    """
    ignores = _comments(source)
    if not ignores:
        return list(diagnostics)
    kept: list[Diagnostic] = []
    meta: list[Diagnostic] = []
    for d in diagnostics:
        ignore = ignores.get(d.line)
        if ignore is None or d.code not in ignore.codes:
            kept.append(d)
            continue
        ignore.used.add(d.code)
        if d.severity == "error":
            kept.append(d)
            message = (
                f"ignore[{d.code}] cannot silence an error: the spec cannot be counted "
                "with it; fix the problem instead"
            )
            meta.append(_meta(file, ignore, "A002", message))
    for ignore in ignores.values():
        meta += _comment_problems(file, ignore, report_unused)
    # A comment may name the A codes too (``ignore[A001]``), like any other warning.
    return kept + [d for d in meta if d.code not in ignores[d.line].codes]


def _comment_problems(file: str, ignore: _Ignore, report_unused: bool) -> list[Diagnostic]:
    from archcalc import rules

    if not ignore.codes:
        return [_meta(file, ignore, "A002", "ignore[] names no rule code; name one")]
    found: list[Diagnostic] = []
    for code in ignore.codes:
        if code in ignore.used or code.startswith("A0"):
            continue
        if not CODE_PATTERN.fullmatch(code):
            message = f"'{code[:20]}' is not a rule code (such as T510)"
            found.append(_meta(file, ignore, "A002", message))
        elif rules.is_reserved(code) and rules.rule(code) is None:
            message = f"unknown rule code {code}; the README lists them"
            found.append(_meta(file, ignore, "A002", message))
        elif report_unused:
            message = f"ignore[{code}]: no {code} is reported on this line; remove it"
            found.append(_meta(file, ignore, "A001", message))
    return found


def _meta(file: str, ignore: _Ignore, code: str, message: str) -> Diagnostic:
    return Diagnostic(file, ignore.line, ignore.column, message, "warning", code)
