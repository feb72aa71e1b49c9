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
    Before anything is written, the file is checked read-only (`coach.io.dbfile`);
    a damaged or foreign file, or one written by a newer coach, is never
    modified. The schema and its migrations are in `coach.io.schema`.

Time
    Every timestamp written comes from the store's clock (`Store.open(clock=)`,
    default: local now); set times are the session's start plus session time.
    Figures (rates, means) are not computed here but in `coach.core.progress`.
"""
from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import sqlite_utils

from coach import __version__
from coach.core.plan import PlanError, parse_items
from coach.errors import CoachError
from coach.io.dbfile import (check_file, connect_readonly, default_db_path, friendly, lock_dir, sql_error,
                             try_lock)
from coach.io.queries import StoreQueries
from coach.io.schema import (AFFECTED_SIDES, EVENT_KINDS, SESSION_KINDS, TREATMENT_KINDS, check_version,
                             migrations, sample_column)

BUSY_TIMEOUT_MS = 5000
# Samples are for plots and re-analysis, not decisions: ~10 Hz is plenty. The
# 10 ms slack keeps 10 Hz from 30 fps frames whose timestamps jitter (0.0999 s).
SAMPLE_INTERVAL_S = 0.1
SAMPLE_SLACK_S = 0.01
SAMPLE_FLUSH_S = 5.0          # buffered samples are written at least this often
HOST = socket.gethostname()
REP_NUMBERS = ("start_s", "peak_s", "end_s", "peak", "time_to_peak_s", "hold_s", "hold_steadiness",
               "synkinesis_peak", "target")

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The default clock: now, in local time, with its UTC offset."""
    return datetime.now().astimezone()


def iso(moment: datetime) -> str:
    """How the store writes a time: ISO 8601 with milliseconds and the UTC offset."""
    return (moment if moment.tzinfo else moment.astimezone()).isoformat(timespec="milliseconds")


def now_iso() -> str:
    return iso(local_now())


def new_id() -> str:
    return str(uuid.uuid4())


def _json_default(obj):
    if hasattr(obj, "tolist"):       # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return str(obj)


