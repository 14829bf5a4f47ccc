"""The pre-commit hook, exercised the way users get it: ``pre-commit try-repo``.

pre-commit clones a hook repository at a commit, builds a virtualenv and pip-installs it.
So this test snapshots the working tree (tracked and untracked, not ignored, files) into a
temporary git repository, commits it there (never in the real checkout), and runs
``pre-commit try-repo <snapshot> archcalc-validate --files ...`` in a temporary project:
it must fail with the located message on a bad spec and pass on a good one.

try-repo builds a fresh virtualenv on every call, so the calls are few and the slow part
is done once: ``pip wheel`` fills a wheelhouse with archcalc's dependencies (this needs
the package index, or pip's cache), and pre-commit's own ``pip install`` then runs offline
from it (PIP_NO_INDEX, PIP_FIND_LINKS). About a minute in all; PRE_COMMIT_HOME is temporary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
HOOK_ID = "archcalc-validate"
GOOD = (ROOT / "examples" / "gpt2-small.yaml").read_text(encoding="utf-8")
BAD = GOOD.replace("n_heads: 12", "n_heads: 12\nd_modle: 768", 1)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "archcalc tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "archcalc tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def snapshot(destination: Path) -> Path:
    """Copy the working tree's files (as git sees them, untracked included) and commit them."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    destination.mkdir()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file() or source.is_symlink():
            continue  # deleted in the working tree, or a link the snapshot does not need
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    git(destination, "init", "-q")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "snapshot for pre-commit try-repo")
    return destination


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


@dataclass(frozen=True)
class Sandbox:
    hooks_repo: Path
    project: Path
    env: dict[str, str]

    def try_repo(self, *files: str) -> Run:
        proc = subprocess.run(
            [str(PRE_COMMIT), "try-repo", str(self.hooks_repo), HOOK_ID, "--files", *files],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return Run(proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    base = tmp_path_factory.mktemp("precommit")
    hooks_repo = snapshot(base / "archcalc")
    project = base / "project"
    project.mkdir()
    (project / "specs").mkdir()
    (project / "specs" / "good.yaml").write_text(GOOD, encoding="utf-8")
    (project / "specs" / "bad.yaml").write_text(BAD, encoding="utf-8")
    (project / "ci.yaml").write_text("on: push\n", encoding="utf-8")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "specs")
    wheelhouse = base / "wheels"
    backend = "setuptools>=69"  # archcalc's build backend, for pip's isolated build
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "-w",
            str(wheelhouse),
            str(hooks_repo),
            backend,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(base / "cache"),
        "PRE_COMMIT_COLOR": "never",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
    }
    env.pop("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", None)  # behave as for a user
    yield Sandbox(hooks_repo, project, env)


def test_manifest_declares_the_hook() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == HOOK_ID
    assert hook["entry"] == "archcalc validate"
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]
    proc = subprocess.run(
        [str(PRE_COMMIT), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hook_fails_on_a_bad_spec_with_the_located_message(sandbox: Sandbox) -> None:
    """A bad spec among a good one and a file that is not YAML: only the bad one is named."""
    run = sandbox.try_repo("specs/good.yaml", "specs/bad.yaml", "README.md")
    assert run.returncode == 1, run.output
    assert "archcalc validate" in run.output and "Failed" in run.output
    line = BAD.splitlines().index("d_modle: 768") + 1
    assert f"specs/bad.yaml:{line}:1: error: unknown key 'd_modle'" in run.output, run.output
    assert "did you mean 'd_model'?" in run.output
    assert "Traceback" not in run.output
    assert "specs/good.yaml:" not in run.output
    assert "README.md" not in run.output  # types: [yaml] keeps other files away


def test_hook_passes_on_a_good_spec(sandbox: Sandbox) -> None:
    run = sandbox.try_repo("specs/good.yaml")
    assert run.returncode == 0, run.output
    assert "Passed" in run.output
