"""The session log: one SQLite file, written through sqlite-utils. No video, ever.

Durability
    WAL journal with synchronous=FULL: every commit is on disk when it returns,
    and readers (a therapist's `coach report`, Datasette) never block the writer.
    Each rep and each event is its own transaction, so a crash loses at most the
    frame samples buffered since the last commit (a few seconds at ~10 Hz).

Crash recovery, never guessed
    While a session runs, the process that started it holds an exclusive,
    non-blocking `fcntl.flock` on `<db>.locks/<session_id>.lock`, taken *before*
    the session row is inserted, so no other process can see an in-progress row
    whose lock is not yet held. The kernel drops a flock when its owner dies, by
    any means, SIGKILL included. `Store.open` then looks at every `in-progress`
    session recorded on this host:
      * lock can be taken  -> its owner is gone: mark it `interrupted` (its reps,
        events and samples stay) and remove the lock file;
      * lock is held       -> it is still running (e.g. a kiosk in another
        process): leave it alone.
    A session recorded on another host is left alone too: its lock is not
    visible from here. flock is per open file description, so even a session
    of this very process counts as running.

Opening safely
    Before anything is written, the file is checked read-only (`coach.log.file`);
    a damaged or foreign file, or one written by a newer coach, is never
    modified. The schema and its migrations are in `coach.log.schema`.

Failed writes lose nothing
    A write that fails (a lock held too long, a full disk) is rolled back whole,
    and the buffered samples it carried stay buffered for the next try; the
    session's log (`coach.log.recorder`) keeps the records and retries them.
    A session whose records cannot all be written ends `interrupted`, with the
    reason in `end_reason` (`end_session`), or is left to recovery (`abandon`).

Private, and read-only when reading
    See `coach.log.file`: folders 0700, database files 0600; readers open the
    file read-only and show a session whose process is gone as `interrupted`.

Time
    Every timestamp written comes from the store's clock (`Store.open(clock=)`,
    default: local now); set times are the session's start plus session time.
    Figures (rates, means) are not computed here but in `coach.core.progress`.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import sqlite_utils

from coach import __version__
from coach.core.summary import EVENNESS_FIELDS
from coach.errors import CoachError
from coach.core.files import PRIVATE_DIR, private_folder
from coach.log.file import (HOST, check_file, connect_readonly, data_dir, default_db_path, friendly,
                             is_locked, lock_dir, private_database, sql_error, tighten,
                             try_lock)
from coach.log.corrections import Corrections
from coach.log.patients import PatientWrites, iso, new_id
from coach.log.queries import StoreQueries
from coach.log.samples import SampleWrites, _num
from coach.log.schema import EVENT_KINDS, SESSION_KINDS, EventKind, SessionKind, check_version, migrations

BUSY_TIMEOUT_MS = 5000
# Samples are for plots and re-analysis, not decisions: ~10 Hz is plenty. The
# 10 ms slack keeps 10 Hz from 30 fps frames whose timestamps jitter (0.0999 s).
REP_NUMBERS = ("start_s", "peak_s", "end_s", "peak", "time_to_peak_s", "hold_s", "hold_steadiness",
               "synkinesis_peak", "target")

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The default clock: now, in local time, with its UTC offset."""
    return datetime.now().astimezone()


def now_iso() -> str:
    return iso(local_now())


class OlderLayout(CoachError):
    """A database that needs an upgrade, opened read-only."""


def _json_default(obj):
    if hasattr(obj, "tolist"):       # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return str(obj)


def open_store(path: str | os.PathLike | None = None, write: bool = False, clock: Clock | None = None) -> "Store":
    """Writers create the database; readers need it to exist and open it read-only (a database
    of an older layout is upgraded first, where this user may write it)."""
    if write:
        return Store.open(path, clock=clock)
    path = Path(path).expanduser() if path else default_db_path()
    try:
        return Store.open(path, create=False, readonly=True, clock=clock)
    except OlderLayout:
        if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise
    return Store.open(path, create=False, clock=clock)


