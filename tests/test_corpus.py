"""The validation corpus: hostile, broken and tricky-but-valid specs, end to end through the CLI.

``tests/corpus/invalid/*.yaml`` holds one problem per file; the first line says what
``archcalc validate`` must report, as ``# expect: LINE:COL fragment``. Inputs too big to
commit (100k-deep nesting, files over 1 MiB, 9,000-character values) are generated here.
Each case must give exit 1, a ``PATH:LINE:COL: error:`` line at the expected place with
the expected words, at most a few lines, no traceback, nothing executed (a canary file
named in the ``!!python`` and ``__import__`` payloads must not appear), within a second.
Every case runs in-process with both PyYAML loaders (libyaml and pure Python: a pull
request must get the same answer on any CI machine) and a sample runs as a real process.
"""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from unittest import mock

import pytest
import typer.main
import typer.testing
import yaml
from typer.testing import CliRunner

from archcalc import yamlsafe
from archcalc.cli import app

CORPUS = Path(__file__).resolve().parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))
#: The file the code-execution payloads try to create (relative: in the working directory).
CANARY = "archcalc_canary_pwned"
#: "A few lines": one problem per file should never produce a wall of text.
MAX_LINES = 3
#: The issue's budget per hostile file, in CPU seconds (a clock would measure the machine's
#: load; a typical case takes under 50 ms of CPU).
MAX_CPU_SECONDS = 1.0
EXPECT = re.compile(r"# expect: (\d+):(\d+) (.+)")
DIAGNOSTIC = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): ")
LOADERS = {"libyaml": yaml.CSafeLoader, "pure": yaml.SafeLoader}

BASE = """family: transformer
n_layers: 12
d_model: 768
n_heads: 12
d_ff: 3072
vocab_size: 50257
"""


@dataclass(frozen=True)
class Case:
    """One invalid input: its bytes and what validate must say about them."""

    name: str
    data: bytes
    line: int
    column: int | None  # None: any column (the loaders differ)
    fragment: str


def expectation(path: Path) -> tuple[int, int, str]:
    """The ``# expect:`` line of a corpus file (UTF-16 files carry it in UTF-16)."""
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        first = raw.decode("utf-16").splitlines()[0]
    else:
        first = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
    match = EXPECT.fullmatch(first.strip())
    assert match, f"{path.name}: first line must be '# expect: LINE:COL fragment'"
    return int(match.group(1)), int(match.group(2)), match.group(3)


def corpus_cases() -> Iterator[Case]:
    for path in INVALID:
        line, column, fragment = expectation(path)
        yield Case(path.stem, path.read_bytes(), line, column, fragment)


def generated_cases() -> Iterator[Case]:
    """Inputs too large to commit, built the same way every run."""
    depth = 100_000
    yield Case("empty", b"", 1, 1, "spec is empty")
    yield Case("only-whitespace", b"  \n\n   \n", 1, 1, "spec is empty")
    # 100k open brackets: segfaults libyaml's composer, RecursionError in the pure one.
    # The column differs: libyaml stops at its own limit of 1000 levels, before any event.
    yield Case("deep-flow-100k", b"a: " + b"[" * depth, 1, None, "nesting deeper than 64")
    yield Case("deep-flow-map", b"a: " + b"{b: " * depth, 1, 256, "nesting deeper than 64")
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n"
    yield Case("deep-block-200", block.encode(), 65, 129, "nesting deeper than 64")
    deep_list = "".join(f"{'  ' * i}- \n" for i in range(100))
    yield Case("deep-block-list", ("x:\n" + deep_list).encode(), 65, 127, "nesting deeper")
    yield Case(
        "file-over-1mib", (BASE + "x-pad: " + "a" * (1 << 20) + "\n").encode(), 1, 1, "1 MiB"
    )
    yield Case("scalar-100k", (BASE + "x-pad: " + "a" * 100_000 + "\n").encode(), 7, 8, "too long")
    items = ", ".join(["1"] * 200_000)
    yield Case(
        "nodes-200k", (BASE + f"x-list: [{items}]\n").encode(), 7, 299959, "too many YAML nodes"
    )
    yield Case("keys-200k", _many_keys(200_000), 49999, 9, "too many YAML nodes")
    yield Case("hex-100k", (BASE + "x-n: 0x" + "f" * 100_000 + "\n").encode(), 7, 6, "too long")
    yield Case("int-9000-digits", (BASE + "x-n: " + "9" * 9000 + "\n").encode(), 7, 6, "too long")
    yield Case("utf32-bom", ("\ufeff" + BASE).encode("utf-32"), 1, 1, "UTF-32")
    yield Case("utf16-be-bom", ("\ufeff" + BASE).encode("utf-16-be"), 1, 1, "UTF-16")
    laughs = _laughs(levels=12, fanout=12)
    yield Case("billion-laughs-12x12", laughs, 9, 12, "aliases expand")
    yield Case(
        "expr-10k-plus",
        (BASE + f'n_kv_heads: "{"+".join(["1"] * 5000)}"\n').encode(),
        7,
        13,
        "characters long",
    )
    yield Case(
        "expr-minus-run", (BASE + f'n_kv_heads: "{"-" * 900}1"\n').encode(), 7, 13, "n_kv_heads"
    )


