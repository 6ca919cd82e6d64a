"""Ingest end to end on real judgments from data_samples/, against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from indexing import db
from indexing.corpus_pass import apply_corpus_flags
from indexing.db import make_engine
from indexing.parse import detect_format
from indexing.pipeline import ingest
from indexing.quality import corpus_flags
from tests.conftest import SAMPLES

DEFENDANT = re.compile(r"被告人([\u4e00-\u9fff]{2,4})[，,]\s*(?:男|女)")


def _first_lines(path: Path, n: int) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [next(fh) for _ in range(n)]


def test_formats_are_detected_from_content() -> None:
    expected = {
        "cail_sample.jsonl": "cail2018",
        "judge_sample.jsonl": "judge",
        "lecard_v1_sample.jsonl": "lecard_v1",
        "lecardv2_heads.jsonl": "lecardv2",
        "cjrc_sample.json": "cjrc",
        "traffic_cards_2019.csv": "traffic_card",
        "criminal_law_articles.jsonl": "statute",
    }
    for name, fmt in expected.items():
        assert detect_format(SAMPLES / name) == fmt, name


def test_ingest_all_samples_is_complete_and_idempotent(engine: Engine, tmp_path: Path) -> None:
    first = ingest([SAMPLES], engine, tmp_path / "quarantine", progress=False)
    assert not first.unreadable_sources
    assert first.read > 1500
    # nothing read is lost: every record is stored, repeated (the same case read earlier) or quarantined
    assert first.stored + first.repeated + first.rejected_total == first.read
    assert first.stored_new == first.stored == db.count_cases(engine) == first.total_in_store
    # one JuDGE judgment is in two sample files: a repeat, not an "unchanged" case of a fresh store
    assert (first.unchanged, first.repeated) == (0, 1)
    assert first.repeated_at == {f"{SAMPLES}/judge_second_instance.jsonl:3": f"{SAMPLES}/judge_sample.jsonl:77"}
    assert first.without_facts == {"traffic_card": 500}  # stored, never indexed: the cards have no text
    # records in criminal_law_articles.jsonl (the last has no newline, so `wc -l` says 451)
    assert first.statutes == first.statutes_distinct == first.statutes_by_file[str(SAMPLES / "criminal_law_articles.jsonl")] == 452
    assert first.by_outcome["fixed_term"] > 100
    assert first.by_charge["盗窃罪"] > 20
    assert first.masked.get("names", 0) > 0

    second = ingest([SAMPLES], engine, tmp_path / "quarantine", progress=False)
    assert second.stored_new == 0 and second.updated == 0
    assert second.unchanged == first.stored and second.repeated == 1
    assert db.count_cases(engine) == first.total_in_store


def test_a_case_read_twice_in_one_batch_is_stored_once_and_counted_as_repeated(engine: Engine, tmp_path: Path) -> None:
    """Two records of one case in the same batch were both counted as new (SQLite) or failed the
    batch's upsert (PostgreSQL: a row cannot be affected twice by one statement)."""
    lines = _first_lines(SAMPLES / "judge_sample.jsonl", 3)  # a JuDGE record's case id is its text_id
    src = tmp_path / "twice.jsonl"
    src.write_text(lines[0] + lines[1] + lines[0] + lines[2], encoding="utf-8")
    report = ingest([src], engine, tmp_path / "q", progress=False)
    assert (report.read, report.stored_new, report.repeated, report.unchanged) == (4, 3, 1, 0)
    assert report.repeated_at == {f"{src}:3": f"{src}:1"}
    assert db.count_cases(engine) == 3 and sum(report.by_outcome.values()) == 3


def test_stored_cases_are_anonymized(engine: Engine, tmp_path: Path) -> None:
    heads = SAMPLES / "lecardv2_heads.jsonl"
    names = {n for line in heads.open(encoding="utf-8") for n in DEFENDANT.findall(json.loads(line)["query"])}
    assert len(names) >= 30
    ingest([heads], engine, tmp_path / "q", progress=False)
    stored_text = "\n".join(
        " ".join(t for t in (r.facts, r.reasoning, r.judgment) if t) for r in db.iter_cases(engine)
    )
    assert [n for n in names if n in stored_text] == []
    assert "某" in stored_text


