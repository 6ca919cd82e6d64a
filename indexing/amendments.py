"""Which 刑法 articles each amendment (修正案) changed, and from when: the basis of superseded flags.

The table is derived from the statute database in ../shared/data/statutes/laws.db and shipped as
``resources/criminal_law_amendments.json`` so a fresh machine needs no ../shared. Regenerate with
``python -m indexing.amendments PATH/laws.db``. Only "将刑法第X条(第Y款)修改为" and "在刑法第X条中增加"
count: an article added as 第X条之一 is new law and supersedes nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import cn2an

_MODIFIED = re.compile(r"(?:将|在)刑法第([零〇一二三四五六七八九十百千两]+)条(?!之)(?:第[一二三四五六七八九十]+款)?(?:修改为|中增加|增加)")
RESOURCE = "criminal_law_amendments.json"


def amendments_from_laws_db(path: Path) -> list[dict]:
    """Read each amendment's effective date and the article numbers it modified."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        laws = con.execute(
            "select law_id, law_name, effective_date from laws where law_name like '中华人民共和国刑法修正案%'"
        ).fetchall()
        out = []
        for law_id, name, effective in laws:
            texts = [t for (t,) in con.execute("select article_text from articles where law_id = ?", (law_id,))]
            numbers = sorted({int(cn2an.cn2an(m, "smart")) for t in texts for m in _MODIFIED.findall(t or "")})
            out.append({"amendment": name, "effective_date": effective, "articles": numbers})
    return sorted(out, key=lambda a: a["effective_date"])


@lru_cache(maxsize=1)
def load_amendments() -> tuple[dict, ...]:
    text = resources.files("indexing.resources").joinpath(RESOURCE).read_text(encoding="utf-8")
    return tuple(json.loads(text))


def superseding_amendment(articles: list[int], date: str | None) -> dict | None:
    """The earliest amendment in force after ``date`` that changed one of ``articles``, if any.

    Why the earliest: it is the first change that makes the judgment's legal basis outdated. General
    articles (e.g. 第67条 自首) count too, since an amended general rule changes the sentence.
    """
    if not date or not articles:
        return None
    cited = set(articles)
    for amendment in load_amendments():
        if amendment["effective_date"] > date and cited & set(amendment["articles"]):
            changed = sorted(cited & set(amendment["articles"]))
            return {**amendment, "changed": changed}
    return None


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        sys.exit("usage: python -m indexing.amendments PATH/laws.db")
    target = Path(__file__).parent / "resources" / RESOURCE
    target.write_text(json.dumps(amendments_from_laws_db(Path(sys.argv[1])), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}")
