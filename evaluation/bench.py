"""Speed and scale of LeiAn on this machine: per-stage throughput, latency, RAM per case.

Two parts, each reported from one run so ratios between configurations are comparable:

1. **Stages on real data** (the CAIL sample): docs/s of parse, extract, anonymize, quality check,
   segmentation and embedding, each timed over the same records with the product's own functions.
2. **Scale on SYNTHETIC corpora** (recombinations of real indexed cases, see
   ``evaluation.search_benchmark.make_synthetic_index``; never used for quality figures): for each
   size, index build time, bytes per case on disk for the FAISS and BM25 parts, search latency
   p50/p95/p99 and throughput through the full search path, and assessment latency.

Run: ``python -m evaluation.bench INDEX_DATA_DIR [--sizes 10000,100000] [--out FILE]`` where the
data dir holds a build of the real corpus (e.g. what ``evaluation.search_benchmark --work DIR`` leaves).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evaluation.ann_benchmark import compare
from evaluation.datasets import DEFAULT_CAIL_DIR, cail_split, load_cail_pooled
from evaluation.output import machine
from evaluation.search_benchmark import make_synthetic_index
from evaluation.serve_probe import probe
from indexing.anonymize import anonymize
from indexing.artifacts import current_dir
from indexing.extract import extract, split_sections
from indexing.parse import parse_file
from indexing.quality import check
from indexing.schema import RawJudgment
from indexing.search_index import SearchIndex
from indexing.segment import tokenize


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds else float("inf")


def stage_throughput(files: list[Path], index: SearchIndex) -> dict:
    """docs/s of each ingest and index stage over the same real records (e.g. the CAIL files)."""
    t = time.perf_counter()
    raws = [r for f in files for r in parse_file(f) if isinstance(r, RawJudgment)]
    out = {"records": len(raws), "parse": _rate(len(raws), time.perf_counter() - t)}
    t = time.perf_counter()
    records = [extract(r) for r in raws]
    out["extract"] = _rate(len(records), time.perf_counter() - t)
    t = time.perf_counter()
    records = [anonymize(r, head=split_sections(raw.full_text).head if raw.full_text else raw.head)[0]
               for r, raw in zip(records, raws, strict=True)]
    out["anonymize"] = _rate(len(records), time.perf_counter() - t)
    t = time.perf_counter()
    checked = []
    for r, raw in zip(records, raws, strict=True):
        try:
            checked.append(check(r, raw.location))
        except Exception:  # noqa: BLE001 - a rejected record still took its time
            continue
    out["quality"] = _rate(len(records), time.perf_counter() - t)
    texts = [r.facts for r in checked]
    t = time.perf_counter()
    for text in texts:
        tokenize(text)
    out["segment"] = _rate(len(texts), time.perf_counter() - t)
    t = time.perf_counter()
    index.embedder.encode(texts, batch_size=64)
    out["embed"] = _rate(len(texts), time.perf_counter() - t)
    per_doc = sum(1 / out[k] for k in ("parse", "extract", "anonymize", "quality", "segment", "embed"))
    out["ingest_and_index_pipeline"] = round(1 / per_doc, 1)
    return out


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


BREAKDOWN_UP_TO = 200_000
ALL_INDEXES_UP_TO = 200_000


def scale(index: SearchIndex, texts: list[str], query_vecs: np.ndarray, n: int, *, log=print,
          all_indexes: bool = False) -> dict:
    """Build, size, RSS and latency figures on a SYNTHETIC corpus of ``n`` cases (one run)."""
    with tempfile.TemporaryDirectory(prefix="leian-bench-") as tmp:
        directory = Path(tmp) / "index"
        directory.mkdir()
        log(f"bench {n}: building the synthetic index")
        info = make_synthetic_index(index, n, directory)
        emb = info.pop("embeddings")
        disk = {
            "faiss_bytes_per_case": round((directory / "dense.faiss").stat().st_size / n, 1),
            "embeddings_npy_bytes_per_case": round((directory / "embeddings.npy").stat().st_size / n, 1),
            "bm25_bytes_per_case": round(_dir_bytes(directory / "bm25") / n, 1),
            "rows_bytes_per_case": round((directory / "cases.jsonl").stat().st_size / n, 1),
        }
        ann_dir = Path(tmp) / "ann"
        ann_dir.mkdir()
        # above ALL_INDEXES_UP_TO only exact and the served index are compared unless asked: each further
        # HNSW/IVF build of a million vectors takes tens of minutes on a shared 2-core machine
        only = None if all_indexes or n <= ALL_INDEXES_UP_TO else (info["faiss"],)
        ann = compare(emb, query_vecs, ann_dir, served=(info["faiss"], directory / "dense.faiss", info["faiss_build_seconds"]),
                      only=only, log=log)
        del emb
        gc.collect()
        log(f"bench {n}: served memory and latency (fresh process)")
        served = probe(directory, texts, assessments=60)
        parts = None
        if n <= BREAKDOWN_UP_TO:  # per part it is linear in n; at 1M a second full load costs many minutes
            log(f"bench {n}: memory per part (fresh process)")
            parts = probe(directory, texts[:1], breakdown=True)["parts"]
        return {**info, "disk": disk, "rss": {"loaded": served["loaded"], "served": served["served"], "parts": parts,
                                              "load_seconds": served["load_seconds"]},
                "search": served["search"], "assess": served.get("assess"), "vector_indexes": ann}


def marginal_rss(scale_runs: dict) -> dict:
    """Resident bytes per additional case between consecutive sizes (fixed model memory cancels out)."""
    sizes = sorted(int(n) for n in scale_runs)
    out = {}
    for a, b in zip(sizes, sizes[1:], strict=False):
        ra, rb = scale_runs[str(a)]["rss"]["served"], scale_runs[str(b)]["rss"]["served"]
        out[f"{a}->{b}"] = {k: round((rb[f"{k}_bytes"] - ra[f"{k}_bytes"]) / (b - a), 1) for k in ("total", "anon", "file")}
    return out


def run(data_dir: Path, cail: Path, sizes: list[int], queries: int = 150, *, log=print,
        partial: Path | None = None, all_indexes: bool = False, stages: bool = True) -> dict:
    """Both parts of the benchmark; ``data_dir`` holds a build of the real corpus.

    ``partial``: the figures so far are written there after each part (a 1M run takes long).
    """
    index = SearchIndex(current_dir(data_dir))
    _corpus, held_out = cail_split(load_cail_pooled(cail))
    texts = [q["fact"] for q in held_out[:queries]]
    query_vecs = np.asarray(index.embedder.encode(texts, batch_size=64), dtype=np.float32)
    log("bench: stage throughput on real CAIL")
    result: dict = {"machine": machine(), "scale_synthetic": {}}
    if stages:
        result["stages_real_cail"] = stage_throughput(sorted(cail.glob("*.jsonl")), index)
    for n in sizes:
        result["scale_synthetic"][str(n)] = scale(index, texts, query_vecs, n, log=log, all_indexes=all_indexes)
        result["rss_marginal_bytes_per_case"] = marginal_rss(result["scale_synthetic"])
        if partial:
            partial.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


def render_markdown(result: dict, command: str) -> str:
    """The scale figures as tables: per size, and per vector-index configuration per size."""
    lines = ["# LeiAn bench (SYNTHETIC corpora for scale; real CAIL for stages)", "", f"- command: `{command}`",
             f"- machine: {result.get('machine')}", ""]
    st = result.get("stages_real_cail") or {}
    if st:
        lines += ["docs/s per stage on the real CAIL sample: " + ", ".join(f"{k} {v}" for k, v in st.items()), ""]
    lines += ["| cases | served FAISS | build s (FAISS / BM25 / rows) | search p50 / p95 / p99 ms | q/s | "
              "RSS served bytes/case (heap / mmap) | rows dicts / FAISS / BM25 bytes/case |", "|---|---|---|---|---|---|---|"]
    for n, r in result.get("scale_synthetic", {}).items():
        s, rs, parts = r["search"], r["rss"]["served"], r["rss"]["parts"]
        p = ("–", "–", "–") if not parts else (parts["rows_python_dicts"]["total_bytes_per_case"],
                                              parts["faiss"]["total_bytes_per_case"],
                                              parts["bm25_mmap_loaded"]["total_bytes_per_case"])
        lines.append(f"| {n} | {r['faiss']} | {r['faiss_build_seconds']} / {r['bm25_build_seconds']} / {r['rows_write_seconds']} | "
                     f"{s['p50_ms']} / {s['p95_ms']} / {s['p99_ms']} | {s['queries_per_second_one_worker']} | "
                     f"{rs['total_bytes_per_case']} ({rs['anon_bytes_per_case']} / {rs['file_bytes_per_case']}) | "
                     f"{p[0]} / {p[1]} / {p[2]} |")
    for span, m in (result.get("rss_marginal_bytes_per_case") or {}).items():
        lines.append(f"\nMarginal served RSS per added case {span}: {m['total']} bytes (heap {m['anon']}, mmap {m['file']}).")
    for n, r in result.get("scale_synthetic", {}).items():
        ann = r.get("vector_indexes") or {}
        lines += ["", f"Vector indexes at {n} synthetic cases (same vectors, same {ann.get('queries')} queries; "
                  "recall@10 against Flat of this run):", "",
                  "| index | recall@10 | build s | p50 / p95 / p99 ms | file bytes/case | RSS bytes/case (heap / mmap) |",
                  "|---|---|---|---|---|---|"]
        for label, v in ann.items():
            if isinstance(v, dict):
                x = v["rss"]
                lines.append(f"| {label} | {v['recall_at_10']} | {v['build_seconds']} | {v['p50_ms']} / {v['p95_ms']} / "
                             f"{v['p99_ms']} | {v['index_file_bytes_per_case']} | {x['served_bytes_per_case']} "
                             f"({x['served_anon_bytes_per_case']} / {x['served_file_bytes_per_case']}) |")
    return "\n".join(lines) + "\n"


def write_plots(result: dict, out: Path) -> list[Path]:
    """latency_vs_size.png and rss_vs_size.png from the scale runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result.get("scale_synthetic") or {}
    if not runs:
        return []
    sizes = sorted(int(n) for n in runs)

    def plot(name: str, lines: dict[str, list[float]], target: tuple[float, str], xlabel: str, ylabel: str,
             title: str) -> Path:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, values in lines.items():
            ax.plot(sizes, values, marker="o", label=label)
        ax.axhline(target[0], color="black", linestyle="dashed", linewidth=1, label=target[1])
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        return out / name

    served = [runs[str(n)]["rss"]["served"] for n in sizes]
    return [
        plot("latency_vs_size.png",
             {q.replace("_ms", ""): [runs[str(n)]["search"][q] for n in sizes] for q in ("p50_ms", "p95_ms", "p99_ms")},
             (30, "p95 target 30 ms"), "cases (SYNTHETIC recombinations of real ones)",
             "ms per search (full path, with explanations)", "search latency vs corpus size"),
        plot("rss_vs_size.png",
             {"served RSS": [r["total_bytes_per_case"] for r in served], "of it heap": [r["anon_bytes_per_case"] for r in served]},
             (1536, "target 1.5 KB"), "cases (SYNTHETIC)", "resident bytes per case", "served index memory per case"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="data dir holding a build of the real corpus")
    parser.add_argument("--cail-dir", dest="cail", type=Path, default=DEFAULT_CAIL_DIR)
    parser.add_argument("--sizes", default="10000,100000", help="synthetic corpus sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--all-indexes", action="store_true", help="compare every vector index at every size")
    parser.add_argument("--no-stages", action="store_true", help="leave out the per-stage docs/s on real CAIL")
    args = parser.parse_args()
    if not args.cail.is_dir():
        sys.exit(f"bench: {args.cail} not found (needs ../shared/data)")
    result = run(args.data_dir, args.cail, [int(x) for x in args.sizes.split(",") if x.strip()], args.queries,
                 log=lambda m: print(f"{time.strftime('%H:%M:%S')} {m}", file=sys.stderr, flush=True), partial=args.out,
                 all_indexes=args.all_indexes, stages=not args.no_stages)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        command = "python -m evaluation.bench " + " ".join(sys.argv[1:])
        args.out.with_suffix(".md").write_text(render_markdown(result, command), encoding="utf-8")
        write_plots(result, args.out.parent)
    print(text)


if __name__ == "__main__":
    main()
