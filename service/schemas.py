"""Request and response bodies of the HTTP API (the OpenAPI schema at /docs is generated from these)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

MAX_TEXT = 100_000  # characters: a long judgment is ~30k
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _has_chinese(value: str) -> str:
    """Judgments and drafts are Chinese: text without a single Han character cannot be matched to cases."""
    if not _HAN.search(value):
        raise ValueError("must contain Chinese text (the facts of the case); got no Chinese characters")
    return value


# the JSON-schema pattern (unanchored: "contains a Han character") documents the rule for clients and
# fuzzers; the validator gives the readable message
ChineseText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, json_schema_extra={"pattern": _HAN.pattern}),
                        AfterValidator(_has_chinese)]
ChargeName = Annotated[str, StringConstraints(min_length=1, max_length=60)]
CircumstanceName = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    charges: list[ChargeName] | None = Field(None, max_length=20, description="keep cases with any of these charges")
    court_level: str | None = Field(None, pattern="^(basic|intermediate|high|supreme)$")
    province: str | None = Field(None, max_length=20, examples=["浙江省"])
    year_from: int | None = Field(None, ge=1979, le=2100)
    year_to: int | None = Field(None, ge=1979, le=2100)
    case_type: str | None = Field(None, pattern="^(criminal|civil)$")
    cause: str | None = Field(None, min_length=2, max_length=40, examples=["民间借贷纠纷"],
                              description="civil cause of action (案由), as the cases state it")
    exclude_flagged: bool = Field(False, description="leave out overturned, superseded and near-duplicate cases")


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: ChineseText = Field(..., description="facts (or the whole draft) of the case")
    k: int = Field(10, ge=1, le=100)
    charges: list[ChargeName] | None = Field(None, max_length=20, description="charges, with or without 罪; CAIL bracket notation accepted")
    filters: SearchFilters | None = None


class Highlight(BaseModel):
    start: int
    end: int
    term: str


class SearchHit(BaseModel):
    case_id: str
    score: float
    charges: list[str]
    articles: list[int]
    outcome: dict | None
    court: str | None
    court_level: str | None
    province: str | None
    date: str | None
    year: int | None
    case_number: str | None
    case_type: str
    cause: str | None = Field(None, description="civil cause of action (案由); None for criminal cases")
    circumstances: list[str]
    flags: dict
    facts_excerpt: str
    highlights: list[Highlight]
    why: dict
    scores: dict[str, float]


class DraftSummary(BaseModel):
    charges: list[str]
    charges_source: str  # "given", "extracted" (named in the text), "predicted" (indexing.charge_model) or "none"
    predicted_charges: list[dict] = Field(default_factory=list, description="with charges_source 'predicted': [{charge, probability}]")
    charges_as_written: dict[str, str] = Field(default_factory=dict, description="current name -> the former name given (e.g. 非法获取公民个人信息罪)")
    articles: list[int]
    circumstances: list[str]
    quantities: dict


class SearchOut(BaseModel):
    results: list[SearchHit]
    count: int
    draft: DraftSummary
    index_version: str


class SubmittedCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=200)
    text: ChineseText


class CompareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    draft: ChineseText
    cases: list[SubmittedCase] = Field(..., min_length=1, max_length=50)


class CompareHit(BaseModel):
    id: str
    score: float
    why: dict
    scores: dict[str, float]


class CompareOut(BaseModel):
    results: list[CompareHit]
    count: int


class ProposedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(..., min_length=1, max_length=30, description="fixed_term, detention, surveillance, death, "
                      "death_suspended, life, fine_only, exemption (or 有期徒刑, 拘役, 管制, 死刑, 死缓, 无期徒刑, 罚金, 免予刑事处罚)")
    months: float | None = Field(None, ge=0, le=300, allow_inf_nan=False, description="at most 25 years (刑法第69条)")
    probation_months: float | None = Field(None, ge=0, le=60, allow_inf_nan=False)
    fine: float | None = Field(None, ge=0, le=1e10, allow_inf_nan=False, description="罚金 in yuan")


class AssessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: ChineseText
    charges: list[ChargeName] | None = Field(None, max_length=20)
    circumstances: list[CircumstanceName] | None = Field(None, max_length=20, description="e.g. 自首, 坦白, 累犯; extracted when absent")
    proposed: ProposedIn | None = None
    court: str | None = Field(None, max_length=200)
    judge_id: str | None = Field(None, max_length=100)
    case_ref: str | None = Field(None, max_length=200)


class AssessOut(BaseModel):
    expected: dict
    steps: list[dict] = Field(default_factory=list, description="the guideline's steps: 法定刑幅度 → 量刑起点 → 基准刑 → each circumstance → 宣告刑")
    deviation: dict | None
    distribution: dict
    similar_cases: list[dict]
    draft: dict
    index_version: str
    alert_id: str | None = None


class ExpectationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: ChineseText
    charges: list[ChargeName] | None = Field(None, max_length=20)


class ExpectationsOut(BaseModel):
    summary: list[str]
    expected: dict
    distribution: dict
    similar_cases: list[dict]


class AlertOut(BaseModel):
    id: str
    created_at: str
    court: str | None
    judge_id: str | None
    case_ref: str | None
    charges: list[str]
    proposed: dict
    expected: dict
    level: str
    reasons: list[str]
    threshold: dict | None
    outside_statutory: bool = False
    statutory: dict | None = None
    status: str | None
    resolution: str | None
    resolution_note: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None


class AlertsOut(BaseModel):
    data: list[AlertOut]
    count: int


class AlertUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(..., pattern="^(justified|corrected)$", description="justified: the deviation is explained; corrected: the sentence was changed")
    note: str | None = Field(None, max_length=2000)
    by: str | None = Field(None, max_length=100)


class StatsOut(BaseModel):
    group_by: str  # of the assessments' deviation rates: charge, court or month (YYYY-MM)
    sentencing_group_by: str  # of the corpus's sentences: the same, except "year" for month
    deviation: list[dict]
    sentencing: list[dict]


# the schema of service.errors.problem's bodies, for the OpenAPI schema (service.errors.declare_problems);
# tests/service/test_docs_offline.py validates real error responses against it
class Problem(BaseModel):
    """An error, as RFC 9457 problem details (media type application/problem+json): the body of every declared error response."""

    type: str = Field(description="a URI naming the kind of problem; about:blank: the status says what it is",
                      examples=["about:blank"])
    title: str = Field(description="short summary of the kind of problem", examples=["Invalid request"])
    status: int = Field(ge=400, le=599, description="the response's HTTP status code, repeated")
    detail: str = Field(description="what was wrong with this request", examples=["k: Input should be less than or equal to 100"])
    # absent rather than null when there is none: SkipJsonSchema keeps null out of the schema, and the
    # extra drops the default that would show it
    field: str | SkipJsonSchema[None] = Field(
        None, json_schema_extra=lambda schema: schema.pop("default", None),
        description="the offending request field (dotted path), 'body', or header (e.g. 'Authorization'); absent when none")


# /v1/reports: the judge's 类案检索报告 (service/reports.py builds it, service/report_docx.py lays it out)
class ReportIn(AssessIn):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = Field(
        ..., description="the legal question the search is for (法律问题), e.g. 被告人事后退赃能否认定为退赃退赔情节")


class ReportSearcher(BaseModel):
    actor: str = Field(description="key id, 'local' or 'cli:<os user>'")
    name: str | None = Field(description="the key's name, when it has one")
    role: str


class ReportTable(BaseModel):
    columns: list[str]
    rows: list[list[str]]


class ReportSection(BaseModel):
    """One heading of the document with what follows it: paragraphs, then an optional table ('' is an empty line)."""

    heading: str
    level: int = Field(ge=1, le=2)
    paragraphs: list[str]
    table: ReportTable | None = None


class ReportCase(BaseModel):
    case_id: str
    case_number: str | None
    court: str | None
    court_level: str | None
    province: str | None
    date: str | None
    charges: list[str]
    outcome: dict | None
    outcome_text: str
    score: float
    source_tier: int = Field(ge=1, le=5, description="order of sources of the SPC guidance on 类案检索, 第四条 "
                             "(service/report_sources.py): 1 指导性案例, 2 最高人民法院, 3 本省高级人民法院, 4 上一级法院及本院, 5 其他")
    guiding: bool = Field(description="the record names itself a 指导性案例 (its case number)")
    within_three_years: bool
    similar: list[str] = Field(description="why it is similar: shared charges, articles, circumstances, key terms")
    differs: list[str] = Field(description="where it differs: circumstances only one side has, quantities side by side")
    why: dict


class ReportOut(BaseModel):
    """The report's content; the .docx is ``title`` and ``sections`` laid out, nothing else."""

    title: str
    searched_by: ReportSearcher
    searched_at: str = Field(description="ISO 8601, Asia/Shanghai")
    question: str = Field(description="as given, with personal names found in the draft masked")
    platform: str
    index_version: str
    case_type: str
    charges: list[str]
    charges_source: str
    cause: str | None
    cases: list[ReportCase] = Field(description="in the report's order: by source tier, most recent first within one")
    sentencing: dict | None = Field(description="expected, steps, deviation from the assessment; None for a civil case")
    sections: list[ReportSection]


