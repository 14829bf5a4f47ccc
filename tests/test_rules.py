"""Rule codes: every diagnostic has one, every code is documented, the README shows them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archcalc import api, rules
from archcalc.errors import Diagnostic, DiagnosticSink, Mark, SpecError
from tests.helpers import ROOT

CORPUS = sorted((ROOT / "tests" / "corpus" / "invalid").glob("*.yaml"))
#: A code literal in the source: "T501" as an argument or a default.
LITERAL = re.compile(r"""["']([A-Z]\d{3})["']""")
SOURCES = [*sorted((ROOT / "archcalc").rglob("*.py")), *sorted((ROOT / "plugins").glob("*.py"))]


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        if path.name == "rules.py":
            continue
        found |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_code_used_in_the_source_is_documented() -> None:
    undocumented = _codes_in_source() - set(rules.RULES)
    assert not undocumented, f"add these to archcalc/rules.py: {sorted(undocumented)}"


def test_every_documented_code_is_used() -> None:
    unused = set(rules.RULES) - _codes_in_source()
    assert not unused, f"documented but never reported: {sorted(unused)}"


def test_the_readme_table_is_the_rule_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert rules.markdown_table() in readme, "regenerate with: python -m archcalc.rules"


def test_codes_are_in_ranges_by_area() -> None:
    areas = {"A": "archcalc", "Y": "yaml", "S": "schema", "X": "expressions", "H": "hf"}
    for code, rule in rules.RULES.items():
        assert code[0] in rules.RESERVED_PREFIXES
        assert rule.severity in ("error", "warning")
        assert rule.summary and rule.fix
    assert {c[0] for c in rules.RULES} >= set(areas)


def test_a_diagnostic_without_a_code_gets_the_default_of_its_severity() -> None:
    sink = DiagnosticSink("spec.yaml")
    sink.error(Mark(2, 1), "a plugin's error")
    sink.warning(Mark(3, 1), "a plugin's warning")
    sink.error(Mark(4, 1), "coded", code="MAMBA101")
    assert [d.code for d in sink.diagnostics] == ["P901", "P902", "MAMBA101"]
    assert sink.diagnostics[0].format() == "spec.yaml:2:1: error: a plugin's error [P901]"


@pytest.mark.parametrize("code", ["t501", "501", "T", "T-501", "T501 ", "A" * 13 + "1", 5])
def test_a_malformed_code_is_a_value_error(code: object) -> None:
    with pytest.raises(ValueError, match="rule code"):
        Diagnostic("spec.yaml", 1, 1, "message", "error", code)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_core_diagnostics_carry_a_specific_code(path: Path) -> None:
    """No core diagnostic falls back to a plugin's default code."""
    try:
        api.load_spec(path, display=path.name)
    except SpecError as exc:
        codes = [d.code for d in exc.diagnostics]
    else:
        pytest.fail(f"{path.name} is valid")
    assert codes and not [c for c in codes if c.startswith("P9")], codes
    assert all(rules.rule(c) is not None for c in codes), codes
