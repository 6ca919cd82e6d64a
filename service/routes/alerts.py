"""/v1/alerts and /v1/stats: deviation alerts for trial managers, and statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from service.deps import CurrentUser, EngineDep, require
from service.keys import Role
from service.schemas import AlertOut, AlertsOut, AlertUpdate, StatsOut
from service.store import (
    CORPUS_GROUPING,
    acknowledge,
    deviation_stats,
    get_alert,
    list_alerts,
    sentencing_stats,
)

router = APIRouter(tags=["alerts"], dependencies=[require(Role.manager, Role.admin)])
AlertId = Annotated[str, Path(max_length=64)]


def _out(row: dict) -> dict:
    return {**row, **{k: row[k].isoformat() if row.get(k) else None for k in ("created_at", "acknowledged_at")}}


@router.get("/alerts", response_model=AlertsOut)
def alerts(
    engine: EngineDep,
    court: Annotated[str | None, Query(max_length=200)] = None,
    charge: Annotated[str | None, Query(max_length=100)] = None,
    level: Annotated[str | None, Query(pattern="^(warning|severe)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|acknowledged)$")] = None,
    statutory: Annotated[bool | None, Query(description="true: only proposals outside the statutory range (超出法定刑幅度)")] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    """Deviation alerts, newest first, filtered and paged."""
    rows, total = list_alerts(engine, limit=limit, offset=offset, court=court, charge=charge, level=level,
                              status=status, statutory=statutory, date_from=date_from, date_to=date_to)
    return {"data": [_out(r) for r in rows], "count": total}


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def alert(alert_id: AlertId, engine: EngineDep) -> dict:
    """One alert."""
    row = get_alert(engine, alert_id=alert_id)
    if row is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return _out(row)


@router.patch("/alerts/{alert_id}", response_model=AlertOut)
def update_alert(alert_id: AlertId, body: AlertUpdate, engine: EngineDep, user: CurrentUser) -> dict:
    """Acknowledge an alert with its resolution (justified or corrected) and a note."""
    row = acknowledge(engine, alert_id=alert_id, resolution=body.resolution, note=body.note,
                      by=body.by or user.name or user.actor)
    if row is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return _out(row)


@router.get("/stats", response_model=StatsOut)
def stats(
    engine: EngineDep,
    group_by: Annotated[str, Query(pattern="^(charge|court|month)$")] = "charge",
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict:
    """Deviation rates of assessed proposals and sentencing statistics of the corpus, per group.

    The corpus knows judgment years, not dates: by ``month`` its sentences are grouped per year
    (``store.CORPUS_GROUPING``), and ``sentencing_group_by`` says so; the assessments are grouped per month.
    """
    return {
        "group_by": group_by,
        "sentencing_group_by": CORPUS_GROUPING[group_by],
        "deviation": deviation_stats(engine, group_by=group_by, date_from=date_from, date_to=date_to),
        "sentencing": sentencing_stats(engine, group_by=group_by),
    }
