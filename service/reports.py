"""The judge's 类案检索报告 (similar-case search report), built from the assessment the API serves.

Under the SPC's 《关于统一法律适用加强类案检索的指导意见（试行）》 (法发〔2020〕24号) a judge searches
similar cases in defined situations and puts a report on file that records who searched, when, on
which platform and how, the results in the guidance's order of sources (service.report_sources), what
the similar cases held, and the disputed issues. This module builds that report's content: the similar
cases and the sentencing figures are those of :func:`service.assess.assess`, run once, the very
search and model ``/v1/assess`` answers with; ``why`` is :class:`service.explain.Explainer`'s, as in
``/v1/search``. The result is a :class:`service.schemas.ReportOut` dict whose ``sections`` are the
document's text; service.report_docx lays them out as .docx without adding a word.

Nothing in it names a person: the draft's excerpt is the anonymized facts, the judge's question is
masked with the names found in the draft, and the indexed cases were anonymized at ingest.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from importlib import metadata
from zoneinfo import ZoneInfo

from indexing.anonymize import anonymize_text
from indexing.law.statute import article_names
from indexing.schema import CaseRecord, Circumstance, Outcome
from indexing.search_index import SearchIndex
from indexing.segment import tokenize
from service.assess import assess, parse_proposed
from service.auth import User
from service.explain import Explainer
from service.plain_language import TYPE_WORDS, months_words
from service.report_sources import TIER_TITLES, draft_court, is_guiding, source_tier
from service.retrieve import draft_record
from service.schemas import ReportIn

TITLE = "类案检索报告"
SHANGHAI = ZoneInfo("Asia/Shanghai")
EXCERPT = 300  # characters of the draft's anonymized facts
RECENT_YEARS = 3  # the guidance prefers cases of the last three years (第四条)
BLANK_LINES = 3  # empty lines under each heading the judge fills in
KEY_TERMS = 6
CASE_COLUMNS = ["序号", "案号", "法院", "裁判日期", "罪名与裁判结果", "相似之处", "不同之处"]
STEP_COLUMNS = ["步骤", "数值", "说明"]
ROLE_WORDS = {"judge": "法官", "admin": "管理员", "manager": "审判管理", "litigant": "当事人"}
CHARGE_SOURCE = {"given": "法官选定", "extracted": "从文书中识别", "predicted": "文书未写明，按事实预测，未经确认",
                 "none": "未识别"}
LEVEL_WORDS = {"none": "无偏离", "notice": "提示（超出 80% 区间）", "warning": "警告（超出 95% 区间）",
               "severe": "严重偏离（超出 99% 区间）"}
QUANTITY_WORDS = {"amount_yuan": ("涉案金额", "元"), "drug_grams": ("毒品数量", "克"),
                  "blood_alcohol_mg_100ml": ("血液酒精含量", "mg/100ml"), "injuries.deaths": ("死亡", "人"),
                  "injuries.serious": ("重伤", "人"), "injuries.minor": ("轻伤", "人"), "injuries.slight": ("轻微伤", "人")}
NUMERALS = "一二三四五六七八九十"
_PLACEHOLDER = re.compile(r"某\d*$")
# characters XML 1.0 (and so a .docx) cannot hold: C0 controls but tab, LF, CR; surrogates; U+FFFE/U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CONCLUSION = ("待决案件的争议焦点", "类案的裁判要点", "本案与类案的异同", "参照意见及理由")


def platform() -> str:
    try:
        return f"LeiAn（类案）{metadata.version('leian')}"
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "LeiAn（类案）"


def _number(value: float) -> str:
    return f"{value:,.10g}"


def _joined(items: Iterable[object]) -> str:
    return "、".join(str(i) for i in items)


def _articles(articles: list) -> str:
    return "刑法" + article_names(articles)


def outcome_text(outcome: dict | None) -> str:
    """A case's outcome as a judgment words it: 有期徒刑1年6个月，缓刑2年，并处罚金5,000元."""
    if not outcome or not outcome.get("type"):
        return "裁判结果未载明"
    text = TYPE_WORDS.get(outcome["type"], outcome["type"])
    if outcome.get("months") and outcome["type"] in ("fixed_term", "detention", "surveillance"):
        text += months_words(outcome["months"])
    if outcome.get("probation_months"):
        text += f"，缓刑{months_words(outcome['probation_months'])}"
    if outcome.get("fine_yuan"):
        text += f"，{'' if outcome['type'] == 'fine_only' else '并处'}罚金{_number(outcome['fine_yuan'])}元"
    return text


