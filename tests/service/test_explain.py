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


CIVIL = {p["pid"]: p["text"] for p in map(json.loads, (Path(__file__).resolve().parents[1] / "indexing" / "data"
                                                       / "cjrc_civil_elements.jsonl").read_text(encoding="utf-8").splitlines())}


def test_a_civil_draft_is_compared_by_its_causes_elements_over_the_api(client) -> None:  # type: ignore[no-untyped-def]
    """/v1/compare on real CJRC loan passages: the loan case's why names principal, repayment, evidence
    side by side; a divorce passage gets no loan elements; key terms are ranked among the civil cases."""
    body = {"draft": CIVIL["dev_ground_truth:136:0"],
            "cases": [{"id": "loan", "text": CIVIL["test_ground_truth:136:0"]},
                      {"id": "divorce", "text": CIVIL["dev_ground_truth:418:0"]}]}
    r = client.post("/v1/compare", json=body)
    assert r.status_code == 200, r.text
    why = {res["id"]: res["why"] for res in r.json()["results"]}
    loan = {e["element"]: e for e in why["loan"]["elements"]}
    assert loan["principal_yuan"] == {"element": "principal_yuan", "label": "借款本金", "draft": 80000.0, "case": 1600000.0,
                                      "same": False, "draft_text": "80,000元", "case_text": "1,600,000元"}
    assert loan["repaid_yuan"]["draft"] == 0.0 and loan["repaid_yuan"]["case"] == 576000.0
    assert loan["guarantee"]["same"] is True and loan["evidence"]["same"] is True  # both: a guarantor, a 借条
    assert why["divorce"]["elements"] == []
    for terms in (why["loan"]["key_terms"], why["divorce"]["key_terms"]):
        assert not {"原告", "被告"} & set(terms), terms  # in every civil case: nothing distinctive