class Store(Corrections, PatientWrites, StoreQueries, SampleWrites):
    """The session log. Open with `Store.open()`; not thread-safe (one thread at a time).
    Writes are here, reads in `StoreQueries`.

    `clock` (a callable returning an aware datetime) stamps every time written;
    it may be swapped on a live store (tests move it to back-date sessions).
    """

    def __init__(self, path: Path, db: sqlite_utils.Database, readonly: bool = False,
                 clock: Clock | None = None):
        self.path = path
        self.db = db
        self.readonly = readonly
        self.clock: Clock = clock or local_now
        self._locks: dict[str, int] = {}            # session_id -> fd holding its flock
        self._started: dict[str, datetime] = {}     # session_id -> its recorded start
        self._last_sample_t: dict[str, float] = {}
        self._buffer: list[tuple] = []
        self._buffer_since = 0.0
        self._sample_columns: dict[str, str] = {}   # value key -> column name
        self._closed = False

    # ---- opening -------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True,
             readonly: bool = False, clock: Clock | None = None) -> "Store":
        """Open (creating if `create`) and upgrade the database, then recover dead sessions.

        `readonly=True` only reads: no upgrade, no recovery, nothing written.
        """
        path = Path(path).expanduser() if path else default_db_path()
        has_data = check_file(path, BUSY_TIMEOUT_MS)
        if not has_data and (readonly or not create):
            raise CoachError(f"No coach database at {path}.")
        if readonly:
            return cls._open_readonly(path, clock)
        try:
            private_folder(path.parent)
            if path.parent == data_dir():
                tighten(path.parent, PRIVATE_DIR)      # coach's own folder, made before coach made it private
            private_database(path)
        except OSError as exc:
            raise CoachError(f"Cannot create {exc.filename or path}: {exc.strerror}.") from exc
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except sqlite3.Error as exc:
            raise sql_error(path, exc) from exc
        store = cls(path, sqlite_utils.Database(conn, execute_plugins=False), clock=clock)
        try:
            store._setup()
            store._recover()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise sql_error(path, exc) from exc
            raise
        return store

    @classmethod
    def _open_readonly(cls, path: Path, clock: Clock | None) -> "Store":
        conn = connect_readonly(path, BUSY_TIMEOUT_MS)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if migrations.pending(db):
            conn.close()
            raise OlderLayout(f"The database {path} uses an older layout; open it once with write "
                              "access so coach can upgrade it.")
        store = cls(path, db, readonly=True, clock=clock)
        try:
            store._dead = store._dead_sessions()
        except sqlite3.Error as exc:
            conn.close()
            raise sql_error(path, exc) from exc
        return store

    def _setup(self) -> None:
        conn = self.db.conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if self.db.journal_mode != "wal":
            self.db.enable_wal()
        conn.execute("PRAGMA synchronous = FULL")
        if migrations.pending(self.db):
            # One IMMEDIATE transaction: two processes opening a new file at
            # once cannot both create the tables.
            with self._tx():
                check_version(self.path, self.db)
                migrations.apply(self.db)

    def _recover(self) -> None:
        rows = list(self.db.query("SELECT id, host FROM sessions WHERE status = 'in-progress'"))
        if not rows:
            return
        folder = lock_dir(self.path)
        private_folder(folder)
        for row in rows:
            sid = row["id"]
            if sid in self._locks or (row["host"] and row["host"] != HOST):
                continue
            lock_path = folder / f"{sid}.lock"
            fd = try_lock(lock_path)
            if fd is None:
                continue                      # its process is alive and holds the lock
            try:
                with self._tx():
                    self.db.execute("UPDATE sessions SET status = 'interrupted', updated = ? "
                                    "WHERE id = ? AND status = 'in-progress'", [iso(self._now()), sid])
                lock_path.unlink(missing_ok=True)
            except sqlite3.OperationalError as exc:
                if not is_locked(exc):
                    raise
                return  # someone is writing right now; the next open will recover it
            finally:
                os.close(fd)

    @contextmanager
    def _tx(self):
        """A write transaction that takes the write lock up front (waits busy_timeout).

        If it fails, at any statement or at COMMIT, it is rolled back and the sample
        buffer (and the sample columns known) are as they were before it began."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        saved = (list(self._buffer), self._buffer_since, dict(self._sample_columns))
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            self._buffer, self._buffer_since, self._sample_columns = saved
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def set_busy_timeout(self, ms: int) -> int:
        """How long a write waits for another program's lock before it fails (a live session
        waits briefly and retries later rather than freeze the screen); returns the previous."""
        previous = self.db.conn.execute("PRAGMA busy_timeout").fetchone()[0]
        self.db.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
        return previous

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @friendly
    def close(self) -> None:
        """Flush samples; sessions still open here end as `interrupted`; release locks."""
        if self._closed:
            return
        try:
            if not self.readonly:
                self._flush_samples()
                for sid in list(self._locks):
                    self.end_session(sid, status="interrupted")
        finally:
            for fd in self._locks.values():
                os.close(fd)
            self._locks.clear()
            self._closed = True
            self.db.close()

    def _now(self) -> datetime:
        moment = self.clock()
        return moment if moment.tzinfo else moment.astimezone()

    # ---- recording a session ------------------------------------------------
    @friendly
    def start_session(self, patient_code: str | None = None, source: str = "", kind: SessionKind = "home",
                      app_version: str = "", model_version: str = "") -> str:
        if kind not in SESSION_KINDS:
            raise CoachError(f"Session kind must be one of {', '.join(SESSION_KINDS)}, not {kind!r}.")
        patient_id = self.get_patient(patient_code)["id"] if patient_code else None
        sid = new_id()
        folder = lock_dir(self.path)
        try:
            private_folder(folder)
            fd = try_lock(folder / f"{sid}.lock")
        except OSError as exc:
            raise CoachError(f"Cannot create the session lock in {folder}: {exc.strerror}.") from exc
        assert fd is not None  # a fresh UUID's lock is never held
        # The lock is held before the row exists: see the module docstring.
        os.write(fd, f"{os.getpid()} {HOST}\n".encode())
        row = {"id": sid, "patient_id": patient_id, "started": iso(self._now()), "ended": None,
               "status": "in-progress", "source": str(source or ""),
               "app_version": app_version or __version__, "model_version": model_version or "",
               "kind": kind, "pid": os.getpid(), "host": HOST}
        row["updated"] = row["started"]
        try:
            with self._tx():
                self.db.table("sessions").insert(row)
        except BaseException:
            os.close(fd)
            (folder / f"{sid}.lock").unlink(missing_ok=True)
            raise
        self._locks[sid] = fd
        self._started[sid] = datetime.fromisoformat(str(row["started"]))
        return sid

    def _require_running(self, session_id: str) -> None:
        if session_id not in self._locks:
            raise CoachError(f"Session {session_id} is not running in this process.")

    def _insert(self, table: str, row: dict) -> str:
        """Insert one row in its own transaction, with the buffered samples."""
        with self._tx():
            self._flush_samples()
            self.db.table(table).insert(row)
        return row["id"]

    @friendly
    def add_calibration(self, session_id: str, baseline: dict, t: float | None = None) -> str:
        self._require_running(session_id)
        if t is None:
            t = (self._now() - self._started[session_id]).total_seconds()
        return self._insert("calibrations", {"id": new_id(), "session_id": session_id, "t": float(t),
                                             "baseline": json.dumps(baseline, default=_json_default)})

    @friendly
    def start_set(self, session_id: str, exercise: str, planned_reps: int | None, t: float | None = None,
                  set_id: str | None = None) -> str:
        """`t`: session time (the clock reps and events use); the wall-clock start is derived from it.
        `set_id`: the new set's id, if the caller chose it (a retried write keeps its id)."""
        self._require_running(session_id)
        return self._insert("sets", {
            "id": set_id or new_id(), "session_id": session_id, "exercise": str(exercise),
            "started": self._session_iso(session_id, t), "ended": None,
            "planned_reps": None if planned_reps is None else int(planned_reps)})

    @friendly
    def end_set(self, set_id: str, target: float | None = None, target_source: str | None = None,
                t: float | None = None) -> None:
        session_id = self.db.execute("SELECT session_id FROM sets WHERE id = ?", [set_id]).fetchone()
        ended = self._session_iso(session_id[0] if session_id else "", t)
        with self._tx():
            self._flush_samples()
            self.db.execute("UPDATE sets SET ended = ?, target = ?, target_source = ? WHERE id = ?",
                            [ended, _num(target), target_source, set_id])

    def _session_iso(self, session_id: str, t: float | None) -> str:
        """Wall-clock time of session time `t`: the session's start plus t (one clock for everything)."""
        started = self._started.get(session_id)
        if t is None or started is None:
            return iso(self._now())
        return iso(started + timedelta(seconds=float(t)))

    @friendly
    def add_rep(self, session_id: str, set_id: str | None, rep: dict) -> str:
        """`rep` as `coach.core.events.Rep.to_dict()`. Its evenness and timing (`rep_evenness`: onset
        lag, late side, amplitude ratio, smoothness), when it has any, go in with it: one transaction,
        with the buffered samples, so a rep is never stored without its evenness nor the reverse (a
        failed write is retried whole by the session log). Committed before returning."""
        self._require_running(session_id)
        sides, co = rep.get("peak_by_side") or {}, rep.get("synkinesis_by_side") or {}
        row = {"id": new_id(), "session_id": session_id, "set_id": set_id,
               "idx": int(rep.get("index", 0)),
               "peak_left": _num(sides.get("left")), "peak_right": _num(sides.get("right")),
               "synkinesis_left": _num(co.get("left")), "synkinesis_right": _num(co.get("right")),
               "synkinesis": int(bool(rep.get("synkinesis", False))),
               "complete": int(bool(rep.get("complete", True)))}
        row.update({key: _num(rep.get(key)) for key in REP_NUMBERS})
        evenness = None
        if any(rep.get(key) not in (None, "") for key in EVENNESS_FIELDS):     # none: no row (readers agree)
            late = rep.get("late_side")
            evenness = {"rep_id": row["id"], "onset_lag_ms": _num(rep.get("onset_lag_ms")),
                        "late_side": late if isinstance(late, str) else None,
                        "amplitude_ratio": _num(rep.get("amplitude_ratio")), "smoothness": _num(rep.get("smoothness"))}
        with self._tx():
            self._flush_samples()
            self.db.table("reps").insert(row)
            if evenness is not None:
                self.db.table("rep_evenness").insert(evenness)
        return row["id"]

    @friendly
    def add_event(self, session_id: str, set_id: str | None, kind: EventKind, side: str | None = None,
                  measure: str | None = None, start_s: float | None = None,
                  end_s: float | None = None, peak: float | None = None) -> str:
        self._require_running(session_id)
        if kind not in EVENT_KINDS:
            raise CoachError(f"Event kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}.")
        return self._insert("events", {"id": new_id(), "session_id": session_id, "set_id": set_id,
                                       "kind": kind, "side": side, "measure": measure,
                                       "start_s": _num(start_s), "end_s": _num(end_s), "peak": _num(peak)})

    @friendly
    def end_session(self, session_id: str, status: str = "completed", reason: str | None = None,
                    flush: bool = True) -> None:
        """Mark the session `status`, with `reason` (why it was interrupted) if given. With
        `flush=False` its buffered samples are dropped instead of written (a full disk)."""
        if status not in ("completed", "interrupted"):
            raise CoachError(f"A session ends completed or interrupted, not {status!r}.")
        self._require_running(session_id)
        with self._tx():
            if flush:
                self._flush_samples()
            now = iso(self._now())
            self.db.execute(
                "UPDATE sessions SET status = ?, ended = ?, end_reason = ?, updated = ? "
                "WHERE id = ? AND status = 'in-progress'",
                [status, now if status == "completed" else None, reason, now, session_id])
        (lock_dir(self.path) / f"{session_id}.lock").unlink(missing_ok=True)
        self._release(session_id)

    def abandon(self, session_id: str) -> None:
        """Stop recording a session that cannot be marked now (the database stays locked or full):
        its buffered samples are dropped and its lock released, so the next store to open marks
        it `interrupted` (see the module docstring)."""
        if session_id in self._locks:
            self._release(session_id)

    def _release(self, session_id: str) -> None:
        self._buffer = [row for row in self._buffer if row[0] != session_id]
        os.close(self._locks.pop(session_id))
        self._started.pop(session_id, None)
        self._last_sample_t.pop(session_id, None)
