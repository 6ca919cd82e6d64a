"""The only place that chains parse -> extract -> anonymize -> quality -> store.

``ingest`` reads sources, sends every record through the stages, writes cases in batches (each batch
one transaction), writes rejected records to a quarantine file and table, recomputes the corpus-level
flags, and returns an ``IngestReport``. Re-running it on the same sources changes nothing and reports
every record as unchanged.

Crash safety: a case is one row written in its batch's transaction, so a killed ingest leaves each
case either fully stored or absent, and re-running the same command stores the rest (stored cases
count as unchanged). The run is marked finished only after the corpus flags (duplicates, overturned)
are recomputed; ``leian build`` refuses to index while the newest run is unfinished. A
KeyboardInterrupt (Ctrl-C, or SIGTERM as the CLI maps it) stops reading, commits the records already
processed, recomputes the flags, and returns a report marked ``interrupted``; one that arrives
during a batch's write waits until the write is done (indexing/interrupts.py).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine
from tqdm import tqdm

from indexing import db
from indexing.anonymize import anonymize
from indexing.cards import card_to_case
from indexing.corpus_pass import apply_corpus_flags
from indexing.errors import RecordError, SourceError
from indexing.extract import extract, split_sections
from indexing.interrupts import interrupts_deferred
from indexing.parse import StatuteArticle, detect_format, iter_source_files, parse_file
from indexing.quality import CARD_SOURCES, check, minhash_bands
from indexing.schema import CaseRecord, Quarantined, RawJudgment

BATCH = 500  # cases per transaction
REPEATS_NAMED = 20  # repeated records whose locations the report names (all are counted)
_CORPUS_FLAG_FIELDS = ("duplicate_of", "near_duplicate_of", "overturned", "overturned_by")


@dataclass
class IngestReport:
    """What one ingest did; printed by the CLI and saved as JSON beside the quarantine file."""

    run_id: str
    sources: dict[str, str] = field(default_factory=dict)  # file -> detected format
    unreadable_sources: dict[str, str] = field(default_factory=dict)  # file -> why
    read: int = 0  # case records read; each is stored (new, updated, unchanged), repeated or rejected
    stored_new: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated: int = (
        0  # the same case (case id) as a record read earlier in this run: only that first one is stored
    )
    repeated_at: dict[str, str] = field(
        default_factory=dict
    )  # location -> the first record's location (a few)
    rejected: Counter = field(default_factory=Counter)  # "field: reason" -> count
    without_facts: Counter = field(default_factory=Counter)  # source -> stored records with no facts text
    statutes: int = 0  # statute articles read (not case records)
    statutes_distinct: int = 0  # distinct (law, article) among them: what the statute table holds of this run
    statutes_by_file: Counter = field(default_factory=Counter)
    exact_duplicates: int = 0
    near_duplicates: int = 0
    overturned: int = 0
    superseded: int = 0
    by_charge: Counter = field(default_factory=Counter)
    by_outcome: Counter = field(default_factory=Counter)
    masked: Counter = field(default_factory=Counter)  # kind of personal information -> count
    total_in_store: int = 0
    seconds: float = 0.0
    quarantine_file: str | None = None
    interrupted: bool = False  # stopped by Ctrl-C/SIGTERM: what was read is stored, the rest was not read

    @property
    def stored(self) -> int:
        return self.stored_new + self.updated + self.unchanged

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def docs_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "sources": self.sources,
            "unreadable_sources": self.unreadable_sources,
            "read": self.read,
            "stored": self.stored,
            "stored_new": self.stored_new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "repeated": self.repeated,
            "repeated_at": self.repeated_at,
            "rejected": self.rejected_total,
            "rejected_by_reason": dict(self.rejected.most_common()),
            "without_facts": dict(self.without_facts.most_common()),
            "statutes": self.statutes,
            "statutes_distinct": self.statutes_distinct,
            "statutes_by_file": dict(self.statutes_by_file),
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "overturned": self.overturned,
            "superseded": self.superseded,
            "by_charge": dict(self.by_charge.most_common()),
            "by_outcome": dict(self.by_outcome.most_common()),
            "masked": dict(self.masked.most_common()),
            "total_in_store": self.total_in_store,
            "seconds": round(self.seconds, 2),
            "docs_per_second": round(self.docs_per_second, 1),
            "quarantine_file": self.quarantine_file,
            "interrupted": self.interrupted,
        }


def process(raw: RawJudgment) -> tuple[CaseRecord, dict[str, int]]:
    """One raw record through extract -> anonymize -> quality; RecordError if it must be rejected."""
    if raw.source in CARD_SOURCES:
        return check(card_to_case(raw), raw.location), {}
    head = raw.head
    if head is None and raw.full_text:
        head = split_sections(raw.full_text).head
    record = extract(raw)
    record, mask_report = anonymize(record, head=head)
    counts = {k: v for k, v in mask_report.counts().items() if v}
    return check(record, raw.location), counts


#: Raw records a worker process takes at a time: large enough that passing them costs little next to
#: extracting them, small enough that the reorder window stays a few hundred records.
CHUNK = 64


def _process_item(item: object) -> tuple:
    """One parsed item as the main loop needs it, computed where the CPU work is (a worker or inline).

    ("statute", article) | ("rejected", Quarantined)
    | ("case", record, its JSON, masked counts, LSH bands, location)
    """
    if isinstance(item, StatuteArticle):
        return ("statute", item)
    if isinstance(item, Quarantined):
        return ("rejected", item)
    try:
        record, masked = process(item)
    except RecordError as exc:
        return (
            "rejected",
            Quarantined(source=item.source, location=exc.location, field=exc.field, reason=exc.reason),
        )
    bands = minhash_bands(record.facts or "") if record.source not in CARD_SOURCES else []
    return ("case", record, record.model_dump(mode="json"), masked, bands, item.location)


def _process_chunk(items: list) -> list[tuple]:
    return [_process_item(item) for item in items]


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: only the main process stops the run (cleanly, see
    # ingest); a worker that died of it would break the pool before the main process could flush.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _processed(items: Iterable, pool: ProcessPoolExecutor | None, window: int) -> Iterator[tuple]:
    """``_process_item`` of every item, in input order: inline, or by ``pool`` with at most ``window``
    chunks in flight, so memory stays bounded however large the source is (results identical)."""
    if pool is None:
        for item in items:
            yield _process_item(item)
        return
    in_flight: deque = deque()
    source = iter(items)
    while chunk := list(islice(source, CHUNK)):
        in_flight.append(pool.submit(_process_chunk, chunk))
        if len(in_flight) >= window:
            yield from in_flight.popleft().result()
    while in_flight:
        yield from in_flight.popleft().result()


def _carry_corpus_flags(record: CaseRecord, stored: dict | None) -> CaseRecord:
    """Keep flags that only the corpus pass sets, so an unchanged record compares equal."""
    if not stored:
        return record
    old = stored.get("flags") or {}
    keep = {k: old.get(k) for k in _CORPUS_FLAG_FIELDS if k in old}
    return record.model_copy(update={"flags": record.flags.model_copy(update=keep)})


def ingest(
    paths: list[Path],
    engine: Engine,
    quarantine_dir: Path,
    *,
    progress: bool = True,
    on_file: Callable[[Path, str], None] | None = None,
    batch: int = BATCH,
    workers: int = 1,
) -> IngestReport:
    """Ingest every record of ``paths`` into the store behind ``engine``, ``batch`` cases per transaction.

    ``workers`` > 1 extracts, anonymizes and hashes records in that many processes; reading the
    sources and writing the store stay in this process, in source order, so the stored cases and the
    report are the same as with one worker.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1 case per transaction, got {batch}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    started = time.perf_counter()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = IngestReport(run_id=run_id)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    quarantine_path = quarantine_dir / f"{run_id}.jsonl"
    db.start_run(engine, run_id)
    pending: list[tuple[CaseRecord, dict, list[tuple[int, bytes]]]] = []
    statutes: list[dict] = []
    statute_keys: set[tuple[str, str]] = set()
    rejected: list[Quarantined] = []
    # Where each case of this run was first read. A second record of the same case (the same record
    # in two files, as judge_sample.jsonl and judge_second_instance.jsonl share one) is counted as
    # repeated and not stored again: it is no new case, and two rows with one key in a batch are an
    # error in PostgreSQL's upsert.
    first_seen: dict[str, str] = {}

    def flush() -> None:
        with interrupts_deferred():  # an interrupt mid-write would leave SQLite's lock held: finish first
            _flush()

    def _flush() -> None:
        stored = db.existing_records(engine, [r.case_id for r, _, _ in pending])
        to_write = []
        dumped = {}
        bands = {}
        counts = Counter()
        for record, as_json, record_bands in pending:
            if record.case_id in stored:
                carried = _carry_corpus_flags(record, stored[record.case_id])
                if carried is not record:
                    record, as_json = carried, carried.model_dump(mode="json")
            if record.case_id not in stored:
                counts["stored_new"] += 1
            elif stored[record.case_id] != as_json:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
                continue
            to_write.append(record)
            dumped[record.case_id] = as_json
            if record_bands:
                bands[record.case_id] = record_bands
        db.upsert_cases(engine, to_write, bands, dumped=dumped)  # the batch's one transaction: all of it, or none
        # counted only once committed, so a flush repeated after an interrupt does not count twice
        report.stored_new += counts["stored_new"]
        report.updated += counts["updated"]
        report.unchanged += counts["unchanged"]
        pending.clear()

    def reject(item: Quarantined) -> None:
        rejected.append(item)
        report.rejected[f"{item.field}: {item.reason.split(' (')[0].split(':')[0]}"] += 1
        with quarantine_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(item.model_dump(), ensure_ascii=False) + "\n")

    def read_all() -> None:
        for path in iter_source_files(paths):
            try:
                fmt = detect_format(path)
            except (SourceError, OSError, UnicodeDecodeError) as exc:
                report.unreadable_sources[str(path)] = str(exc)
                continue
            report.sources[str(path)] = fmt
            if on_file:
                on_file(path, fmt)
            items: Iterable = parse_file(path)
            if progress:
                items = tqdm(items, desc=f"{path.name} [{fmt}]", unit=" rec", leave=False, mininterval=0.5)
            for result in _processed(items, pool, window=4 * workers):
                kind = result[0]
                if kind == "statute":
                    item = result[1]
                    report.statutes += 1
                    report.statutes_by_file[str(path)] += 1
                    statutes.append(item.__dict__)
                    statute_keys.add((item.law, item.number_text))
                    report.statutes_distinct = len(statute_keys)
                    continue
                report.read += 1
                if kind == "rejected":
                    reject(result[1])
                    continue
                _, record, as_json, masked, record_bands, location = result
                if record.case_id in first_seen:
                    report.repeated += 1
                    if len(report.repeated_at) < REPEATS_NAMED:
                        report.repeated_at[location] = first_seen[record.case_id]
                    continue
                first_seen[record.case_id] = location
                if not record.facts:
                    report.without_facts[record.source] += 1
                report.masked.update(masked)
                report.by_charge.update(record.charges or ["(none)"])
                report.by_outcome[record.outcome.type.value if record.outcome else "unknown"] += 1
                pending.append((record, as_json, record_bands))
                if len(pending) >= batch:
                    flush()
            flush()
            with interrupts_deferred():
                db.upsert_statutes(engine, statutes)
                statutes.clear()

    # fork: the workers start with this process's modules (the extractor's tables) already loaded
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init)
        if workers > 1
        else None
    )
    try:
        read_all()
    except KeyboardInterrupt:
        # Stop cleanly: keep what was read (whole cases), then finish the run as below, so the
        # store is as consistent as after a complete run of fewer records.
        report.interrupted = True
        flush()
        with interrupts_deferred():
            db.upsert_statutes(engine, statutes)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    db.add_quarantined(engine, run_id, rejected)
    _apply_corpus_flags(engine, report)
    report.total_in_store = db.count_cases(engine)
    report.seconds = time.perf_counter() - started
    report.quarantine_file = str(quarantine_path) if rejected else None
    db.finish_run(engine, run_id, report.to_dict())
    reports = quarantine_dir.parent / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    partial = reports / f".ingest-{run_id}.json.tmp"  # renamed into place: never half a report
    partial.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, reports / f"ingest-{run_id}.json")
    return report


def refresh_corpus_flags(engine: Engine) -> dict[str, int]:
    """Recompute the corpus flags over the whole store, as an ingest does when it finishes.

    For cases stored another way (uploads through the API, indexing/uploads.py): the service's build
    (POST /v1/admin/build) calls this before it indexes, so an uploaded duplicate is indexed once.
    """
    report = IngestReport(run_id="")
    _apply_corpus_flags(engine, report)
    return {"exact_duplicates": report.exact_duplicates, "near_duplicates": report.near_duplicates,
            "overturned": report.overturned, "superseded": report.superseded}


def _apply_corpus_flags(engine: Engine, report: IngestReport) -> None:
    counts = apply_corpus_flags(engine)
    report.exact_duplicates = counts.exact_duplicates
    report.near_duplicates = counts.near_duplicates
    report.overturned = counts.overturned
    report.superseded = counts.superseded
