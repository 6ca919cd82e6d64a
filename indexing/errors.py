"""Errors that carry what a user needs to fix the input: which record, which field, why."""

from __future__ import annotations


class LeiAnError(Exception):
    """Base class; the CLI and the HTTP layer turn these into messages, never tracebacks."""


class RecordError(LeiAnError):
    """A record that cannot be used. It is quarantined with this reason; ingestion goes on."""

    def __init__(self, location: str, field: str, reason: str) -> None:
        super().__init__(f"{location}: field '{field}': {reason}")
        self.location = location
        self.field = field
        self.reason = reason


class SourceError(LeiAnError):
    """A whole source that cannot be read (missing path, unknown format)."""


class ArtifactError(LeiAnError):
    """A missing or incompatible built artifact (index, model)."""
