"""/v1/reports (judges): the 类案检索报告 for a draft, as .docx or, with Accept: application/json, as JSON.

service.reports (service.assess, and with it scikit-learn) is imported when the route first runs, as in
service/routes/assess.py: a one-shot CLI search builds the whole app and never reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from indexing.search_index import SearchIndex
from service.auth import User
from service.deps import CurrentUser, IndexDep, require
from service.keys import Role
from service.report_docx import DOCX, render_docx
from service.schemas import ReportIn, ReportOut

router = APIRouter(tags=["reports"])
JSON = "application/json"


def wants_json(accept: str | None) -> bool:
    """Whether the Accept header prefers JSON to .docx; no header, */* or a tie gives the .docx."""
    quality = {DOCX: 0.0, JSON: 0.0}
    specificity = {DOCX: -1, JSON: -1}
    for item in (accept or "*/*").split(","):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        for kind in quality:
            rank = 2 if media == kind else 1 if media == kind.split("/")[0] + "/*" else 0 if media == "*/*" else -1
            if rank > specificity[kind]:
                specificity[kind], quality[kind] = rank, q
    return quality[JSON] > quality[DOCX]


def filename(searched_at: str) -> str:
    stamp = datetime.fromisoformat(searched_at).strftime("%Y%m%d-%H%M%S")
    ascii_name = f"leian-report-{stamp}.docx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(f'类案检索报告-{stamp}.docx')}"


@router.post(
    "/reports", response_model=ReportOut, dependencies=[require(Role.judge, Role.admin)],
    responses={200: {"description": "the report as .docx (the default), or as JSON with Accept: application/json",
                     "content": {DOCX: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def report(body: ReportIn, index: IndexDep, user: CurrentUser, request: Request) -> Any:
    """类案检索报告 for a draft and the judge's legal question: the similar cases of its assessment by source tier."""
    if wants_json(request.headers.get("accept")):
        from service.reports import build_report

        return await run_in_threadpool(build_report, index, body, user)
    built, data = await run_in_threadpool(_report_and_docx, index, body, user)
    return Response(data, media_type=DOCX, headers={"Content-Disposition": filename(built["searched_at"])})


def _report_and_docx(index: SearchIndex, body: ReportIn, user: User) -> tuple[dict, bytes]:
    from service.reports import build_report

    report = build_report(index, body, user)
    return report, render_docx(report)
