"""How a measurement's command-line entry point hands over its figures: JSON on stdout and, if asked, in a file,
with where they came from (commit, date, machine, command), so a report under docs/ can be traced and redone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def git_commit() -> dict[str, Any]:
    """The checkout's commit, and whether tracked files differ from it."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": _git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def machine() -> dict[str, Any]:
    """What the figures were measured on (host, CPU count, load when the run started, platform)."""
    return {"node": platform.node(), "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(), "python": platform.python_version()}


def provenance(command: str | None = None) -> dict[str, Any]:
    """Commit, date (UTC), machine and the command line of a measurement."""
    return {**git_commit(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine(),
            "command": command or "python -m " + " ".join([Path(sys.argv[0]).stem, *sys.argv[1:]])}


def emit_json(result: dict[str, Any], out: Path | None, *, ensure_ascii: bool = False,
              command: str | None = None) -> str:
    """Print ``result`` as indented JSON and write the same text to ``out`` (its folder made) when given.

    A written report carries ``about``: :func:`provenance` (unless the result has one already).
    """
    if out is not None and "about" not in result:
        result = {"about": provenance(command), **result}
    text = json.dumps(result, ensure_ascii=ensure_ascii, indent=1)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return text