def test_malformed_records_are_quarantined_with_location(engine: Engine, tmp_path: Path) -> None:
    lines = _first_lines(SAMPLES / "cail_sample.jsonl", 4)
    no_facts = json.loads(lines[2])
    no_facts["fact"] = "  "
    bad_outcome = json.loads(lines[3])
    bad_outcome["meta"]["term_of_imprisonment"]["imprisonment"] = "很久"
    src = tmp_path / "cail_bad.jsonl"
    src.write_text(lines[0] + lines[1][: len(lines[1]) // 2] + "\n" + json.dumps(no_facts, ensure_ascii=False) + "\n"
                   + json.dumps(bad_outcome, ensure_ascii=False) + "\n", encoding="utf-8")
    judgment = json.loads(_first_lines(SAMPLES / "judge_sample.jsonl", 1)[0])["fd"]
    gbk = tmp_path / "judgment_gbk.txt"
    gbk.write_bytes(judgment.encode("gb18030"))

    report = ingest([src, gbk], engine, tmp_path / "quarantine", progress=False)
    assert report.read == 5 and report.stored == 1 and report.rejected_total == 4
    quarantined = [json.loads(x) for x in Path(report.quarantine_file).read_text(encoding="utf-8").splitlines()]
    by_location = {q["location"]: q for q in quarantined}
    assert by_location[f"{src}:2"]["field"] == "json"
    assert by_location[f"{src}:3"]["field"] == "facts"
    assert "imprisonment" in by_location[f"{src}:4"]["field"]
    assert by_location[str(gbk)]["field"] == "encoding"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.quarantine)).scalar_one() == 4


def test_unknown_source_is_reported_not_ingested(engine: Engine, tmp_path: Path) -> None:
    odd = tmp_path / "notes.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    report = ingest([odd, SAMPLES / "lecard_v1_sample.jsonl"], engine, tmp_path / "q", progress=False)
    assert str(odd) in report.unreadable_sources
    assert report.stored == 30


def test_exact_duplicates_are_flagged_not_dropped(engine: Engine, tmp_path: Path) -> None:
    lines = _first_lines(SAMPLES / "lecard_v1_sample.jsonl", 3)
    copy = json.loads(lines[0])
    copy["ridx"] = "copy-of-first"
    copy["q"] = copy["q"].replace("，", ", ")  # reformatted punctuation: still the same facts
    src = tmp_path / "dups.jsonl"
    src.write_text("".join(lines) + json.dumps(copy, ensure_ascii=False) + "\n", encoding="utf-8")
    report = ingest([src], engine, tmp_path / "q", progress=False)
    assert report.stored == 4 and report.exact_duplicates == 1
    flagged = [r for r in db.iter_cases(engine) if r.flags.duplicate_of]
    assert len(flagged) == 1


def test_near_duplicates_are_flagged(engine: Engine, tmp_path: Path) -> None:
    line = _first_lines(SAMPLES / "lecard_v1_sample.jsonl", 1)[0]
    near = json.loads(line)
    near["ridx"] = "near-copy"
    near["q"] = near["q"][: int(len(near["q"]) * 0.95)]  # the same facts with the last sentence cut
    src = tmp_path / "near.jsonl"
    src.write_text(line + json.dumps(near, ensure_ascii=False) + "\n", encoding="utf-8")
    report = ingest([src], engine, tmp_path / "q", progress=False)
    assert report.near_duplicates == 1 and report.exact_duplicates == 0


def test_second_instance_judgment_flags_the_case_it_overturns(engine: Engine, tmp_path: Path) -> None:
    report = ingest([SAMPLES / "judge_second_instance.jsonl", SAMPLES / "judge_sample.jsonl"], engine, tmp_path / "q", progress=False)
    records = list(db.iter_cases(engine))
    second = next(r for r in records if r.case_number and "京02刑终218号" in r.case_number)
    # A real first-instance judgment, varied in one field: the case number the appeal overturned.
    first = next(r for r in records if r.procedure and r.procedure.value == "first_instance")
    first = first.model_copy(update={"case_number": "（2019）京0106刑初158号"})
    updates = {u.case_id: u.flags for u in corpus_flags([*(r for r in records if r.case_id != first.case_id), first])}
    assert updates[first.case_id].overturned is True
    assert updates[first.case_id].overturned_by == second.case_id
    assert report.overturned == 0  # the overturned first-instance judgment itself is not in the sample


def test_superseded_provisions_are_flagged(engine: Engine, tmp_path: Path) -> None:
    ingest([SAMPLES / "judge_sample.jsonl"], engine, tmp_path / "q", progress=False)
    records = list(db.iter_cases(engine))
    superseded = [r for r in records if r.flags.superseded]
    # a real 2014 embezzlement judgment that decided 第383条 before 刑法修正案（九） rewrote it
    dca = next(r for r in records if r.source_id.startswith("dca784b8"))
    assert dca.flags.superseded and "刑法修正案（九）" in (dca.flags.superseded_reason or "")
    assert all(r.flags.superseded == bool(r.flags.superseded_reason) for r in records)
    for r in superseded:
        assert r.date and "amended by" in (r.flags.superseded_reason or "")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(db.cases.c.superseded.is_(True))).scalar_one() == len(superseded)


