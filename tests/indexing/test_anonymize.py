"""Anonymization on real judgment text: LeCaRDv2 heads with real names (data_samples/) and real
snippets copied from ../shared/data (CAIL2018, CJRC, JuDGE, LeCaRDv2). One synthetic number is used
as a pure format test and says so."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import pytest

from indexing.anonymize import MaskReport, anonymize, anonymize_text, find_names
from indexing.schema import CaseRecord, make_case_id
from tests.conftest import SAMPLES

HEADS = SAMPLES / "lecardv2_heads.jsonl"
DEFENDANT = re.compile(r"被告人([\u4e00-\u9fff]{2,4})[，,]\s*(?:男|女)")


@lru_cache(maxsize=1)
def _heads() -> tuple[dict, ...]:
    with HEADS.open(encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


def _head(record_id: int) -> dict:
    return next(r for r in _heads() if r["id"] == record_id)


def _masked_pair(row: dict) -> tuple[str, str, dict[str, str]]:
    """Head and facts of one LeCaRDv2 record, anonymized as the search service and ingest do."""
    query, names, _ = anonymize_text(row["query"])
    fact, names, _ = anonymize_text(row["fact"], names=names, head=row["query"])
    return query, fact, names


def _record(row: dict) -> CaseRecord:
    return CaseRecord(
        case_id=make_case_id("lecardv2", str(row["id"])),
        source="lecardv2",
        source_id=str(row["id"]),
        facts=row["fact"],
        reasoning=row["query"][-400:],
    )


# --------------------------------------------------------------------------------------------- names


def test_no_defendant_name_survives_on_real_heads() -> None:
    names_seen = 0
    left = []
    for row in _heads():
        query, fact, _ = _masked_pair(row)
        for name in set(DEFENDANT.findall(row["query"])):
            names_seen += 1
            if name in query or name in fact:
                left.append((row["id"], name))
    assert names_seen >= 30
    assert left == []


def test_anonymize_record_uses_the_head_and_keeps_other_fields() -> None:
    row = _head(720)  # 金华市婺城区人民法院, five defendants with real names
    record = _record(row)
    masked, report = anonymize(record, head=row["query"])
    for name in ("羊双彪", "羊文亮", "麻国浩", "陶婧", "邵美佳"):
        assert name not in masked.facts
    assert masked.case_id == record.case_id and masked.source_id == record.source_id
    assert record.facts == row["fact"]  # the input record is not changed
    assert report.names > 0 and "羊某" in report.placeholders
    assert report.counts()["names"] == report.names


def test_same_person_same_placeholder_across_head_and_facts() -> None:
    row = _head(720)
    query, fact, names = _masked_pair(row)
    assert names["羊双彪"] != names["羊文亮"]  # two people named 羊
    assert {names["羊双彪"], names["羊文亮"]} == {"羊某", "羊某1"}
    assert names["羊文良"] == names["羊文亮"]  # 曾用名: the same person
    assert f"被告人{names['陶婧']}雇佣被告人{names['邵美佳']}" in fact
    assert f"被告人{names['陶婧']}，曾用名{names['陶靓']}，女" in query
    again, _, _ = anonymize_text(row["fact"], names=names)
    assert again == fact  # the map alone is enough for a later draft


def test_two_people_with_one_surname_get_numbered_placeholders() -> None:
    row = _head(175)  # defendants 张亚军 and 张婉君
    _, _, names = _masked_pair(row)
    zhang = {names["张亚军"], names["张婉君"]}
    assert len(zhang) == 2
    assert all(re.fullmatch(r"张某\d*", p) for p in zhang)


def test_publisher_pseudonyms_are_kept_and_never_reused() -> None:
    # LeCaRDv2 test_query id 1: the victim is already 张某1; defendants 张建, 张小春 have real names
    text = (
        "被告人张建因发现其妻子周某与被害人张某1有不正当男女关系，遂当晚诱骗被害人张某1到宿迁市湖滨新区七彩星城、"
        "金陵大饭店等地，向被害人张某1索要10万钱，因被害人张某1拿不出现金，又与被告人张小春等人对被害人张某1进行殴打。"
        "另查明，被告人张建、张小春均于2016年12月12日被传唤到案。"
    )
    masked, names, _ = anonymize_text(text)
    assert set(names) == {"张建", "张小春"}
    assert "张某1" not in names.values()
    assert len(set(names.values())) == 2
    assert masked.count("被害人张某1") == text.count("被害人张某1")
    assert "张某某" not in masked and "周某" in masked


def test_names_found_after_roles_in_running_text() -> None:
    assert find_names(["被告人张建、张小春均于2016年12月12日被传唤到案。"]) == ["张建", "张小春"]
    assert find_names(["宿迁市宿城区人民检察院指派检察员徐培亮出庭支持公诉"]) == ["徐培亮"]
    assert find_names(["辩护人郭涛、周小琴，北京盈科（金华）律师事务所律师。"]) == ["郭涛", "周小琴"]
    # role words followed by terms, dates or pseudonyms are not names
    assert find_names(["宣读出示了被害人陈述、证人证言、被告人供述，被告人于2019年4月份、被害人方达成调解协议"]) == []
    assert find_names(["证人周某、董某、蔡某等人的证言，被告人马有某某辨认"]) == []


def test_judges_and_clerks_are_masked() -> None:
    # ends of JuDGE judgments; 徐海 is also a dictionary word, 洪 a surname outside the top 100
    text = "副本二份。 审判员李晓杰 二〇一七年六月二十八日 书记员唐婷 附：相关法律条文"
    masked, names, _ = anonymize_text(text)
    assert set(names) == {"李晓杰", "唐婷"}
    assert masked == "副本二份。 审判员李某 二〇一七年六月二十八日 书记员唐某 附：相关法律条文"
    text = "本判决为终审判决。 审判长徐海 审判员李遇贵 代理审判员蒲金军 二〇"
    assert set(anonymize_text(text)[1]) == {"徐海", "李遇贵", "蒲金军"}
    text = "周波 审判员刘善金 人民陪审员洪娜娜 二〇一五年四月二十七日"
    assert anonymize_text(text)[0] == "周波 审判员刘某 人民陪审员洪某 二〇一五年四月二十七日"


def test_civil_party_roles_do_not_guess_names() -> None:
    # CJRC (civil): 原告 is followed by verbs and companies, not only by names
    text = "明确本单位违章、事故、扣留的车辆委托原告施救、拖车、保管,在停留期"
    assert anonymize_text(text)[0] == text


def test_scrambled_title_surname_maps_to_the_same_person() -> None:
    row = _head(651)  # title '漠修成犯贪污罪…' (surname scrambled by the publisher), body names 张修成
    query, fact, names = _masked_pair(row)
    assert names["漠修成"] == names["张修成"]
    assert "漠修成" not in query and "张修成" not in query + fact


# ------------------------------------------------------------------------------- not over-masking


def test_places_courts_firms_and_charges_survive() -> None:
    row = _head(720)
    query, fact, _ = _masked_pair(row)
    for term in (
        "金华市婺城区人民法院", "金华市婺城区人民检察院", "浙江民宜律师事务所", "北京盈科（金华）律师事务所",
        "金华市公安局江南分局", "赌博罪", "取保候审", "2020年6月19日", "（2020）浙0702刑初662号",
    ):
        assert term in query, term
    assert "金华市婺城区道××街××号××室××室" in fact  # publisher's masks stay as they are


def test_offence_dates_and_document_numbers_are_kept() -> None:
    text = "2016年11月14日,大连市公安局交通警察支队沙河口大队作出第2102046201602702号道路交通事故认定书,认定刘x13承担此事"
    masked, _, report = anonymize_text(text)
    assert masked == text
    assert report.total == 0
    vin = "XXXX号奥德赛牌HG6XXXX小型普通客车(车辆识别代号:LHGRB186882001533,发动机号码:6801531.)向被告投"
    assert anonymize_text(vin)[0] == vin


# ----------------------------------------------------------------- numbers, plates, addresses, dates


@pytest.mark.parametrize(
    ("text", "kind", "gone"),
    [
        ("付永平，男，1970年1月13日出生，居民身份证号码142726197001130015，汉族，农民", "id_numbers", "142726197001130015"),
        ("原车主郭x10的父亲郭x3(身份证号码:511027196609063692)代9车主郭x10取车", "id_numbers", "511027196609063692"),
        ("被告人韩廷亮金边三星ＳＭ-Ｗ2017手机号码：18909793568证实", "phones", "18909793568"),
        ("（4）被告人韩廷亮与ｗｘ18909791009／野叶小辛聊天记录", "phones", "18909791009"),
        ("吸毒人员陈某某用公用电话拨打被告人陈吉某的手机（号码：15298903175）联系购买毒品", "phones", "15298903175"),
        ("抬头标有被告公司名称、电话0755-276××××6、传真0755-27644225,经理处签名", "phones", "27644225"),
        ("其中2012年我在农行开两个账户（6228481165052103611存过787232元及利息60.71元", "bank_cards", "6228481165052103611"),
        ("2013年12月31日流水：2457514，客户账号：231611010113741499账户冻结止付", "bank_cards", "231611010113741499"),
        ("李2某安排陈某驾驶陕J72188号东风牌153型油罐车", "plates", "J72188"),
        ("租用被告文x6的川AB0350号重型专项作业车从事钢结构立柱的吊装作业", "plates", "AB0350"),
        ("被告杨x3驾驶粤J118NY号二轮摩托车从恩城沿凤山路往凤子山方向行驶", "plates", "J118NY"),
    ],
)
def test_numbers_and_plates_on_real_snippets(text: str, kind: str, gone: str) -> None:
    masked, _, report = anonymize_text(text)
    assert gone not in masked
    assert report.counts()[kind] == 1
    assert anonymize_text(masked)[0] == masked


def test_plate_keeps_province_and_letter() -> None:
    masked, _, _ = anonymize_text("李2某安排陈某驾驶陕J72188号东风牌153型油罐车")
    assert "驾驶陕J×××××号东风牌153型油罐车" in masked
    assert anonymize_text("致张x8、范x0及晋XXXXXX号XX牌小型普通客车")[2].plates == 0


def test_synthetic_id_and_spaced_card_formats() -> None:
    # format test only: the numbers are synthetic, the sentences are not from a judgment
    masked, _, report = anonymize_text("其身份证110101199003071234已过期，卡号6222 0210 0112 3344 556的银行卡被冻结")
    assert "110101199003071234" not in masked and "6222 0210" not in masked
    assert (report.id_numbers, report.bank_cards) == (1, 1)
    assert "身份证号码××××" in anonymize_text("其持有110101199003071234")[0]


def test_birth_date_keeps_year_and_address_keeps_county() -> None:
    row = _head(720)
    query, _, names = _masked_pair(row)
    assert f"被告人{names['羊双彪']}，男，1984年出生于浙江省金华市" in query
    assert "户籍所在地浙江省金华市××。" in query  # was 金华市金**
    assert "1984年10月26日" not in query
    assert "现住浙江省金华市婺城区。" in query  # nothing below the district: nothing to mask
    masked, _, report = anonymize_text("被告人马龙，男，1986年3月14日出生于北海市，户籍所在地：北海市，住北海市银海区69号。")
    assert masked == "被告人马某，男，1986年出生于北海市，户籍所在地：北海市，住北海市银海区××。"
    assert (report.birth_dates, report.addresses, report.names) == (1, 1, 1)


def test_not_an_address_after_zhu() -> None:
    text = "因本案于2020年6月19日被金华市公安局江南分局刑事拘留，同年7月24日变更强制措施为取保候审。现在住处候审。"
    assert anonymize_text(text)[0] == text


# ------------------------------------------------------------------------------- API properties


def test_idempotent_on_all_sample_heads() -> None:
    for row in _heads():
        query, fact, _ = _masked_pair(row)
        assert anonymize_text(query)[0] == query, row["id"]
        assert anonymize_text(fact, head=query)[0] == fact, row["id"]


def test_anonymize_is_idempotent_on_records() -> None:
    row = _head(720)
    once, _ = anonymize(_record(row), head=row["query"])
    twice, report = anonymize(once)
    assert twice == once
    assert report.total == 0


def test_name_map_is_not_mutated_and_report_adds_up() -> None:
    given = {"羊双彪": "羊某"}
    _, names, report = anonymize_text("被告人羊双彪、麻国浩到庭参加诉讼。", names=given)
    assert given == {"羊双彪": "羊某"}
    assert names == {"羊双彪": "羊某", "麻国浩": "麻某"}
    assert report.names == 2 and report.placeholders == ("羊某", "麻某")
    both = report + MaskReport(phones=1, placeholders=("麻某", "陈某"))
    assert both.names == 2 and both.phones == 1 and both.placeholders == ("羊某", "麻某", "陈某")
    assert set(both.counts()) == {"names", "id_numbers", "phones", "bank_cards", "plates", "addresses", "birth_dates"}
