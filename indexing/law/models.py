"""The law table's types: statutory brackets, thresholds, starting points, circumstance rules.

Frozen pydantic models like indexing.schema's, because they cross the package boundary (ingest, the
model, the API and the explanations all read them) and must not be changed by a reader.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from indexing.schema import Circumstance, OutcomeType


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Accessory(StrEnum):
    """How a bracket's clause adds a fine (罚金) or confiscation (没收财产) to the principal punishment."""

    NONE = "none"
    OPTIONAL = "optional"  # 并处或者单处罚金: may be added, or imposed alone
    DISCRETIONARY = "discretionary"  # 可以并处: the court may add it
    REQUIRED = "required"  # 并处罚金 / 并处没收财产
    EITHER = "either"  # 并处罚金或者没收财产: one of the two must be added


class Clause(_Frozen):
    """One (trigger, penalty) pair of a paragraph, as the statute writes it."""

    paragraph: int  # 款, 1-based
    order: int  # position among the paragraph's clauses
    trigger: str  # the statute's words before 处 that select the penalty
    conditions: list[str] = Field(default_factory=list)  # the items （一）… the trigger points to
    level: str | None = None  # normalized key: 数额较大, 情节严重, 致人死亡, 数量大 …
    levels: list[str] = Field(default_factory=list)  # every key found, in text order
    lighter: bool = False  # 情节较轻的: a bracket below the basic one
    penalties: list[OutcomeType]  # permitted principal punishments
    political_rights_only: bool = False  # 剥夺政治权利 may be imposed alone (no OutcomeType for it)
    min_months: int | None = None  # lowest term (有期徒刑, or 拘役 when allowed); None if none
    max_months: int | None = None  # highest term
    fine: Accessory = Accessory.NONE
    confiscation: Accessory = Accessory.NONE
    accessory_text: str = ""  # 并处…罚金 as written (amount rules like 销售金额百分之五十以上二倍以下)
    text: str  # the clause: trigger through penalty, a substring of the statute


class Bracket(Clause):
    """A statutory penalty bracket (法定刑幅度) of a charge.

    ``index`` orders a charge's brackets by severity: 0 is the basic one, 1, 2 … heavier. A bracket
    for 情节较轻 sits below the basic one and gets index -1.
    """

    index: int
    article: str  # the article the clause is in (受贿罪's brackets are 383's)


class Threshold(_Frozen):
    """A judicial interpretation's quantity that selects a bracket, with the national range.

    Provinces choose within [national_min, national_max] (盗窃 数额较大 1,000–3,000 元). ``lift_share``
    is the share of national_min at which other circumstances may still reach the bracket (其他严重
    情节 at 50 % for 盗窃, 80 % for 敲诈勒索); below it the amount rules the bracket out. A bracket that
    other facts reach without any amount (多次盗窃, 入户盗窃) has ``non_quantity_triggers`` and is never
    ruled out by a small quantity. Rows with a ``condition`` hold only under it (恶意透支); rows that are
    not ``decisive`` need facts Quantities does not carry (交通肇事's liability share) and are shown, not
    used to rule brackets out.
    """

    charge: str
    bracket: int
    level: str | None = None
    quantity: str  # a Quantities field: amount_yuan, drug_grams, blood_alcohol_mg_100ml, injuries.deaths …
    drug_types: list[str] = Field(default_factory=list)  # for drug_grams: the drugs the row is about
    national_min: float
    national_max: float
    lift_share: float = 1.0
    non_quantity_triggers: bool = False
    rules_out_lower: bool = True  # False when a heavier bracket shares this threshold (383 (三))
    condition: str | None = None
    decisive: bool = True
    source: str
    note: str | None = None


class StartingPoint(_Frozen):
    """The guideline's 量刑起点 for a bracket: a range of months (or one value), with its condition."""

    charge: str
    bracket: int
    condition: str  # the guideline's words
    min_months: int | None = None
    max_months: int | None = None
    penalties: list[OutcomeType]
    source: str
    note: str | None = None


class FormerName(_Frozen):
    """A charge name older judgments or datasets use, with the document that changed it."""

    name: str
    current: str  # the canonical list's entry
    kind: str  # renamed / merged / part (of a former selective name) / later_name (newer than the list)
    source: str
    article: str | None = None
    note: str | None = None
    also: list[str] = Field(default_factory=list)  # further list entries a merged later name covers


class ChargeLaw(_Frozen):
    """Everything the law says about one charge of the canonical list."""

    name: str
    former_names: list[FormerName] = Field(default_factory=list)
    article: str  # the defining article, "264"
    paragraph: int  # its 款
    penalty_article: str  # where the brackets are (受贿罪: 386 → 383)
    unit_only: bool = False  # 单位受贿罪 …: the brackets are for the unit's responsible persons
    brackets: list[Bracket]
    thresholds: list[Threshold] = Field(default_factory=list)
    starting_points: list[StartingPoint] = Field(default_factory=list)
    mapping: str  # auto (derived from the statute's words) / curated
    source: str  # 刑法第二百六十四条 (+ the 罪名 determination)

    @property
    def penalty_types(self) -> list[OutcomeType]:
        """Principal punishments permitted by any bracket, in OutcomeType order."""
        found = {p for b in self.brackets for p in b.penalties}
        return [t for t in OutcomeType if t in found]


