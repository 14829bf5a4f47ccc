"""The JSON Schema for archcalc specs, shipped as package data.

``archcalc.schema.json`` is generated from the built-in plugins by ``archcalc schema``
and checked in so editors can point at it; a test keeps it in sync.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

FILENAME = "archcalc.schema.json"


def load() -> dict[str, Any]:
    """The checked-in schema of the built-in families."""
    return json.loads(resources.files(__name__).joinpath(FILENAME).read_text(encoding="utf-8"))
