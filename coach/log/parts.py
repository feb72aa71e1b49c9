"""What every part of `Store` relies on (for the type checker): the database, its path, the clock,
the write transaction, and the methods the parts call on each other.

`Store` (coach.log.store) is made of `StoreQueries`, `PatientWrites` and `Corrections`; each is a
`StoreParts`, so each knows the others' methods by type without importing them.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils


class StoreParts:
    path: Path
    db: sqlite_utils.Database

    if TYPE_CHECKING:      # defined by Store and its parts; declared here only for the type checker
        def _now(self) -> datetime: ...
        def _tx(self) -> AbstractContextManager[None]: ...
        def _patient_row(self, code: str) -> dict[str, Any] | None: ...
        def get_patient(self, code: str) -> dict[str, Any]: ...
        def get_plan(self, code: str) -> list[dict[str, Any]] | None: ...
        def _audit(self, command: str, patient_id: str | None, table: str, row_id: str,
                   changes: dict[str, Any], at: str) -> None: ...
