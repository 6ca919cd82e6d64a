"""/v1/search and /v1/compare: similar cases for a draft, with explanations."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from indexing.search_index import Filters, SearchIndex
from service.case_compare import compare_cases
from service.deps import READERS, IndexDep, require
from service.explain import Explainer, excerpt_with_highlights
from service.retrieve import normalize_charges, prepare_draft, retrieve
from service.schemas import CompareIn, CompareOut, DraftSummary, SearchIn, SearchOut

router = APIRouter(tags=["search"], dependencies=[require(*READERS)])  # litigants too: results are anonymized


@router.post("/search", response_model=SearchOut)
async def search(body: SearchIn, index: IndexDep) -> dict:
    """Most similar decided cases for a draft, best first, each with why it is similar."""
    # async with the work in a request thread: a sync route would also validate its response in one
    return await run_in_threadpool(_search, body, index)


def _search(body: SearchIn, index: SearchIndex) -> dict:
    filters = Filters()
    if body.filters:
        filters = Filters(**body.filters.model_dump())
        filters.charges = normalize_charges(body.filters.charges, "filters.charges") or None
    draft = prepare_draft(body.text, index, body.charges)
    results = []
    explainer = Explainer(draft.record, draft.tokens, index.term_weights(draft.tokens, draft.record.case_type.value))
    for hit in retrieve(draft, index, body.k, filters):
        row = index.rows[hit.row]
        why = explainer.why(row)
        excerpt, spans = excerpt_with_highlights(row["facts"], why["key_terms"])
        results.append(
            {
                **{k: row[k] for k in ("case_id", "charges", "articles", "outcome", "court", "court_level", "province",
                                       "date", "year", "case_number", "case_type", "cause", "circumstances", "flags")},
                "score": round(hit.score, 4),
                "facts_excerpt": excerpt,
                "highlights": spans,
                "why": why,
                "scores": {"dense": round(hit.dense, 4), "bm25": round(hit.bm25, 4), "charge_overlap": round(hit.charge_overlap, 4)},
            }
        )
    rec = draft.record
    return {
        "results": results,
        "count": len(results),
        "draft": DraftSummary(
            charges=rec.charges,
            charges_source=draft.charges_source,
            predicted_charges=[{"charge": c, "probability": p} for c, p in draft.predicted],
            charges_as_written=rec.charges_as_written,
            articles=rec.articles,
            circumstances=[c.value for c in rec.circumstances],
            quantities=rec.quantities.model_dump(mode="json"),
        ),
        "index_version": index.version,
    }


@router.post("/compare", response_model=CompareOut)
async def compare(body: CompareIn, index: IndexDep) -> dict:
    """Score cases submitted by the parties against a draft, best first, each with why."""
    results = await run_in_threadpool(compare_cases, body.draft, [(c.id, c.text) for c in body.cases], index)
    return {"results": results, "count": len(results)}
