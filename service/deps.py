"""Dependencies: the settings, the served index (swapped atomically when a new build is published), the caller."""

from __future__ import annotations

import gc
import logging
import os
import threading
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from indexing.anonymize import load_lexicon
from indexing.artifacts import current_dir, indexes_dir
from indexing.errors import LeiAnError
from indexing.search_index import SearchIndex
from service.auth import User, authorize, current_user
from service.config import Settings
from service.keys import Role
from service.retrieve import prepare_draft, retrieve

logger = logging.getLogger(__name__)


def _loaded(directory: Path, *, one_shot: bool = False) -> SearchIndex:
    """Load a version, then move every live object into the garbage collector's permanent generation.

    ``one_shot`` (the CLI's in-process app, which answers one request and exits) loads lazily
    (:class:`SearchIndex` ``lazy``), with no warm-up and no collection: both pay off only over many requests.

    Why: a loaded index is about half a million long-lived Python objects (rows, vocabularies, the
    models), and each full collection walks them all: ~0.35 s with the GIL held, a stall for every
    request of the worker whenever one runs under load. Frozen objects are still freed by reference
    counting once a later version replaces them; only reference cycles among them would stay.
    """
    if one_shot:
        return SearchIndex(directory, lazy=True)
    index = SearchIndex(directory)
    _warm(index)
    gc.collect()
    gc.freeze()
    return index


def _warm(index: SearchIndex) -> None:
    """Search for and assess one of the index's own cases once, before the version serves.

    Why: first uses build caches that then last the process's life (the anonymizer's name lexicon,
    0.4-0.9 s; the fusion's column arrays; the sentencing model's fast views). Cold, they fell on the
    first requests of every worker, which under load queued everything behind them. The lexicon is
    loaded explicitly: the corpus's own facts are already anonymized, so searching one never needs it.
    """
    load_lexicon()
    text = next((row["facts"] for row in index.rows[:100] if row.get("facts")), None)
    if not text:
        return
    try:
        retrieve(prepare_draft(text, index), index, 10)
        if index.sentencing is not None:
            from service.assess import assess  # with scikit-learn: only where a model is there to warm

            assess(index, text)
    except LeiAnError as exc:  # a draft the pipeline refuses: serving goes on, only colder
        logger.warning("warm-up of index %s skipped: %s", index.version, exc)


class IndexHolder:
    """Holds the served SearchIndex; reloads when CURRENT names another version.

    Why a stat per request: it costs microseconds and lets `leian build` publish a new version
    without restarting the service. Requests in flight keep the object they started with. The
    pointer is read again only when that stat changes (`leian build` replaces CURRENT atomically,
    so each publication is a new inode): reading and checking it on every request was a tenth of
    the event loop's work per request.

    With ``background=True`` (the service) a newly published version is loaded in a thread while
    requests go on being answered from the loaded one, which is swapped out once the new one is ready:
    loading takes seconds (the embedder, the sentencing model), and no request should wait for it. A
    version that fails to load is logged and skipped, and the loaded one keeps serving.

    With ``one_shot=True`` (the CLI's in-process app) the index loads only what the one answer needs.
    """

    def __init__(self, data_dir: Path, *, background: bool = False, one_shot: bool = False) -> None:
        self.data_dir = data_dir
        self.background = background
        self.one_shot = one_shot
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()
        self._loading: Path | None = None
        self._failed: Path | None = None
        self._pointer: tuple[tuple[int, int, int], Path] | None = None  # (CURRENT's stat, the folder it names)
        self._current_file = os.fspath(indexes_dir(data_dir) / "CURRENT")  # made once: two Paths per request otherwise

    def current(self) -> Path:
        """The folder CURRENT names (:func:`current_dir`), re-read only when CURRENT's stat changed."""
        try:
            st = os.stat(self._current_file)
        except OSError:
            return current_dir(self.data_dir)  # raises the ArtifactError that says how to build one
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._pointer
        if cached is not None and cached[0] == key:
            return cached[1]
        directory = current_dir(self.data_dir)
        self._pointer = (key, directory)
        return directory

    def get(self) -> SearchIndex:
        index = self.get_nowait()
        if index is not None:
            return index
        directory = self.current()
        with self._lock:
            if self._index is None or self._index.directory != directory:
                self._index = _loaded(directory, one_shot=self.one_shot)
            return self._index

    def get_nowait(self) -> SearchIndex | None:
        """The index to serve when that needs no load in this call (a new version loads in the
        background), else None: then :meth:`get` loads it, which takes seconds (call it in a thread)."""
        directory = self.current()
        index = self._index
        if index is None or (index.directory != directory and not self.background):
            return None
        if index.directory != directory:
            self._load_in_background(directory)
        return index

    def _load_in_background(self, directory: Path) -> None:
        with self._lock:
            if directory in (self._loading, self._failed):
                return
            self._loading = directory
        threading.Thread(target=self._load, args=(directory,), name="leian-index-load", daemon=True).start()

    def _load(self, directory: Path) -> None:
        try:
            loaded = _loaded(directory)
        except Exception:  # noqa: BLE001 - keep serving the loaded version; say why once
            logger.exception("index version %s failed to load; still serving %s", directory.name,
                             self._index.version if self._index else None)
            with self._lock:
                self._failed, self._loading = directory, None
            return
        with self._lock:
            self._index, self._loading = loaded, None


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_index(request: Request) -> SearchIndex:
    """The served index, on the event loop (a stat and a small read), unless it must first be loaded."""
    holder: IndexHolder = request.app.state.index_holder
    index = holder.get_nowait()
    return index if index is not None else await run_in_threadpool(holder.get)


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
IndexDep = Annotated[SearchIndex, Depends(get_index)]
EngineDep = Annotated[Engine, Depends(get_engine)]
CurrentUser = Annotated[User, Depends(current_user)]

ALL_ROLES = frozenset(Role)
#: Who reads the served cases (search, compare, expectations, the case view): every role but the clerk,
#: whose key only uploads.
READERS = ALL_ROLES - {Role.clerk}


def require(*roles: Role) -> object:
    """A router/route dependency: the caller must hold one of ``roles`` (and be within its rate limit)."""
    allowed = frozenset(roles)

    async def _check(request: Request, user: CurrentUser) -> User:
        authorize(request, user, allowed)
        return user

    return Depends(_check)
