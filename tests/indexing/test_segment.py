"""indexing.segment: legal terms stay whole, stopwords and single characters go, output is stable."""

from __future__ import annotations

import pytest

from indexing import segment
from indexing.segment import STOPWORDS, content_tokens, legal_words, tokenize

# Real sentences from data_samples/judge_sample.jsonl and data_samples/cail_sample.jsonl.
CONTAINMENT = "被告人李双连对指控其犯容留他人吸毒罪的事实及罪名均无异议"
GUILTY_PLEA = "公诉认为被告人田某某具有坦白情节、又能认罪认罚"
DRUNK = "经晋城市公安司法鉴定中心鉴定，李某血液中乙醇含量为248.4mg/100ml,系醉酒驾驶"


def test_charge_name_stays_whole() -> None:
    toks = tokenize(CONTAINMENT)
    assert "容留他人吸毒罪" in toks
    assert not {"容留", "他人", "吸毒"} & set(toks)
    assert "容留他人吸毒" in tokenize("被告人在家中容留他人吸毒。")


def test_guilty_plea_and_blood_alcohol_stay_whole() -> None:
    assert "认罪认罚" in tokenize(GUILTY_PLEA)
    assert not {"认罪", "认罚"} & set(tokenize(GUILTY_PLEA))
    toks = tokenize(DRUNK)
    assert "血液中乙醇含量" in toks
    assert "醉酒驾驶" in toks


def test_stopwords_single_characters_and_punctuation_dropped() -> None:
    for text in (CONTAINMENT, GUILTY_PLEA, DRUNK):
        toks = tokenize(text)
        assert toks
        assert all(len(t) > 1 for t in toks)
        assert not STOPWORDS & set(toks)
        assert not any(t in "，,、。/" for t in toks)
    assert content_tokens(["的", "上述", "被告人", "，", "..", "某", "盗窃"]) == ["被告人", "盗窃"]


def test_empty_and_none_like_input() -> None:
    assert tokenize("") == []
    assert tokenize("。，的了") == []


def test_deterministic() -> None:
    text = CONTAINMENT + "。" + GUILTY_PLEA + "。" + DRUNK
    first = tokenize(text)
    assert all(tokenize(text) == first for _ in range(3))


def test_legal_dictionary_contents() -> None:
    words = legal_words()
    assert {"容留他人吸毒", "容留他人吸毒罪", "认罪认罚", "血液中乙醇含量"} <= set(words)
    assert len(words) > 469


def test_jieba_fallback_keeps_legal_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without rjieba the Python jieba path gives the same legal-term behaviour."""

    def missing() -> None:
        raise ImportError("rjieba")

    monkeypatch.setattr(segment, "rjieba_cutter", missing)
    segment._cutter.cache_clear()
    try:
        toks = tokenize(CONTAINMENT + "。" + GUILTY_PLEA + "。" + DRUNK)
        assert {"容留他人吸毒罪", "认罪认罚", "血液中乙醇含量"} <= set(toks)
    finally:
        segment._cutter.cache_clear()
