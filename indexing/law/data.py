"""Reading the law table's JSON files from the package (importlib.resources, as indexing.charges does)."""

from __future__ import annotations

import json
from importlib import resources


def read_resource(name: str) -> dict:
    """``indexing/resources/law/<name>``, parsed; works from a wheel as from a checkout."""
    return json.loads(resources.files("indexing.resources").joinpath("law", name).read_text(encoding="utf-8"))
