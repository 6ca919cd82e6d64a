"""How a measurement's command-line entry point hands over its figures: JSON on stdout and, if asked, in a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit_json(result: dict[str, Any], out: Path | None, *, ensure_ascii: bool = False) -> str:
    """Print ``result`` as indented JSON and write the same text to ``out`` (its folder made) when given."""
    text = json.dumps(result, ensure_ascii=ensure_ascii, indent=1)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return text
