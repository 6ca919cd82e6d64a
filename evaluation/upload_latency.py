"""Time from a clerk's upload to the case being served, on the sample, through a live server.

The store is data_samples without judge_second_instance.jsonl, with a full index built; a clerk
uploads those three real judgments (as exchange records, source ``court-upload``) with POST
/v1/cases, an admin starts POST /v1/admin/build, and the clock stops when GET /v1/cases/{id} of an
uploaded case answers 200 from the server that was running all along (no restart). Reported: the
upload's answer, the build (corpus flags, then the incremental build: embedding only the new cases,
refitting the charge and sentencing models on the whole corpus), the reload, and the sum.

    python -m evaluation.upload_latency --out docs/benchmarks/upload_to_served.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from evaluation.live_server import serve_in_thread
from evaluation.output import emit_json
from indexing.build import BuildConfig, build_index
from indexing.db import make_engine
from indexing.exchange import to_exchange
from indexing.extract import extract
from indexing.parse import parse_file
from indexing.pipeline import ingest
from indexing.schema import RawJudgment
from service.config import Settings
from service.keys import Role, create_key
from service.main import create_app

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"
UPLOADED = SAMPLES / "judge_second_instance.jsonl"


def _records() -> list[dict]:
    raws = [r for r in parse_file(UPLOADED) if isinstance(r, RawJudgment)]
    return [
        {**json.loads(to_exchange(extract(r)).model_dump_json(exclude_none=True)), "source": "court-upload"}
        for r in raws
    ]


def measure(work: Path, *, epochs: int) -> dict:
    engine = make_engine(f"sqlite:///{work / 'leian.db'}")
    sources = [
        p for p in sorted(SAMPLES.iterdir()) if p.is_file() and p != UPLOADED and p.name != "README.md"
    ]
    stored = ingest(sources, engine, work / "quarantine", progress=False).stored
    build_index(engine, BuildConfig(data_dir=work, epochs=epochs))
    clerk = create_key(engine, role=Role.clerk, name="clerk")[1]
    admin = create_key(engine, role=Role.admin, name="admin")[1]
    engine.dispose()
    records = _records()
    settings = Settings(data_dir=work, database_url=f"sqlite:///{work / 'leian.db'}", rate_limit_per_second=0)
    with (
        serve_in_thread(create_app(settings), within_s=120) as base,
        httpx.Client(base_url=base, timeout=600) as c,
    ):
        t0 = time.perf_counter()
        resp = c.post("/v1/cases", json={"cases": records}, headers={"Authorization": f"Bearer {clerk}"})
        resp.raise_for_status()
        accepted = resp.json()["accepted"]
        t_upload = time.perf_counter()
        c.post("/v1/admin/build", headers={"Authorization": f"Bearer {admin}"}).raise_for_status()
        while (state := c.get("/v1/admin/build", headers={"Authorization": f"Bearer {admin}"}).json())[
            "state"
        ] == "running":
            time.sleep(0.2)
        t_built = time.perf_counter()
        if state["state"] != "succeeded":
            raise RuntimeError(f"the build did not succeed: {state}")
        served = next(a["case_id"] for a in accepted if not a["duplicate_of"])
        while c.get(f"/v1/cases/{served}", headers={"Authorization": f"Bearer {admin}"}).status_code != 200:
            time.sleep(0.2)
        t_served = time.perf_counter()
    return {
        "store_cases_before": stored,
        "uploaded": len(records),
        "accepted": len(accepted),
        "index_cases_after": state["cases"],
        "embedded_by_the_build": state["added"],
        "upload_seconds": round(t_upload - t0, 2),
        "build_seconds": round(t_built - t_upload, 2),
        "reload_seconds": round(t_served - t_built, 2),
        "upload_to_served_seconds": round(t_served - t0, 2),
        "initial_build_epochs": epochs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=1, help="embedder epochs of the initial full build (setup only)"
    )
    parser.add_argument("--out", type=Path, help="write the JSON report here too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leian-upload-latency-") as work:
        result = measure(Path(work), epochs=args.epochs)
    emit_json({"upload_to_served": result}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
