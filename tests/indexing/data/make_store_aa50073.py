# ruff: noqa
"""How store_aa50073.sqlite was made: run with the code of release aa50073, the last without migrations.

    git worktree add /tmp/leian-aa50073 aa50073 && cd /tmp/leian-aa50073
    PYTHONPATH=. python /path/to/this/file.py /tmp/store_aa50073.sqlite

It ingests two real samples (33 cases), makes an API key, stores four assessments (two of them
alerts, one acknowledged) and four audit records, and checks the chain. It imports names that later
releases moved (``service.store.ensure_tables``), so it only runs at that commit.
"""
import sys
from pathlib import Path

from indexing.db import make_engine
from indexing.pipeline import ingest
from service.audit import append_many, verify
from service.keys import Role, create_key
from service.store import acknowledge, assessment_row, ensure_tables, insert_assessments

out = Path(sys.argv[1])
engine = make_engine(f"sqlite:///{out}")
ensure_tables(engine)
samples = [Path("data_samples/lecard_v1_sample.jsonl"), Path("data_samples/judge_second_instance.jsonl")]
print(ingest(samples, engine, out.parent / "quarantine", progress=False))
create_key(engine, role=Role.manager, name="fixture")
rows = []
for i, (level, months) in enumerate([("none", 12), ("notice", 30), ("warning", 48), ("severe", 96)]):
    rows.append(assessment_row({
        "court": "测试法院", "judge_id": "j1", "case_ref": f"fixture-{i}", "charge": "盗窃罪", "charges": ["盗窃罪"],
        "proposed": {"type": "fixed_term", "months": months}, "proposed_months": months,
        "expected": {"outcome_type": "fixed_term", "median_months": 12.0, "range_80": [8, 18], "range_95": [6, 26]},
        "level": level, "reasons": [f"fixture {level}"], "threshold": None, "index_version": "fixture"}))
with engine.begin() as conn:
    insert_assessments(conn, rows)
acknowledge(engine, alert_id=rows[2]["id"], resolution="justified", note="fixture", by="m1")
append_many(engine, [{"actor": "fixture", "role": "judge", "action": "assess", "target": r["id"],
                      "request_hash": "0" * 64, "request_size": 10, "status": 200} for r in rows])
print(verify(engine))
