"""``# archcalc: ignore[CODE]``: a warning silenced on its line, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from archcalc import api
from archcalc.errors import SpecError

BASE = """family: transformer
n_layers: 2
d_model: 64
n_heads: 4
d_ff: 128
vocab_size: 100
"""


def _load(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    """(line, severity, code) of every diagnostic, valid spec or not."""
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        diagnostics = api.load_spec(path).warnings
    except SpecError as exc:
        diagnostics = tuple(exc.diagnostics)
    return sorted((d.line, d.severity, d.code) for d in diagnostics)


def test_the_warning_is_reported_without_a_comment(tmp_path: Path) -> None:
    assert _load(tmp_path, BASE + "max_seq_len: 2048\n") == [(7, "warning", "T510")]


def test_a_trailing_comment_silences_its_code_on_its_line(tmp_path: Path) -> None:
    text = BASE + "max_seq_len: 2048  # archcalc: ignore[T510] kept as documentation\n"
    assert _load(tmp_path, text) == []


def test_several_codes_and_spacing(tmp_path: Path) -> None:
    text = BASE + "max_seq_len: 2048  #archcalc:ignore[ C610 , T510 ]\n"
    # C610 is not reported on the line: the comment is partly stale.
    assert _load(tmp_path, text) == [(7, "warning", "A001")]


def test_the_comment_only_covers_its_own_line(tmp_path: Path) -> None:
    text = BASE.replace("d_ff: 128", "d_ff: 128  # archcalc: ignore[T510]") + "max_seq_len: 2\n"
    assert _load(tmp_path, text) == [(5, "warning", "A001"), (7, "warning", "T510")]


def test_another_code_does_not_silence(tmp_path: Path) -> None:
    text = BASE + "max_seq_len: 2048  # archcalc: ignore[T501]\n"
    assert _load(tmp_path, text) == [(7, "warning", "A001"), (7, "warning", "T510")]


def test_an_error_cannot_be_silenced(tmp_path: Path) -> None:
    text = BASE + "n_kv_heads: 3  # archcalc: ignore[T501]\n"
    assert _load(tmp_path, text) == [(7, "error", "T501"), (7, "warning", "A002")]


def test_a_hash_inside_a_quoted_value_is_not_a_comment(tmp_path: Path) -> None:
    text = 'name: "x  # archcalc: ignore[T510]"\n' + BASE + "max_seq_len: 2048\n"
    assert _load(tmp_path, text) == [(8, "warning", "T510")]


def test_a_hash_glued_to_a_value_is_not_a_comment(tmp_path: Path) -> None:
    text = BASE + "max_seq_len: 2048\nname: x#archcalc:ignore[T510]\n"
    assert _load(tmp_path, text) == [(7, "warning", "T510")]


@pytest.mark.parametrize(
    ("codes", "expected"),
    [("T999", "A002"), ("t510", "A002"), ("", "A002"), ("MYPLUGIN1", "A001")],
)
def test_unknown_or_malformed_codes_are_reported(tmp_path: Path, codes: str, expected: str) -> None:
    """A reserved prefix with an unknown number is a typo; another prefix may be a plugin's."""
    text = BASE + f"bias: false  # archcalc: ignore[{codes}]\n"
    assert _load(tmp_path, text) == [(7, "warning", expected)]


def test_the_comments_own_warnings_can_be_silenced(tmp_path: Path) -> None:
    text = BASE + "bias: false  # archcalc: ignore[C610, A001]\n"
    assert _load(tmp_path, text) == []


def test_stale_comments_are_not_reported_while_the_spec_has_errors(tmp_path: Path) -> None:
    """Checks that could not run did not report what a comment silences."""
    text = BASE + "n_kv_heads: 3\nbias: false  # archcalc: ignore[T510]\n"
    assert _load(tmp_path, text) == [(7, "error", "T501")]
