"""The measures of a session down-sampled to ~10 Hz (the `samples` table): buffered, and written with the
next rep, event or set, or at least every SAMPLE_FLUSH_S. A mixin of `coach.log.store.Store`."""
from __future__ import annotations

import math
import time
from typing import Any, Callable, ContextManager

import sqlite_utils

from coach.log.file import friendly
from coach.log.schema import sample_column

SAMPLE_INTERVAL_S = 0.1
SAMPLE_SLACK_S = 0.01
SAMPLE_FLUSH_S = 5.0          # buffered samples are written at least this often


def _num(value):
    """A float for SQLite, or None (NaN and non-numbers become NULL)."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


class SampleWrites:
    """The samples part of the store: `Store` gives the database, its transaction and the buffers."""

    db: sqlite_utils.Database
    _tx: Callable[[], ContextManager[None]]
    _last_sample_t: dict[str, float]
    _buffer: list[tuple[str, float, str | None, dict[str, Any]]]
    _buffer_since: float
    _sample_columns: dict[str, str]

    def add_sample(self, session_id: str, t: float, exercise: str | None, values: dict,
                   autoflush: bool = True) -> bool:
        """Called every frame; keeps ~10 Hz and buffers. True if the sample was kept.

        `t` is seconds since the session started. Buffered samples are written
        with the next rep/event/set commit, or after SAMPLE_FLUSH_S (unless not
        `autoflush`: then the caller flushes when `samples_due`).
        """
        last = self._last_sample_t.get(session_id)
        if last is not None and t - last < SAMPLE_INTERVAL_S - SAMPLE_SLACK_S:
            return False
        self._last_sample_t[session_id] = t
        if not self._buffer:
            self._buffer_since = time.monotonic()
        self._buffer.append((session_id, t, exercise, dict(values)))
        if autoflush and self.samples_due:
            self.flush()
        return True

    @property
    def samples_due(self) -> bool:
        """Samples have waited in the buffer for SAMPLE_FLUSH_S or more."""
        return bool(self._buffer) and time.monotonic() - self._buffer_since >= SAMPLE_FLUSH_S

    def buffered(self, session_id: str) -> int:
        """Samples of the session not yet written."""
        return sum(1 for row in self._buffer if row[0] == session_id)

    @friendly
    def flush(self) -> None:
        """Write buffered samples now."""
        with self._tx():
            self._flush_samples()

    def _flush_samples(self) -> None:
        """Write the buffered samples (the buffer is emptied inside the transaction: see `_tx`)."""
        if not self._buffer:
            return
        with self._tx():
            rows, self._buffer = self._buffer, []
            keys = sorted({k for *_, values in rows for k in values})
            self._ensure_sample_columns(keys)
            # Keys that clean up to the same column (SQLite names ignore case): the first wins.
            by_column: dict[str, str] = {}
            for k in keys:
                by_column.setdefault(self._sample_columns[k].lower(), k)
            keys = list(by_column.values())
            cols = [self._sample_columns[k] for k in keys]
            sql = (f"INSERT OR IGNORE INTO samples ({', '.join(('session_id', 't', 'exercise', *cols))}) "
                   f"VALUES ({', '.join('?' * (3 + len(cols)))})")
            self.db.conn.executemany(sql, [
                (sid, float(t), ex, *[_num(values.get(k)) for k in keys])
                for sid, t, ex, values in rows])

    def _ensure_sample_columns(self, keys: list[str]) -> None:
        missing = [k for k in keys if k not in self._sample_columns]
        if not missing:
            return
        # Inside the write transaction, so another writer cannot add the same column meanwhile.
        existing = {r[1].lower(): r[1] for r in self.db.conn.execute("PRAGMA table_info(samples)")}
        for key in missing:
            name = sample_column(key)
            if name.lower() not in existing:
                self.db.conn.execute(f'ALTER TABLE samples ADD COLUMN "{name}" REAL')
                existing[name.lower()] = name
            self._sample_columns[key] = existing[name.lower()]