class Permission(StrEnum):
    YES = "yes"
    CONDITIONAL = "conditional"  # only in the case the condition names
    NO = "no"


class CircumstanceRule(_Frozen):
    """How a sentencing circumstance moves the sentence, by the 刑法 and the 2021 guideline."""

    circumstance: Circumstance
    direction: str  # mitigating / aggravating
    min_pct: float | None = None  # adjustment of the baseline in percent (−40 means 40 % less)
    max_pct: float | None = None
    ranges: list[dict] = Field(default_factory=list)  # the guideline's sub-cases: {case, min_pct, max_pct}
    min_months_added: int | None = None  # 累犯: at least 3 months
    below_bracket: Permission  # 减轻处罚 below the bracket's floor
    below_bracket_condition: str | None = None
    exemption: Permission  # 免除处罚
    exemption_condition: str | None = None
    applied_first: bool = False  # 未成年/未遂/从犯…: applied to the baseline before the others
    article: str | None = None  # the 刑法 article, "67"
    statute_words: str | None = None  # the article's words the permissions rest on
    source: str
    note: str | None = None


class TermBound(_Frozen):
    """A principal punishment's general term (art. 38, 42, 45) and its cap when sentences combine (art. 69)."""

    type: OutcomeType
    min_months: int
    max_months: int
    combined_max_months: int
    combined_max_months_long: int | None = None  # 有期徒刑: 25 years when the total is 35 years or more
    long_total_months: int | None = None
    article: str
    words: str
    combined_article: str
    combined_words: str
    source: str


class ProbationTerm(_Frozen):
    type: OutcomeType
    min_months: int
    max_months: int
    not_less_than_term: bool
    words: str


class ProbationRules(_Frozen):
    """缓刑: who may get it (art. 72, 74) and how long the probation runs (art. 73)."""

    eligible: list[dict]  # {type, max_months}: 拘役, or 有期徒刑 of at most 36 months
    article: str
    words: str
    excluded: list[str]
    excluded_article: str
    excluded_words: str
    terms: list[ProbationTerm]
    terms_article: str
    source: str

    def term(self, kind: OutcomeType) -> ProbationTerm | None:
        return next((t for t in self.terms if t.type == kind), None)


class Punishment(_Frozen):
    """A kind of outcome as the law names it (主刑 art. 33, 罚金 alone art. 34, 免予刑事处罚 art. 37)."""

    type: OutcomeType
    name: str  # as judgments write it: 有期徒刑
    aliases: list[str] = Field(default_factory=list)  # other words users and judgments use: 死缓, 罚金
    article: str | None = None
    words: str
    source: str


class GeneralBounds(_Frozen):
    """The general part's bounds: terms per punishment, probation, and rules such as art. 37 and 49."""

    punishments: dict[OutcomeType, Punishment]
    terms: dict[OutcomeType, TermBound]
    probation: ProbationRules
    rules: dict[str, dict]  # no_death_under_18, no_death_over_75, exemption, below_bracket

    def name(self, kind: OutcomeType) -> str:
        """The Chinese name of an outcome type (有期徒刑, 死刑缓期二年执行 …)."""
        return self.punishments[kind].name

    def type_of(self, word: str) -> OutcomeType | None:
        """The outcome type a word names: an OutcomeType value, a Chinese name or an alias; else None."""
        word = word.strip()
        for p in self.punishments.values():
            if word in (p.type.value, p.name, *p.aliases):
                return p.type
        return None

    def term(self, kind: OutcomeType) -> tuple[int, int, int]:
        """(min, max, combined max) months of 管制, 拘役 or 有期徒刑."""
        bound = self.terms[kind]
        return bound.min_months, bound.max_months, bound.combined_max_months


class CombinationRule(_Frozen):
    """How several circumstance adjustments combine (the guideline's 调节基准刑的方法)."""

    rule: str  # 同向相加、逆向相减
    text: str
    applied_first: list[Circumstance]  # applied to the baseline one after another, before the rest
    source: str
    note: str | None = None


class LawfulRange(_Frozen):
    """What the law permits for stated charges, quantities and circumstances.

    With several charges the term follows art. 69 (数罪并罚): at least the highest single minimum, at
    most the sum of the maxima within the combined cap.
    """

    charges: list[str]
    articles: list[str]
    brackets: list[Bracket]  # the brackets the facts leave possible (情节较轻 ones are separate)
    by_charge: dict[str, list[int]] = Field(default_factory=dict)  # charge → indices of its possible brackets
    lighter_brackets: list[Bracket] = Field(default_factory=list)
    penalties: list[OutcomeType]
    min_months: int | None = None
    max_months: int | None = None
    reduced_min_months: int | None = None  # with 减轻处罚: the next lower bracket's floor (art. 63)
    below_bracket_permitted_by: list[Circumstance] = Field(default_factory=list)
    below_bracket_if: list[Circumstance] = Field(default_factory=list)  # only under the rule's condition
    exemption_permitted: bool = False
    exemption_permitted_by: list[Circumstance] = Field(default_factory=list)
    unknown_charges: list[str] = Field(default_factory=list)
    explanation: str

    @property
    def article(self) -> str | None:
        """The first charge's defining article ("264"); ``articles`` has them all."""
        return self.articles[0] if self.articles else None
