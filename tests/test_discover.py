"""Which YAML files are specs: the rule the pre-commit hook and ``validate DIR`` follow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archcalc import api, discover
from tests.helpers import OTHER_FILES, realistic_repo


@pytest.fixture
def keys() -> frozenset[str]:
    return discover.spec_keys(api.default_registry().families.values())


def _relative(root: Path, paths: list[str]) -> list[str]:
    return sorted(os.path.relpath(p, root) for p in paths)


def test_the_keys_are_the_families_top_level_keys(keys: frozenset[str]) -> None:
    assert {"n_layers", "d_model", "vocab_size", "moe", "input", "layers", "patch_size"} <= keys
    assert not keys & {"name", "vars", "family"}


@pytest.mark.parametrize("name", sorted(n for n in OTHER_FILES if n.endswith((".yml", ".yaml"))))
def test_other_yaml_of_a_repository_is_not_a_spec(name: str, keys: frozenset[str]) -> None:
    assert discover.reason(OTHER_FILES[name], keys) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("family: transformer\n", "family key"),
        ('"family": cnn\n', "family key"),
        ("family:\n", "family key"),
        (
            "# yaml-language-server: $schema=../schemas/archcalc.schema.json\nx: 1\n",
            "schema modeline",
        ),
        ("n_layers: 2\nd_model: 64\n", "spec keys"),
        ("input: [3, 32, 32]\nlayers: []\n", "spec keys"),
    ],
)
def test_what_makes_a_spec(text: str, why: str, keys: frozenset[str]) -> None:
    assert discover.reason(text, keys) == why


@pytest.mark.parametrize(
    "text",
    [
        "families: [a]\n",  # another key
        "  family: transformer\n",  # nested, not top-level
        "n_layers: 2\n",  # one spec-like key is not enough
        "model:\n  n_layers: 2\n  d_model: 64\n",  # a training config nesting its model
    ],
)
def test_what_does_not(text: str, keys: frozenset[str]) -> None:
    assert discover.reason(text, keys) is None


def test_a_folder_yields_its_specs_and_leaves_the_rest(
    tmp_path: Path, keys: frozenset[str]
) -> None:
    specs = realistic_repo(tmp_path)
    found = discover.find_specs([str(tmp_path)], keys)
    assert _relative(tmp_path, found.specs) == sorted(specs)
    # Hidden files and folders (.github, .pre-commit-config.yaml) are not even looked at;
    # JSON files are Hugging Face configs, read only when named.
    assert _relative(tmp_path, found.skipped) == [
        "configs/train.yaml",
        "docker-compose.yml",
        "k8s/cloudformation.yaml",
        "k8s/job.yaml",
        "mkdocs.yml",
    ]


def test_named_files_are_specs_unless_only_specs(tmp_path: Path, keys: frozenset[str]) -> None:
    realistic_repo(tmp_path)
    names = [str(tmp_path / n) for n in ("mkdocs.yml", "models/tiny.yaml")]
    assert discover.find_specs(names, keys).specs == names
    assert discover.find_specs(names, keys, only_specs=True).specs == names[1:]


def test_a_spec_folder_makes_every_file_in_it_a_spec(tmp_path: Path, keys: frozenset[str]) -> None:
    realistic_repo(tmp_path)
    (tmp_path / "models" / "notes.yaml").write_text("owner: ml-team\n", encoding="utf-8")
    names = [str(tmp_path / "models" / "notes.yaml"), str(tmp_path / "mkdocs.yml")]
    found = discover.find_specs(names, keys, only_specs=True, spec_dirs=[str(tmp_path / "models")])
    assert found.specs == names[:1]


def test_links_and_fifos_are_never_read(tmp_path: Path, keys: frozenset[str]) -> None:
    (tmp_path / "real.yaml").write_text("family: cnn\n", encoding="utf-8")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    os.mkfifo(tmp_path / "fifo.yaml")
    found = discover.find_specs([str(tmp_path)], keys)
    assert _relative(tmp_path, found.specs) == ["real.yaml"]
    assert _relative(tmp_path, found.skipped) == ["fifo.yaml", "link.yaml"]


def test_each_file_once(tmp_path: Path, keys: frozenset[str]) -> None:
    realistic_repo(tmp_path)
    tiny = str(tmp_path / "models" / "tiny.yaml")
    found = discover.find_specs([tiny, str(tmp_path / "models"), tiny], keys)
    assert found.specs.count(tiny) == 1
