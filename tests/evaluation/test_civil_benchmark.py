"""The civil benchmark's suites and scorers on the repository's CJRC sample (30 civil passages, 5 causes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from evaluation.civil_benchmark import (
    READ_SUITE,
    main,
    matrix_scorer,
    out_of_fold,
    passage_folds,
    ranked_from_matrix,
    ranking_metrics,
    tfidf_char12,
    triplet_accuracy,
)
from evaluation.civil_data import (
    CJRC_FILES,
    Passage,
    Triplet,
    cause_triplets,
    family,
    grade,
    hard_negative_causes,
    load_civil_passages,
    load_read_triplets,
    near_duplicates,
    retrieval_qrels,
)
from indexing.parse import parse_file
from tests.conftest import SAMPLES, SHARED_DATA

SAMPLE = SAMPLES / "cjrc_sample.json"


@pytest.fixture(scope="module")
def sample() -> tuple[list[Passage], dict[str, set[str]]]:
    passages, dropped = load_civil_passages([SAMPLE])
    assert dropped == []
    return passages, near_duplicates(passages)


def test_sample_passages_carry_the_ids_the_ingest_gives_them(sample: tuple) -> None:
    passages, _near = sample
    civil_ids = {r.source_id for r in parse_file(SAMPLE) if r.labels.get("case_type") == "civil"}
    assert len(passages) == 30
    assert {p.pid for p in passages} == civil_ids
    assert {p.cause for p in passages} == {"变更抚养关系纠纷", "合同纠纷", "保证合同纠纷", "保管合同纠纷", "不当得利纠纷"}


@pytest.mark.parametrize(("cause", "expected"), [
    ("保证合同纠纷", "contract"), ("保证保险合同纠纷", "contract"), ("民间借贷纠纷", "contract"),
    ("信用卡纠纷", "contract"), ("劳动合同纠纷", "labour"), ("劳务派遣合同纠纷", "labour"),
    ("物件损害责任纠纷", "tort_liability"), ("提供劳务者受害责任纠纷", "tort_liability"),
    ("侵害发明专利权纠纷", "intellectual_property"), ("名誉权纠纷", "personality_rights"),
    ("追偿权纠纷", "creditor_rights"), ("保险人代位求偿权纠纷", "creditor_rights"),
    ("被继承人债务清偿纠纷", "inheritance"), ("变更抚养关系纠纷", "family"),
    ("土地承包经营权纠纷", "property"), ("土地承包经营权转让合同纠纷", "contract"),
    ("不当得利纠纷", None), ("案外人执行异议之诉", None),
])
def test_family_rules(cause: str, expected: str | None) -> None:
    assert family(cause) == expected


def test_hard_negative_causes_prefer_the_closest_names() -> None:
    causes = ["保证合同纠纷", "保证保险合同纠纷", "保管合同纠纷", "买卖合同纠纷", "名誉权纠纷", "金融借款合同纠纷", "借款合同纠纷"]
    assert hard_negative_causes("保证合同纠纷", causes) == ["保证保险合同纠纷"]
    assert hard_negative_causes("金融借款合同纠纷", causes) == ["借款合同纠纷"]
    # no shared bigram beyond the generic 合同: the whole family, never another family's cause
    assert hard_negative_causes("保管合同纠纷", causes) == ["买卖合同纠纷", "保证保险合同纠纷", "保证合同纠纷", "借款合同纠纷",
                                                         "金融借款合同纠纷"]
    assert hard_negative_causes("不当得利纠纷", causes) == []


def test_grades() -> None:
    assert grade("保证合同纠纷", "保证合同纠纷") == 2
    assert grade("保证合同纠纷", "保管合同纠纷") == 1
    assert grade("保证合同纠纷", "名誉权纠纷") == 0
    assert grade("不当得利纠纷", "合同纠纷") == 0
    assert grade("保证合同纠纷", None) == 0  # a criminal background case


def test_cause_triplets_are_seeded_and_well_formed(sample: tuple) -> None:
    passages, near = sample
    cause = {p.pid: p.cause for p in passages}
    first = cause_triplets(passages, near, n=30)
    assert first == cause_triplets(passages, near, n=30)
    assert first != cause_triplets(passages, near, n=30, seed=1)
    assert len(first) == 30 and len({t.anchor for t in first}) == 30
    for t in first:
        positive, negative = (t.a, t.b) if t.label == "a" else (t.b, t.a)
        assert t.anchor not in (t.a, t.b)
        assert cause[positive] == cause[t.anchor]
        assert cause[negative] != cause[t.anchor]
        same_family = family(cause[negative]) is not None and family(cause[negative]) == family(cause[t.anchor])
        assert same_family == (t.negative == "same_family")
    # contract anchors in the sample have family causes to draw from; 不当得利 has no family
    assert {t.negative for t in first if cause[t.anchor] == "保证合同纠纷"} == {"same_family"}
    assert {t.negative for t in first if cause[t.anchor] == "不当得利纠纷"} == {"other_family"}
    assert {t.label for t in first} == {"a", "b"}


def test_retrieval_qrels_judge_others_only(sample: tuple) -> None:
    passages, near = sample
    qrels, excluded = retrieval_qrels(passages, near)
    assert len(qrels) == 30
    for qid, judged in qrels.items():
        assert qid not in judged and qid in excluded[qid]
        assert list(judged.values()).count(2) == 5  # 6 passages per cause in the sample


def test_triplet_accuracy_counts_ties_half() -> None:
    ts = [Triplet("q", "x", "y", "a", "k"), Triplet("q", "x", "y", "b", "k"), Triplet("q", "y", "x", "b", "k")]
    scores = {"x": 1.0, "y": 1.0}
    got = triplet_accuracy(ts, lambda t: (scores[t.a], scores[t.b]))
    assert got["all"]["accuracy"] == 0.5 and got["all"]["n"] == 3
    assert got["all"]["ci95"][0] < 0.5 < got["all"]["ci95"][1]
    scores["x"] = 2.0
    assert triplet_accuracy(ts, lambda t: (scores[t.a], scores[t.b]))["k"]["accuracy"] == round(2 / 3, 4)


def test_tfidf_beats_chance_on_the_sample(sample: tuple) -> None:
    passages, near = sample
    texts = [p.text for p in passages]
    position = {p.pid: i for i, p in enumerate(passages)}
    triplets = cause_triplets(passages, near, n=30)
    corpus_fit = tfidf_char12(texts)(texts, texts)
    # 23 of 30 right has probability 0.003 under chance; a constant scorer gets 0.5
    assert triplet_accuracy(triplets, matrix_scorer(corpus_fit, position))["all"]["accuracy"] >= 0.7
    held_out = out_of_fold(tfidf_char12, passages, passage_folds(passages))
    assert triplet_accuracy(triplets, matrix_scorer(held_out, position))["all"]["accuracy"] >= 0.65
    qrels, excluded = retrieval_qrels(passages, near)
    scores = ranking_metrics(ranked_from_matrix(corpus_fit, passages, qrels, excluded), qrels, cross_check=False)
    assert scores["p_at_10"] >= 0.3  # same-cause share of the other 29 passages: 5/29 = 0.17
    assert scores["mrr"] >= 0.6


def test_read_suite_file_is_well_formed() -> None:
    rows = [json.loads(line) for line in READ_SUITE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 60
    for row in rows:
        assert row["label"] in ("a", "b") and row["cause_side"] in ("a", "b")
        assert row["anchor"] not in (row["a"], row["b"]) and row["a"] != row["b"]
        assert row["reason"].strip()


@pytest.mark.skipif(not (SHARED_DATA / "cjrc_passages").is_dir(), reason="needs ../shared/data")
def test_read_suite_names_known_passages() -> None:
    passages, _dropped = load_civil_passages([SHARED_DATA / "cjrc_passages" / f for f in CJRC_FILES])
    assert len(load_read_triplets(READ_SUITE, {p.pid for p in passages})) >= 60


def test_main_exits_2_without_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["civil_benchmark", "--benchmark-data", str(tmp_path / "absent")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "cjrc_passages" in capsys.readouterr().err