def quantity_lines(quantities: dict | None) -> list[str]:
    q = dict(quantities or {})
    for grade, count in (q.pop("injuries", None) or {}).items():
        q[f"injuries.{grade}"] = count
    lines = [f"毒品种类 {q['drug_type']}"] if q.get("drug_type") else []
    return lines + [f"{label} {_number(q[key])}{unit}" for key, (label, unit) in QUANTITY_WORDS.items() if q.get(key)]


def similar_lines(why: dict) -> list[str]:
    lines = []
    if why.get("shared_charges"):
        lines.append(f"相同罪名：{_joined(why['shared_charges'])}")
    if why.get("shared_articles"):
        lines.append(f"相同法条：{_articles(why['shared_articles'])}")
    if why.get("shared_circumstances"):
        lines.append(f"共同情节：{_joined(why['shared_circumstances'])}")
    agreed = [f"{e['label']}（{e['draft_text']}）" for e in why.get("elements") or [] if e["same"]]
    if agreed:
        lines.append(f"相同要素：{_joined(agreed)}")
    terms = [t for t in why.get("key_terms") or [] if not _PLACEHOLDER.search(t)]  # 张某 is no shared fact
    if terms:
        lines.append(f"共同关键词：{_joined(terms[:KEY_TERMS])}")
    return lines or ["文字表述相近"]


def differs_lines(why: dict, draft_charges: list[str], case_charges: list[str]) -> list[str]:
    lines = []
    other = [c for c in case_charges if c not in draft_charges]
    if other:
        lines.append(f"该案另有罪名：{_joined(other)}" if why.get("shared_charges") else f"罪名不同：该案为{_joined(other)}")
    if why.get("circumstances_only_in_draft"):
        lines.append(f"仅本案有：{_joined(why['circumstances_only_in_draft'])}")
    if why.get("circumstances_only_in_case"):
        lines.append(f"仅该案有：{_joined(why['circumstances_only_in_case'])}")
    for element in why.get("elements") or []:
        if element["same"] is False:
            lines.append(f"{element['label']}：本案{element['draft_text']}，该案{element['case_text']}")
        elif element["same"] is None:
            side, value = ("本案", element["draft_text"]) if element["draft"] is not None else ("该案", element["case_text"])
            lines.append(f"{element['label']}：仅{side}载明（{value}）")
    for key, compared in (why.get("quantities") or {}).items():
        if key == "drug_type":
            if not compared.get("same"):
                lines.append(f"毒品种类：本案{compared['draft']}，该案{compared['case']}")
            continue
        label, unit = QUANTITY_WORDS.get(key, (key, ""))
        lines.append(f"{label}：本案{_number(compared['draft'])}{unit}，该案{_number(compared['case'])}{unit}")
    return lines or ["未见情节或数量上的差异"]


def searcher_text(user: User) -> str:
    role = ROLE_WORDS.get(user.role.value, user.role.value)
    if user.actor == "local":
        return f"本机用户（单用户模式，角色：{role}）"
    if user.actor == "cli" or user.actor.startswith("cli:"):  # service.cli_admin.cli_actor
        return f"命令行用户 {user.actor.removeprefix('cli').removeprefix(':')}".rstrip() + f"（角色：{role}）"
    return f"{user.name or '未命名密钥'}（API 密钥 {user.actor}，角色：{role}）"


def xml_text(text: str) -> str:
    """``text`` without what a .docx cannot hold; a vertical tab or form feed (pasted from Word) becomes a space.

    Applied to the report's content itself, so that the JSON and the .docx still say the same.
    """
    return _NOT_XML.sub(lambda m: " " if m.group() in "\x0b\x0c" else "", text)


def _date_key(row: dict) -> str:
    """ISO date for sorting, the year alone when that is all a record states, '' when neither."""
    return row.get("date") or (str(row["year"]) if row.get("year") else "")


