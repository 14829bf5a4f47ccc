"""The pre-commit hook, exercised the way users get it: through pre-commit itself.

pre-commit clones a hook repository at a rev, builds a virtualenv and pip-installs it.
So this test snapshots the working tree (tracked and untracked, not ignored, files) into a
temporary git repository, commits and tags it there as ``v0.1.0`` (never in the real
checkout), and runs pre-commit in a temporary project laid out like a real repository of
model configs: specs under ``models/`` next to a GitHub workflow, docker-compose,
Kubernetes manifests, ``mkdocs.yml``, a training config, a Hugging Face config and
``.pre-commit-config.yaml`` itself. The config is the README's snippet as written, only
the repository URL pointing at the snapshot.

Each new hook environment is a fresh virtualenv, so the slow part is done once: ``pip
wheel`` fills a wheelhouse with archcalc's dependencies (this needs the package index, or
pip's cache), and pre-commit's own ``pip install`` then runs offline from it
(PIP_NO_INDEX, PIP_FIND_LINKS). A minute or two in all; PRE_COMMIT_HOME is temporary.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.cli.test_validate import CRASHING_PLUGIN
from tests.helpers import OTHER_FILES, realistic_repo

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
HOOK_ID = "archcalc-validate"
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


def readme_yaml(after: str, index: int = 0) -> str:
    """The ``index``-th YAML block of the README section starting at the line ``after``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(after) :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(r"```yaml\n(.*?)```", section, re.S)[index]


@dataclass(frozen=True)
class Sandbox:
    hooks_repo: Path
    project: Path
    env: dict[str, str]

    def _run(self, *args: str) -> Run:
        proc = subprocess.run(
            [str(PRE_COMMIT), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return Run(proc.returncode, proc.stdout + proc.stderr)

    def try_repo(self, *args: str) -> Run:
        return self._run("try-repo", str(self.hooks_repo), HOOK_ID, *args)

    def run_config(self, config: str) -> Run:
        """``pre-commit run --all-files`` with ``config`` (the README's URL -> the snapshot)."""
        config = config.replace("https://github.com/archcalc/archcalc", str(self.hooks_repo))
        (self.project / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
        git(self.project, "add", "-A")
        return self._run("run", "--all-files", "--color", "never")

    def write(self, relative: str, text: str) -> None:
        path = self.project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    base = tmp_path_factory.mktemp("precommit")
    hooks_repo = snapshot(base / "archcalc")
    git(hooks_repo, "tag", "v0.1.0")  # the README's rev, as the release is tagged
    project = base / "project"
    project.mkdir()
    realistic_repo(project)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "a repository of model configs")
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
        "HOME": str(base),
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
    assert hook["entry"] == "archcalc validate --only-specs"
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]
    proc = subprocess.run(
        [str(PRE_COMMIT), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_hook_added_with_its_id_alone_passes_on_a_realistic_repository(
    sandbox: Sandbox,
) -> None:
    """The README's snippet as written: the workflow, compose, k8s, mkdocs... are left alone."""
    snippet = readme_yaml("## pre-commit")
    assert "- id: archcalc-validate\n" in snippet and "rev: v0.1.0" in snippet
    run = sandbox.run_config(snippet)
    assert run.returncode == 0, run.output
    assert "archcalc validate" in run.output and "Passed" in run.output


def test_the_hook_fails_with_every_problem_of_every_broken_spec(sandbox: Sandbox) -> None:
    three = (ROOT / "examples" / "lint" / "three-mistakes.yaml").read_text(encoding="utf-8")
    llama = (ROOT / "examples" / "llama-3-8b.yaml").read_text(encoding="utf-8")
    sandbox.write("models/tiny.yaml", three)
    sandbox.write("models/llama-3-8b.yaml", llama.replace("family: transformer\n", ""))
    try:
        run = sandbox.run_config(readme_yaml("## pre-commit"))
    finally:
        realistic_repo(sandbox.project)
    assert run.returncode == 1, run.output
    assert "Failed" in run.output and "Traceback" not in run.output
    for located in (
        "models/tiny.yaml:7:13: error: n_kv_heads (6) must divide n_heads (32)",
        "models/tiny.yaml:10:7: error: norm: rms_norm is not one of",
        "models/tiny.yaml:11:17: error: 'yes' is read as a boolean",
    ):
        assert located in run.output, run.output
    first_key = next(
        i for i, line in enumerate(llama.splitlines(), 1) if line and not line.startswith("#")
    )
    assert f"models/llama-3-8b.yaml:{first_key}:1: error: missing required key 'family'" in (
        run.output
    )
    for other in (*OTHER_FILES, "models/vision/resnet50.yaml:"):
        assert other not in run.output


def test_a_spec_folder_and_a_local_plugin_through_args(sandbox: Sandbox) -> None:
    """README: args [--spec-dir, models]; args [--plugin, tools/...] (run by validate's count)."""
    sandbox.write("models/notes.yaml", "owner: ml-team\n")
    config = readme_yaml("## pre-commit").replace(
        "      - id: archcalc-validate\n", readme_yaml("## pre-commit", 1)
    )
    try:
        run = sandbox.run_config(config)
    finally:
        (sandbox.project / "models" / "notes.yaml").unlink()
    assert run.returncode == 1, run.output
    assert "models/notes.yaml:1:1: error: missing required key 'family'" in run.output
    sandbox.write("tools/crashy.py", CRASHING_PLUGIN)
    sandbox.write("models/crashy.yaml", "family: crashy\nwidth: 5\n")
    plugin_hook = "      - id: archcalc-validate\n        args: [--plugin, tools/crashy.py]\n"
    config = readme_yaml("## pre-commit").replace("      - id: archcalc-validate\n", plugin_hook)
    try:
        run = sandbox.run_config(config)
    finally:
        (sandbox.project / "models" / "crashy.yaml").unlink()
    assert run.returncode == 1 and "- exit code: 3" in run.output, run.output  # pre-commit: 1
    assert "archcalc: plugin error: plugin 'tools/crashy.py'" in run.output, run.output
    assert "models/crashy.yaml" in run.output and "Traceback" not in run.output


def test_try_repo_on_the_realistic_repository(sandbox: Sandbox) -> None:
    run = sandbox.try_repo("--all-files")
    assert run.returncode == 0, run.output
    assert "Passed" in run.output


def test_a_plugin_from_a_git_url(sandbox: Sandbox) -> None:
    """README: additional_dependencies with a git URL (here the snapshot's, over file://)."""
    snippet = readme_yaml("## pre-commit", 2)
    url = "git+https://github.com/archcalc/archcalc@v0.1.0#subdirectory=plugins/archcalc-mamba"
    assert url in snippet
    local = snippet.replace(url.split("@")[0], f"git+file://{sandbox.hooks_repo}")
    config = readme_yaml("## pre-commit").replace("      - id: archcalc-validate\n", local)
    mamba = ROOT / "plugins" / "archcalc-mamba" / "examples" / "mamba-130m.yaml"
    sandbox.write("models/mamba.yaml", mamba.read_text(encoding="utf-8"))
    try:
        run = sandbox.run_config(config)
        broken = mamba.read_text(encoding="utf-8").replace("family: mamba\n", "family: mambo\n")
        sandbox.write("models/mamba.yaml", broken)
        failed = sandbox.run_config(config)
    finally:
        (sandbox.project / "models" / "mamba.yaml").unlink()
    assert run.returncode == 0, run.output
    assert failed.returncode == 1 and "did you mean 'mamba'?" in failed.output, failed.output
