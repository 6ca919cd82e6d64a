"""The one home of LeiAn's shared domain types.

Every stage of the pipeline (parse -> extract -> anonymize -> quality -> store) takes and returns
these types, and the service and evaluation packages import them from here, so a field means the
same thing everywhere. Models are frozen: a stage returns a new record (``model_copy(update=...)``)
instead of mutating the one it was given, which keeps each stage a pure function.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseType(StrEnum):
    """Criminal judgments are the core; civil ones are stored so /v1/compare works for them too."""

    CRIMINAL = "criminal"
    CIVIL = "civil"


class Procedure(StrEnum):
    """Procedure level read from the case number (刑初 / 刑终 / 刑再 ...)."""

    FIRST = "first_instance"
    SECOND = "second_instance"
    RETRIAL = "retrial"


class OutcomeType(StrEnum):
    """The principal punishment. Death and life are outcomes of their own, never 'big numbers'."""

    DEATH = "death"  # 死刑立即执行
    DEATH_SUSPENDED = "death_suspended"  # 死刑，缓期二年执行
    LIFE = "life"  # 无期徒刑
    FIXED_TERM = "fixed_term"  # 有期徒刑, months
    DETENTION = "detention"  # 拘役, months
    SURVEILLANCE = "surveillance"  # 管制, months
    FINE_ONLY = "fine_only"  # 单处罚金
    EXEMPTION = "exemption"  # 免予刑事处罚
    NOT_GUILTY = "not_guilty"  # 无罪


class Outcome(_Frozen):
    """What a (first-named) defendant was sentenced to.

    ``months`` is the principal term for fixed-term imprisonment, 拘役 and 管制; it is None for
    death, life, fine-only and exemption. ``probation_months`` is the 缓刑考验期 when the sentence is
    suspended. ``fine_yuan`` is 罚金 in yuan (0 means none was imposed, None means unknown).
    """

    type: OutcomeType
    months: float | None = None
    probation_months: float | None = None
    fine_yuan: float | None = None
    confiscation: bool = False  # 没收财产

    @property
    def probation(self) -> bool:
        return bool(self.probation_months)


class Circumstance(StrEnum):
    """Sentencing circumstances from the 量刑指导意见; the values are the terms judgments use."""

    SURRENDER = "自首"
    CONFESSION = "坦白"
    PLEA_IN_COURT = "当庭认罪"
    PLEA_LENIENCY = "认罪认罚"
    RECIDIVISM = "累犯"
    PRIOR_RECORD = "前科"
    FORGIVENESS = "谅解"
    COMPENSATION = "赔偿"
    RESTITUTION = "退赃退赔"
    ATTEMPT = "未遂"
    ABANDONMENT = "中止"
    ACCESSORY = "从犯"
    COERCED = "胁从"
    MINOR = "未成年"
    FIRST_OFFENCE = "初犯"
    MERITORIOUS = "立功"


class InjuryCounts(_Frozen):
    """Victims by injury grade (伤情鉴定), the harm measure for violent and traffic crimes."""

    deaths: int = 0
    serious: int = 0  # 重伤
    minor: int = 0  # 轻伤
    slight: int = 0  # 轻微伤


class Quantities(_Frozen):
    """The key quantities that drive sentences; None when the text does not state them."""

    amount_yuan: float | None = None  # 涉案金额 (theft, fraud, embezzlement, bribery ...)
    drug_type: str | None = None  # 甲基苯丙胺, 海洛因 ...
    drug_grams: float | None = None
    blood_alcohol_mg_100ml: float | None = None  # 血液中乙醇含量
    injuries: InjuryCounts = Field(default_factory=InjuryCounts)


class Flags(_Frozen):
    """Data-quality flags. Flagged cases are stored and findable, never deleted."""

    duplicate_of: str | None = None  # case_id of the canonical copy (exact duplicate)
    near_duplicate_of: str | None = None  # case_id of a near-identical case
    overturned: bool = False  # a later judgment in the same matter changed it (改判/发回重审)
    overturned_by: str | None = None
    superseded: bool = False  # decided under provisions amended since (e.g. 刑法修正案(十一))
    superseded_reason: str | None = None
    synthetic: bool = False  # generated for scale benchmarks; never used for quality figures


class RawJudgment(_Frozen):
    """A record as read from a source, before any interpretation.

    ``labels`` carries what a structured source states itself (CAIL's meta, JuDGE's ``la``,
    LeCaRD's ``crime``, the traffic case cards' columns); extraction prefers text evidence and
    falls back to, or is checked against, these.
    """

    source: str  # cail2018, judge, lecard_v1, lecardv2, cjrc, traffic_card, text, jsonl
    source_id: str
    location: str  # file path and line / record number, for error messages and quarantine
    full_text: str | None = None  # whole judgment when the source has one
    head: str | None = None  # judgment head up to the facts (LeCaRDv2 'query')
    facts: str | None = None
    labels: dict = Field(default_factory=dict)


class CaseRecord(_Frozen):
    """A stored case: structured, anonymized, flagged. The original text is never stored."""

    case_id: str
    source: str
    source_id: str
    case_type: CaseType = CaseType.CRIMINAL
    cause: str | None = None  # civil cause of action (案由), e.g. 民间借贷纠纷
    court: str | None = None
    court_level: str | None = None  # basic / intermediate / high / supreme
    province: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd of the judgment
    year: int | None = None
    case_number: str | None = None  # （2017）沪0120刑初684号
    procedure: Procedure | None = None
    defendants: int | None = None
    facts: str
    reasoning: str | None = None  # 本院认为 ...
    judgment: str | None = None  # 判决如下 ...
    charges: list[str] = Field(default_factory=list)  # canonical names with 罪
    # a charge the source named by a former name (非法获取公民个人信息罪 before 修正案（九）): current -> as written
    charges_as_written: dict[str, str] = Field(default_factory=dict)
    # per charge, the statutory brackets (indexing.law Bracket.index) its stated facts leave possible
    brackets: dict[str, list[int]] = Field(default_factory=dict)
    articles: list[int] = Field(default_factory=list)  # 刑法 article numbers cited
    outcome: Outcome | None = None
    circumstances: list[Circumstance] = Field(default_factory=list)
    quantities: Quantities = Field(default_factory=Quantities)
    flags: Flags = Field(default_factory=Flags)
    # source-specific structured attributes with no text counterpart (e.g. a traffic case card's
    # 逃逸 and 责任划分), kept because they drive sentences
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    content_hash: str = ""  # of the normalized anonymized facts, for exact-duplicate detection


class Quarantined(_Frozen):
    """A record that could not be stored, with where it came from and why (nothing is dropped)."""

    source: str
    location: str
    field: str
    reason: str


def make_case_id(source: str, source_id: str) -> str:
    """Stable id from where a record came from, so re-ingesting the same record is idempotent."""
    import hashlib

    return hashlib.sha1(f"{source}:{source_id}".encode()).hexdigest()[:16]