def _recent(row: dict, now: datetime) -> bool:
    cutoff = (now - timedelta(days=365 * RECENT_YEARS)).date().isoformat()
    key = _date_key(row)
    return bool(key) and (key >= cutoff if len(key) > 4 else int(key) > now.year - RECENT_YEARS)


def _blank_section(heading: str) -> dict:
    return {"heading": heading, "level": 2, "paragraphs": [""] * BLANK_LINES, "table": None}


def build_report(index: SearchIndex, body: ReportIn, user: User, *, now: datetime | None = None) -> dict:
    """The report for a draft (a :class:`service.schemas.ReportOut` dict); runs the assessment once."""
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    proposed = parse_proposed(body.proposed.model_dump()) if body.proposed else None
    result = assess(index, body.text, charges=body.charges, circumstances=body.circumstances, proposed=proposed)
    # the assessment carries no anonymized facts, court or articles of the draft: the same function
    # prepare_draft ran on it (deterministic, ~20 ms) gives them, with the charges and circumstances
    # the assessment settled on
    record = draft_record(body.text, location="text").model_copy(update={
        "charges": result["draft"]["charges"],
        "circumstances": [Circumstance(c) for c in result["draft"]["circumstances"]],
    })
    tokens = tokenize(record.facts)
    explainer = Explainer(record, tokens, index.term_weights(tokens, record.case_type.value))
    court = draft_court(xml_text(body.court or "").strip() or record.court, record.province)
    cases = []
    for hit in result["similar_cases"]:
        row = index.rows[index.row_of[hit["case_id"]]]
        why = explainer.why(row)
        cases.append({
            **{k: row[k] for k in ("case_id", "case_number", "court", "court_level", "province", "date", "charges", "outcome")},
            "outcome_text": outcome_text(row["outcome"]), "score": hit["score"],
            "source_tier": source_tier(row, court), "guiding": is_guiding(row), "within_three_years": _recent(row, now),
            "similar": similar_lines(why), "differs": differs_lines(why, record.charges, row["charges"]), "why": why,
            "_date": _date_key(row),
        })
    cases.sort(key=lambda c: (-c["source_tier"], c["_date"], c["score"]), reverse=True)
    question = anonymize_text(body.question, head=body.text)[0]
    case_ref = anonymize_text(body.case_ref, head=body.text)[0] if body.case_ref else None
    civil = record.case_type.value == "civil"
    sentencing = None if civil else {k: result[k] for k in ("expected", "steps", "deviation")}
    report = {
        "title": TITLE,
        "searched_by": {"actor": user.actor, "name": user.name, "role": user.role.value},
        "searched_at": now.isoformat(timespec="seconds"),
        "question": question,
        "platform": platform(),
        "index_version": result["index_version"],
        "case_type": record.case_type.value,
        "charges": [] if civil else result["draft"]["charges"],
        "charges_source": result["draft"]["charges_source"],
        "cause": record.cause,
        "cases": cases,
        "sentencing": sentencing,
    }
    ctx = _Context(index=index, user=user, now=now, court=court.court, case_ref=case_ref, record=record,
                   draft=result["draft"], civil=civil)
    report["sections"] = [_search_info(ctx, report), _subject(ctx, report), *_results(ctx, cases),
                          *_sentencing(ctx, result), *_conclusion()]
    for c in cases:
        del c["_date"]
    for part in report["sections"]:
        part["heading"] = xml_text(part["heading"])
        part["paragraphs"] = [xml_text(t) for t in part["paragraphs"]]
        if part["table"]:
            part["table"]["rows"] = [[xml_text(v) for v in row] for row in part["table"]["rows"]]
    report["question"] = xml_text(report["question"])
    return report


@dataclasses.dataclass(frozen=True)
class _Context:
    index: SearchIndex
    user: User
    now: datetime
    court: str | None
    case_ref: str | None
    record: CaseRecord
    draft: dict
    civil: bool