class UploadIn(BaseModel):
    """A batch of case exchange records (GET /v1/schema/case): each is validated on its own."""

    model_config = ConfigDict(extra="forbid")

    cases: list[dict] = Field(..., min_length=1, max_length=500,
                              description="1-500 exchange records (schema: GET /v1/schema/case); a refused "
                                          "record is listed in `rejected` and kept in quarantine, the others are stored")


class UploadAccepted(BaseModel):
    index: int = Field(description="the record's position in `cases`")
    case_id: str
    status: str = Field(description="new; corrected (a new version of a stored case, which supersedes the "
                                    "previous one); unchanged (equal to the stored case: nothing stored)")
    version: int | None = Field(description="the case's version now (null: an unchanged case only ever ingested)")
    supersedes: int | None = None
    duplicate_of: str | None = Field(None, description="a stored case with the same anonymized facts: the build indexes one copy")
    sent_sha256: str = Field(description="SHA-256 of the record as sent (canonical JSON: sorted keys, UTF-8, no spaces)")
    stored_sha256: str = Field(description="SHA-256 of the anonymized record as stored")
    audit_seq: int | None = Field(description="the audit record binding this version to the uploader's key")


class UploadRejected(BaseModel):
    index: int
    field: str = Field(description="the offending field of the record (dotted path)")
    reason: str


