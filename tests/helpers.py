"""Shared helpers for the tests: reference numbers and small spec writers."""

from __future__ import annotations

import json
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
