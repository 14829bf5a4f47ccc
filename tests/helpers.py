"""Shared helpers for the tests: reference numbers and small spec writers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
EXAMPLES = ROOT / "examples"


@cache
def reference(name: str = "transformers") -> dict[str, Any]:
    """Cases of tests/data/reference/<name>.json, written by reference/*_counts.py with torch."""
    return json.loads((DATA / "reference" / f"{name}.json").read_text(encoding="utf-8"))["cases"]


def write_spec(tmp_path: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    """Write a spec dict as YAML (block style, keys in the given order)."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def fake_distribution(
    site: Path, name: str, entry_points: dict[str, str], version: str = "1.0"
) -> Path:
    """An installed distribution as pip leaves it (``NAME-VERSION.dist-info``) in ``site``.

    ``entry_points`` maps names to values of the ``archcalc`` group; the directory must
    be on ``sys.path`` for the distribution to be seen, as with a real installation.
    """
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (folder / "entry_points.txt").write_text(f"[archcalc]\n{lines}", encoding="utf-8")
    return folder


#: The YAML (and JSON) a repository of model configs holds besides its specs.
OTHER_FILES = {
    ".github/workflows/ci.yml": (
        "name: ci\non:\n  push:\n    branches: [main]\n  pull_request:\njobs:\n  test:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: archcalc validate models/\n"
    ),
    "docker-compose.yml": (
        'version: "3.8"\nservices:\n  trainer:\n    image: pytorch/pytorch:2.4.0\n'
        "    volumes:\n      - ./models:/models\n    environment:\n      - NCCL_DEBUG=INFO\n"
    ),
    "k8s/job.yaml": (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: train\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: trainer\n          image: trainer:1.2\n"
        "      restartPolicy: Never\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        '  name: env\ndata:\n  on: "yes"\n'
    ),
    "k8s/cloudformation.yaml": "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
    "    Properties:\n      BucketName: !Ref Name\n",
    "mkdocs.yml": "site_name: Our models\nnav:\n  - Home: index.md\ntheme:\n  name: material\n",
    "configs/train.yaml": "lr: 3.0e-4\nbatch_size: 512\nwarmup_steps: 2000\noptimizer: adamw\n",
    ".pre-commit-config.yaml": "repos: []\n",
    "hf/llama/config.json": '{"model_type": "llama"}\n',
    "docs/index.md": "# models\n",
}


def realistic_repo(root: Path) -> dict[str, str]:
    """A repository of model configs: specs in models/ next to the YAML every repo holds.

    Returns the specs written (relative path -> text); the other files are
    :data:`OTHER_FILES`.
    """
    specs = {
        "models/llama-3-8b.yaml": (EXAMPLES / "llama-3-8b.yaml").read_text(encoding="utf-8"),
        "models/vision/resnet50.yaml": (EXAMPLES / "resnet50.yaml").read_text(encoding="utf-8"),
        "models/tiny.yaml": (
            "# yaml-language-server: $schema=../schemas/archcalc.schema.json\nname: tiny\n"
            "family: transformer\nn_layers: 2\nd_model: 64\nn_heads: 4\nd_ff: 128\n"
            "vocab_size: 100\n"
        ),
    }
    for relative, text in {**OTHER_FILES, **specs}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return specs


def python_calls(fn: Callable[[], object]) -> int:
    """How many Python function calls ``fn()`` makes, whatever it raises.

    A measure of work that, unlike a clock, gives the same number on an idle machine and
    on one shared by seven test runs: tests bound work with it ("rejected before the
    aliases are expanded", "the count does not grow with ``times``") instead of timing.
    """
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        fn()
    except Exception:
        pass
    finally:
        sys.setprofile(previous)
    return calls
