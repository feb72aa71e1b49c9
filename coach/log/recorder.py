"""Session records → store writes. Each rep and event commits as it ends.

Dispatches on the record's type (`coach.core.events`); every time is session time.

The log never claims more than it holds
    A write that fails because of the database (another program holding its lock, a
    full disk) is not lost: it stays queued, in order, with the samples the store has
    buffered, and is retried with backoff (RETRY_FIRST_S doubling to RETRY_MAX_S)
    while the session goes on; `saving` is true meanwhile (the screen shows "saving…").
    A live session waits only LIVE_BUSY_MS for a lock, so the screen never freezes.
    At the end everything queued gets a last chance (up to CLOSE_WAIT_S while a lock
    is the problem). If records are still unsaved, the session ends `interrupted`,
    never `completed`, with the reason in `end_reason` and in `problem`; if even that
    cannot be written, the session is left to the next store's recovery, which marks
    it `interrupted`.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from typing import Any, Callable

import numpy as np

from coach import __version__
from coach.core.calibration import REL
from coach.core.events import Calibrated, Ended, Gap, RepEnded, Sample, SetEnded, SetStarted, SynkinesisEnded
from coach.core.face import SIDES
from coach.errors import CoachError
from coach.log.file import is_locked
from coach.log.patients import new_id
from coach.log.schema import SessionKind

log = logging.getLogger(__name__)

LIVE_BUSY_MS = 200        # a live session waits this long for another program's lock, then carries on
RETRY_FIRST_S = 0.25      # a failed write is retried after this, doubling …
RETRY_MAX_S = 4.0         # … up to this
CLOSE_WAIT_S = 10.0       # at the end, queued records wait this long for a lock to go
CLOSE_BUSY_MS = 2000


def sample_values(rel: np.ndarray) -> dict:
    return {f"{name}_{side}": round(float(rel[i, j]), 4) for i, name in enumerate(REL) for j, side in enumerate(SIDES)}


def previous_rates(store, patient_code: str) -> dict:
    """{exercise: synkinesis-free rep rate} of the patient's last session, for "since last time"."""
    last = store.last_session_summary(patient_code)
    return {ex: d["synkinesis_free_rate"] for ex, d in (last or {}).get("exercises", {}).items()
            if d.get("synkinesis_free_rate") is not None}


def database_failure(exc: BaseException) -> bool:
    """A store error caused by the database (lock, full disk, I/O): worth retrying."""
    return isinstance(exc, sqlite3.Error) or isinstance(getattr(exc, "__cause__", None), sqlite3.Error)


def lock_failure(exc: BaseException | None) -> bool:
    """The database was locked by another connection (`LogLocked`, or SQLite's own busy or locked code)."""
    return exc is not None and is_locked(exc)


