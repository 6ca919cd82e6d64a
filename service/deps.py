"""Dependencies: the settings, the served index (swapped atomically when a new build is published), the caller."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from indexing.artifacts import current_dir
from indexing.search_index import SearchIndex
from service.auth import User, authorize, current_user
from service.config import Settings
from service.keys import Role


class IndexHolder:
    """Holds the served SearchIndex; reloads when CURRENT names another version.

    Why a stat per request: it costs microseconds and lets `leian build` publish a new version
    without restarting the service. Requests in flight keep the object they started with.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> SearchIndex:
        directory = current_dir(self.data_dir)
        index = self._index
        if index is not None and index.directory == directory:
            return index
        with self._lock:
            if self._index is None or self._index.directory != directory:
                self._index = SearchIndex(directory)
            return self._index


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_index(request: Request) -> SearchIndex:
    return request.app.state.index_holder.get()


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
IndexDep = Annotated[SearchIndex, Depends(get_index)]
EngineDep = Annotated[Engine, Depends(get_engine)]
CurrentUser = Annotated[User, Depends(current_user)]

ALL_ROLES = frozenset(Role)


def require(*roles: Role) -> object:
    """A router/route dependency: the caller must hold one of ``roles`` (and be within its rate limit)."""
    allowed = frozenset(roles)

    def _check(request: Request, user: CurrentUser) -> User:
        authorize(request, user, allowed)
        return user

    return Depends(_check)