def _many_keys(n: int) -> bytes:
    lines = [f"k{i}: {i}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()[: (1 << 20) - 1]


def _laughs(levels: int, fanout: int) -> bytes:
    lines = [BASE.rstrip("\n"), "x-lol:", "  l0: &l0 [" + ", ".join(["lol"] * fanout) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * fanout)
        lines.append(f"  l{level}: &l{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


CASES = [*corpus_cases(), *generated_cases()]


#: Cases only run with libyaml: the pure-Python parser needs about 2 s for 100,000 events,
#: which is bounded (and tested for every other case) but would double this file's run time.
LIBYAML_ONLY = {"nodes-200k", "keys-200k"}
LOADER_CASES = [
    pytest.param(name, case, id=f"{name}-{case.name}")
    for name in sorted(LOADERS)
    for case in CASES
    if name == "libyaml" or case.name not in LIBYAML_ONLY
]


def use_loader(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Switch archcalc's loader hook (see yamlsafe.LOADER): libyaml or pure-Python PyYAML."""
    monkeypatch.setattr(yamlsafe, "LOADER", LOADERS[name])


@pytest.fixture(params=sorted(LOADERS), ids=str)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with libyaml and once with the pure-Python PyYAML loader."""
    use_loader(monkeypatch, request.param)
    return request.param


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, so a payload that ran would leave the canary here."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@cache
def _command() -> object:
    return typer.main.get_command(app)


def run_validate(args: list[str]) -> tuple[int, str, str]:
    """``archcalc validate ARGS`` through typer's CliRunner: exit code, stdout, stderr.

    typer's runner rebuilds the click command from the app on every call (about 35 ms,
    more than validating a spec); the command is stateless, so it is built once here.
    """
    with mock.patch.object(typer.testing, "_get_command", lambda _app: _command()):
        result = CliRunner().invoke(app, ["validate", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate raised {result.exception!r}:\n{result.output}")
    return result.exit_code, result.stdout, result.stderr


def assert_rejected(case: Case, path: Path, code: int, out: str, err: str) -> None:
    """The contract for one invalid file: exit 1, located, short, no traceback, no canary."""
    assert code == 1, f"{case.name}: exit {code}\n{out}{err}"
    for text in (out, err):
        assert "Traceback" not in text
    lines = [line for line in out.splitlines() if line.strip()]
    assert 1 <= len(lines) <= MAX_LINES, f"{case.name}: {len(lines)} lines:\n{out}"
    for line in lines:
        assert DIAGNOSTIC.match(line), f"{case.name}: not a diagnostic: {line!r}"
        assert len(line) < 400, f"{case.name}: diagnostic too long ({len(line)} chars)"
    column = r"\d+" if case.column is None else str(case.column)
    where = re.compile(rf"{re.escape(f'{path}:{case.line}:')}{column}: error: ")
    located = [line for line in lines if where.match(line)]
    assert located, f"{case.name}: expected {where.pattern}... in\n{out}"
    assert any(case.fragment in line for line in located), (
        f"{case.name}: expected '{case.fragment}' at {case.line}:{case.column} in\n{out}"
    )
    assert not (path.parent / CANARY).exists(), "a payload from the spec was executed"
    assert not Path(CANARY).exists(), "a payload from the spec was executed"


def test_corpus_is_complete() -> None:
    """Guard the corpus itself: enough cases, unique names, each with a parseable expectation."""
    assert len(INVALID) >= 90
    assert len(VALID) >= 6
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("loader", "case"), LOADER_CASES)
def test_invalid_is_rejected_and_located(
    loader: str, case: Case, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_loader(monkeypatch, loader)
    path = workdir / "spec.yaml"
    path.write_bytes(case.data)
    start = time.process_time()
    code, out, err = run_validate([str(path)])
    cpu = time.process_time() - start
    assert_rejected(case, path, code, out, err)
    assert cpu < MAX_CPU_SECONDS, f"{case.name} took {cpu:.2f} s of CPU with the {loader} loader"
    assert "1 spec checked, 1 invalid" in err


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_is_accepted(path: Path, loader: str) -> None:
    code, out, err = run_validate([str(path)])
    assert code == 0, out + err
    assert out.strip() == ""
    assert "all valid" in err


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "crlf": _crlf,
    "bom": lambda data: codecs.BOM_UTF8 + data.removeprefix(codecs.BOM_UTF8),
    "no-final-newline": lambda data: data.rstrip(b"\r\n"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_line_end_and_bom_variants_of_valid_specs(variant: str, tmp_path: Path) -> None:
    """Windows line ends, a UTF-8 BOM or a missing final newline never change the verdict."""
    paths = []
    for source in VALID:
        path = tmp_path / source.name
        path.write_bytes(VARIANTS[variant](source.read_bytes()))
        paths.append(str(path))
    code, out, err = run_validate(paths)
    assert (code, out.strip()) == (0, ""), out + err


TEXT_CASES = [c for c in corpus_cases() if not c.name.startswith(("d3", "d28", "c26"))]


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.name)
def test_crlf_variant_reports_the_same_place(case: Case, workdir: Path) -> None:
    """Line and column do not depend on the line ends the author's editor used."""
    path = workdir / "spec.yaml"
    path.write_bytes(_crlf(case.data))
    code, out, err = run_validate([str(path)])
    assert_rejected(case, path, code, out, err)


def test_all_files_in_one_call_report_every_file_sorted(workdir: Path) -> None:
    """One call over the whole corpus: every invalid file is reported, valid ones are not."""
    args = [str(p) for p in [*VALID, *INVALID]]
    code, out, err = run_validate(args)
    assert code == 1
    assert "Traceback" not in out + err
    lines = out.splitlines()
    keys = []
    for line in lines:
        match = DIAGNOSTIC.match(line)
        assert match, line
        keys.append((match["file"], int(match["line"]), int(match["col"])))
    assert keys == sorted(keys)
    reported = {key[0] for key in keys}
    assert reported == {str(p) for p in INVALID}
    assert f"{len(args)} specs checked, {len(INVALID)} invalid" in err
    assert not Path(CANARY).exists()


#: Messages say what is wrong, the value seen and the fix (both sides when fields disagree).
MESSAGE_PARTS = {
    "a01-python-object-apply": ["!!python/object/apply:os.system", "remove the tag"],
    "c20-bool-yes": ["yes", "write true or false"],
    "c21-octal": ["010", "write 10"],
    "e47-unknown-name": ["'4 * widht'", "unknown name 'widht'"],
    "e49-fraction": ["'8 * d_model / 7'", "6144/7", "round it with ceil(), floor()"],
    "e49-decimal-size": ["25/2", "12.5", "positive integer"],
    "f-bad-enum": ["swiglo", "gelu, relu, silu, swiglu, geglu", "did you mean 'swiglu'?"],
    "f-bad-enum-case": ["RMSNorm", "did you mean 'rmsnorm'?"],
    "f-bool-not-bool": ["'false'", "write false without quotes"],
    "f-heads-not-dividing-width": ["d_model / n_heads", "384/5", "give d_head explicitly"],
    "f-kv-heads-not-dividing": ["n_kv_heads (5)", "n_heads (12)"],
    "f-missing-required": ["'vocab_size'", "token embeddings", "add it"],
    "f-top-k-exceeds-experts": ["top_k (9)", "n_experts (8)"],
    "f-unknown-family": ["'transfomer'", "installed:", "did you mean 'transformer'?"],
    "f54-unknown-key": ["'d_modle'", "did you mean 'd_model'?"],
    "f54-unknown-key-moe": ["'n_expert_shared'", "in moe", "did you mean"],
    "e-var-cycle": ["a → b → a", "give one of them a number"],
}


@pytest.mark.parametrize("name", sorted(MESSAGE_PARTS))
def test_message_names_the_problem_the_value_and_the_fix(name: str) -> None:
    code, out, _ = run_validate([str(CORPUS / "invalid" / f"{name}.yaml")])
    assert code == 1
    (line,) = out.splitlines()
    for part in MESSAGE_PARTS[name]:
        assert part in line, f"{part!r} missing from: {line}"


def test_unknown_key_without_a_close_match_says_how_to_keep_it(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "owner_team: vision\n", encoding="utf-8")
    code, out, _ = run_validate([str(path)])
    assert code == 1
    assert "unknown key 'owner_team'; remove it, or rename it x-" in out


LONG = "q" * 9000  # under the loader's scalar limit, so it reaches every later stage

#: A 9,000-character value in every kind of place a message might quote it.
LONG_VALUES = {
    "enum": BASE + f"mlp: {LONG}\n",
    "expression": BASE.replace("d_ff: 3072", f"d_ff: {LONG}"),
    "expression-quoted": BASE.replace("d_ff: 3072", f'd_ff: "4 * {LONG}"'),
    "family": BASE.replace("family: transformer", f"family: {LONG}"),
    # Keys over 1024 characters must be explicit ("? key") in YAML.
    "unknown-key": BASE + f"? {LONG}\n: 1\n",
    "unknown-group-key": BASE + f"moe:\n  n_experts: 8\n  top_k: 2\n  ? {LONG}\n  : 1\n",
    "bool": BASE + f"bias: {LONG}\n",
    "var-name": BASE + f"vars:\n  ? {LONG}\n  : 1\n",
    "var-value": BASE + f"vars: {{w: {LONG}}}\n",
    "name": BASE + f"name: [{LONG}]\n",
}


@pytest.mark.parametrize("where", sorted(LONG_VALUES))
def test_large_values_are_never_echoed_whole(where: str, tmp_path: Path) -> None:
    """A huge value is quoted in a bounded form, so CI logs stay readable (and secrets short)."""
    path = tmp_path / "spec.yaml"
    path.write_text(LONG_VALUES[where], encoding="utf-8")
    code, out, err = run_validate([str(path)])
    assert code == 1, out + err
    assert LONG not in out + err
    assert "q" * 200 not in out + err
    lines = out.splitlines()
    assert 1 <= len(lines) <= MAX_LINES, out
    assert all(DIAGNOSTIC.match(line) and len(line) < 400 for line in lines), out


# --------------------------------------------------------------------------- real processes

SAMPLE = [
    "a01-python-object-apply",
    "a03-python-object-new",
    "b07-billion-laughs",
    "c26-tab-value",
    "d32-utf16-bom",
    "e38-import",
    "f54-unknown-key",
    "deep-flow-100k",
    "deep-block-200",
]


@pytest.mark.parametrize("name", SAMPLE)
def test_sample_as_a_real_process(name: str, tmp_path: Path) -> None:
    """What pre-commit actually runs: a fresh interpreter, libyaml, real stdout and stderr.

    A crash inside libyaml (the 100k-deep case) would show here as a signal, not as an
    exception the in-process runner could catch.
    """
    case = next(c for c in CASES if c.name == name)
    path = tmp_path / "spec.yaml"
    path.write_bytes(case.data)
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "archcalc", "validate", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert_rejected(case, path, proc.returncode, proc.stdout, proc.stderr)


def test_all_files_as_one_real_process(tmp_path: Path) -> None:
    """The whole corpus in one process: exit 1, each invalid file named, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "archcalc", "validate", *map(str, [*VALID, *INVALID])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    named = {DIAGNOSTIC.match(line)["file"] for line in proc.stdout.splitlines()}  # type: ignore[index]
    assert named == {str(p) for p in INVALID}
    assert not (tmp_path / CANARY).exists()


# --------------------------------------------------------------------------- formats and files


def test_github_format_annotates_each_problem() -> None:
    """``--format github``: one ``::error file=,line=,col=::`` workflow command per problem."""
    bad = CORPUS / "invalid" / "f54-unknown-key.yaml"
    nan = CORPUS / "invalid" / "c24-nan.yaml"
    code, out, _ = run_validate(["--format", "github", str(bad), str(nan), str(VALID[0])])
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    pattern = re.compile(r"^::error file=(?P<file>[^,]+),line=(\d+),col=(\d+)(,title=[^:]*)?::.+$")
    assert all(pattern.match(line) for line in lines), lines
    by_file = {pattern.match(line)["file"]: line for line in lines}  # type: ignore[index]
    line, column, fragment = expectation(bad)
    escaped = str(bad).replace(":", "%3A").replace(",", "%2C")
    assert f"line={line},col={column}" in by_file[escaped]
    assert fragment in by_file[escaped]


def test_json_format_lists_files_and_diagnostics() -> None:
    import json

    bad = CORPUS / "invalid" / "f-kv-heads-not-dividing.yaml"
    code, out, _ = run_validate(["--format", "json", str(bad), str(VALID[0])])
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert [(f["file"], f["valid"]) for f in report["files"]] == [
        (str(bad), False),
        (str(VALID[0]), True),
    ]
    line, column, fragment = expectation(bad)
    (diagnostic,) = report["diagnostics"]
    assert (diagnostic["line"], diagnostic["column"], diagnostic["severity"]) == (
        line,
        column,
        "error",
    )
    assert fragment in diagnostic["message"]


def test_json_format_all_valid_exits_0() -> None:
    import json

    code, out, _ = run_validate(["--format", "json", *map(str, VALID)])
    assert code == 0
    assert json.loads(out)["valid"] is True


@pytest.mark.parametrize(
    "args",
    [["--format", "yaml", "x.yaml"], [], ["--no-such-option", "x.yaml"], ["--format"]],
    ids=["unknown-format", "no-files", "unknown-option", "format-without-value"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, out, err = run_validate(args)
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert not DIAGNOSTIC.match(out)


def test_bad_paths_are_located_errors_and_other_files_still_checked(tmp_path: Path) -> None:
    """A missing file or a symlink is one located error; the rest is checked.

    A directory is searched for specs, whatever its name.
    """
    directory = tmp_path / "specs.yaml"
    directory.mkdir()
    inner = directory / "inner.yaml"
    inner.write_bytes((CORPUS / "invalid" / "f54-unknown-key.yaml").read_bytes())
    link = tmp_path / "link.yaml"
    link.symlink_to(VALID[0])
    secret_link = tmp_path / "secret.yaml"
    secret_link.symlink_to("/etc/passwd")
    zero_link = tmp_path / "zero.yaml"
    zero_link.symlink_to("/dev/zero")  # reading it would never end
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    missing = tmp_path / "missing.yaml"
    bad = CORPUS / "invalid" / "f54-unknown-key.yaml"
    paths = [missing, directory, link, secret_link, zero_link, fifo, bad, VALID[0]]
    code, out, err = run_validate([str(p) for p in paths])
    assert code == 1
    assert "root:" not in out + err  # the symlinked file's content is never read or echoed
    messages = {}
    for line in out.splitlines():
        match = DIAGNOSTIC.match(line)
        assert match, line
        messages.setdefault(match["file"], []).append(line)
    assert "not found" in messages[str(missing)][0]
    assert "unknown key" in messages[str(inner)][0]
    assert "symbolic link" in messages[str(link)][0]
    assert "symbolic link" in messages[str(secret_link)][0]
    assert "symbolic link" in messages[str(zero_link)][0]
    assert "named pipe" in messages[str(fifo)][0]
    assert str(bad) in messages  # checked although earlier files failed
    assert str(VALID[0]) not in messages
    assert f"{len(paths)} specs checked, 7 invalid" in err
    for path in (missing, link, secret_link, zero_link, fifo):
        assert messages[str(path)][0].startswith(f"{path}:1:1: error: ")