class SessionLog:
    """One logged session: `write(records)` as they come, `close(status)` at the end.

    `saving`: records wait to be written after a failure; `problem`: why, in one sentence (after
    `close`: not everything could be saved, and the session is not what the patient saw);
    `lost`: how many records (and samples) that is; `status`: how the session ended in the
    database (None while it runs)."""

    def __init__(self, store, patient_code: str | None, source_name: str, kind: SessionKind, model_version: str = "",
                 clock=time.monotonic):
        self.store = store
        self.clock = clock
        self.set_ids: dict[str, str] = {}
        self.session_id = store.start_session(patient_code, source=source_name, kind=kind,
                                              app_version=__version__, model_version=model_version)
        self._busy_ms = store.set_busy_timeout(LIVE_BUSY_MS)
        self.ended = False
        self._end_status: str | None = None     # the session's own end, once it has come
        self.status: str | None = None
        self.problem = ""
        self.lost = 0                         # records (and samples) that could not be saved, at the end
        self.failed_writes = 0                # every failed attempt, for tests and the reliability table
        self.pending: deque = deque()         # (store method, args, kwargs), oldest first
        self._retry_at = 0.0
        self._delay = RETRY_FIRST_S
        self._last_error: BaseException | None = None
        self._write: dict[type, Callable[[Any], None]] = {
                       Sample: self._sample, RepEnded: self._rep, SynkinesisEnded: self._synkinesis,
                       Gap: self._gap, Calibrated: self._calibrated, SetStarted: self._set_started,
                       SetEnded: self._set_ended, Ended: self._ended}

    @property
    def saving(self) -> bool:
        """Records are waiting to be written (after a failed write): show "saving…"."""
        return bool(self.pending) and self._last_error is not None

    def write(self, records) -> None:
        if self.ended:
            return
        for rec in records:
            handler = self._write.get(type(rec))
            if handler is not None:        # the detector's other happenings are not logged
                handler(rec)
        if self.store.samples_due and not self.pending:
            self.pending.append(("flush", (), {}))
        if self._drain() and self._end_status is not None:
            self.close(self._end_status)

    def queue(self, write, *args, **kwargs) -> None:
        """Queue a write after the records already queued (so after the rep it belongs to): `write`
        is a store method's name, or a callable taking the store first. Written now if it can be;
        an SQLite failure keeps it queued and retried like the records."""
        self.pending.append((write, args, kwargs))
        self._drain()

    def _queue(self, method: str, *args, **kwargs) -> None:
        self.pending.append((method, args, kwargs))

    def _drain(self, force: bool = False) -> bool:
        """Write what is queued, in order, until one fails (retried later). True if all is written."""
        if self.pending and (force or self.clock() >= self._retry_at):
            while self.pending:
                write, args, kwargs = self.pending[0]
                try:
                    if isinstance(write, str):
                        getattr(self.store, write)(*args, **kwargs)
                    else:
                        write(self.store, *args, **kwargs)
                except (CoachError, sqlite3.Error) as exc:
                    if not database_failure(exc):
                        raise
                    self._failed(exc)
                    return False
                self.pending.popleft()
            self._last_error, self._delay, self.problem = None, RETRY_FIRST_S, ""
        return not self.pending

    def _failed(self, exc: BaseException) -> None:
        if self._last_error is None:
            log.warning("coach: saving waits, and will be retried: %s", exc)
        self.failed_writes += 1
        self._last_error, self.problem = exc, str(exc)
        self._retry_at = self.clock() + self._delay
        self._delay = min(RETRY_MAX_S, 2 * self._delay)

    # -- the records --
    def _sample(self, r: Sample) -> None:
        self.store.add_sample(self.session_id, r.t, r.exercise, sample_values(r.values), autoflush=False)

    def _rep(self, r: RepEnded) -> None:
        self._queue("add_rep", self.session_id, self.set_ids.get(r.exercise), r.rep.to_dict())

    def _synkinesis(self, r: SynkinesisEnded) -> None:
        ev = r.event
        self._queue("add_event", self.session_id, self.set_ids.get(r.exercise), "synkinesis", ev.side, ev.measure,
                    ev.start_s, ev.end_s, ev.peak_change)

    def _gap(self, r: Gap) -> None:
        self._queue("add_event", self.session_id, self.set_ids.get(r.exercise), r.kind, None, None, r.start_s,
                    r.end_s, None)

    def _calibrated(self, r: Calibrated) -> None:
        self._queue("add_calibration", self.session_id, r.baseline.to_dict(), r.t)

    def _set_started(self, r: SetStarted) -> None:
        self.set_ids[r.exercise] = set_id = new_id()        # chosen here: a retried write keeps it
        self._queue("start_set", self.session_id, r.exercise, r.planned_reps, r.t, set_id=set_id)

    def _set_ended(self, r: SetEnded) -> None:
        if r.exercise in self.set_ids:
            self._queue("end_set", self.set_ids[r.exercise], r.target, r.target_source, r.t)

    def _ended(self, r: Ended) -> None:
        self._end_status = r.status      # closed once everything before it is written (see write)

    # -- the end --
    def close(self, status: str = "interrupted") -> None:
        """End the session `status` if everything it recorded is written, else `interrupted`
        with the reason. Never raises for a database failure (see `problem`)."""
        if self.ended:
            return
        self.ended = True
        self.store.set_busy_timeout(CLOSE_BUSY_MS)
        try:
            unsaved = self.lost = self._last_chance()
            if unsaved:
                problem = self.problem.rstrip(".") or "the database refused them"
                self.problem = (f"{unsaved} of this session's records could not be saved "
                                f"({problem[:1].lower() + problem[1:]}); it is marked interrupted.")
                log.warning("coach: %s", self.problem)
            self._mark(status, unsaved)
        finally:
            self.store.abandon(self.session_id)   # if still open: the next store to open marks it interrupted
            self.store.set_busy_timeout(self._busy_ms)

    def _mark(self, status: str, unsaved: int) -> None:
        """Write how the session ended: `status` if nothing is missing (samples kept if they can
        be), else `interrupted` with the reason, else plain `interrupted`."""
        first = status if not unsaved else "interrupted"
        whole = not unsaved and not self.store.buffered(self.session_id)    # nothing lost without a flush
        tries = [(first, True, self.problem if unsaved else None),
                 (status if whole else "interrupted", False, None if whole else self.problem),
                 ("interrupted", False, None)]
        for end_status, flush, reason in tries:
            try:
                self.store.end_session(self.session_id, end_status, reason=reason or None, flush=flush)
                self.status = end_status
                if end_status == status and not unsaved:
                    self.problem = ""             # all of it is there after all
                return
            except CoachError as exc:
                if not database_failure(exc):
                    raise
                self.problem = self.problem or str(exc)
                if lock_failure(exc):
                    break                 # a smaller write needs the same lock: it would only wait again
        self.status = "interrupted"
        log.warning("coach: the session could not be closed (%s); it will show as interrupted.", self.problem)

    def _last_chance(self) -> int:
        """Try the queue (and the buffered samples) until written, or CLOSE_WAIT_S has passed while
        the database is locked; the number of records still unsaved."""
        if self.store.buffered(self.session_id):
            self.pending.append(("flush", (), {}))
        deadline = time.monotonic() + CLOSE_WAIT_S          # real waiting, whatever `clock` is
        while True:
            try:
                if self._drain(force=True):
                    return 0
            except (CoachError, sqlite3.Error) as exc:     # not the database's fault: it will not go away
                self._last_error, self.problem = exc, str(exc)
                break
            if not lock_failure(self._last_error) or time.monotonic() >= deadline:
                break
            time.sleep(min(self._delay, max(0.0, deadline - time.monotonic())))
        return sum(1 for m, *_ in self.pending if m != "flush") + self.store.buffered(self.session_id)
