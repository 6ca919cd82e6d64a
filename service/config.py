"""Settings: the only module that reads the environment (prefix ``LEIAN_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where LeiAn keeps its data and which database it uses.

    ``data_dir`` holds the SQLite store (unless ``database_url`` names another database), the
    quarantine files, ingest reports and built indexes.
    """

    model_config = SettingsConfigDict(env_prefix="LEIAN_", extra="ignore")

    data_dir: Path = Path("leian-data")
    database_url: str | None = None
    embedder: str | None = None  # sentence-transformers name or path; default: train one on the corpus
    # the address `leian serve` binds: keyless local mode is only ever granted on a loopback bind
    host: str = "127.0.0.1"
    # server processes sharing the load; each one's rate-limit bucket gets 1/workers of the rate
    workers: int = Field(1, ge=1)
    # threads per worker that run request work (the model, retrieval); database commits are awaited
    # without one. The work is Python holding the GIL, so more threads in one process only contend
    # for it: parallelism comes from workers (see README, "Serving under load")
    request_threads: int = Field(1, ge=1, le=64)
    # per API key token bucket: sustained requests per second and burst; 0 turns limiting off.
    # Local single-user mode (no keys, loopback) is not limited.
    rate_limit_per_second: float = Field(50.0, ge=0)
    rate_limit_burst: int = Field(100, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)  # larger request bodies get 413
    # an upload batch (POST /v1/cases, at most 500 judgments of ~10-30 kB each) may be larger
    upload_max_bytes: int = Field(16_777_216, ge=1024)

    def resolved_database_url(self) -> str:
        from indexing.db import default_database_url

        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return default_database_url(self.data_dir)


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit CLI options taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
