"""Read sources into RawJudgment records, detecting each file's format from its content.

Every record read becomes either a ``RawJudgment`` or a ``Quarantined`` entry naming its location
and the reason: nothing read is silently dropped. Statute files (刑法 articles, laws.db) are not
judgments; they are yielded as ``StatuteArticle`` so the pipeline can store them beside the cases.

Formats (all found in ../shared/data, plus the two plain ones users bring):
- ``cail2018``: JSON lines with ``fact`` and ``meta`` (CAIL2018)
- ``judge``: JSON lines with ``text_id``, ``text`` (facts), ``la`` and ``fd`` (full document; JuDGE)
- ``lecard_v1``: JSON lines with ``ridx``, ``q`` (facts) and ``crime`` (LeCaRD)
- ``lecardv2``: JSON lines with ``id``, ``query`` (judgment head) and ``fact`` (LeCaRDv2)
- ``cjrc``: SQuAD-style JSON whose paragraphs are 经审理查明 sections (CAIL2019), civil and criminal
- ``traffic_card``: CSV of structured 交通肇事罪 sentences (case cards without text)
- ``statute``: JSON lines with ``text_id``, ``text``, ``name`` (刑法 articles) or a laws.db SQLite file
- ``exchange``: JSON lines of LeiAn exchange records, told by ``schema_version`` (indexing.exchange)
- ``jsonl``: generic JSON lines with ``id`` and ``text`` (one full judgment per line)
- ``text``: a .txt file holding one full judgment
- ``charge_list``: a .txt list of charge names (reference data; recognized and reported, nothing stored)
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexing.errors import SourceError
from indexing.schema import Quarantined, RawJudgment

SKIP_NAMES = re.compile(r"^(LICENSE|README|COPYING|NOTICE)|\.(md|pdf|png|zip|gz)$", re.IGNORECASE)
_ARTICLE_NAME = re.compile(r"第(.+?)条")


@dataclass(frozen=True)
class StatuteArticle:
    """One article of a statute, stored so explanations and superseded-provision checks can cite it."""

    law: str
    number: int | None
    number_text: str
    text: str
    effective_date: str | None
    status: str | None


Parsed = RawJudgment | Quarantined | StatuteArticle


def iter_source_files(paths: list[Path]) -> Iterator[Path]:
    """Expand folders (recursively, sorted for reproducible ids) into the files to read."""
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not SKIP_NAMES.search(child.name) and not child.name.startswith("."):
                    yield child
        else:
            yield path


def detect_format(path: Path) -> str:
    """Name the format of one file from its suffix and first record (see the module docstring)."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        lines = [ln.strip() for ln in path.read_bytes()[:65536].decode("utf-8", errors="replace").splitlines() if ln.strip()]
        if len(lines) > 20 and all(len(ln) <= 60 and ln.endswith("罪") for ln in lines[:-1]):
            return "charge_list"  # reference data (LeiAn ships its own copy), not a judgment
        return "text"
    if suffix == ".csv":
        header = path.read_bytes()[:4096].decode("utf-8-sig", errors="replace").splitlines()[0]
        if "有期徒刑" in header and "案号" in header:
            return "traffic_card"
        raise SourceError(f"{path}: unknown CSV format (header: {header[:80]!r})")
    if suffix == ".db":
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        if {"laws", "articles"} <= tables:
            return "statute_db"
        raise SourceError(f"{path}: unknown SQLite file (tables: {sorted(tables)})")
    if suffix not in {".json", ".jsonl"}:
        raise SourceError(f"{path}: unknown file type {suffix!r}; expected .txt, .json, .jsonl, .csv or .db")
    head = path.read_bytes()[:65536].decode("utf-8", errors="replace").lstrip()
    if head.startswith("{") and '"data"' in head[:200] and '"paragraphs"' in head:
        return "cjrc"
    first_line = head.split("\n", 1)[0]
    try:
        keys = set(json.loads(first_line))
    except json.JSONDecodeError:
        # A damaged first line must not hide a whole file: look at the next parseable line.
        keys = set()
        for line in head.splitlines()[1:20]:
            try:
                keys = set(json.loads(line))
                break
            except (json.JSONDecodeError, TypeError):
                continue
    for fmt, needed in _JSONL_KEYS:
        if needed <= keys:
            return fmt
    raise SourceError(f"{path}: unknown JSON lines format (keys of first record: {sorted(keys)})")


_JSONL_KEYS: list[tuple[str, set[str]]] = [
    ("exchange", {"schema_version"}),  # first: an exchange record may carry any other format's keys
    ("cail2018", {"fact", "meta"}),
    ("judge", {"text_id", "fd"}),
    ("lecard_v1", {"ridx", "q"}),
    ("lecardv2", {"id", "query", "fact"}),
    ("statute", {"text_id", "text", "name"}),
    ("jsonl", {"id", "text"}),
]


