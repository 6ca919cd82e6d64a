"""Assessments and deviation alerts, in the same database as the case store.

Every assessment that carried a proposed sentence is recorded (without its text: only charges, the
proposal, the expected range and the level), because deviation *rates* need the denominator. Those at
warning level or above are also alerts, which trial managers list, filter and acknowledge. Functions
take the engine from the caller and keyword-only arguments; a miss returns None (routes pick statuses).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Float, String, and_, func, or_, select, update

from indexing.db import assessments

ALERT_LEVELS = ("warning", "severe")
#: What makes an assessment an alert: a statistical level of warning or above, or a proposal outside the
#: statutory range (超出法定刑幅度), which is an alert of its own whatever its level.
IS_ALERT = or_(assessments.c.level.in_(ALERT_LEVELS), assessments.c.outside_statutory.is_(True))


def is_alert(values: dict[str, Any]) -> bool:
    """:data:`IS_ALERT` for a row about to be stored."""
    return values["level"] in ALERT_LEVELS or bool(values.get("outside_statutory"))


_INSERT_ASSESSMENTS = assessments.insert()  # built once: the write queue runs it in every transaction


def assessment_row(values: dict[str, Any]) -> dict:
    """The stored row of one assessment with a proposal; an open alert when :func:`is_alert`.

    The service stores it through service.write_queue, which commits it (with the rows of
    concurrent requests) before the API answers, so an alert the API answered with is never lost.
    """
    return {
        "id": uuid.uuid4().hex,
        "created_at": datetime.now(UTC),
        "status": "open" if is_alert(values) else None,
        **values,
    }


def insert_assessments(conn: Connection, rows: list[dict]) -> None:
    """Insert assessment rows inside the caller's transaction."""
    conn.execute(_INSERT_ASSESSMENTS, rows)


def _alert_filters(
    *, court: str | None, charge: str | None, level: str | None, status: str | None,
    date_from: date | None, date_to: date | None, statutory: bool | None = None,
) -> list:
    cond = [IS_ALERT]
    if statutory is not None:
        cond.append(assessments.c.outside_statutory.is_(statutory))
    if court:
        cond.append(assessments.c.court == court)
    if charge:
        cond.append(assessments.c.charge == charge)
    if level:
        cond.append(assessments.c.level == level)
    if status:
        cond.append(assessments.c.status == status)
    if date_from:
        cond.append(assessments.c.created_at >= datetime.combine(date_from, datetime.min.time(), UTC))
    if date_to:
        cond.append(assessments.c.created_at < datetime.combine(date_to + timedelta(days=1), datetime.min.time(), UTC))
    return cond


def list_alerts(engine: Engine, *, limit: int, offset: int, **filters: Any) -> tuple[list[dict], int]:
    """Alerts newest first, and how many match in all (for paging)."""
    cond = and_(*_alert_filters(**filters))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(assessments).where(cond)).scalar_one()
        rows = conn.execute(
            select(assessments).where(cond).order_by(assessments.c.created_at.desc(), assessments.c.id).limit(limit).offset(offset)
        ).mappings().all()
    return [dict(r) for r in rows], int(total)


def get_alert(engine: Engine, *, alert_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(assessments).where(and_(assessments.c.id == alert_id, IS_ALERT))
        ).mappings().first()
    return dict(row) if row else None


def acknowledge(engine: Engine, *, alert_id: str, resolution: str, note: str | None, by: str | None) -> dict | None:
    """Mark an alert acknowledged with its resolution; None when no such alert exists."""
    with engine.begin() as conn:
        done = conn.execute(
            update(assessments)
            .where(and_(assessments.c.id == alert_id, IS_ALERT))
            .values(status="acknowledged", resolution=resolution, resolution_note=note,
                    acknowledged_at=datetime.now(UTC), acknowledged_by=by)
        )
    if not done.rowcount:
        return None
    return get_alert(engine, alert_id=alert_id)


