"""Structured case cards (the 2019 交通肇事罪 sentences) -> CaseRecord, without any text.

The cards carry no facts, so nothing is invented for them: ``facts`` stays empty, they are never
embedded for search, and they serve sentencing statistics and calibration checks on data the text
pipeline never saw. Column meanings are inferred from their names (see ../shared/data/README.md):
有期徒刑 0 with 缓刑 > 0 most likely means 拘役 or a probation-only sentence, so its principal type
is recorded as 拘役 with unknown months; 0 and 0 leaves the outcome unknown rather than guessed.
"""

from __future__ import annotations

import re

from indexing.errors import RecordError
from indexing.extract import statutory_brackets
from indexing.law import months_label_type
from indexing.schema import (
    CaseRecord,
    Circumstance,
    InjuryCounts,
    Outcome,
    OutcomeType,
    Procedure,
    Quantities,
    RawJudgment,
    make_case_id,
)

_YEAR = re.compile(r"[（(](\d{4})[）)]")
_PROCEDURE = {"刑初": Procedure.FIRST, "刑终": Procedure.SECOND, "刑再": Procedure.RETRIAL}
_PROVINCE = re.compile(r"^(.+?(?:省|自治区)|北京市|天津市|上海市|重庆市)")

CHARGE = "交通肇事罪"  # every card is one


def _number(raw: RawJudgment, key: str, *, integer: bool = True) -> float | int:
    value = raw.labels.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RecordError(raw.location, key, f"expected a number, got {value!r}") from None
    if number < 0:
        raise RecordError(raw.location, key, f"negative value {value!r}")
    return int(number) if integer else number


def _optional_int(raw: RawJudgment, key: str) -> int | None:
    """Descriptive columns may be blank (出生年份 is blank in 2,753 of the 23,028 real cards)."""
    if str(raw.labels.get(key) or "").strip() == "":
        return None
    return int(_number(raw, key))


def card_to_case(raw: RawJudgment) -> CaseRecord:
    """Build the stored record of one traffic case card; a bad cell raises RecordError naming it."""
    prison = _number(raw, "prison_months")
    probation = _number(raw, "probation_months")
    if prison > 0:
        # the card's 有期徒刑 column holds 拘役 too: below 有期徒刑's six-month minimum it is 拘役 (law table)
        outcome: Outcome | None = Outcome(
            type=months_label_type([CHARGE], prison), months=float(prison), probation_months=float(probation) or None
        )
    elif probation > 0:
        outcome = Outcome(type=OutcomeType.DETENTION, months=None, probation_months=float(probation))
    else:
        outcome = None
    circumstances = [
        c
        for key, c in (
            ("surrendered", Circumstance.SURRENDER),
            ("forgiven", Circumstance.FORGIVENESS),
            ("compensated", Circumstance.COMPENSATION),
        )
        if _number(raw, key) == 1
    ]
    injuries = InjuryCounts(
        deaths=int(_number(raw, "deaths")), serious=int(_number(raw, "serious")), minor=int(_number(raw, "minor"))
    )
    case_number = raw.labels.get("case_number") or None
    region = raw.labels.get("region") or None
    year_match = _YEAR.search(case_number or "")
    province_match = _PROVINCE.match(region or "")
    procedure = next((p for k, p in _PROCEDURE.items() if case_number and k in case_number), None)
    return CaseRecord(
        case_id=make_case_id(raw.source, raw.source_id),
        source=raw.source,
        source_id=raw.source_id,
        province=province_match.group(1) if province_match else None,
        year=int(year_match.group(1)) if year_match else None,
        case_number=case_number,
        procedure=procedure,
        defendants=1,
        facts="",
        charges=[CHARGE],
        brackets=statutory_brackets([CHARGE], Quantities(injuries=injuries), circumstances),
        articles=[133],
        outcome=outcome,
        circumstances=circumstances,
        quantities=Quantities(injuries=injuries),
        attributes={
            "fled": _number(raw, "fled") == 1,
            "liability": int(_number(raw, "liability")),
            "injured_total": int(_number(raw, "injured")),
            "sex": _optional_int(raw, "sex"),
            "birth_year": _optional_int(raw, "birth_year"),
            "education": _optional_int(raw, "education"),
            "region": region,
        },
    )
