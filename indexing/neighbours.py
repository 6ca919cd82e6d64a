"""Similar cases' sentences: the same definition at build time (for the model) and at query time.

The sentencing model takes, as a feature, the sentences of a case's nearest similar cases; at build
time each corpus case gets them leave-one-out, at query time the draft gets them from the same hybrid
ranking. Flagged cases (overturned, superseded, near-duplicate, synthetic) are left out of
sentencing statistics, as the design requires, but stay findable in search.
"""

from __future__ import annotations

from collections.abc import Sequence

from indexing.fusion import Draft, Hit, retrieve
from indexing.quality import counts_for_sentencing
from indexing.rows import IndexRow
from indexing.schema import Outcome
from indexing.search_index import SearchIndex

NEIGHBOURS = 20


def usable_for_sentencing(row: IndexRow) -> bool:
    return counts_for_sentencing(row.get("flags") or {})


def months_of(row: IndexRow) -> float | None:
    """A row's sentence on the term scale (see sentencing.outcome_months); None for death/life/unknown."""
    from indexing.sentencing import outcome_months

    if not row.get("outcome"):
        return None
    return outcome_months(Outcome.model_validate(row["outcome"]))


def neighbour_hits(draft: Draft, index: SearchIndex, *, exclude_row: int | None = None) -> list[Hit]:
    """The NEIGHBOURS best hits usable for sentencing (more are fetched so flagged ones can be skipped)."""
    hits = retrieve(draft, index, NEIGHBOURS * 2 + 1)
    keep = [h for h in hits if h.row != exclude_row and usable_for_sentencing(index.rows[h.row])]
    return keep[:NEIGHBOURS]


def neighbour_months(rows: Sequence[IndexRow]) -> list[float]:
    return [m for m in (months_of(r) for r in rows) if m is not None]