class UploadOut(BaseModel):
    batch_id: str
    accepted: list[UploadAccepted]
    rejected: list[UploadRejected]
    served_after: str


class CaseVersion(BaseModel):
    version: int
    origin: str = Field(description="upload, or ingest (stored by `leian ingest`)")
    uploaded_by: str | None = Field(description="API key id of the uploader")
    uploader_name: str | None
    role: str | None
    at: str | None
    batch_id: str | None
    sent_sha256: str | None
    stored_sha256: str
    audit_seq: int | None
    supersedes: int | None
    superseded_by: int | None
    current: bool


class ProvenanceOut(BaseModel):
    case_id: str
    current_version: int
    origin: str
    uploaded_by: str | None
    uploader_name: str | None
    uploaded_at: str | None
    versions: list[CaseVersion]
    corrections: list[CaseVersion] = Field(description="the versions after the first, oldest first")


class QuarantinedUpload(BaseModel):
    id: int
    batch_id: str
    item: int
    field: str
    reason: str
    uploaded_by: str
    role: str | None
    at: str | None
    sent_sha256: str


class QuarantineOut(BaseModel):
    data: list[QuarantinedUpload]
    count: int


class BuildOut(BaseModel):
    state: str = Field(description="idle (no build yet), running, succeeded, failed or interrupted")
    by: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    step: str | None = None
    version: str | None = None
    cases: int | None = None
    added: int | None = Field(None, description="cases embedded by this build (new since the previous version)")
    seconds: float | None = None
    error: str | None = None
