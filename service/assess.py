"""Sentencing-range comparison for a draft: expected outcome, distribution, deviation of a proposal.

The draft goes through the corpus pipeline, its similar cases come from the same ranking the
sentencing model was trained with (indexing.neighbours), and the model gives the expected outcome
and the calibrated deviation level. This module is pure (no database): the routes store alerts.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from indexing.errors import ArtifactError, RecordError
from indexing.law import GENERAL_BOUNDS
from indexing.law.statute import article_label
from indexing.neighbours import neighbour_hits, neighbour_months
from indexing.schema import Circumstance, Outcome, OutcomeType
from indexing.search_index import SearchIndex
from indexing.sentencing.steps import departure
from service.explain import EXCERPT_CHARS
from service.retrieve import prepare_draft

SHOWN_CASES = 10


def _bounds_text(kind: OutcomeType) -> str:
    bound = GENERAL_BOUNDS.terms[kind]
    return f"{bound.words}（刑法{article_label(bound.article)}），{bound.combined_words}（刑法{article_label(bound.combined_article)}）"


def parse_proposed(proposed: dict) -> Outcome:
    """A proposal from the request, checked against the general part's bounds; errors name the field.

    The bounds are the law table's (indexing.law.GENERAL_BOUNDS: 刑法第38、42、45、69、72、73条). A
    proposal outside them is not a sentence at all, so it is refused; one that is a sentence but
    leaves the charge's statutory range is assessed and flagged (see :func:`statutory_check`).
    """
    raw_type = str(proposed.get("type", "")).strip()
    kind = GENERAL_BOUNDS.type_of(raw_type)
    if kind is None:
        allowed = ", ".join(
            [t.value for t in OutcomeType] + [w for p in GENERAL_BOUNDS.punishments.values() for w in (p.name, *p.aliases)]
        )
        raise RecordError("request", "proposed.type", f"unknown outcome type {raw_type!r}; use one of: {allowed}")
    months = proposed.get("months")
    if kind in GENERAL_BOUNDS.terms:
        lo, _, hi = GENERAL_BOUNDS.term(kind)
        hi = GENERAL_BOUNDS.terms[kind].combined_max_months_long or hi
        if months is None:
            raise RecordError("request", "proposed.months", f"{kind.value} needs months")
        if not lo <= months <= hi:
            raise RecordError("request", "proposed.months",
                              f"{kind.value} must be {lo}–{hi} months by law ({_bounds_text(kind)}), got {months}")
    elif months not in (None, 0):
        raise RecordError("request", "proposed.months", f"{kind.value} takes no months")
    probation = proposed.get("probation_months") or None
    if probation is not None:
        rules = GENERAL_BOUNDS.probation
        eligible = {OutcomeType(e["type"]): e["max_months"] for e in rules.eligible}
        if kind not in eligible:
            raise RecordError("request", "proposed.probation_months",
                              f"{kind.value} cannot be suspended (刑法{article_label(rules.article)}：{rules.words})")
        if months > eligible[kind]:
            raise RecordError("request", "proposed.probation_months",
                              f"only {GENERAL_BOUNDS.name(kind)} of up to {eligible[kind]} months can be suspended "
                              f"(刑法{article_label(rules.article)}：{rules.words})")
        term = rules.term(kind)
        assert term is not None
        if not term.min_months <= probation <= term.max_months:
            raise RecordError("request", "proposed.probation_months",
                              f"probation for {kind.value} must be {term.min_months}–{term.max_months} months "
                              f"(刑法{article_label(rules.terms_article)}：{term.words})")
        if term.not_less_than_term and probation < (months or 0):
            raise RecordError("request", "proposed.probation_months",
                              f"probation may not be shorter than the term (刑法{article_label(rules.terms_article)}：{term.words})")
    fine = proposed.get("fine")
    return Outcome(type=kind, months=float(months) if kind in GENERAL_BOUNDS.terms else None,
                   probation_months=float(probation) if probation else None,
                   fine_yuan=float(fine) if fine is not None else None)


def distribution(months: list[float]) -> dict:
    """The similar cases' sentences, raw and binned, for a chart."""
    if not months:
        return {"months": [], "bins": []}
    edges = np.histogram_bin_edges(months, bins=min(12, max(3, len(set(months)))))
    counts, edges = np.histogram(months, bins=edges)
    return {
        "months": sorted(months),
        "bins": [{"from": round(float(a), 1), "to": round(float(b), 1), "count": int(c)}
                 for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)],
    }


def assess(
    index: SearchIndex,
    text: str,
    *,
    charges: list[str] | None = None,
    circumstances: list[str] | None = None,
    proposed: Outcome | None = None,
) -> dict:
    """Expected outcome for a draft and, with a proposal, its calibrated deviation."""
    model = index.sentencing
    if model is None:
        reason = (index.manifest.get("sentencing") or {}).get("reason", "no sentencing model in this index")
        raise ArtifactError(f"sentencing model unavailable: {reason}; rebuild with a larger corpus")
    draft = prepare_draft(text, index, charges)
    record = draft.record
    if circumstances is not None:
        try:
            record = record.model_copy(update={"circumstances": [Circumstance(c) for c in circumstances]})
        except ValueError:
            allowed = "、".join(c.value for c in Circumstance)
            raise RecordError("request", "circumstances", f"unknown circumstance in {circumstances}; use: {allowed}") from None
        draft = dataclasses.replace(draft, record=record)
    hits = neighbour_hits(draft, index)
    rows = [index.rows[h.row] for h in hits]
    months = neighbour_months(rows)
    deviation = None
    if proposed is None:
        expected = model.predict(record, months)
    else:
        # the deviation carries the very expectation predict() would give: running the model once
        # instead of twice halves an assessment's cost (the boosters' predict is most of it)
        dev = model.deviation(record, months, proposed, neighbour_circumstances=[r["circumstances"] for r in rows])
        expected = dev.expected
        deviation = dev.model_dump(mode="json", exclude={"expected"})
        if dev.threshold is not None:
            deviation["false_alarm_rate"] = dev.threshold.measured_false_alarm
    steps = model.steps(record, months)
    if proposed is not None and deviation is not None:
        statutory = deviation.get("statutory") or {}
        deviation["departs_at"] = departure(
            steps, proposed, outside_statutory=bool(statutory.get("outside")), flagged=deviation["level"] != "none"
        )
    return {
        "expected": expected.model_dump(mode="json"),
        "steps": [s.model_dump(mode="json") for s in steps],
        "deviation": deviation,
        "distribution": distribution(months),
        "similar_cases": [
            {
                "case_id": r["case_id"], "score": round(h.score, 4), "charges": r["charges"], "outcome": r["outcome"],
                "court": r["court"], "date": r["date"], "circumstances": r["circumstances"],
                "facts_excerpt": (r["facts"] or "")[:EXCERPT_CHARS],
            }
            for h, r in list(zip(hits, rows, strict=True))[:SHOWN_CASES]
        ],
        "draft": {
            "charges": record.charges,
            "charges_source": draft.charges_source,
            "predicted_charges": [{"charge": c, "probability": p} for c, p in draft.predicted],
            "charges_as_written": record.charges_as_written,
            "circumstances": [c.value for c in record.circumstances],
            "quantities": record.quantities.model_dump(mode="json"),
        },
        "index_version": index.version,
    }
