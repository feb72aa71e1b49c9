"""User-facing errors: each carries one plain sentence and the process exit code.

The CLI catches `CoachError` and prints only its message, so bad input never
shows a traceback. Code that must tell one failure from another catches its class
(`NoPatient`, `LogLocked`, …), never its words: the words are for people.
"""
from __future__ import annotations


class CoachError(Exception):
    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(CoachError):
    """Unreadable video, no face, bad stream, bad exercise file."""

    exit_code = 2


class ModelMissing(CoachError):
    exit_code = 2


class NoPatient(CoachError):
    """No patient with that code in the log."""

    def __init__(self, code: str) -> None:
        super().__init__(f"No patient with code {code}; add one with `coach patient add {code}` "
                         "(with --name and --affected-side if you like).")
        self.code = code


class PatientExists(CoachError):
    """A patient with that code is already in the log."""

    def __init__(self, code: str) -> None:
        super().__init__(f"A patient with code {code} already exists.")
        self.code = code


class LogError(CoachError):
    """The session log's database failed (SQLite said why; the sentence says it plainly)."""


class LogLocked(LogError):
    """Another program holds the database's lock: waiting may help."""


class LogReadOnly(LogError):
    """The database cannot be written."""


class LogDamaged(LogError):
    """The database file is damaged or not a database; it is left unchanged."""


class DiskFull(LogError):
    """The disk holding the database is full."""