def _search_info(ctx: _Context, report: dict) -> dict:
    embedder = (ctx.index.manifest.get("embedder") or {}).get("name", "")
    charges = ("罪名不作限定" if ctx.civil or not report["charges"] else
               "法官选定的罪名作为强约束" if report["charges_source"] == "given" else "罪名一致加权")
    paragraphs = [
        f"检索人：{searcher_text(ctx.user)}",
        f"检索时间：{ctx.now:%Y年%m月%d日 %H:%M}（北京时间）",
        f"检索平台：{report['platform']}",
        f"案例库版本：{report['index_version']}（{len(ctx.index)} 件案例）",
        f"检索方法：混合检索，语义向量（{embedder}）与 BM25 关键词（jieba 分词）各取候选后融合排序，{charges}，"
        "并按涉案数额、量刑情节等要素加权；与量刑评估使用同一组类似案件",
        "检索范围与筛选：案例库全部已决案件；排除被改判、发回重审、适用已修改规定及重复的案件；"
        "未按法院层级、地域或年份筛选，结果按《指导意见》第四条的顺位分组",
        f"本案法院：{ctx.court or '未载明（无法确定上一级法院及本院的案件）'}",
    ]
    if ctx.case_ref:
        paragraphs.append(f"本案案号：{ctx.case_ref}")
    paragraphs.append("说明：本报告由 LeiAn 根据公开裁判文书自动生成，所列案件均已匿名化；相似度与量刑测算仅供参考，"
                      "不替代法官对案件事实和法律适用的判断。")
    return {"heading": "一、检索信息", "level": 1, "paragraphs": paragraphs, "table": None}


def _subject(ctx: _Context, report: dict) -> dict:
    draft = ctx.draft
    paragraphs = [f"法律问题：{report['question']}", f"案件类型：{'民事' if ctx.civil else '刑事'}"]
    if ctx.civil:
        paragraphs.append(f"案由：{report['cause'] or '未识别'}")
    else:
        if draft["charges_source"] == "predicted" and draft.get("predicted_charges"):
            named = _joined(f"{p['charge']}（{round(100 * p['probability'])}%）" for p in draft["predicted_charges"])
        else:
            named = _joined(draft["charges"]) or "未识别"
        paragraphs.append(f"罪名：{named}（{CHARGE_SOURCE.get(draft['charges_source'], draft['charges_source'])}）")
        paragraphs.append(f"量刑情节：{_joined(draft['circumstances']) or '未识别到'}")
    quantities = quantity_lines(draft.get("quantities"))
    if quantities:
        paragraphs.append(f"涉案数量：{'；'.join(quantities)}")
    facts = ctx.record.facts
    paragraphs.append(f"基本案情（摘要，已匿名化）：{facts[:EXCERPT]}{'…' if len(facts) > EXCERPT else ''}")
    return {"heading": "二、检索对象", "level": 1, "paragraphs": paragraphs, "table": None}


def _results(ctx: _Context, cases: list[dict]) -> list[dict]:
    cutoff = (ctx.now - timedelta(days=365 * RECENT_YEARS)).date()
    sections = [{"heading": "三、检索结果", "level": 1, "table": None, "paragraphs": [
        f"列出类似案件 {len(cases)} 件：量刑评估所参照的类似案件中相似度最高者。按《指导意见》第四条的检索顺位分组，"
        f"各组内按裁判日期由近及远排列（近三年指 {cutoff:%Y年%m月%d日} 以后）。"]}]
    number = 0
    for i, (tier, title) in enumerate(TIER_TITLES.items()):
        group = [c for c in cases if c["source_tier"] == tier]
        section = {"heading": f"（{NUMERALS[i]}）{title}（{len(group)} 件）", "level": 2, "table": None,
                   "paragraphs": ["未检索到此类案件。"] if not group else
                   [f"其中近三年的案件 {sum(c['within_three_years'] for c in group)} 件。"]}
        if group:
            rows = []
            for c in group:
                number += 1
                date = c["date"] or (f"{c['_date']}年" if c["_date"] else "未载明")
                rows.append([str(number), c["case_number"] or f"未载明（LeiAn 编号 {c['case_id']}）", c["court"] or "未载明",
                             date, f"{_joined(c['charges']) or '罪名未载明'}：{c['outcome_text']}",
                             "；".join([f"相似度 {c['score']:.2f}", *c["similar"]]), "；".join(c["differs"])])
            section["table"] = {"columns": CASE_COLUMNS, "rows": rows}
        sections.append(section)
    return sections


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{'+' if x > 0 else ''}{round(x)}%"