def deviation_stats(engine: Engine, *, group_by: str, date_from: date | None = None, date_to: date | None = None) -> list[dict]:
    """Per group: assessments, alerts, deviation rate, and the proposals' median-ish sentence figures."""
    key = {
        "charge": assessments.c.charge,
        "court": assessments.c.court,
        "month": func.substr(func.cast(assessments.c.created_at, String), 1, 7),
    }[group_by]
    cond = _alert_filters(court=None, charge=None, level=None, status=None, date_from=date_from, date_to=date_to)[1:]
    query = (
        select(
            key.label("group"),
            func.count().label("assessments"),
            func.sum(func.cast(IS_ALERT, Float)).label("alerts"),
            func.sum(func.cast(assessments.c.outside_statutory, Float)).label("outside_statutory"),
            func.sum(func.cast(assessments.c.level == "notice", Float)).label("notices"),
            func.sum(func.cast(assessments.c.resolution == "justified", Float)).label("justified"),
            func.sum(func.cast(assessments.c.resolution == "corrected", Float)).label("corrected"),
            func.avg(assessments.c.proposed_months).label("mean_proposed_months"),
        )
        .where(and_(*cond) if cond else True)
        .group_by(key)
        .order_by(key)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for r in rows:
        n = int(r["assessments"])
        alerts = int(r["alerts"] or 0)
        out.append({
            "group": r["group"] or "(unknown)",
            "assessments": n,
            "alerts": alerts,
            "notices": int(r["notices"] or 0),
            "outside_statutory": int(r["outside_statutory"] or 0),
            "deviation_rate": round(alerts / n, 4) if n else 0.0,
            "justified": int(r["justified"] or 0),
            "corrected": int(r["corrected"] or 0),
            "mean_proposed_months": round(float(r["mean_proposed_months"]), 1) if r["mean_proposed_months"] is not None else None,
        })
    return out


#: How the corpus's sentences are grouped for each ``group_by`` of /v1/stats: the store keeps judgment
#: years, not dates, so "month" (of the assessments) groups the corpus per year.
CORPUS_GROUPING = {"charge": "charge", "court": "court", "month": "year"}


def sentencing_stats(engine: Engine, *, group_by: str, min_cases: int = 5) -> list[dict]:
    """Sentences in the case store per charge, court or year (the corpus's dates are judgment years).

    The cases that count for sentencing (indexing.quality.counts_for_sentencing), as for the model.
    """
    from statistics import median

    from indexing.db import cases, counts_for_sentencing_sql
    from indexing.sentencing import TERM_TYPES

    query = select(cases.c.charges, cases.c.court, cases.c.year, cases.c.months, cases.c.outcome_type).where(
        counts_for_sentencing_sql(), cases.c.outcome_type.is_not(None)
    )
    groups: dict[str, dict] = {}
    with engine.connect() as conn:
        for charges, court, year, months, outcome_type in conn.execute(query):
            key = {"charge": (charges.strip("|").split("|")[0] if charges else None),
                   "court": court, "year": str(year) if year else None}[CORPUS_GROUPING[group_by]] or "(unknown)"
            g = groups.setdefault(key, {"cases": 0, "months": [], "types": {}})
            g["cases"] += 1
            g["types"][outcome_type] = g["types"].get(outcome_type, 0) + 1
            if outcome_type in TERM_TYPES and months is not None:
                g["months"].append(months)
    out = []
    for key, g in sorted(groups.items(), key=lambda kv: -kv[1]["cases"]):
        if g["cases"] < min_cases:
            continue
        m = sorted(g["months"])
        out.append({
            "group": key, "cases": g["cases"], "outcome_types": g["types"],
            "median_months": median(m) if m else None,
            "p25_months": m[len(m) // 4] if m else None, "p75_months": m[(3 * len(m)) // 4] if m else None,
        })
    return out
