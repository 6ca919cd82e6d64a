"""Civil legal elements read from real CJRC passages (tests/indexing/data/cjrc_civil_elements.jsonl: the 24
passages of the shared CJRC dev/test files whose cause is a loan, a divorce or a traffic accident,
anonymized as CJRC publishes them). Expected values were read off each passage by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.civil_elements import CAUSE_FAMILIES, compare_elements, family_of, read_elements

PASSAGES = {
    p["pid"]: p
    for p in map(json.loads, (Path(__file__).parent / "data" / "cjrc_civil_elements.jsonl").read_text(encoding="utf-8").splitlines())
}
LOANS = CAUSE_FAMILIES[0]


def elements(pid: str) -> dict:
    p = PASSAGES[pid]
    family = family_of(p["cause"], p["text"])
    assert family is not None, pid
    return read_elements(family, p["text"])


@pytest.mark.parametrize(
    ("pid", "expected"),
    [
        # 借款人民币8万元, 承担连带责任保证, 出具了借条, 未向原告偿还借款本息; 原告肖x0 v 被告董x3
        ("dev_ground_truth:136:0", {"principal_yuan": 80000.0, "guarantee": True, "repaid_yuan": 0.0,
                                    "evidence": ["借条"], "parties": "自然人诉自然人"}),
        # 200万 and 500万 lent at 月息2% (+ fees); 偿还上述欠款的利息共计40万元
        ("dev_ground_truth:135:0", {"principal_yuan": 5_000_000.0, "annual_interest_percent": 24.0, "repaid_yuan": 400_000.0}),
        # 借款人民币25万元 with 担保方 and a 抵押; 借款协议未约定借款利息
        ("test_ground_truth:135:0", {"principal_yuan": 250_000.0, "annual_interest_percent": 0.0, "guarantee": True}),
        # 借款160万元, 转款142万、18万元; payments 64000 … 200000 元, 合计576000元 (a 还款计划 of 60万 is no payment)
        ("test_ground_truth:136:0", {"principal_yuan": 1_600_000.0, "repaid_yuan": 576_000.0, "evidence": ["借条", "转账记录"]}),
        # 发放的贷款10000元; 已偿还 … 本金4998元、利息720元、行政管理费480元,共计6198元
        ("test_ground_truth:214:0", {"principal_yuan": 10_000.0, "repaid_yuan": 6198.0}),
        # 黄x3承担此事故的主要责任, 行人次要责任; 抢救无效死亡; 交强险和…第三者责任险
        ("dev_ground_truth:145:0", {"liability": ["主要", "次要"], "death": True, "compulsory_insurance": True,
                                    "commercial_insurance": True}),
        # 生育一女, 原告认为被告有家庭暴力行为
        ("dev_ground_truth:418:0", {"children": True, "domestic_violence": True}),
    ],
)
def test_elements_read_off_real_passages(pid: str, expected: dict) -> None:
    found = elements(pid)
    assert {k: found.get(k) for k in expected} == expected


def test_every_passage_of_a_family_yields_elements_and_its_cause_picks_the_family() -> None:
    families = {p["pid"]: family_of(p["cause"], p["text"]) for p in PASSAGES.values()}
    assert {f.name for f in families.values() if f} == {"借贷", "离婚", "交通事故"}
    with_elements = [pid for pid in PASSAGES if elements(pid)]
    assert len(with_elements) >= 23, set(PASSAGES) - set(with_elements)  # test 147 (a storage contract dispute) says little


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("被告借原告人民币三万元，月息2分，无担保，分文未还。",
         {"principal_yuan": 30000.0, "annual_interest_percent": 24.0, "guarantee": False, "repaid_yuan": 0.0}),
        ("借款本金为100000元，年利率6%，原告某某公司诉被告张某。", {"principal_yuan": 100000.0, "annual_interest_percent": 6.0,
                                                          "parties": "单位诉自然人"}),
        ("约定年息1分，借款5万元，至今已还款1万元。", {"annual_interest_percent": 10.0, "repaid_yuan": 10000.0}),
    ],
)
def test_phrasings_of_rates_guarantees_and_repayment(text: str, expected: dict) -> None:
    assert family_of(None, text) is LOANS
    found = read_elements(LOANS, text)
    assert {k: found.get(k) for k in expected} == expected


def test_a_text_without_a_stated_cause_gets_the_family_its_words_say_or_none() -> None:
    assert family_of(None, "原告张某与被告李某民间借贷纠纷一案") is LOANS
    assert family_of(None, "原、被告于2005年登记结婚，婚后育有一子，现夫妻感情破裂。").name == "离婚"
    assert family_of(None, "被告人张某盗窃他人财物价值三千元。") is None
    assert family_of("不当得利纠纷", "借款5万元，借条一张") is None  # a stated cause outside the families wins


def test_comparison_says_same_different_or_one_side_only() -> None:
    draft = read_elements(LOANS, "被告向原告借款5万元，月利率2%，出具借条，分文未还。")
    case = read_elements(LOANS, "被告向原告借款5.5万元，年利率24%，有保证人，出具借据，已归还2万元。")
    by_key = {e["element"]: e for e in compare_elements(LOANS, draft, case)}
    assert by_key["principal_yuan"]["same"] is True  # 5万 and 5.5万: the same size of loan
    assert by_key["principal_yuan"]["draft_text"] == "50,000元" and by_key["principal_yuan"]["case_text"] == "55,000元"
    assert by_key["annual_interest_percent"]["same"] is True
    assert by_key["repaid_yuan"] == {**by_key["repaid_yuan"], "draft": 0.0, "case": 20000.0, "same": False}
    assert by_key["guarantee"]["same"] is None and by_key["guarantee"]["draft"] is None
    assert by_key["evidence"]["same"] is False  # 借条 v 借据
    assert "parties" not in by_key  # neither text names the parties' kind