def _store_snapshot(engine: Engine) -> tuple[list, list]:
    with engine.connect() as conn:
        cases = conn.execute(select(db.cases.c.case_id, db.cases.c.record).order_by(db.cases.c.case_id)).all()
        bands = conn.execute(select(db.minhash_bands).order_by(db.minhash_bands.c.case_id, db.minhash_bands.c.band)).all()
    return [(cid, rec) for cid, rec in cases], [tuple(row) for row in bands]


def test_two_workers_store_the_same_cases_and_report_as_one(engine: Engine, tmp_path: Path) -> None:
    """--workers extracts in a process pool; the store and the report must not depend on it."""
    one = ingest([SAMPLES], engine, tmp_path / "q1", progress=False, workers=1)
    other = make_engine(f"sqlite:///{tmp_path / 'two.db'}")
    two = ingest([SAMPLES], other, tmp_path / "q2", progress=False, workers=2, batch=97)
    varying = ("run_id", "seconds", "docs_per_second", "quarantine_file")
    assert {k: v for k, v in one.to_dict().items() if k not in varying} == {
        k: v for k, v in two.to_dict().items() if k not in varying
    }
    cases_one, bands_one = _store_snapshot(engine)
    assert (cases_one, bands_one) == _store_snapshot(other)
    # every text case has its LSH bands stored with it; cards (no text) have none
    assert len(bands_one) == 5 * (len(cases_one) - one.without_facts["traffic_card"])
    other.dispose()


def test_workers_below_one_are_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers must be at least 1"):
        ingest([SAMPLES / "cail_sample.jsonl"], engine, tmp_path / "q", progress=False, workers=0)


def test_streamed_corpus_flags_equal_the_in_memory_definition(engine: Engine, tmp_path: Path) -> None:
    """The store-side pass (indexing/corpus_pass.py) flags exactly what quality.corpus_flags would."""
    lines = _first_lines(SAMPLES / "lecard_v1_sample.jsonl", 2)
    copy, near = json.loads(lines[0]), json.loads(lines[1])
    copy["ridx"], copy["q"] = "copy", copy["q"].replace("，", ", ")
    near["ridx"], near["q"] = "near", near["q"][: int(len(near["q"]) * 0.95)]
    extra = tmp_path / "extra.jsonl"
    extra.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (copy, near)), encoding="utf-8")
    report = ingest([SAMPLES, extra], engine, tmp_path / "q", progress=False, workers=2)
    assert report.exact_duplicates >= 1 and report.near_duplicates >= 1
    assert corpus_flags(db.iter_cases(engine)) == []  # nothing the reference would still change

    # A first-instance judgment stored (as by an older release) without its LSH bands, varied to carry
    # the case number a second-instance judgment in the store overturned: the next pass fills in its
    # bands and flags it; restoring its own number removes the flag again.
    records = list(db.iter_cases(engine))
    second = next(r for r in records if r.case_number and "京02刑终218号" in r.case_number)
    first = next(r for r in records if r.procedure and r.procedure.value == "first_instance" and r.source == "judge")
    db.upsert_cases(engine, [first.model_copy(update={"case_number": "（2019）京0106刑初158号"})])
    with engine.begin() as conn:
        conn.execute(db.minhash_bands.delete().where(db.minhash_bands.c.case_id == first.case_id))
    counts = apply_corpus_flags(engine)
    assert counts.bands_filled == 1 and counts.overturned == 1 and counts.changed == 1
    flagged = db.get_case(engine, first.case_id)
    assert flagged is not None and flagged.flags.overturned and flagged.flags.overturned_by == second.case_id
    assert corpus_flags(db.iter_cases(engine)) == []
    db.upsert_cases(engine, [first])
    assert apply_corpus_flags(engine).overturned == 0
    assert corpus_flags(db.iter_cases(engine)) == []


def test_minhash_values_are_datasketch_own_on_real_facts() -> None:
    """The shingles are hashed in one pass (indexing.quality._shingle_hashes); the MinHash values, and so the
    LSH band keys stores already hold, are those of datasketch's MinHash fed each shingle's bytes."""
    from datasketch import MinHash

    from indexing.quality import NUM_PERM, _shingles, minhash

    lines = (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:100]
    for text in [json.loads(line)["fact"] for line in lines] + ["", "短"]:
        reference = MinHash(num_perm=NUM_PERM, seed=1)
        reference.update_batch(_shingles(text))
        assert (minhash(text).hashvalues == reference.hashvalues).all()
