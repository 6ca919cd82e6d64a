"""Explanations: the shared key terms are the most distinctive draft terms that occur in the case."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from indexing.segment import tokenize
from service.explain import MAX_TERMS, is_number_like, ranked_terms, shared_terms

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


def _facts(n: int) -> list[str]:
    lines = (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line)["fact"] for line in lines]


def test_shared_terms_are_the_top_idf_terms_the_case_contains() -> None:
    facts = _facts(40)
    docs = [tokenize(f) for f in facts]
    df = Counter(t for d in docs for t in set(d))
    idf = lambda t: math.log(1 + len(docs) / (1 + df[t]))  # noqa: E731 - a corpus IDF, as the index's
    for draft, tokens in zip(facts[:10], docs[:10], strict=True):
        ranked = ranked_terms(tokens, idf)
        words = {t for t in tokens if not is_number_like(t)}
        assert len(ranked) == len(words)  # distinct, repeated tokens count once
        for case in facts[10:20]:
            # the definition: every distinct draft word found in the case text, by IDF then name
            everything = sorted({t for t in words if t in case}, key=lambda t: (-idf(t), t))
            assert shared_terms(ranked, case) == everything[:MAX_TERMS]
        assert shared_terms(ranked, draft) == ranked[:MAX_TERMS]  # a text shares all of its own terms
    assert shared_terms([], facts[0]) == [] and shared_terms(ranked_terms(docs[0], idf), "") == []


def test_numbers_and_dates_are_not_key_terms() -> None:
    """A newcomer saw "20" and "2013" among the shared terms: rare in the corpus, so ranked as the most
    distinctive by IDF, yet meaningless as a similarity. Real CAIL facts are full of them."""
    facts = _facts(60)
    docs = [tokenize(f) for f in facts]
    df = Counter(t for d in docs for t in set(d))
    idf = lambda t: math.log(1 + len(docs) / (1 + df[t]))  # noqa: E731
    numeric = {t for d in docs for t in d if any(ch.isdigit() for ch in t)}
    assert {"2013", "20"} <= numeric  # the tokenizer does yield them
    for draft, tokens in zip(facts[:20], docs[:20], strict=True):
        terms = shared_terms(ranked_terms(tokens, idf), draft)
        assert terms and not numeric & set(terms)
    for term in ("2013", "20", "３０００", "3.5", "2019-03-20", "150mg", "9900-D3", "二〇一三", "五年", "20时"):
        assert is_number_like(term), term
    for term in ("盗窃", "醉酒驾驶", "万元", "二审", "万某", "QQ", "ATM", "六个月"):
        assert not is_number_like(term), term