def parse_file(path: Path) -> Iterator[Parsed]:
    """Yield every record of one file as RawJudgment, StatuteArticle or Quarantined."""
    fmt = detect_format(path)
    if fmt == "charge_list":
        return
    if fmt == "text":
        yield from _parse_text(path)
    elif fmt == "traffic_card":
        yield from _parse_traffic(path)
    elif fmt == "statute_db":
        yield from _parse_laws_db(path)
    elif fmt == "cjrc":
        yield from _parse_cjrc(path)
    else:
        yield from _parse_jsonl(path, fmt)


def _parse_text(path: Path) -> Iterator[Parsed]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Quarantined(
            source="text",
            location=str(path),
            field="encoding",
            reason=f"not valid UTF-8 at byte {exc.start}; convert it (e.g. iconv -f GB18030 -t UTF-8)",
        )
        return
    if not text.strip():
        yield Quarantined(source="text", location=str(path), field="text", reason="empty file")
        return
    yield RawJudgment(source="text", source_id=path.stem, location=str(path), full_text=text.strip())


def _iter_lines(path: Path, source: str) -> Iterator[tuple[str, dict | Quarantined]]:
    """Decode and JSON-parse line by line so one bad line costs one record, not the file."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            location = f"{path}:{lineno}"
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield location, Quarantined(
                    source=source, location=location, field="encoding", reason=f"not valid UTF-8 at byte {exc.start}"
                )
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield location, Quarantined(
                    source=source, location=location, field="json", reason=f"bad JSON: {exc.msg} at column {exc.colno}"
                )
                continue
            if not isinstance(obj, dict):
                yield location, Quarantined(
                    source=source, location=location, field="json", reason=f"expected an object, got {type(obj).__name__}"
                )
                continue
            yield location, obj


def _str_field(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _parse_jsonl(path: Path, fmt: str) -> Iterator[Parsed]:
    for location, obj in _iter_lines(path, fmt):
        if isinstance(obj, Quarantined):
            yield obj
            continue
        lineno = location.rsplit(":", 1)[1]
        try:
            yield _record_from_json(fmt, obj, location, lineno, path)
        except (TypeError, ValueError, AttributeError) as exc:
            yield Quarantined(source=fmt, location=location, field="record", reason=f"malformed record: {exc}")


def _record_from_json(fmt: str, obj: dict, location: str, lineno: str, path: Path) -> Parsed:
    if fmt == "cail2018":
        meta = obj.get("meta")
        if not isinstance(meta, dict):
            return Quarantined(source=fmt, location=location, field="meta", reason="missing or not an object")
        # CAIL has no ids: the file name and line number identify a record within the published sample.
        return RawJudgment(
            source=fmt, source_id=f"{path.stem}:{lineno}", location=location, facts=_str_field(obj, "fact"), labels=meta
        )
    if fmt == "judge":
        return RawJudgment(
            source=fmt,
            source_id=_str_field(obj, "text_id") or f"{path.stem}:{lineno}",
            location=location,
            full_text=_str_field(obj, "fd"),
            facts=_str_field(obj, "text"),
            labels={"la": obj.get("la")} if obj.get("la") is not None else {},
        )
    if fmt == "lecard_v1":
        return RawJudgment(
            source=fmt,
            source_id=str(obj.get("ridx")),
            location=location,
            facts=_str_field(obj, "q"),
            labels={"crime": obj.get("crime")} if obj.get("crime") is not None else {},
        )
    if fmt == "lecardv2":
        return RawJudgment(
            source=fmt,
            source_id=str(obj.get("id")),
            location=location,
            head=_str_field(obj, "query"),
            facts=_str_field(obj, "fact"),
        )
    if fmt == "exchange":
        return exchange_record(obj, location)
    if fmt == "statute":
        name = _str_field(obj, "name") or ""
        match = _ARTICLE_NAME.search(name)
        return StatuteArticle(
            law="中华人民共和国刑法",
            number=_int_or_none(obj.get("text_id")),
            number_text=match.group(0) if match else name,
            text=_str_field(obj, "text") or "",
            effective_date=None,
            status=None,
        )
    # generic: one full judgment per line
    source_id = _str_field(obj, "id")
    if not source_id:
        return Quarantined(source=fmt, location=location, field="id", reason="missing id")
    return RawJudgment(source=fmt, source_id=source_id, location=location, full_text=_str_field(obj, "text"))


_CN_NUMERALS = "〇一二三四五六七八九"
_SECTION_MARKS = re.compile(r"本院认为|(?:判决|裁定)如下")


def _cn_year(year: str) -> str:
    return "".join(_CN_NUMERALS[int(d)] for d in year)


def _cn_small(n: int) -> str:
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _CN_NUMERALS[tens]) + "十" if tens else "") + (_CN_NUMERALS[ones] if ones else "")


def exchange_record(obj: object, location: str) -> Parsed:
    """An exchange record as a raw judgment: its sections the text, its structured fields the labels.

    Extraction reads court, case number and procedure from a judgment head and the date from the
    signature, so the record's values are written as such a head and signature around its sections;
    the sections come back from ``split_sections`` as they were. A record that fails the schema is
    quarantined naming the first failing field (``outcome.months``), never dropped. Uploads through the
    API (indexing.uploads) read each record of a batch with this too.
    """
    from pydantic import ValidationError

    from indexing.exchange import ExchangeRecord
    from indexing.quality import CARD_SOURCES

    try:
        rec = ExchangeRecord.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "record"
        return Quarantined(source="exchange", location=location, field=field, reason=first["msg"])
    if rec.source in CARD_SOURCES:
        # case cards are read from their CSV columns (indexing.cards), which an exchange record has not
        return Quarantined(source="exchange", location=location, field="source",
                           reason=f"{rec.source!r} case cards are exchanged as their CSV, not as exchange records")
    civil = rec.case_type.value == "civil"
    head = "\n".join(p for p in (rec.court, "民事判决书" if civil else "刑事判决书", rec.case_number) if p)
    labels = rec.model_dump(mode="json", include={"case_type", "cause", "charges", "articles", "outcome",
                                                   "circumstances", "quantities", "defendants"}, exclude_none=True)
    date = ""
    if rec.date:
        year, month, day = rec.date.split("-")
        date = f"{_cn_year(year)}年{_cn_small(int(month))}月{_cn_small(int(day))}日"
    if not rec.reasoning and not rec.judgment:
        if _SECTION_MARKS.search(rec.facts):  # facts that would split: kept whole, without the date
            return RawJudgment(source=rec.source, source_id=rec.source_id, location=location, head=head,
                               facts=rec.facts, labels=labels)
        full_text = f"{head}\n{date}\n本案现已审理终结。\n{rec.facts}"  # the date goes where facts cannot take it
    else:
        judgment = f"判决如下：\n{rec.judgment}" if rec.judgment else None
        full_text = "\n".join(p for p in (f"{head}\n本案现已审理终结。", rec.facts, rec.reasoning, judgment, date) if p)
    return RawJudgment(source=rec.source, source_id=rec.source_id, location=location, full_text=full_text, labels=labels)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _parse_cjrc(path: Path) -> Iterator[Parsed]:
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Quarantined(source="cjrc", location=str(path), field="json", reason=f"unreadable: {exc}")
        return
    for i, item in enumerate(doc.get("data", [])):
        for j, para in enumerate(item.get("paragraphs", [])):
            location = f"{path}#data[{i}].paragraphs[{j}]"
            context = para.get("context")
            casename = para.get("casename") or ""
            domain = item.get("domain") or para.get("domain") or ""
            civil = domain == "civil" or casename.endswith(("纠纷", "案"))
            labels = {"cause": casename, "case_type": "civil" if civil else "criminal"}
            if not civil and casename:
                labels["crime"] = [casename]
            yield RawJudgment(
                source="cjrc",
                source_id=f"{path.stem}:{item.get('caseid', i)}:{j}",
                location=location,
                facts=context if isinstance(context, str) else None,
                labels=labels,
            )


TRAFFIC_COLUMNS = {
    "性别": "sex",
    "出生年份": "birth_year",
    "文化水平": "education",
    "是否逃逸": "fled",
    "是否自首": "surrendered",
    "是否谅解": "forgiven",
    "是否赔偿": "compensated",
    "有期徒刑": "prison_months",
    "缓刑": "probation_months",
    "死亡": "deaths",
    "总受伤人数": "injured",
    "重伤人数": "serious",
    "轻伤人数": "minor",
    "责任划分": "liability",
    "规范地区": "region",
    "案号": "case_number",
}


def _parse_traffic(path: Path) -> Iterator[Parsed]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Quarantined(source="traffic_card", location=str(path), field="encoding", reason=f"not UTF-8 at byte {exc.start}")
        return
    reader = csv.DictReader(io.StringIO(text))
    missing = set(TRAFFIC_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise SourceError(f"{path}: traffic case cards lack columns {sorted(missing)}")
    for lineno, row in enumerate(reader, start=2):
        labels = {TRAFFIC_COLUMNS[k]: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k in TRAFFIC_COLUMNS}
        case_number = labels.get("case_number") or f"row{lineno}"
        yield RawJudgment(
            source="traffic_card", source_id=f"{case_number}#{lineno}", location=f"{path}:{lineno}", labels=labels
        )


def _parse_laws_db(path: Path) -> Iterator[Parsed]:
    """刑法 and its amendments only: those are what cited articles and superseded checks refer to."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        rows = con.execute(
            "select l.law_name, a.article_no, a.article_no_arabic, a.article_text, l.effective_date, l.status "
            "from articles a join laws l on a.law_id = l.law_id "
            "where l.law_name like '中华人民共和国刑法%' order by l.law_name, a.id"
        ).fetchall()
    for law, number_text, number, text, effective, status in rows:
        yield StatuteArticle(
            law=law, number=number, number_text=number_text or "", text=text or "", effective_date=effective, status=status
        )