def _range(r: list | tuple | None) -> str:
    return "—" if not r else f"{months_words(r[0])}至{months_words(r[1])}"


def _step_figure(step: dict) -> str:
    if step["step"] == "bracket":
        return _range(step.get("range_months"))
    if step["step"] == "starting_point" and step.get("guideline_months"):
        return _range(step["guideline_months"])
    if step["step"] == "circumstance":
        allowed = step.get("guideline_pct")
        rule = "指导意见未规定比例" if not allowed else f"指导意见 {_pct(allowed[0])} 至 {_pct(allowed[1])}"
        return f"{_pct(step.get('change_pct'))}（{rule}）"
    return months_words(step["months"]) if step.get("months") is not None else "—"


def _sentencing(ctx: _Context, result: dict) -> list[dict]:
    if ctx.civil:
        return [{"heading": "四、量刑比对", "level": 1, "table": None, "paragraphs": ["本案为民事案件，不适用量刑比对。"]}]
    steps = result["steps"]
    rows = [[s["title"], _step_figure(s), s["text"] + (f"（{s['source']}）" if s.get("source") else "")] for s in steps]
    exp = result["expected"]
    kind = TYPE_WORDS.get(exp["outcome_type"], exp["outcome_type"])
    expected = [f"最可能的刑罚：{kind}",
                f"刑期中位数：{'—（最可能为死刑或无期徒刑）' if exp['median_months'] is None else months_words(exp['median_months'])}",
                f"50% 区间：{_range(exp.get('range_50'))}", f"80% 区间：{_range(exp.get('range_80'))}",
                f"95% 区间：{_range(exp.get('range_95'))}"]
    if exp.get("probation_probability") is not None:
        expected.append(f"适用缓刑的可能性：约 {round(100 * exp['probation_probability'])}%")
    expected.append(f"参照的类似案件：{exp['n_neighbours']} 件")
    dev = result["deviation"]
    if dev is None:
        deviation = ["未填写拟判刑罚，未作偏离评估。"]
    else:
        deviation = [f"拟判刑罚：{outcome_text(Outcome.model_validate(dev['proposed']).model_dump(mode='json'))}",
                     f"偏离程度：{LEVEL_WORDS.get(dev['level'], dev['level'])}"]
        deviation += [f"偏离原因：{r}" for r in dev.get("reasons") or []]
        if dev.get("threshold"):
            t = dev["threshold"]
            deviation.append(f"阈值依据：按 {t['n']} 件真实判决校准，历史误报率 {100 * t['measured_false_alarm']:.1f}%")
        if dev.get("departs_at"):
            deviation.append(f"偏离所在步骤：{dev['departs_at']['title']}：{dev['departs_at']['text']}")
        statutory = dev.get("statutory")
        if statutory:
            deviation.append("法定刑幅度检查：" + ("超出法定刑幅度：" + "；".join(statutory["reasons"]) if statutory["outside"]
                                           else f"在法定刑幅度内（{range_words(statutory)}）"))
    return [
        {"heading": "四、量刑比对", "level": 1, "paragraphs": [
            "（一）量刑步骤：依《最高人民法院 最高人民检察院关于常见犯罪的量刑指导意见（试行）》的步骤，由量刑模型对本案分解如下（供参考）。"],
         "table": {"columns": STEP_COLUMNS, "rows": rows} if rows else None},
        {"heading": "（二）预期刑罚", "level": 2, "paragraphs": expected, "table": None},
        {"heading": "（三）拟判刑罚偏离评估", "level": 2, "paragraphs": deviation, "table": None},
    ]


def range_words(statutory: dict) -> str:
    return f"{months_words(statutory['min_months'])}至{months_words(statutory['max_months'])}"


def _conclusion() -> list[dict]:
    sections = [{"heading": "五、检索结论（由承办法官填写）", "level": 1, "table": None, "paragraphs": [
        "请结合上列类案，就待决案件的争议焦点、类案裁判要点及是否参照作出说明。"]}]
    sections += [_blank_section(f"（{NUMERALS[i]}）{h}") for i, h in enumerate(CONCLUSION)]
    sections.append({"heading": "（五）签署", "level": 2, "table": None,
                     "paragraphs": ["承办法官（签名）：", "日期：　　　　年　　月　　日"]})
    return sections
