"""Write ``resources/law/criminal_law.jsonl`` from laws.db: the 刑法 in force, one article a line.

    python -m indexing.law.export_statute --laws-db ../shared/data/statutes/laws.db

laws.db holds the 2020-12-26 text (修正案（十一） included) and, as a law of its own, 修正案（十二）
(2023-12-29, in force 2024-03-01). The amendment is applied here mechanically: each of its items
says "将刑法第X条(第Y款)修改为：“…”" or "在刑法第X条中增加一款…，将该条修改为：“…”", and the quoted
text replaces that article or paragraph. An item of any other shape stops the export, so a new
amendment cannot be half-applied unnoticed. The replaced text is kept (``replaced_text``) because
judgments decided before 2024-03-01 applied it.

laws.db also appends the part headings (第二编 分 则, 附 则) to the article before them; those
lines are not article text and are dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from pathlib import Path

from indexing.law.numerals import cn_int
from indexing.law.statute import STATUTE_FILE, Article, article_key, parse_article_no, split_paragraphs

CRIMINAL_LAW = "中华人民共和国刑法"
AMENDMENT_12 = "中华人民共和国刑法修正案（十二）"
AMENDED_BY = "刑法修正案（十二）"
TARGET = Path(__file__).resolve().parents[1] / "resources" / "law" / STATUTE_FILE

_HEADING_RE = re.compile(r"^(?:第[一二三]编\s*[总分]\s*则|附\s*则)$")
_REPLACE_RE = re.compile(
    r"^(?:在刑法第(?P<n1>[一二三四五六七八九十百零]+)条中增加一款作为第[一二三四五六七八九十]+款，将该条"
    r"|将刑法第(?P<n2>[一二三四五六七八九十百零]+)条(?:第(?P<para>[一二三四五六七八九十]+)款)?)修改为："
)
_IN_FORCE_RE = re.compile(r"^本修正案自\d{4}年\d{1,2}月\d{1,2}日起施行。$")
_QUOTES = '"“”'


class ExportError(Exception):
    """laws.db does not look as this exporter expects (missing law, an amendment item it cannot read)."""


def _part(number: int) -> str:
    return "总则" if number <= 101 else "分则" if number <= 451 else "附则"


def _clean(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _HEADING_RE.match(line.strip()))


def _quoted(body: str) -> str:
    """The text inside the amendment's quotes: every paragraph opens with “, only the last closes."""
    lines = body.split("\n")
    out = [line.lstrip(_QUOTES) for line in lines]
    out[-1] = out[-1].rstrip(_QUOTES)
    text = "\n".join(out)
    if any(q in text for q in _QUOTES):
        raise ExportError(f"unexpected quote inside amended text: {text[:60]}…")
    return text


def amendment_edits(items: list[str]) -> dict[str, tuple[int | None, str]]:
    """Article key → (paragraph replaced or None for the whole article, new text)."""
    edits: dict[str, tuple[int | None, str]] = {}
    for item in items:
        if _IN_FORCE_RE.match(item):
            continue
        match = _REPLACE_RE.match(item)
        if not match:
            raise ExportError(f"cannot apply this amendment item mechanically: {item[:50]}…")
        number = cn_int(match.group("n1") or match.group("n2"))
        para = cn_int(match.group("para")) if match.group("para") else None
        edits[article_key(number)] = (para, _quoted(item[match.end() :]))
    return edits


def _apply(text: str, para: int | None, new: str) -> str:
    if para is None:
        return new
    paras = list(split_paragraphs(text))
    if not 1 <= para <= len(paras):
        raise ExportError(f"amendment replaces paragraph {para} of an article with {len(paras)}")
    paras[para - 1] = new
    return "\n".join(paras)


def export_rows(laws_db: Path) -> list[Article]:
    """The articles as shipped: laws.db's 刑法, headings dropped, 修正案（十二） applied."""
    with sqlite3.connect(f"file:{laws_db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "select article_no, chapter, section, article_text from articles where law_name = ? order by id",
            (CRIMINAL_LAW,),
        ).fetchall()
        items = [
            t
            for (t,) in con.execute(
                "select article_text from articles where law_name = ? order by id", (AMENDMENT_12,)
            )
        ]
    if not rows or not items:
        raise ExportError(f"{laws_db} lacks {CRIMINAL_LAW if not rows else AMENDMENT_12}")
    edits = amendment_edits(items)
    articles: list[Article] = []
    for article_no, chapter, section, text in rows:
        number, suffix = parse_article_no(article_no)
        key = article_key(number, suffix)
        text = _clean(text or "")
        fields: dict = {}
        if key in edits:
            para, new = edits.pop(key)
            fields = {"amended_by": AMENDED_BY, "replaced_text": text}
            text = _apply(text, para, new)
        articles.append(
            Article(
                article=key,
                number=number,
                suffix=suffix,
                part=_part(number),
                chapter=chapter or "",
                section=section or "",
                text=text,
                **fields,
            )
        )
    if edits:
        raise ExportError(f"amendment names articles the 刑法 lacks: {sorted(edits)}")
    return articles


def to_jsonl(articles: list[Article]) -> str:
    return "".join(json.dumps(a.model_dump(exclude_none=True), ensure_ascii=False) + "\n" for a in articles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m indexing.law.export_statute", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--laws-db", type=Path, required=True, help="path to statutes/laws.db")
    parser.add_argument("--out", type=Path, default=TARGET, help=f"output file (default: {TARGET})")
    args = parser.parse_args(argv)
    if not args.laws_db.is_file():
        print(
            f"error: --laws-db {args.laws_db}: no such file (it is ../shared/data/statutes/laws.db)",
            file=sys.stderr,
        )
        return 2
    try:
        articles = export_rows(args.laws_db)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_text(to_jsonl(articles), encoding="utf-8")
    amended = [a.article for a in articles if a.amended_by]
    print(f"wrote {len(articles)} articles to {args.out}; {AMENDED_BY} applied to {', '.join(amended)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
