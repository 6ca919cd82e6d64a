"""Score submitted cases against a draft (SPC guideline 2020 Art. 10: cases cited by the parties).

Unlike search there is no candidate set to rank within, so scores must be absolute: the mean of the
embedding cosine and an IDF-weighted lexical cosine (IDF from the served corpus). The lexical half is
what keeps this meaningful for civil cases (e.g. 民间借贷纠纷), which the criminal-trained embedder
has seen little of.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from indexing.rows import display_row
from indexing.search_index import SearchIndex
from indexing.segment import tokenize
from service.explain import Explainer
from service.retrieve import draft_record


def lexical_cosine(a: list[str], b: list[str], idf: Callable[[str], float]) -> float:
    """Cosine of IDF-weighted, sublinear term-frequency vectors."""
    va = {t: (1 + math.log(c)) * idf(t) for t, c in Counter(a).items()}
    vb = {t: (1 + math.log(c)) * idf(t) for t, c in Counter(b).items()}
    dot = sum(w * vb[t] for t, w in va.items() if t in vb)
    na = math.sqrt(sum(w * w for w in va.values()))
    nb = math.sqrt(sum(w * w for w in vb.values()))
    return dot / (na * nb) if na and nb else 0.0


def compare_cases(draft_text: str, cases: list[tuple[str, str]], index: SearchIndex) -> list[dict]:
    """Each submitted (id, text) with score and why, best first."""
    draft = draft_record(draft_text, location="draft")
    records = [draft_record(text, location=f"cases[{i}].text") for i, (_id, text) in enumerate(cases)]
    vectors = index.embedder.encode([draft.facts] + [r.facts for r in records])
    draft_tokens = tokenize(draft.facts)
    explainer = Explainer(draft, draft_tokens, index.term_weights(draft_tokens, draft.case_type.value))
    results = []
    for (case_id, _text), record, vec in zip(cases, records, vectors[1:], strict=True):
        dense = float(np.dot(vectors[0], vec))
        lexical = lexical_cosine(draft_tokens, tokenize(record.facts), index.idf)
        row = display_row(record)
        results.append(
            {
                "id": case_id,
                "score": round(0.5 * dense + 0.5 * lexical, 4),
                "why": explainer.why(row),
                "scores": {"dense": round(dense, 4), "lexical": round(lexical, 4)},
            }
        )
    results.sort(key=lambda r: -r["score"])
    return results
