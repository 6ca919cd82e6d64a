"""Real texts from data_samples/, picked by what a test needs."""

from __future__ import annotations

import json

from tests.conftest import SAMPLES


def lecard_fact(crime: str) -> str:
    """The first LeCaRD query fact whose only charge is ``crime`` (e.g. 危险驾驶罪)."""
    with (SAMPLES / "lecard_v1_sample.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["crime"] == [crime]:
                return rec["q"]
    raise LookupError(f"no LeCaRD sample query with the single charge {crime}")
