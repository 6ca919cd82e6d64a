"""Names with no role word before them (issue 19, part 3), on real sentences quoted from ../shared/data:
LeCaRDv2 heads (``v2 <file> <id>``), LeCaRD queries (``v1 <ridx>``), JuDGE full texts (``judge <index>``,
none from the gold set's TEST documents), CAIL2018 facts and CJRC passages. The last test scores the
hand-labelled TEST half of the gold spans (tests/indexing/data/name_spans_gold.jsonl) against the JuDGE
texts it was drawn from.
"""

from __future__ import annotations

import json

import pytest

from evaluation.name_spans_report import load_gold, score
from evaluation.name_spans_sample import GOLD, JUDGMENTS
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.anonymize import anonymize_text, find_names
from indexing.names_in_text import names_in_running_text

# ----------------------------------------------------------------------------------- names found


def test_witness_named_before_her_statement() -> None:
    # judge 468: a witness named only in the list of evidence
    text = ("到案经过、人身安全检查笔录、被告人褚聚藏的供述与辩解、王俊荣的证言、洛阳黎明检测服务有限公司检测报告、"
            "人口基本信息表等，以上证据已经法庭质证")
    masked, names, _ = anonymize_text(text)
    assert set(names) == {"褚聚藏", "王俊荣"}
    assert "王某的证言、洛阳黎明检测服务有限公司检测报告" in masked


def test_third_party_named_once_then_by_surname() -> None:
    # v1 3746: 王艳玲 is named once in full, then as 王 in 从王手中
    text = "李找到一起吸食冰毒的王艳玲，以500元的价格从王手中购买0.6克冰毒，李将冰毒平均分成两份"
    masked, names, _ = anonymize_text(text)
    assert set(names) == {"王艳玲"}
    assert "一起吸食冰毒的王某，以500元的价格从王手中购买" in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # v2 controversial 607: 从X处
        ("2、证人吕某某的证言：2012年4月，我从陈瑞朝处得知阳西有荔枝灌溉项目并经他找到刘某某", {"陈瑞朝"}),
        # v2 test 545: 与X一起
        ("证明其在林盛灌父亲林某1的委托下，与温鸿庚一起去澳门三家赌场要求调取和打印林盛灌洗码记录的经过。", {"温鸿庚"}),
        # v2 test 5: 向X借款
        ("6.借条，证实2014年5月10日李会民向杜志军借款89万元人民币，如不能偿还自愿用其住房赔偿。", {"杜志军"}),
        # v2 test 35: X等人, and the list it closes
        ("并通过收取“版权费”及使用费的形式，向徐志强、仇爱玲、邱俊等人非法出售该游戏外挂程序计62个",
         {"徐志强", "仇爱玲", "邱俊"}),
        # judge 485: 伙同X、Y、Z（均另案处理）
        ("被告人彭传兵利用其担任武汉铁路局荆门桥工段劳动服务公司（以下简称劳服公司）经理的职务便利，"
         "伙同黄建华、宋艳琴、陈洪艳（均另案处理），经预谋后，从余某处虚开了3张价值240215元的发票",
         {"彭传兵", "黄建华", "宋艳琴", "陈洪艳"}),
        # v2 test 105: 将X杀害
        ("在莱州市城港路街道路个庄村绿化地内持刀将王会学杀害，并将其尸体肢解", {"王会学"}),
        # v2 test 410: after 被害人 with no punctuation (the role-word finder's case, kept)
        ("（1）被害人姜明忠陈述及辨认笔录证实，2015年10月份一天下午6点，我在玲珑湾打麻将", {"姜明忠"}),
    ],
)
def test_names_found_by_cues(text: str, expected: set[str]) -> None:
    assert set(find_names([text])) == expected


def test_a_name_found_by_one_cue_is_masked_everywhere() -> None:
    # judge 363, without the role word that names him elsewhere in the judgment
    text = "并以人民币320元的价格从徐鹏达处购买相应毒品并要求徐鹏达送货。当日20时许，徐鹏达将大麻烟"
    masked, names, report = anonymize_text(text)
    assert names == {"徐鹏达": "徐某"}
    assert report.names == 3 and "徐鹏达" not in masked


def test_a_word_like_name_needs_a_second_cue() -> None:
    # v2 controversial 672: 建国 is a word, so 秦建国的询问笔录 alone is not enough; the list in
    # which 张六生 (found by his own 询问笔录) stands with him is the second cue
    own = "25、秦建国的询问笔录，主要内容：宋某计划开发“桥鑫佳苑”的时候，周边邻"
    listed = "最后通过我和秦建国、张六生作为中间人，郑宝来和宋某又签了一份补充协议。"
    other = "24、张六生的询问笔录，主要内容：郑宝来与宋某签订的《施工道路使用协议》"
    assert names_in_running_text([own]) == []
    assert names_in_running_text([listed, other]) == ["张六生"]
    assert set(names_in_running_text([own, listed, other])) == {"秦建国", "张六生"}