def _num(value):
    """A float for SQLite, or None (NaN and non-numbers become NULL)."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def open_store(path: str | os.PathLike | None = None, write: bool = False, clock: Clock | None = None) -> "Store":
    """Writers create the database; readers need it to exist and fall back to read-only."""
    if write:
        return Store.open(path, clock=clock)
    path = Path(path).expanduser() if path else default_db_path()
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return Store.open(path, create=False, readonly=path.exists() and not writable, clock=clock)


class Store(StoreQueries):
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
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CoachError(f"Cannot create the folder {path.parent}: {exc.strerror}.") from exc
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
            raise CoachError(f"The database {path} uses an older layout; open it once with write "
                             "access so coach can upgrade it.")
        return cls(path, db, readonly=True, clock=clock)

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
        folder.mkdir(exist_ok=True)
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
                    self.db.execute("UPDATE sessions SET status = 'interrupted' "
                                    "WHERE id = ? AND status = 'in-progress'", [sid])
                lock_path.unlink(missing_ok=True)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                return  # someone is writing right now; the next open will recover it
            finally:
                os.close(fd)

    @contextmanager
    def _tx(self):
        """A write transaction that takes the write lock up front (waits busy_timeout)."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

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

    # ---- patients, plans, treatments -------------------------------------
    @friendly
    def add_patient(self, code: str, display_name: str | None = None,
                    affected_side: str | None = None, notes: str = "") -> dict:
        code = (code or "").strip()
        if not code or any(c.isspace() for c in code):
            raise CoachError("A patient code must be one word, e.g. P001.")
        if affected_side is not None and affected_side not in AFFECTED_SIDES:
            raise CoachError(f"Affected side must be left or right, not {affected_side!r}.")
        row = {"id": new_id(), "code": code, "display_name": display_name,
               "affected_side": affected_side, "notes": notes or "", "created": iso(self._now())}
        with self._tx():
            if self._patient_row(code):
                raise CoachError(f"A patient with code {code} already exists.")
            self.db["patients"].insert(row)
        return row

    @friendly
    def set_plan(self, code: str, items: list[dict]) -> dict:
        """Store a new plan; it becomes the active one. Items are validated and normalised."""
        patient = self.get_patient(code)
        try:
            clean = [item.to_dict() for item in parse_items(items)]
        except PlanError as exc:
            raise CoachError(str(exc)) from None
        row = {"id": new_id(), "patient_id": patient["id"], "created": iso(self._now()),
               "items": json.dumps(clean)}
        with self._tx():
            self.db["plans"].insert(row)
        return {**row, "items": clean}

    @friendly
    def add_treatment(self, code: str, date: str, kind: str, sites: str = "",
                      units: float | None = None, notes: str = "") -> dict:
        patient = self.get_patient(code)
        try:
            day = datetime.strptime(str(date), "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise CoachError(f"Treatment date must be YYYY-MM-DD, not {date!r}.") from None
        if kind not in TREATMENT_KINDS:
            raise CoachError(f"Treatment kind must be one of {', '.join(TREATMENT_KINDS)}, not {kind!r}.")
        row = {"id": new_id(), "patient_id": patient["id"], "date": day, "kind": kind,
               "sites": sites or "", "units": _num(units), "notes": notes or ""}
        with self._tx():
            self.db["treatments"].insert(row)
        return row

    # ---- recording a session ------------------------------------------------
    @friendly
    def start_session(self, patient_code: str | None = None, source: str = "", kind: str = "home",
                      app_version: str = "", model_version: str = "") -> str:
        if kind not in SESSION_KINDS:
            raise CoachError(f"Session kind must be one of {', '.join(SESSION_KINDS)}, not {kind!r}.")
        patient_id = self.get_patient(patient_code)["id"] if patient_code else None
        sid = new_id()
        folder = lock_dir(self.path)
        try:
            folder.mkdir(exist_ok=True)
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
        try:
            with self._tx():
                self.db["sessions"].insert(row)
        except BaseException:
            os.close(fd)
            (folder / f"{sid}.lock").unlink(missing_ok=True)
            raise
        self._locks[sid] = fd
        self._started[sid] = datetime.fromisoformat(row["started"])
        return sid

    def _require_running(self, session_id: str) -> None:
        if session_id not in self._locks:
            raise CoachError(f"Session {session_id} is not running in this process.")

    def _insert(self, table: str, row: dict) -> str:
        """Insert one row in its own transaction, with the buffered samples."""
        with self._tx():
            self._flush_samples()
            self.db[table].insert(row)
        return row["id"]

    @friendly
    def add_calibration(self, session_id: str, baseline: dict, t: float | None = None) -> str:
        self._require_running(session_id)
        if t is None:
            t = (self._now() - self._started[session_id]).total_seconds()
        return self._insert("calibrations", {"id": new_id(), "session_id": session_id, "t": float(t),
                                             "baseline": json.dumps(baseline, default=_json_default)})

    @friendly
    def start_set(self, session_id: str, exercise: str, planned_reps: int | None, t: float | None = None) -> str:
        """`t`: session time (the clock reps and events use); the wall-clock start is derived from it."""
        self._require_running(session_id)
        return self._insert("sets", {
            "id": new_id(), "session_id": session_id, "exercise": str(exercise),
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
        """`rep` as `coach.core.events.Rep.to_dict()`. Committed before returning."""
        self._require_running(session_id)
        sides = rep.get("peak_by_side") or {}
        row = {"id": new_id(), "session_id": session_id, "set_id": set_id,
               "idx": int(rep.get("index", 0)),
               "peak_left": _num(sides.get("left")), "peak_right": _num(sides.get("right")),
               "synkinesis": int(bool(rep.get("synkinesis", False))),
               "complete": int(bool(rep.get("complete", True)))}
        row.update({key: _num(rep.get(key)) for key in REP_NUMBERS})
        return self._insert("reps", row)

    @friendly
    def add_event(self, session_id: str, set_id: str | None, kind: str, side: str | None = None,
                  measure: str | None = None, start_s: float | None = None,
                  end_s: float | None = None, peak: float | None = None) -> str:
        self._require_running(session_id)
        if kind not in EVENT_KINDS:
            raise CoachError(f"Event kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}.")
        return self._insert("events", {"id": new_id(), "session_id": session_id, "set_id": set_id,
                                       "kind": kind, "side": side, "measure": measure,
                                       "start_s": _num(start_s), "end_s": _num(end_s), "peak": _num(peak)})

    def add_sample(self, session_id: str, t: float, exercise: str | None, values: dict) -> bool:
        """Called every frame; keeps ~10 Hz and buffers. True if the sample was kept.

        `t` is seconds since the session started. Buffered samples are written
        with the next rep/event/set commit, or after SAMPLE_FLUSH_S.
        """
        last = self._last_sample_t.get(session_id)
        if last is not None and t - last < SAMPLE_INTERVAL_S - SAMPLE_SLACK_S:
            return False
        self._last_sample_t[session_id] = t
        if not self._buffer:
            self._buffer_since = time.monotonic()
        self._buffer.append((session_id, t, exercise, dict(values)))
        if time.monotonic() - self._buffer_since >= SAMPLE_FLUSH_S:
            self.flush()
        return True

    @friendly
    def flush(self) -> None:
        """Write buffered samples now."""
        with self._tx():
            self._flush_samples()

    def _flush_samples(self) -> None:
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        keys = sorted({k for *_, values in rows for k in values})
        with self._tx():
            self._ensure_sample_columns(keys)
            # Keys that clean up to the same column (SQLite names ignore case): the first wins.
            by_column = {}
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

    @friendly
    def end_session(self, session_id: str, status: str = "completed") -> None:
        if status not in ("completed", "interrupted"):
            raise CoachError(f"A session ends completed or interrupted, not {status!r}.")
        self._require_running(session_id)
        with self._tx():
            self._flush_samples()
            self.db.execute(
                "UPDATE sessions SET status = ?, ended = ? WHERE id = ? AND status = 'in-progress'",
                [status, iso(self._now()) if status == "completed" else None, session_id])
        fd = self._locks.pop(session_id)
        (lock_dir(self.path) / f"{session_id}.lock").unlink(missing_ok=True)
        os.close(fd)
        self._started.pop(session_id, None)
        self._last_sample_t.pop(session_id, None)
