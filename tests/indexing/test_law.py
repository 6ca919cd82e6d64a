"""The law table: parsed brackets on real 刑法 clauses, the charge map checked against the statute's
words, curated rows with sources, and the lawful range. Runs from the repository alone; the one
comparison with laws.db is skipped when ../shared is absent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexing.charges import _ALIASES, charge_list, is_canonical, normalize_charge
from indexing.law import (
    COMBINATION,
    GENERAL_BOUNDS,
    Accessory,
    Permission,
    abolished,
    article,
    charge_law,
    charge_laws,
    circumstance_rule,
    current_name,
    lawful_range,
    months_label_type,
    not_on_list,
    parse_paragraph,
    possible_brackets,
    renamed_since_list,
    statute,
    unmapped,
)
from indexing.law.charge_map import exact_map, key_word_share, name_bigrams
from indexing.law.data import read_resource
from indexing.law.derive import DERIVED_FILE, derive, to_json
from indexing.law.export_statute import export_rows, to_jsonl
from indexing.law.export_statute import main as export_main
from indexing.law.names import former_names
from indexing.law.penalties import parse_article, parse_principal
from indexing.law.statute import STATUTE_FILE, paragraph
from indexing.law.table import guideline_document, thresholds_document
from indexing.schema import Circumstance, InjuryCounts, OutcomeType, Quantities

RESOURCES = Path(__file__).resolve().parents[2] / "indexing" / "resources" / "law"
LAWS_DB = Path(__file__).parents[3] / "shared" / "data" / "statutes" / "laws.db"
F, J, G, L, D, DS, FINE = (
    OutcomeType.FIXED_TERM,
    OutcomeType.DETENTION,
    OutcomeType.SURVEILLANCE,
    OutcomeType.LIFE,
    OutcomeType.DEATH,
    OutcomeType.DEATH_SUSPENDED,
    OutcomeType.FINE_ONLY,
)


def clauses(key: str, para: int = 1) -> list:
    return parse_paragraph(paragraph(key, para), para)


def terms(cs: list) -> list[tuple[int | None, int | None]]:
    return [(c.min_months, c.max_months) for c in cs]


# --- the parser on real clauses ---------------------------------------------------------------


def test_theft_264_has_three_brackets() -> None:
    cs = clauses("264")
    assert terms(cs) == [(1, 36), (36, 120), (120, 180)]
    assert [c.level for c in cs] == ["数额较大", "数额巨大", "数额特别巨大"]
    assert cs[0].penalties == [F, J, G, FINE] and cs[0].fine is Accessory.OPTIONAL
    assert cs[1].penalties == [F] and cs[1].fine is Accessory.REQUIRED
    assert (
        cs[2].penalties == [L, F]
        and cs[2].fine is Accessory.EITHER
        and cs[2].confiscation is Accessory.EITHER
    )
    assert cs[0].trigger.startswith("盗窃公私财物，数额较大的") and "扒窃" in cs[0].trigger
    assert cs[1].levels == ["数额巨大", "情节严重"]


def test_traffic_133_and_dangerous_driving_133_1() -> None:
    assert terms(clauses("133")) == [(1, 36), (36, 84), (84, 180)]
    assert clauses("133")[0].penalties == [F, J] and clauses("133")[0].fine is Accessory.NONE
    (drunk,) = clauses("133之一")
    assert drunk.penalties == [J] and (drunk.min_months, drunk.max_months) == (1, 6)
    assert drunk.fine is Accessory.REQUIRED and len(drunk.conditions) == 4
    assert "醉酒驾驶机动车的" in drunk.conditions


def test_injury_234_continues_in_its_second_paragraph() -> None:
    paras = parse_article(article("234").text)
    assert terms(paras[0].clauses) == [(1, 36)] and paras[0].clauses[0].penalties == [F, J, G]
    assert paras[1].continues
    assert terms(paras[1].clauses) == [(36, 120), (120, 180)]
    assert paras[1].clauses[1].penalties == [D, DS, L, F] and paras[1].clauses[1].level == "致人死亡"


def test_homicide_232_lighter_bracket_sits_below() -> None:
    basic, light = clauses("232")
    assert basic.penalties == [D, DS, L, F] and (basic.min_months, basic.max_months) == (120, 180)
    assert light.lighter and not basic.lighter and (light.min_months, light.max_months) == (36, 120)
    law = charge_law("故意杀人罪")
    assert [b.index for b in law.brackets] == [-1, 0] and law.brackets[0].lighter


def test_drugs_347_and_348() -> None:
    (top,) = clauses("347", 2)
    assert (top.min_months, top.max_months) == (180, 180) and top.penalties == [D, DS, L, F]
    assert top.confiscation is Accessory.REQUIRED and top.level == "数量大" and len(top.conditions) == 5
    assert terms(clauses("347", 3)) == [(84, 180)]
    assert terms(clauses("347", 4)) == [(1, 36), (36, 84)]
    assert [c.level for c in clauses("348")] == ["数量大", "数量较大", "情节严重"]
    assert terms(clauses("348")) == [(84, 180), (1, 36), (36, 84)]
    law = charge_law("贩卖毒品罪")  # a selective alternative of 走私、贩卖、运输、制造毒品罪
    assert [(b.index, b.level) for b in law.brackets] == [
        (0, "少量"),
        (1, "情节严重"),
        (2, "数量较大"),
        (3, "数量大"),
    ]
    assert [(b.index, b.level) for b in charge_law("非法持有毒品罪").brackets] == [
        (0, "数量较大"),
        (1, "情节严重"),
        (2, "数量大"),
    ]


def test_embezzlement_383_items_are_clauses() -> None:
    cs = clauses("383")
    assert terms(cs) == [(1, 36), (36, 120), (120, 180), (None, None)]
    assert cs[3].penalties == [D, DS, L] and cs[3].confiscation is Accessory.REQUIRED
    assert cs[0].level == "数额较大" and cs[0].trigger == "贪污数额较大或者有其他较重情节的"
    bribery = charge_law("受贿罪")
    assert bribery.article == "385" and bribery.penalty_article == "383" and len(bribery.brackets) == 4


def test_provocation_293_gambling_303_drug_den_354() -> None:
    (first,) = clauses("293")
    assert (first.min_months, first.max_months) == (1, 60) and len(first.conditions) == 4
    (second,) = clauses("293", 2)
    assert (second.min_months, second.max_months) == (60, 120) and second.fine is Accessory.DISCRETIONARY
    assert [p.refers_to for p in parse_article(article("303").text)] == [None, None, (None, (2,))]
    assert terms(clauses("303", 2)) == [(1, 60), (60, 120)]
    (den,) = clauses("354")
    assert (
        den.penalties == [F, J, G]
        and den.fine is Accessory.REQUIRED
        and (den.min_months, den.max_months) == (1, 36)
    )


def test_principal_phrases() -> None:
    assert parse_principal("十五年有期徒刑、无期徒刑或者死刑")["min_months"] == 180
    assert parse_principal("十五年有期徒刑、无期徒刑或者死刑")["max_months"] == 180
    assert (parse_principal("拘役")["min_months"], parse_principal("拘役")["max_months"]) == (1, 6)
    assert (
        parse_principal("十年以上有期徒刑")["min_months"],
        parse_principal("十年以上有期徒刑")["max_months"],
    ) == (120, 180)
    assert parse_principal("三年以下有期徒刑")["min_months"] == 6
    assert parse_principal("三年以下有期徒刑、拘役、管制或者剥夺政治权利")["political_rights_only"]
    assert parse_principal("三年以下有期徒刑、拘役、管制或者罚金")["penalties"] == [F, J, G, FINE]


def test_unit_paragraphs_are_not_individual_brackets() -> None:
    assert parse_article(article("176").text)[1].unit  # 单位犯前款罪的…
    assert all(not b.text.startswith("单位犯") for law in charge_laws().values() for b in law.brackets)
    assert charge_law("单位受贿罪").unit_only and not charge_law("受贿罪").unit_only


# --- the shipped statute and the derived table ------------------------------------------------


def test_statute_has_505_articles_with_amendment_12_applied() -> None:
    st = statute()
    assert len(st) == 505 and st["133之一"].number == 133 and st["133之一"].suffix == 1
    amended = sorted(k for k, a in st.items() if a.amended_by)
    assert amended == ["165", "166", "169", "387", "390", "391", "393"]
    assert st["390"].text.startswith("对犯行贿罪的，处三年以下有期徒刑或者拘役，并处罚金")
    assert st["387"].replaced_text and "处五年以下有期徒刑或者拘役" in st["387"].replaced_text
    assert st["164"].amended_by is None
    assert not any(
        line.strip() in ("第二编 分 则", "附 则") for a in st.values() for line in a.text.split("\n")
    )


def test_every_bracket_text_is_in_the_statute() -> None:
    st = statute()
    for law in charge_laws().values():
        for b in law.brackets:
            assert b.text in st[b.article].text, (law.name, b.index)
            assert b.trigger in b.text and all(c in st[b.article].text for c in b.conditions)


def test_rederivation_equals_the_committed_table() -> None:
    committed = (RESOURCES / DERIVED_FILE).read_text(encoding="utf-8")
    assert to_json(derive()) == committed, "stale derived.json: run python -m indexing.law.derive"


def test_every_canonical_charge_is_mapped_or_listed_unmapped() -> None:
    mapped = set(charge_laws())
    missing = {row["charge"] for row in unmapped()}
    assert mapped | missing == set(charge_list()) and not mapped & missing
    assert [row["charge"] for row in unmapped()] == ["骗购外汇罪"]
    assert all(row["reason"] for row in unmapped())


def _key_text(key: str, para: int) -> str:
    """The paragraph, with the one before it when it says 前款 (过失犯前款罪的…)."""
    text = paragraph(key, para)
    return text + paragraph(key, para - 1) if para > 1 and "前款" in text else text


def test_every_mapping_shares_the_charges_key_words() -> None:
    curated = {r["charge"]: r for r in read_resource("charge_articles.json")["rows"]}
    exact = exact_map(charge_list())
    for law in charge_laws().values():
        text = _key_text(law.article, law.paragraph)
        if law.mapping == "auto_exact":
            assert exact[law.name] == (law.article, law.paragraph)
            assert all(item in text for item in law.name[:-1].split("、")), law.name
        elif law.mapping == "auto_closest":
            words = name_bigrams(law.name)
            assert sum(w in text for w in words) / len(words) >= 0.5, law.name
        row = curated.get(law.name, {})
        if "key" in row:
            assert row["key"] in paragraph(law.article, law.paragraph) and row.get("note"), law.name
        else:
            assert key_word_share(law.name, text) >= 0.5, (law.name, law.article, law.paragraph)


def test_known_mappings() -> None:
    expect = {
        "盗窃罪": ("264", 1),
        "故意伤害罪": ("234", 1),
        "危险驾驶罪": ("133之一", 1),
        "洗钱罪": ("191", 1),
        "窝藏、包庇罪": ("310", 1),
        "组织卖淫罪": ("358", 1),
        "协助组织卖淫罪": ("358", 4),
        "虐待罪": ("260", 1),
        "破坏交通工具罪": ("116", 1),
        "强迫卖血罪": ("333", 1),
        "侮辱国歌罪": ("299", 2),
        "赌博罪": ("303", 1),
    }
    for name, where in expect.items():
        assert (charge_law(name).article, charge_law(name).paragraph) == where, name
    assert terms(charge_law("强迫卖血罪").brackets) == [(60, 120)]  # the paragraph's second clause only
    assert len(charge_law("放火罪").brackets) == 2 and charge_law("放火罪").brackets[1].article == "115"


# --- the API -----------------------------------------------------------------------------------


def test_dangerous_driving_permits_only_detention() -> None:
    law = charge_law("危险驾驶罪")
    assert law.penalty_types == [OutcomeType.DETENTION] and OutcomeType.FIXED_TERM not in law.penalty_types
    exemption = GENERAL_BOUNDS.rules["exemption"]  # art. 37 is a general rule, not the charge's penalty
    assert exemption["article"] == "37" and OutcomeType.EXEMPTION not in law.penalty_types
    assert months_label_type(["危险驾驶罪"], 5) is OutcomeType.DETENTION
    assert months_label_type(["危险驾驶"], 6) is OutcomeType.DETENTION


def test_months_label_type() -> None:
    assert months_label_type(["盗窃罪"], 4) is OutcomeType.DETENTION
    assert months_label_type(["盗窃罪"], 8) is OutcomeType.FIXED_TERM
    assert months_label_type(["危险驾驶罪", "盗窃罪"], 10) is OutcomeType.FIXED_TERM
    with pytest.raises(ValueError, match="positive"):
        months_label_type(["盗窃罪"], 0)


def test_theft_of_500000_yuan_leaves_only_the_top_bracket() -> None:
    assert [b.index for b in possible_brackets("盗窃罪", Quantities(amount_yuan=500_000))] == [2]
    assert [b.index for b in possible_brackets("盗窃罪", Quantities(amount_yuan=20_000))] == [0, 1]
    assert [b.index for b in possible_brackets("盗窃罪", Quantities(amount_yuan=200))] == [0]  # 入户盗窃 …
    assert [b.index for b in possible_brackets("盗窃罪", Quantities())] == [0, 1, 2]
    assert [b.index for b in possible_brackets("诈骗罪", Quantities(amount_yuan=200_000))] == [1]
    assert [b.index for b in possible_brackets("敲诈勒索罪", Quantities(amount_yuan=20_000))] == [0]  # 80 %
    assert possible_brackets("诈骗罪", Quantities(amount_yuan=500)) == []
    assert [b.index for b in possible_brackets("贪污罪", Quantities(amount_yuan=5_000_000))] == [2, 3]
    assert [b.index for b in possible_brackets("信用卡诈骗罪", Quantities(amount_yuan=30_000))] == [0]
    drugs = Quantities(drug_type="冰毒", drug_grams=60)
    assert [b.index for b in possible_brackets("走私、贩卖、运输、制造毒品罪", drugs)] == [3]
    assert [
        b.index for b in possible_brackets("交通肇事罪", Quantities(injuries=InjuryCounts(deaths=3)))
    ] == [0, 1, 2]
    assert [b.index for b in possible_brackets("故意杀人罪", Quantities())] == [0]


def test_lawful_range() -> None:
    r = lawful_range(
        ["盗窃罪"], Quantities(amount_yuan=5_000), [Circumstance.SURRENDER, Circumstance.PLEA_LENIENCY]
    )
    assert r.articles == ["264"] and (r.min_months, r.max_months) == (1, 36)
    assert r.penalties == [F, J, G, FINE]
    assert r.below_bracket_permitted_by == [Circumstance.SURRENDER] and r.exemption_permitted
    assert r.explanation.startswith("盗窃罪：刑法第二百六十四条：盗窃公私财物，数额较大的")
    assert "处三年以下有期徒刑、拘役或者管制" in r.explanation
    plain = lawful_range(["盗窃罪"], Quantities(amount_yuan=5_000), ["谅解", "赔偿", "认罪认罚"])
    assert plain.below_bracket_permitted_by == [] and not plain.exemption_permitted
    both = lawful_range(["盗窃罪", "诈骗罪"], Quantities(amount_yuan=50_000))
    assert (both.min_months, both.max_months) == (1, 240) and set(both.by_charge) == {"盗窃罪", "诈骗罪"}
    assert lawful_range(["不存在的罪"], None).unknown_charges == ["不存在的罪"]


def test_former_names_resolve() -> None:
    assert current_name("非法获取公民个人信息罪") == ("侵犯公民个人信息罪", "非法获取公民个人信息罪")
    assert current_name("出售、非法提供公民个人信息罪") == (
        "侵犯公民个人信息罪",
        "出售、非法提供公民个人信息罪",
    )
    assert current_name("强制猥亵妇女罪") == ("强制猥亵、侮辱罪", "强制猥亵妇女罪")
    assert current_name("资助恐怖活动罪") == ("帮助恐怖活动罪", "资助恐怖活动罪")
    assert current_name("重大环境污染事故罪") == ("污染环境罪", "重大环境污染事故罪")
    assert current_name("非法占用耕地") == ("非法占用农用地罪", "非法占用耕地罪")
    assert current_name("盗窃") == ("盗窃罪", None)
    assert charge_law("非法获取公民个人信息罪") is charge_law("侵犯公民个人信息罪")
    assert {f.name for f in charge_law("侵犯公民个人信息罪").former_names} >= {"非法获取公民个人信息罪"}
    # the canonical list predates 补充规定（七）: the new merged name maps onto the list's entry
    assert current_name("危害珍贵、濒危野生动物罪")[0] == "非法猎捕、杀害珍贵、濒危野生动物罪"
    assert normalize_charge("嫖宿幼女罪") == "嫖宿幼女罪"  # abolished: not resolved to another charge
    with pytest.raises(ValueError):
        current_name("犯罪")


def test_former_names_are_consistent_with_the_list() -> None:
    for row in former_names():
        assert is_canonical(row.current) and not is_canonical(row.name), row.name
        assert row.article in statute() and row.source and all(is_canonical(a) for a in row.also)
        assert row.name not in _ALIASES, f"{row.name} is a former name: keep it in the law table only"
    assert {r.current for r in renamed_since_list()} >= {"生产、销售假药罪", "欺诈发行股票、债券罪"}
    for row in abolished():
        assert row["article"] in statute() and row["source"] and not is_canonical(row["name"])
    for row in not_on_list():
        text = paragraph(row["article"], row["paragraph"])
        assert not is_canonical(row["name"]) and row["source"]
        assert key_word_share(row["name"], text) >= 0.5 or row.get("key", "\0") in text, row["name"]


def test_circumstance_rules() -> None:
    assert {circumstance_rule(c).circumstance for c in Circumstance} == set(Circumstance)
    surrender = circumstance_rule("自首")
    assert (surrender.min_pct, surrender.max_pct) == (-40, 0) and surrender.below_bracket is Permission.YES
    assert surrender.article == "67" and surrender.exemption is Permission.CONDITIONAL
    confession = circumstance_rule(Circumstance.CONFESSION)
    assert confession.below_bracket is Permission.CONDITIONAL and (
        confession.min_pct,
        confession.max_pct,
    ) == (-20, 0)
    recidivism = circumstance_rule("累犯")
    assert recidivism.direction == "aggravating" and (recidivism.min_pct, recidivism.max_pct) == (10, 40)
    assert recidivism.min_months_added == 3
    assert circumstance_rule("初犯").min_pct is None and circumstance_rule("胁从").min_pct is None
    for c in ("认罪认罚", "谅解", "赔偿"):
        assert (
            circumstance_rule(c).below_bracket is Permission.NO
            and circumstance_rule(c).exemption is Permission.NO
        )
    for c in ("未遂", "中止", "从犯", "胁从", "未成年", "立功"):
        assert circumstance_rule(c).below_bracket is Permission.YES, c
    assert set(COMBINATION.applied_first) >= {
        Circumstance.MINOR,
        Circumstance.ATTEMPT,
        Circumstance.ACCESSORY,
    }
    with pytest.raises(ValueError, match="unknown circumstance"):
        circumstance_rule("好人")


def test_statute_words_of_curated_rules_are_in_their_articles() -> None:
    for row in guideline_document()["circumstances"]:
        if row.get("article"):
            assert row["statute_words"] in article(row["article"]).text, row["circumstance"]
    general = read_resource("general_rules.json")
    for row in general["terms"]:
        assert row["words"] in article(row["article"]).text and row["combined_words"] in article("69").text
    prob = general["probation"]
    assert prob["words"] in article(prob["article"]).text and prob["excluded_words"] in article("74").text
    assert all(t["words"] in article(prob["terms_article"]).text for t in prob["terms"])
    assert all(r["words"] in article(r["article"]).text for r in general["rules"])
    assert GENERAL_BOUNDS.term(OutcomeType.SURVEILLANCE) == (3, 24, 36)
    assert GENERAL_BOUNDS.term(OutcomeType.DETENTION) == (1, 6, 12)
    assert GENERAL_BOUNDS.term(OutcomeType.FIXED_TERM) == (6, 180, 240)
    assert GENERAL_BOUNDS.terms[OutcomeType.FIXED_TERM].combined_max_months_long == 300
    assert GENERAL_BOUNDS.probation.term(OutcomeType.FIXED_TERM).max_months == 60


def test_curated_rows_have_sources_and_fit_the_brackets() -> None:
    fields = set(Quantities.model_fields) | {f"injuries.{f}" for f in InjuryCounts.model_fields}
    for row in thresholds_document()["rows"]:
        law = charge_law(row["charge"])
        assert law is not None and row["source"].strip() and row["quantity"] in fields, row
        assert (
            row["bracket"] in [b.index for b in law.brackets] and row["national_min"] <= row["national_max"]
        )
    for row in guideline_document()["starting_points"]:
        law = charge_law(row["charge"])
        bracket = next(b for b in law.brackets if b.index == row["bracket"])
        assert row["source"].strip() and bracket.min_months <= row["min_months"] <= row["max_months"]
        assert row["max_months"] <= bracket.max_months, (row["charge"], row["bracket"])
    assert all(row["source"].strip() for row in guideline_document()["circumstances"])
    assert COMBINATION.source and read_resource("charge_articles.json")["source"]
    assert all(law.source.startswith("刑法第") for law in charge_laws().values())
    theft = charge_law("盗窃罪")
    assert [(s.bracket, s.min_months, s.max_months) for s in theft.starting_points] == [
        (0, 1, 12),
        (1, 36, 48),
        (2, 120, 144),
    ]
    assert [(t.national_min, t.national_max) for t in theft.thresholds] == [
        (1000, 3000),
        (30000, 100000),
        (300000, 500000),
    ]


def test_guideline_covers_its_23_charges_or_says_why_not() -> None:
    names = {row["charge"] for row in guideline_document()["starting_points"]}
    left_out = {row["charge"] for row in guideline_document()["left_out"] if "bracket" not in row}
    assert len(names | left_out) == 23 and all(is_canonical(n) for n in names | left_out)


# --- the export from laws.db ---------------------------------------------------------------------


def test_export_says_clearly_when_laws_db_is_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export_main(["--laws-db", str(tmp_path / "missing.db"), "--out", str(tmp_path / "out.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(not LAWS_DB.is_file(), reason=f"needs {LAWS_DB} (../shared/data/statutes/laws.db)")
def test_shipped_statute_equals_laws_db() -> None:
    shipped = (RESOURCES / STATUTE_FILE).read_text(encoding="utf-8")
    assert to_jsonl(export_rows(LAWS_DB)) == shipped
    rows = [json.loads(line) for line in shipped.splitlines()]
    assert len(rows) == 505 and sum(1 for r in rows if re.search("之[一二三四五六]$", r["article"])) == 53