def test_masking_twice_changes_nothing() -> None:
    text = ("被告人彭传兵利用其担任劳服公司经理的职务便利，伙同黄建华、宋艳琴、陈洪艳（均另案处理），经预谋后，"
            "李找到一起吸食冰毒的王艳玲，以500元的价格从王手中购买0.6克冰毒")
    masked = anonymize_text(text)[0]
    assert anonymize_text(masked)[0] == masked


# ------------------------------------------------------------------------------- words kept


@pytest.mark.parametrize(
    "text",
    [
        # common words after 与 / 从 / 向 / 和 and words starting with a surname (CAIL train 137, 499, 2196, 334)
        "被告人吴某在濉溪县南坪镇路东村西某家中与其公公王某发生争执，争执中吴某用菜刀将王某左臂砍伤。",
        "被告人王某驾驶其所有的苏C×××××号货车从事货物运输时，先后八次从葛某（另案处理）处购买更改入口信息的高速公路通行卡",
        "因疏忽大意，撞同向前方王某甲驾驶的自行车，致王某甲严重颅脑损伤而死亡",
        "被告人高某驾驶摩托车窜至汕头市潮阳区和平镇和平居委平新路十一巷3号被害人郑某某的家中",
        # cue positions holding something that is not a person (v2 test 15, 220, 550; controversial 654, 691, 612,
        # 604, 684)
        "从2016年9月份开始，其因资金需求向高利贷借款，其最早向一个叫黄某的人借款",
        "没有打开车门子，我就赶紧从车窗处爬出来了。",
        "判处实刑并从重从严惩处；",
        "以该地点搭建的简易房需赔偿为由围堵施工现场,造成停工,同时向施工方索要钱财。",
        "这次我是在2017年6月底某天晚上20时左右向那男子购买手机的，地点是在我的手机店中。",
        "《场地租赁合同》证实：滨江街道从国资委手中承租海珠区纺织路1号闲置地块。",
        "其原系阳光公司总经理，经易总介绍，2008年其与雨花区经济开发区管委会（原环科园）负责人洽谈",
        "从来没有处理过树木等地表附着物。",
        # body parts, a surname alone before a verb, a role noun (CAIL train 206, 1420; CJRC)
        "被告人邱某将王某丙打伤，将王某丙的父亲王某甲升殴打致左肩受伤。",
        "被白某的同伙用猎枪将孙左脚打伤，后梁2某伙同白某等人将陈某某蒙上双眼",
        "找到被害人廖某某并向廖追讨借款。",
        "此证据证明不了原告跟原房主一起居住23年,应该有户籍证明",
    ],
)
def test_words_in_cue_positions_are_not_names(text: str) -> None:
    assert find_names([text]) == []
    assert anonymize_text(text)[0] == text


def test_a_word_in_one_cue_position_stays() -> None:
    # v2 controversial 455: 马蜂 ('hornet') may be a person here, but one cue does not outweigh the word
    assert names_in_running_text(["让我去接他，我和马蜂一起去接上了他，这时他又说卖冰毒的联系不上了"]) == []


# ---------------------------------------------------------------------------------- gold spans

#: Measured once on the TEST half with the finder frozen (python -m evaluation.name_spans_report, written to
#: docs/benchmarks/name_spans.json: 47 of 51 names masked, no non-name masked), minus a tolerance of 0.05:
#: a change to the finder that loses more fails here.
TEST_PRECISION = 1.0 - 0.05
TEST_RECALL = 47 / 51 - 0.05


def test_gold_set_is_labelled_and_split_by_document() -> None:
    if not GOLD.is_file():
        pytest.skip(f"{GOLD} missing")
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 150 and all(r["is_person_name"] is not None for r in rows)
    assert {True, False} <= {r["is_person_name"] for r in rows}
    docs = {s: {r["doc"] for r in rows if r["split"] == s} for s in ("DEV", "TEST")}
    assert docs["DEV"] and docs["TEST"] and not docs["DEV"] & docs["TEST"]


def test_precision_and_recall_on_the_gold_test_half() -> None:
    if not GOLD.is_file():
        pytest.skip(f"{GOLD} missing")
    if not (DEFAULT_BENCHMARK_DATA / JUDGMENTS).is_file():
        pytest.skip(f"JuDGE texts not found under {DEFAULT_BENCHMARK_DATA}")
    figures = score([r for r in load_gold() if r["split"] == "TEST"], DEFAULT_BENCHMARK_DATA)["splits"]["TEST"]
    assert figures["spans"] >= 75 and figures["names"] >= 20
    assert figures["precision"] >= TEST_PRECISION, figures
    assert figures["recall"] >= TEST_RECALL, figures
