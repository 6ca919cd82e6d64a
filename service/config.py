"""Settings: the only module that reads the environment (prefix ``LEIAN_``)."""

from __future__ import annotations

from pathlib import Path

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

    def resolved_database_url(self) -> str:
        from indexing.db import default_database_url

        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return default_database_url(self.data_dir)


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit CLI options taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
