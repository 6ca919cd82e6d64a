"""Where a similar case stands in the order of sources the SPC's guidance on 类案检索 sets.

《最高人民法院关于统一法律适用加强类案检索的指导意见（试行）》(法发〔2020〕24号, in force 2020-07-31), 第四条:
类案检索范围一般包括 （一）最高人民法院发布的指导性案例；（二）最高人民法院发布的典型案例及裁判生效的案件；
（三）本省（自治区、直辖市）高级人民法院发布的参考性案例及裁判生效的案件；（四）上一级人民法院及本院裁判生效的
案件。除指导性案例以外，优先检索近三年的案例或者案件；已经在前一顺位中检索到类案的，可以不再进行检索。

A 类案检索报告 lists the results in that order. The tier is derived at report time from what every
record already stores (``court``, ``court_level``, ``province``, ``case_number``), never stored itself:

1. 指导性案例: no source LeiAn ingests marks one (CAIL, LeCaRD, JuDGE and CJRC are ordinary
   judgments), so a case counts as guiding when its case number names it (指导案例/指导性案例, as in
   "指导案例87号"). With the sample corpus this tier is empty.
2. a case decided by the Supreme People's Court (court level ``supreme``).
3. a case of the high court of the draft's own province (level ``high``, same province).
4. a case of the draft's own court, or of the court one level above it: the intermediate court of the
   same city for a basic court (the city is read from the court names, 金华市婺城区人民法院 ->
   金华市; a municipality is its own city). A draft whose court is unknown has no tier 4.
5. every other case: other provinces' high courts, other cities' courts, and records whose court is
   not stated (most CAIL records).

Recent cases come first within a tier (the guidance prefers the last three years); that ordering is
the report's (service.reports), as is the flag of cases within three years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexing.sections import court_level, province_of

GUIDING = 1
SUPREME = 2
PROVINCE_HIGH = 3
COURT_ABOVE_AND_OWN = 4
OTHER = 5

#: The tiers' headings as the guidance words them (第四条), with LeiAn's "other" last.
TIER_TITLES: dict[int, str] = {
    GUIDING: "最高人民法院发布的指导性案例",
    SUPREME: "最高人民法院发布的典型案例及裁判生效的案件",
    PROVINCE_HIGH: "本省（自治区、直辖市）高级人民法院发布的参考性案例及裁判生效的案件",
    COURT_ABOVE_AND_OWN: "上一级人民法院及本院裁判生效的案件",
    OTHER: "其他法院裁判生效的案件（含法院未载明的）",
}
_GUIDING_WORDS = ("指导性案例", "指导案例")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
_CITY = re.compile(r"[\u4e00-\u9fff]{1,10}?(?:自治州|市|州|地区|盟)")
_ABOVE = {"basic": "intermediate", "intermediate": "high", "high": "supreme"}


@dataclass(frozen=True)
class DraftCourt:
    """The court deciding the draft, as far as it is known (the request's ``court``, else the draft's head)."""

    court: str | None
    province: str | None

    @property
    def level(self) -> str | None:
        return court_level(self.court)

    @property
    def city(self) -> str | None:
        return court_city(self.court)


def draft_court(court: str | None, province: str | None = None) -> DraftCourt:
    """A :class:`DraftCourt` from a court name, with its province read from the name when it names one."""
    court = (court or "").strip() or None
    return DraftCourt(court, province_of(court) or province)


def court_city(court: str | None) -> str | None:
    """The city (地级市, 自治州, 地区) a court name starts with; a municipality is its own city."""
    if not court:
        return None
    province = province_of(court)
    if province in _MUNICIPALITIES:
        return province
    rest = court.removeprefix(province) if province and court.startswith(province) else court
    m = _CITY.match(rest)
    return m.group(0) if m and "法院" not in m.group(0) else None


def is_guiding(row: dict) -> bool:
    """Whether the record says it is a 指导性案例 (see the module docstring: its case number names it)."""
    return any(word in (row.get("case_number") or "") for word in _GUIDING_WORDS)


def source_tier(row: dict, draft: DraftCourt) -> int:
    """The case's tier (1-5, module docstring) relative to the court deciding the draft."""
    if is_guiding(row):
        return GUIDING
    level = row.get("court_level") or court_level(row.get("court"))
    if level == "supreme":
        return SUPREME
    if level == "high" and draft.province and row.get("province") == draft.province:
        return PROVINCE_HIGH
    court = row.get("court")
    if court and draft.court:
        if court == draft.court:
            return COURT_ABOVE_AND_OWN
        if draft.level in _ABOVE and level == _ABOVE[draft.level] and level != "high":
            city = court_city(court)
            if city and city == draft.city:
                return COURT_ABOVE_AND_OWN
    return OTHER
