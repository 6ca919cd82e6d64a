"""/v1/assess (judges) and /v1/expectations (litigants): sentencing range, deviation, plain language.

service.assess (and with it scikit-learn, through the sentencing model) is imported when a route first
runs, not with the app: a one-shot CLI search builds the whole app and never assesses (1.3 s of imports).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service.audit_middleware import write_with_audit
from service.deps import READERS, IndexDep, require
from service.keys import Role
from service.plain_language import expectation_summary
from service.schemas import AssessIn, AssessOut, ExpectationsIn, ExpectationsOut
from service.store import assessment_row

router = APIRouter(tags=["sentencing"])


@router.post("/assess", response_model=AssessOut, dependencies=[require(Role.judge, Role.admin)])
async def assess_route(body: AssessIn, index: IndexDep, request: Request) -> dict:
    """Expected sentence range from similar cases and the corpus model; deviation of a proposal."""
    from service.assess import assess, parse_proposed

    proposed = parse_proposed(body.proposed.model_dump()) if body.proposed else None
    # the model work in a request thread; the row is committed with the request's audit record, before
    # the response starts, without holding a thread (service/audit_middleware.py, service/write_queue.py)
    result = await run_in_threadpool(assess, index, body.text, charges=body.charges, circumstances=body.circumstances,
                                     proposed=proposed)
    dev = result["deviation"]
    if dev is not None:
        row = assessment_row({
            "court": body.court, "judge_id": body.judge_id, "case_ref": body.case_ref,
            "charge": (result["draft"]["charges"] or [""])[0], "charges": result["draft"]["charges"],
            "proposed": proposed.model_dump(mode="json"), "proposed_months": proposed.months,
            "expected": {k: result["expected"][k] for k in ("outcome_type", "median_months", "range_80", "range_95")},
            "level": dev["level"], "reasons": dev["reasons"], "threshold": dev["threshold"],
            "index_version": result["index_version"],
            "outside_statutory": bool((dev.get("statutory") or {}).get("outside")), "statutory": dev.get("statutory"),
        })
        await write_with_audit(request, "assessment", row)
        if row["status"] == "open":
            result["alert_id"] = row["id"]
    return result


@router.post("/expectations", response_model=ExpectationsOut, dependencies=[require(*READERS)])
async def expectations(body: ExpectationsIn, index: IndexDep) -> dict:
    """For litigants: what similar cases suggest, in plain words; anonymized, no alerts."""
    from service.assess import assess

    result = await run_in_threadpool(assess, index, body.text, charges=body.charges)
    # no court and no case number in the plain view; the case id opens the whole anonymized facts
    # (GET /v1/cases/{id}, open to litigants as search is)
    similar = [
        {k: c[k] for k in ("case_id", "charges", "outcome", "date", "circumstances", "facts_excerpt")}
        for c in result["similar_cases"]
    ]
    return {
        "summary": expectation_summary(result),
        "expected": {k: result["expected"][k] for k in
                     ("outcome_type", "median_months", "range_50", "range_80", "range_95", "probation_probability", "n_neighbours")},
        "distribution": result["distribution"],
        "similar_cases": similar,
    }
