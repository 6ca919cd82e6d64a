"""Extraction on real judgments (data_samples/judge_sample.jsonl, verbatim JuDGE records).

Every expected value below was read off the judgment text itself; the gold-50 outcomes were
labelled by hand (tests/indexing/outcome_gold_50.json) before being compared with the parser.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from indexing.charges import charges_in, is_canonical
from indexing.errors import RecordError
from indexing.extract import (
    duration_months,
    extract,
    extract_articles,
    extract_charges,
    extract_circumstances,
    extract_quantities,
    normalize_charge,
    parse_date,
    parse_head,
    parse_outcome,
    split_sections,
    to_number,
)
from indexing.schema import CaseType, Circumstance, OutcomeType, Procedure, RawJudgment

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "judge_sample.jsonl"
GOLD = Path(__file__).with_name("outcome_gold_50.json")
SHARED_CAIL = ROOT.parent / "shared" / "data" / "cail2018_sample"
SHARED_CJRC = ROOT.parent / "shared" / "data" / "cjrc_passages" / "dev_ground_truth.json"

#: Exact gold-50 agreement measured when the gold set was labelled; must never drop.
GOLD_EXACT_MATCHES = 50


@cache
def _records() -> dict[str, dict]:
    with SAMPLE.open(encoding="utf-8") as f:
        return {r["text_id"]: r for r in map(json.loads, f)}


def record(prefix: str) -> dict:
    """The sample judgment whose text_id starts with ``prefix``."""
    found = [r for tid, r in _records().items() if tid.startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


def raw_of(rec: dict, **labels: object) -> RawJudgment:
    return RawJudgment(
        source="judge",
        source_id=rec["text_id"],
        location=f"{SAMPLE}:{rec['text_id']}",
        full_text=rec["fd"],
        facts=rec["text"],
        labels=labels or {"la": rec["la"]},
    )


def sections_of(prefix: str):
    return split_sections(record(prefix)["fd"])


def facts_and_reasoning(prefix: str) -> str:
    s = sections_of(prefix)
    return "\n".join(p for p in (s.facts, s.reasoning) if p)


# --- the first judgment end to end -----------------------------------------------------------


def test_first_judgment_full_record() -> None:
    rec = extract(raw_of(record("ff08a56d")))  # 张3 诈骗, 上海市奉贤区人民法院
    assert rec.court == "上海市奉贤区人民法院"
    assert rec.court_level == "basic"
    assert rec.province == "上海市"
    assert rec.case_number == "（2017）沪0120刑初684号"
    assert rec.procedure is Procedure.FIRST
    assert rec.year == 2017
    assert rec.date == "2017-06-28"
    assert rec.defendants == 1
    assert rec.case_type is CaseType.CRIMINAL
    assert rec.charges == ["诈骗罪"]
    assert rec.articles == [266, 23, 67]
    assert rec.outcome is not None
    assert rec.outcome.type is OutcomeType.FIXED_TERM
    assert rec.outcome.months == 7
    assert rec.outcome.fine_yuan == 30000
    assert rec.outcome.probation_months is None
    assert {Circumstance.ATTEMPT, Circumstance.CONFESSION} <= set(rec.circumstances)
    assert Circumstance.SURRENDER not in rec.circumstances
    assert rec.facts.startswith("公诉机关指控")
    assert rec.content_hash == ""  # the quality stage computes it


def test_sections_stop_before_signature_and_statute_appendix() -> None:
    s = sections_of("ff08a56d")
    assert s.head.startswith("上海市奉贤区人民法院") and "公诉机关指控" not in s.head
    assert s.reasoning.startswith("本院认为")
    assert s.judgment.startswith("被告人张3犯诈骗罪")
    assert "诈骗公私财物" not in s.judgment  # the appended article text
    assert "审判员" not in s.judgment
    assert s.signature.startswith("审判员")


# --- head, dates --------------------------------------------------------------------------------


def test_head_behind_a_title_and_province_from_case_number() -> None:
    titled = parse_head(sections_of("fc90ce22").head)  # "牟某甲犯容留他人吸毒罪一审刑事判决书 四川省…"
    assert titled.court == "四川省富顺县人民法院"
    assert titled.province == "四川省"
    assert titled.case_number == "（2016）川0322刑初263号"
    bare = parse_head(sections_of("016900e7").head)  # 常州市金坛区人民法院, no province in the name
    assert bare.province == "江苏省"  # from 苏 in （2018）苏0482刑初260号


def test_second_instance_and_intermediate_court() -> None:
    head = parse_head(sections_of("e451d580").head)
    assert head.court == "河南省信阳市中级人民法院"
    assert head.court_level == "intermediate"
    assert head.procedure is Procedure.SECOND
    assert head.case_type is CaseType.CRIMINAL


def test_defendant_count_from_party_entries() -> None:
    assert parse_head(sections_of("cc640dfd").head).defendants == 3  # 解梦祥, 葛文斌, 付天亮
    assert parse_head(sections_of("ff08a56d").head).defendants == 1


def test_signature_dates_in_chinese_numerals() -> None:
    assert parse_date(sections_of("ff08a56d").signature) == "2017-06-28"
    assert parse_date("审判员李晓杰 二〇一七年六月二十八日 书记员唐婷") == "2017-06-28"
    assert parse_date("二○一八年十二月三十一日") == "2018-12-31"
    assert parse_date("没有日期") is None


# --- numerals -----------------------------------------------------------------------------------


def test_numerals() -> None:
    assert duration_months("一年六个月") == 18
    assert duration_months("十个月") == 10
    assert duration_months("三年") == 36
    assert duration_months("四个月十五日") == 4.5
    assert to_number("三万") == 30000
    assert to_number("一万五千") == 15000
    assert to_number("两千") == 2000
    assert to_number("9万余") == 90000
    assert to_number("3，000") == 3000
    assert to_number("壹仟") == 1000
    assert to_number("12余万") == 120000
    assert to_number("十多万") == 100000
    assert to_number("1万5千") == 15000
    assert to_number("不是数字") is None


# --- charges ------------------------------------------------------------------------------------


def test_cail_bracket_notation_and_variants() -> None:
    assert normalize_charge("[走私、贩卖、运输、制造]毒品") == "走私、贩卖、运输、制造毒品罪"
    assert normalize_charge("盗窃") == "盗窃罪"
    assert normalize_charge("盗窃罪") == "盗窃罪"
    assert normalize_charge("[掩饰、隐瞒][犯罪所得、犯罪所得收益]") == "掩饰、隐瞒犯罪所得、犯罪所得收益罪"
    assert normalize_charge("[隐匿、故意销毁][会计凭证、会计帐簿、财务会计报告]") == (
        "隐匿、故意销毁会计凭证、会计账簿、财务会计报告罪"
    )
    assert normalize_charge("[伪造、变造]居民身份证") == "伪造、变造、买卖身份证件罪"  # renamed
    assert normalize_charge("强制[猥亵、侮辱]妇女") == "强制猥亵、侮辱罪"
    assert normalize_charge("非法买卖制毒物品") == "非法生产、买卖、运输制毒物品、走私制毒物品罪"


def test_selective_charge_parts_map_to_the_listed_name() -> None:
    assert normalize_charge("贩卖毒品罪") == "走私、贩卖、运输、制造毒品罪"
    assert normalize_charge("非法持有枪支罪") == "非法持有、私藏枪支、弹药罪"
    assert normalize_charge("窝藏罪") == "窝藏、包庇罪"
    assert normalize_charge("拒不执行判决罪") == "拒不执行判决、裁定罪"
    assert normalize_charge("组织他人偷越国境罪") == "组织他人偷越国（边）境罪"
    assert normalize_charge("走私") == "走私罪"  # CAIL's bare 走私: several charges, kept as written


def test_garbage_is_not_a_charge() -> None:
    for text in ("", "  ", "罪", "数罪", "前款罪", "犯罪"):
        assert normalize_charge(text) is None


@pytest.mark.skipif(not SHARED_CAIL.is_dir(), reason="needs ../shared/data/cail2018_sample")
def test_every_cail_accusation_is_canonical_except_bare_smuggling() -> None:
    names = set()
    for path in SHARED_CAIL.glob("*.jsonl"):
        with path.open(encoding="utf-8") as f:
            for line in f:
                names.update(json.loads(line)["meta"]["accusation"])
    off_list = {n for n in names if not is_canonical(normalize_charge(n) or "")}
    assert off_list == {"走私"}


def test_charges_from_the_judgment_not_from_prior_convictions() -> None:
    assert extract_charges(record("ff08a56d")["fd"]) == ["诈骗罪"]
    # "与之前犯诈骗罪、容留他人吸毒罪没有执行的…并罚": the earlier sentence is not this case's charge
    assert extract_charges(record("b095332c")["fd"]) == ["容留他人吸毒罪"]
    # "二、撤销…对被告人陈文杰犯帮助毁灭证据罪的判决": a revoked conviction
    assert extract_charges(record("23966d41")["fd"]) == ["窝藏、包庇罪"]
    # 贪污 (免予刑事处罚) and 非国家工作人员受贿 in one 改判
    assert extract_charges(record("e451d580")["fd"]) == ["贪污罪", "非国家工作人员受贿罪"]


def test_charges_in_lists_and_negations() -> None:
    text = sections_of("ff08a56d").reasoning
    assert charges_in(text) == ["诈骗罪"]  # "构成诈骗罪", while "系犯罪未遂" is no charge
    assert charges_in("其行为不构成盗窃罪") == []
    head = sections_of("ff08a56d").head  # "…指控被告人张3犯诈骗罪…"
    assert charges_in(head) == []
    assert charges_in(head, allow_accusation=True) == ["诈骗罪"]


# --- articles -----------------------------------------------------------------------------------


def test_articles_of_the_criminal_law_only() -> None:
    s = sections_of("ff08a56d")
    assert extract_articles(s.reasoning) == [266, 23, 67]
    drunk = sections_of("6f565b46")  # 第一百三十三条之一 → 133
    assert extract_articles(drunk.reasoning)[0] == 133
    appeal = sections_of("e451d580")  # cites 《中华人民共和国刑事诉讼法》第二百三十六条 too
    assert "刑事诉讼法" in appeal.reasoning
    assert extract_articles(appeal.reasoning) == [382, 163, 67, 69, 64]


# --- outcome ------------------------------------------------------------------------------------


def judgment_outcome(prefix: str):
    return parse_outcome(sections_of(prefix).judgment)


def test_outcome_forms() -> None:
    drunk = judgment_outcome("6f565b46")  # 拘役一个月，缓刑二个月，并处罚金人民币二万元
    assert (drunk.type, drunk.months, drunk.probation_months, drunk.fine_yuan) == (
        OutcomeType.DETENTION,
        1,
        2,
        20000,
    )
    days = judgment_outcome("d2ba6045")  # 拘役四个月十五日
    assert days.months == 4.5
    exempt = judgment_outcome("fb364f6a")  # 判处免予刑事处罚
    assert exempt.type is OutcomeType.EXEMPTION and exempt.months is None
    surveillance = judgment_outcome("cf6d4169")  # 管制一年，并处罚金人民币二万元
    assert (surveillance.type, surveillance.months, surveillance.fine_yuan) == (
        OutcomeType.SURVEILLANCE,
        12,
        20000,
    )
    property_ = judgment_outcome("dca784b8")  # 决定执行有期徒刑七年六个月，并处没收财产人民币三十万元
    assert (property_.months, property_.confiscation, property_.fine_yuan) == (90, True, 0)


def test_outcome_of_multiple_counts_and_appeals() -> None:
    # 贪污罪 免予刑事处罚；受贿罪 有期徒刑六个月；决定执行有期徒刑六个 (sic)
    assert judgment_outcome("e451d580").months == 6
    # 维持 the fine (10000), 撤销 the 3y6m term, new term 二年三个月
    upheld = judgment_outcome("c1c33a99")
    assert (upheld.months, upheld.fine_yuan) == (27, 10000)
    # item 二 revokes and quotes 决定执行有期徒刑八年; item 三 decides 六年
    assert judgment_outcome("1dc32019").months == 72
    # "三、薛兵兵犯盗窃罪，判处有期徒刑三年缓刑四年" without 被告人
    bare = judgment_outcome("b8497ccf")
    assert (bare.months, bare.probation_months, bare.fine_yuan) == (36, 48, 20000)
    # "数罪并罚，决定合并执行有期徒刑二年六个月"
    assert judgment_outcome("002a95c7").months == 30


@pytest.mark.skipif(not SHARED_CJRC.is_file(), reason="needs ../shared/data/cjrc_passages")
def test_death_and_life_sentences_quoted_in_cjrc_passages() -> None:
    """The JuDGE sample has no death or life sentence; CJRC passages quote real ones."""
    doc = json.loads(SHARED_CJRC.read_text(encoding="utf-8"))
    contexts = {str(item.get("caseid")): p["context"] for item in doc["data"] for p in item["paragraphs"]}

    def sentence(caseid: str, start: str) -> str:
        text = contexts[caseid]
        begin = text.index(start)
        return text[begin : text.index("。", begin) + 1]

    # 放火罪 死刑 + 抢夺罪 二年, 决定执行死刑，…并处罚金人民币五千元
    fire = parse_outcome(sentence("648", "认定被告人游1某"))
    assert (fire.type, fire.months, fire.fine_yuan) == (OutcomeType.DEATH, None, 5000)
    # 判处无期徒刑，剥夺政治权利终身，并处没收财产二千八百元
    life = parse_outcome(sentence("692", "被告人苏2某因犯抢劫罪"))
    assert (life.type, life.confiscation) == (OutcomeType.LIFE, True)


def test_no_outcome_without_a_sentence() -> None:
    assert parse_outcome(None) is None
    assert parse_outcome(sections_of("ff08a56d").reasoning) is None


def test_gold_50_agreement() -> None:
    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    assert len(gold) == 50
    exact = 0
    for item in gold:
        got = parse_outcome(split_sections(record(item["text_id"])["fd"]).judgment)
        assert got is not None, item["text_id"]
        same = (
            got.type.value == item["type"]
            and got.months == item["months"]
            and got.probation_months == item["probation_months"]
            and got.fine_yuan == item["fine_yuan"]
            and got.confiscation == item.get("confiscation", False)
        )
        exact += same
    assert exact >= GOLD_EXACT_MATCHES


# --- circumstances ------------------------------------------------------------------------------


def test_surrender_negation() -> None:
    # 辩护人称自首; 本院: "依法不构成自首…不予采纳", but 当庭如实供述
    found = extract_circumstances(facts_and_reasoning("dda6f05b"))
    assert Circumstance.SURRENDER not in found
    assert Circumstance.CONFESSION in found
    # "被告人…自动投案，如实供述…系自首": 如实供述 is part of the surrender there
    assert Circumstance.SURRENDER in extract_circumstances(facts_and_reasoning("016900e7"))


def test_other_circumstances() -> None:
    assert Circumstance.MINOR in extract_circumstances(facts_and_reasoning("1386cf93"))  # 作案时不满十八周岁
    informer = extract_circumstances(facts_and_reasoning("c1ee45a6"))  # 未查证属实，依法不构成立功
    assert Circumstance.MERITORIOUS not in informer
    recidivist = extract_circumstances(facts_and_reasoning("b095332c"))
    assert {Circumstance.RECIDIVISM, Circumstance.PRIOR_RECORD} <= set(recidivist)
    traffic = extract_circumstances(facts_and_reasoning("c1c472bc"))
    assert {Circumstance.FORGIVENESS, Circumstance.COMPENSATION} <= set(traffic)


def test_prior_record_read_from_the_head() -> None:
    rec = extract(raw_of(record("37c160b5")))  # 南阳: no prior record
    assert Circumstance.PRIOR_RECORD not in rec.circumstances
    rec = extract(raw_of(record("dda6f05b")))  # 杨其艮: 累犯
    assert Circumstance.PRIOR_RECORD in rec.circumstances


# --- quantities ---------------------------------------------------------------------------------


def test_blood_alcohol_prefers_the_blood_test() -> None:
    assert extract_quantities(facts_and_reasoning("6f565b46")).blood_alcohol_mg_100ml == 83.21  # mg／100ml
    # breath 168 毫克／100毫升, then blood 179 毫克／100毫升
    assert extract_quantities(facts_and_reasoning("478d2d9a")).blood_alcohol_mg_100ml == 179


def test_injuries() -> None:
    q = extract_quantities(facts_and_reasoning("fcbfabe0"))  # 孙某3 重伤二级; 血醇 91.23mg／100ml
    assert (q.injuries.serious, q.injuries.deaths, q.blood_alcohol_mg_100ml) == (1, 0, 91.23)
    q = extract_quantities(facts_and_reasoning("c1c472bc"))  # 一人死亡、五人轻伤一级
    assert (q.injuries.deaths, q.injuries.minor) == (1, 5)
    assert extract_quantities(facts_and_reasoning("37c160b5")).injuries.deaths == 2  # 致使二人死亡
    assert extract_quantities(facts_and_reasoning("766f226f")).injuries.minor == 3  # 金某、刘某某、向某某


def test_amounts_and_drugs() -> None:
    assert extract_quantities(facts_and_reasoning("dca784b8")).amount_yuan == 269790  # 合计人民币269790元
    # 造成…死亡; the 30000元 paid to the families is compensation, not an amount
    assert extract_quantities(facts_and_reasoning("37c160b5")).amount_yuan is None
    drugs = extract_quantities(facts_and_reasoning("b095332c"))  # 容留…吸食海洛因
    assert drugs.drug_type == "海洛因"


#: Verbatim snippets of CAIL2018 facts (../shared/data/cail2018_sample/FILE, 1-based LINE, field
#: ``fact``) and the amount each states, read off the text: written forms (160余万元, 36，500.00元,
#: 1550多元, 二十万某, 50万某 = CAIL's masking of 50万元), obtaining words (××, 取走, 收受…好处费),
#: and figures that are not the amount (fines, compensation claims, repayment, unit prices).
CAIL_AMOUNTS: list[tuple[str, int, str, float | None]] = [
    ("train.jsonl", 1282, "后二人相继通过物流发送给刘2某花生共计4车，价值160余万元。", 1_600_000),
    (
        "train.jsonl",
        911,
        "虚开增值税专用发票1497份，价税合计17300余万元，税额2500余万元，其中被受票方税务机关认证抵扣税款2400余万元。",
        173_000_000,
    ),
    ("train.jsonl", 556, "从而骗取其钱款共计人民币12余万元，均用于个人消费及赌博。", 120_000),
    ("train.jsonl", 553, "编造各种理由骗取王某某人民币36，500.00元，案发前返还被害人8，000.00元。", 36_500),
    ("train.jsonl", 823, "在一女士挎包内以及一衣服口袋里共盗得1550多元人民币。", 1_550),
    ("train.jsonl", 377, "以合作开发土地为名骗取被害人赵某50万某，后其将50万某用于个人消费和支出。", 500_000),
    ("train.jsonl", 1624, "骗取被害人李某某二十万某风险保证金后逃跑。", 200_000),
    (
        "train.jsonl",
        371,
        "但需要费用，并以疏通关系、请领导吃饭等理由多次骗取张某某钱财，共计32.35万某人民币",
        323_500,
    ),
    ("train.jsonl", 810, "用胳膊将窗户玻璃撞碎，潜入郑某家中，××人民币3600元。", 3_600),
    ("train.jsonl", 1726, "通过后台操作取走银行卡内的人民币（币种下同）179562元。", 179_562),
    (
        "test.jsonl",
        339,
        "以借款的名义向大地公司赵2某索要好处费60000元，闫4某共计收受好处费310000元。",
        310_000,
    ),
    (
        "train.jsonl",
        516,
        "以家人病重需手术、后续医疗及准备处理后事费用不够为由，骗取被害人成某现金人民币48000元。",
        48_000,
    ),
    (
        "train.jsonl",
        1757,
        "无法归还，经银行二次催收后满三个月仍不归还，透支金额共计人民币50286.8元。",
        50_286.8,
    ),
    (
        "train.jsonl",
        1719,
        "该卡从2013年10月31日开始透支至2014年1月29日透支本金19875.39元。",
        19_875.39,
    ),
    # repayment after the figure, a fine, a compensation claim and unit prices are not amounts
    ("train.jsonl", 1719, "后任某某将透支的全部本息40，128.13元偿还完毕。", None),
    ("train.jsonl", 649, "苏某因犯××罪被判处××，并处罚金1万元。", None),
    (
        "train.jsonl",
        397,
        "要求被告人唐1某赔偿经济损失共计人民币28493.66元。其中，医疗费16738.66元，误工费4810元，",
        None,
    ),
    (
        "train.jsonl",
        9,
        "要求被告人杨某赔偿医疗费15773元、误工费4000元、护理费1500元、住院伙食补助费1000元、营养费1500元、交通费800元，共计经济损失24573元。",
        None,
    ),
    (
        "train.jsonl",
        1497,
        "孙某某以每吨265元、260元不等的价格向陈某某购买面煤，后以175元的价格卖给河北省滦县一洗煤厂。",
        None,
    ),
]


@pytest.mark.parametrize(("name", "line", "snippet", "amount"), CAIL_AMOUNTS)
def test_amounts_in_cail_facts(name: str, line: int, snippet: str, amount: float | None) -> None:
    assert extract_quantities(snippet).amount_yuan == amount


@pytest.mark.skipif(not SHARED_CAIL.is_dir(), reason="needs ../shared/data/cail2018_sample")
def test_cail_amount_snippets_are_verbatim() -> None:
    for name, line, snippet, _ in CAIL_AMOUNTS:
        with (SHARED_CAIL / name).open(encoding="utf-8") as f:
            fact = next(row for i, row in enumerate(f, 1) if i == line)
        assert snippet in json.loads(fact)["fact"], (name, line)


# --- labels and errors ----------------------------------------------------------------------------


def cail_raw(facts: str, term: object, money: object = 0) -> RawJudgment:
    return RawJudgment(
        source="cail2018",
        source_id="t:1",
        location="test:1",
        facts=facts,
        labels={
            "accusation": ["[走私、贩卖、运输、制造]毒品"],
            "relevant_articles": [347],
            "term_of_imprisonment": term,
            "punish_of_money": money,
            "criminals": ["甲"],
        },
    )


def test_labels_fill_what_facts_do_not_state() -> None:
    facts = record("ff08a56d")["text"].strip()
    rec = extract(
        cail_raw(facts, {"imprisonment": 8, "death_penalty": False, "life_imprisonment": False}, 2000)
    )
    assert rec.charges == ["走私、贩卖、运输、制造毒品罪"]
    assert rec.articles == [347]
    assert (rec.outcome.type, rec.outcome.months, rec.outcome.fine_yuan) == (OutcomeType.FIXED_TERM, 8, 2000)
    assert rec.defendants == 1
    zero = extract(
        cail_raw(facts, {"imprisonment": 0, "death_penalty": False, "life_imprisonment": False}, 5000)
    )
    assert zero.outcome.type is OutcomeType.FINE_ONLY
    death = extract(cail_raw(facts, {"imprisonment": 0, "death_penalty": True, "life_imprisonment": False}))
    assert death.outcome.type is OutcomeType.DEATH


def test_malformed_labels_and_missing_facts_raise() -> None:
    facts = record("ff08a56d")["text"].strip()
    with pytest.raises(RecordError) as err:
        extract(cail_raw(facts, {"imprisonment": -3, "death_penalty": False, "life_imprisonment": False}))
    assert err.value.field == "labels.term_of_imprisonment.imprisonment"
    with pytest.raises(RecordError) as err:
        extract(cail_raw(facts, {"imprisonment": "八个月"}))
    assert err.value.field == "labels.term_of_imprisonment.imprisonment"
    with pytest.raises(RecordError) as err:
        extract(cail_raw(facts, "8"))
    assert err.value.field == "labels.term_of_imprisonment"
    with pytest.raises(RecordError) as err:
        extract(RawJudgment(source="cail2018", source_id="t:2", location="test:2", facts="  "))
    assert (err.value.field, err.value.reason) == ("facts", "missing facts")


def test_civil_case_keeps_its_cause_and_no_charges() -> None:
    facts = record("ff08a56d")["text"].strip()
    raw = RawJudgment(
        source="cjrc",
        source_id="c:1",
        location="test:3",
        facts=facts,
        labels={"case_type": "civil", "cause": "民间借贷纠纷"},
    )
    rec = extract(raw)
    assert (rec.case_type, rec.cause, rec.charges, rec.outcome) == (CaseType.CIVIL, "民间借贷纠纷", [], None)


def test_whole_sample_extracts() -> None:
    for rec in _records().values():
        out = extract(raw_of(rec))
        assert out.outcome is not None and out.charges and out.articles and out.court
        assert all(is_canonical(c) for c in out.charges)


def _normalize_digits_by_definition(text: str) -> str:
    """Full-width digits to ASCII, then a separator between digits: the plain lookbehind form."""
    import re

    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    text = re.sub(r"(?<=\d)[．·](?=\d)", ".", text)
    return re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)


def test_normalize_digits_matches_its_definition_on_real_facts_and_edge_texts() -> None:
    from indexing.extract import normalize_digits
    from tests.conftest import SAMPLES

    texts = [json.loads(line)["fact"] for line in (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    texts += ["１２３，４５６．７８元", "3，000元", "3，0000元", "95．64", "1,234,567", "a·b 1·2 ３·４", "，1，", "9，", ""]
    assert sum(normalize_digits(t) != t for t in texts) > 10  # the texts do exercise it
    for text in texts:
        assert normalize_digits(text) == _normalize_digits_by_definition(text), text
    assert normalize_digits("１２３，４５６．７８元") == "123456.78元"


def test_months_only_labels_get_the_type_the_charge_allows() -> None:
    """CAIL gives months without the type: 危险驾驶罪 is 拘役 only (刑法第一百三十三条之一), and a term
    under six months is never 有期徒刑 (刑法第四十五条); each case records its possible brackets."""
    from indexing.parse import parse_file

    records = [extract(r) for r in parse_file(ROOT / "data_samples" / "cail_sample.jsonl") if isinstance(r, RawJudgment)]
    drunk = [r for r in records if r.charges == ["危险驾驶罪"] and r.outcome and r.outcome.months]
    assert len(drunk) >= 20 and all(r.outcome.type is OutcomeType.DETENTION for r in drunk)  # type: ignore[union-attr]
    assert all(r.brackets == {"危险驾驶罪": [0]} for r in drunk)
    short = [r for r in records if r.outcome and r.outcome.months and r.outcome.months < 6]
    assert short and all(r.outcome.type is not OutcomeType.FIXED_TERM for r in short)  # type: ignore[union-attr]
    assert sum(bool(r.brackets) for r in records) >= 0.95 * len(records)


def test_a_former_charge_name_is_kept_on_the_record() -> None:
    raw = RawJudgment(source="cail2018", source_id="former", location="t", facts="被告人张某非法获取公民个人信息五千余条，出售获利三千元。",
                      labels={"accusation": ["非法获取公民个人信息"], "term_of_imprisonment": {"imprisonment": 8}})
    record = extract(raw)
    assert record.charges == ["侵犯公民个人信息罪"]
    assert record.charges_as_written == {"侵犯公民个人信息罪": "非法获取公民个人信息罪"}


def test_a_text_without_a_head_is_typed_by_its_own_words() -> None:
    """Civil paragraphs pasted without a head are civil; no criminal text of the samples is read as civil."""
    def typed(text: str) -> CaseType:
        return extract(RawJudgment(source="draft", source_id="d", location="t", facts=text)).case_type

    cjrc = json.loads((ROOT / "data_samples" / "cjrc_sample.json").read_text(encoding="utf-8"))["data"]
    civil = [typed(p["context"]) for e in cjrc if e["domain"] == "civil" for p in e["paragraphs"]]
    criminal = [typed(p["context"]) for e in cjrc if e["domain"] == "criminal" for p in e["paragraphs"]]
    cail = [typed(json.loads(line)["fact"]) for line in (ROOT / "data_samples" / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    lecard = [typed(json.loads(line)["q"]) for line in (ROOT / "data_samples" / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(t is CaseType.CRIMINAL for t in criminal + cail + lecard)
    assert sum(t is CaseType.CIVIL for t in civil) >= 0.7 * len(civil)
    assert typed("经审理查明：原告王某与被告人寿保险公司签订保险合同，约定……") is CaseType.CIVIL  # 被告 + 人寿
    assert typed("另查明，原告之子曾因犯盗窃罪被判刑。原告诉讼请求：被告偿还借款5万元。") is CaseType.CIVIL
    assert typed("被告人拒不执行法院判决，判决被告给付原告货款18万元。") is CaseType.CRIMINAL


def test_case_type_in_words_on_real_texts_without_a_head() -> None:
    """The 经审理查明 paragraph a judge pastes: CJRC civil passages read civil, CAIL facts and LeCaRD
    queries criminal (measured on the whole shared CJRC dev/test files: civil 948 of 997 after the
    no-role-word cues, was 812; CAIL 0 of 5,072 read civil)."""
    from indexing.schema import CaseType
    from indexing.sections import case_type_in_words
    from tests.conftest import SAMPLES

    cjrc = json.loads((SAMPLES / "cjrc_sample.json").read_text(encoding="utf-8"))["data"]
    by_domain: dict[str, list] = {"civil": [], "criminal": []}
    for item in cjrc:
        for para in item["paragraphs"]:
            by_domain[item["domain"]].append(case_type_in_words(para["context"]))
    assert by_domain["civil"].count(CaseType.CIVIL) >= 0.9 * len(by_domain["civil"]), by_domain["civil"]
    assert CaseType.CIVIL not in by_domain["criminal"]
    cail = [json.loads(x)["fact"] for x in (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    lecard = [json.loads(x)["q"] for x in (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    assert not [t[:60] for t in cail + lecard if case_type_in_words(t) == CaseType.CIVIL]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("原告人保沈阳分公司向本院提出诉讼请求", "civil"),  # 人保 is an insurer, not 原告人
        ("担保方:被告人民公司和被告明16公司签订补充协议", "civil"),
        ("原告在本案中指控被告生产、销售侵权产品", "civil"),  # a plaintiff's allegation is no prosecution
        ("经审理查明，原、被告于2005年登记结婚，2009年生一子", "civil"),  # no role word: a marriage
        ("另查明，被告园林绿化公司为员工投保了公众责任保险", "civil"),
        ("经审理查明，赵某因感情纠葛持菜刀将被害人潘某头部砍伤", "criminal"),  # no role word: a victim
        ("拒不执行判决、裁定事实：苏某向周某借款10万元，调解书生效后苏某没有履行", "criminal"),
        ("公诉机关指控，被告人张某盗窃", "criminal"),
    ],
)
def test_case_type_in_words_reads_roles_then_subject(text: str, expected: str) -> None:
    from indexing.sections import case_type_in_words

    assert case_type_in_words(text).value == expected
