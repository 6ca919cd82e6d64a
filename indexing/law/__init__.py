"""One place for the law: the 刑法's brackets, charge names, thresholds and the guideline, with sources.

Ingest (typing a months-only label), the sentencing model (features, hard bounds), the API
(validation, "outside the statutory range") and the explanations read the law from here, so a rule
is written once. Every row of every resource names its source:

- ``resources/law/criminal_law.jsonl``: the 刑法 in force (laws.db's 2020 text with 修正案（十二）);
  written by ``python -m indexing.law.export_statute``.
- ``derived.json``: each charge's article, paragraph and statutory brackets, parsed from that text
  (``python -m indexing.law.derive``) with the curated rows of ``charge_articles.json``.
- ``former_names.json``, ``thresholds.json``, ``guideline.json``, ``general_rules.json``: curated.

Statistics decide within the law; they never overrule it.
"""

from indexing.law.models import (
    Accessory,
    Bracket,
    ChargeLaw,
    CircumstanceRule,
    CombinationRule,
    FormerName,
    GeneralBounds,
    LawfulRange,
    Permission,
    StartingPoint,
    Threshold,
)
from indexing.law.names import abolished, current_name, not_on_list, renamed_since_list
from indexing.law.penalties import parse_paragraph
from indexing.law.ranges import lawful_range, months_label_type, possible_brackets
from indexing.law.rules import COMBINATION, GENERAL_BOUNDS, circumstance_rule
from indexing.law.statute import Article, article, statute
from indexing.law.table import charge_law, charge_laws, unmapped

__all__ = [
    "COMBINATION",
    "GENERAL_BOUNDS",
    "Accessory",
    "Article",
    "Bracket",
    "ChargeLaw",
    "CircumstanceRule",
    "CombinationRule",
    "FormerName",
    "GeneralBounds",
    "LawfulRange",
    "Permission",
    "StartingPoint",
    "Threshold",
    "abolished",
    "article",
    "charge_law",
    "charge_laws",
    "circumstance_rule",
    "current_name",
    "lawful_range",
    "months_label_type",
    "not_on_list",
    "parse_paragraph",
    "possible_brackets",
    "renamed_since_list",
    "statute",
    "unmapped",
]
