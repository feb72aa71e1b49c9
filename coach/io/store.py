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
    Before anything is written, the file is checked read-only: SQLite header,
    `PRAGMA quick_check`, that it is a coach database, and that its schema is
    not newer than this program. A damaged or foreign file is never modified.

Schema versions
    sqlite-utils' `Migrations` (recorded in `_sqlite_migrations`): an older
    database upgrades in place; one with a migration this program does not know
    was written by a newer coach and is refused with a clear message.
    Primary keys are UUID text, so databases from several kiosks can be merged.
"""
from __future__ import annotations

import fcntl
import functools
import json
import math
import os
import re
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import platformdirs
import sqlite_utils
from sqlite_utils.migrations import Migrations

from coach import __version__
from coach.core.plan import PlanError, parse_items
from coach.errors import CoachError

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
# Samples are for plots and re-analysis, not decisions: ~10 Hz is plenty. The
# 10 ms slack keeps 10 Hz from 30 fps frames whose timestamps jitter (0.0999 s).
SAMPLE_INTERVAL_S = 0.1
SAMPLE_SLACK_S = 0.01
SAMPLE_FLUSH_S = 5.0          # buffered samples are written at least this often
HOST = socket.gethostname()

AFFECTED_SIDES = ("left", "right")
SESSION_STATUSES = ("in-progress", "completed", "interrupted")
SESSION_KINDS = ("home", "kiosk", "demo")
EVENT_KINDS = ("synkinesis", "face_lost", "camera_lost")
TREATMENT_KINDS = ("botulinum_toxin", "surgery", "other")
SAMPLE_BASE_COLUMNS = ("session_id", "t", "exercise")

# Table and column descriptions, in Datasette's metadata shape (`coach review` uses them).
DESCRIPTIONS = {
    "patients": {"description": "People using the coach. `code` is what the therapist types.", "columns": {
        "id": "UUID", "code": "Short unique patient code", "display_name": "Name shown on screen",
        "affected_side": "Patient's anatomical side with the palsy: left, right or empty",
        "notes": "Free text", "created": "When the patient was added (local time, ISO 8601)"}},
    "plans": {"description": "Exercise plans; the newest plan of a patient is the active one.", "columns": {
        "id": "UUID", "patient_id": "patients.id", "created": "When the plan was set",
        "items": "JSON list of {exercise, reps, hold_s, rest_s, thresholds: {measure: value}, target}; "
                 "target: the therapist's target for the prime movement (relative change), else learned"}},
    "sessions": {"description": "One practice session (home, kiosk or demo).", "columns": {
        "id": "UUID", "patient_id": "patients.id (empty for demo sessions)",
        "started": "Start (local time, ISO 8601)", "ended": "End; empty while running or if interrupted",
        "status": "in-progress, completed, or interrupted (the process ended without finishing)",
        "source": "Camera or file the session used", "app_version": "coach version",
        "model_version": "Face model version", "kind": "home, kiosk or demo",
        "pid": "Process id that ran it", "host": "Computer that ran it"}},
    "calibrations": {"description": "Neutral-face baselines measured at the start of a session.", "columns": {
        "id": "UUID", "session_id": "sessions.id", "t": "Seconds since the session started",
        "baseline": "JSON of the baseline measures"}},
    "sets": {"description": "One exercise block within a session.", "columns": {
        "id": "UUID", "session_id": "sessions.id", "exercise": "Exercise id, e.g. brow-lift",
        "started": "Start (local time)", "ended": "End (local time)", "planned_reps": "Reps the plan asked for",
        "target": "The patient's target for the prime movement at the end of the set (relative change)",
        "target_source": "How the target was set: plan (the therapist), learned (this session's movements), "
                         "previous (learned in an earlier session) or exercise (the exercise file's)"}},
    "reps": {"description": "One repetition: rise, hold, return.", "columns": {
        "id": "UUID", "session_id": "sessions.id", "set_id": "sets.id", "idx": "Rep number within the set",
        "start_s": "Movement onset, seconds since session start", "peak_s": "Time of the peak",
        "end_s": "Back at rest", "peak": "Peak movement level (1.0 = the exercise's target)",
        "peak_left": "Relative change of the prime measure, patient's left side",
        "peak_right": "Relative change of the prime measure, patient's right side",
        "time_to_peak_s": "Onset to peak, seconds", "hold_s": "Time held near the peak, seconds",
        "hold_steadiness": "1 - coefficient of variation during the hold (1 = steady)",
        "synkinesis_peak": "Largest unwanted co-movement during the rep (signed relative change)",
        "synkinesis": "1 if synkinesis was detected in this rep",
        "complete": "0 if the face was lost or the session ended mid-rep",
        "target": "The patient's target when the rep ended (relative change); peak is a fraction of it"}},
    "events": {"description": "Synkinesis episodes and tracking losses.", "columns": {
        "id": "UUID", "session_id": "sessions.id", "set_id": "sets.id (may be empty)",
        "kind": "synkinesis, face_lost or camera_lost", "side": "Patient's anatomical side",
        "measure": "Measure that moved, e.g. eye_opening", "start_s": "Seconds since session start",
        "end_s": "Seconds since session start", "peak": "Signed relative change at its largest"}},
    "samples": {"description": "Measures down-sampled to ~10 Hz; one REAL column per measure, added as "
                               "new measures appear.", "columns": {
        "session_id": "sessions.id", "t": "Seconds since session start", "exercise": "Exercise id"}},
    "treatments": {"description": "Treatments that affect the face, drawn as markers on the report's plots.",
                   "columns": {
        "id": "UUID", "patient_id": "patients.id", "date": "YYYY-MM-DD",
        "kind": "botulinum_toxin, surgery or other", "sites": "Injection sites or procedure",
        "units": "Dose (e.g. botulinum toxin units)", "notes": "Free text"}},
}

migrations = Migrations("coach")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    for sql in (
        """CREATE TABLE patients (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, display_name TEXT,
            affected_side TEXT CHECK (affected_side IN ('left', 'right')),
            notes TEXT NOT NULL DEFAULT '', created TEXT NOT NULL)""",
        """CREATE TABLE plans (
            id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id),
            created TEXT NOT NULL, items TEXT NOT NULL)""",
        "CREATE INDEX plans_patient ON plans(patient_id, created)",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY, patient_id TEXT REFERENCES patients(id),
            started TEXT NOT NULL, ended TEXT,
            status TEXT NOT NULL CHECK (status IN ('in-progress', 'completed', 'interrupted')),
            source TEXT NOT NULL DEFAULT '', app_version TEXT NOT NULL DEFAULT '',
            model_version TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL CHECK (kind IN ('home', 'kiosk', 'demo')))""",
        "CREATE INDEX sessions_patient ON sessions(patient_id, started)",
        "CREATE INDEX sessions_status ON sessions(status)",
        """CREATE TABLE calibrations (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            t REAL, baseline TEXT NOT NULL)""",
        """CREATE TABLE sets (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            exercise TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, planned_reps INTEGER)""",
        "CREATE INDEX sets_session ON sets(session_id)",
        """CREATE TABLE reps (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            set_id TEXT REFERENCES sets(id), idx INTEGER NOT NULL,
            start_s REAL, peak_s REAL, end_s REAL, peak REAL, peak_left REAL, peak_right REAL,
            time_to_peak_s REAL, hold_s REAL, hold_steadiness REAL, synkinesis_peak REAL,
            synkinesis INTEGER NOT NULL CHECK (synkinesis IN (0, 1)),
            complete INTEGER NOT NULL CHECK (complete IN (0, 1)))""",
        "CREATE INDEX reps_session ON reps(session_id)",
        "CREATE INDEX reps_set ON reps(set_id)",
        """CREATE TABLE events (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            set_id TEXT REFERENCES sets(id),
            kind TEXT NOT NULL CHECK (kind IN ('synkinesis', 'face_lost', 'camera_lost')),
            side TEXT, measure TEXT, start_s REAL, end_s REAL, peak REAL)""",
        "CREATE INDEX events_session ON events(session_id)",
        # Clustered on (session_id, t) without a rowid: no separate index, so
        # the biggest table stays small and one session's samples are contiguous.
        """CREATE TABLE samples (
            session_id TEXT NOT NULL REFERENCES sessions(id), t REAL NOT NULL, exercise TEXT,
            PRIMARY KEY (session_id, t)) WITHOUT ROWID""",
    ):
        db.execute(sql)


@migrations()
def m002_treatments_and_session_owner(db: sqlite_utils.Database) -> None:
    # Treatments are drawn on the report; pid/host let recovery skip sessions
    # run on another computer (whose locks it cannot see).
    db.execute("""CREATE TABLE treatments (
        id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id),
        date TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('botulinum_toxin', 'surgery', 'other')),
        sites TEXT NOT NULL DEFAULT '', units REAL, notes TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE INDEX treatments_patient ON treatments(patient_id, date)")
    db.execute("ALTER TABLE sessions ADD COLUMN pid INTEGER")
    db.execute("ALTER TABLE sessions ADD COLUMN host TEXT")


@migrations()
def m003_targets(db: sqlite_utils.Database) -> None:
    # Reps count against each patient's own target (learned or set by the therapist).
    db.execute("ALTER TABLE sets ADD COLUMN target REAL")
    db.execute("ALTER TABLE sets ADD COLUMN target_source TEXT")
    db.execute("ALTER TABLE reps ADD COLUMN target REAL")


def default_db_path() -> Path:
    """`$COACH_DB` if set, else `coach.db` in the user data dir. (`--db` beats both.)"""
    env = os.environ.get("COACH_DB", "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("coach", appauthor=False)) / "coach.db"


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def new_id() -> str:
    return str(uuid.uuid4())


def sql_error(path: Path, exc: sqlite3.Error) -> CoachError:
    """One plain sentence for an SQLite failure."""
    msg = str(exc)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return CoachError(f"The database {path} is locked by another program; try again in a moment.")
    if "readonly" in low or "read-only" in low:
        return CoachError(f"The database {path} is read-only; coach needs write access to it.")
    if "malformed" in low or "not a database" in low or "disk image" in low:
        return CoachError(f"The database {path} is damaged ({msg}); it was left unchanged.")
    if "full" in low:
        return CoachError(f"The disk holding {path} is full.")
    if "unable to open" in low:
        return CoachError(f"Cannot open the database {path}: check the folder exists and is writable.")
    return CoachError(f"Database error in {path}: {msg}.")


def _friendly(method):
    """Turn SQLite errors from a Store method into one-sentence CoachErrors."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise sql_error(self.path, exc) from exc
    return wrapper


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


def _column_name(key: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", str(key)) or "_"
    if name in SAMPLE_BASE_COLUMNS or name[0].isdigit():
        name = "v_" + name
    return name


def _lock_dir(path: Path) -> Path:
    return path.with_name(path.name + ".locks")


def _try_lock(lock_path: Path) -> int | None:
    """An fd holding an exclusive flock on `lock_path`, or None if someone else holds it."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_file(path: Path) -> bool:
    """Read-only checks before any write. True if the file holds data already."""
    if path.is_dir():
        raise CoachError(f"{path} is a folder, not a database file.")
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise CoachError(f"Cannot read the database {path}: {exc.strerror}.") from exc
    if header != SQLITE_HEADER:
        raise CoachError(f"{path} is not an SQLite database (bad header); it was left unchanged.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise sql_error(path, exc) from exc
    try:
        problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise CoachError(f"The database {path} is damaged ({problems[0]}); it was left unchanged.")
        _check_schema(path, sqlite_utils.Database(conn, execute_plugins=False))
    except sqlite3.Error as exc:
        raise sql_error(path, exc) from exc
    finally:
        conn.close()
    return True


def _check_schema(path: Path, db: sqlite_utils.Database) -> None:
    """Refuse a foreign database or one written by a newer coach."""
    tables = set(db.table_names())
    applied = [m.name for m in migrations.applied(db)]
    if not applied:
        if tables - {migrations.migrations_table}:
            raise CoachError(f"{path} is an SQLite database but not a coach database; it was left unchanged.")
        return
    known = {m.name for m in migrations._migrations}  # Migrations has no public list of its steps
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise CoachError(
            f"The database {path} was written by a newer version of coach (schema step {unknown[-1]}); "
            f"upgrade coach (this is {__version__}) to open it.")


class Store:
    """The session log. Open with `Store.open()`; not thread-safe (one thread at a time)."""

    def __init__(self, path: Path, db: sqlite_utils.Database, readonly: bool = False):
        self.path = path
        self.db = db
        self.readonly = readonly
        self._locks: dict[str, int] = {}           # session_id -> fd holding its flock
        self._started: dict[str, float] = {}       # session_id -> time.time() at start
        self._started_iso: dict[str, str] = {}     # session_id -> its recorded start
        self._last_sample_t: dict[str, float] = {}
        self._buffer: list[tuple] = []
        self._buffer_since = 0.0
        self._sample_columns: dict[str, str] = {}  # value key -> column name
        self._closed = False

    # ---- opening -------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True,
             readonly: bool = False) -> "Store":
        """Open (creating if `create`) and upgrade the database, then recover dead sessions.

        `readonly=True` only reads: no upgrade, no recovery, nothing written.
        """
        path = Path(path).expanduser() if path else default_db_path()
        has_data = _check_file(path)
        if not has_data and (readonly or not create):
            raise CoachError(f"No coach database at {path}.")
        if readonly:
            return cls._open_readonly(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CoachError(f"Cannot create the folder {path.parent}: {exc.strerror}.") from exc
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except sqlite3.Error as exc:
            raise sql_error(path, exc) from exc
        store = cls(path, sqlite_utils.Database(conn, execute_plugins=False))
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
    def _open_readonly(cls, path: Path) -> "Store":
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if migrations.pending(db):
            conn.close()
            raise CoachError(f"The database {path} uses an older layout; open it once with write "
                             "access so coach can upgrade it.")
        return cls(path, db, readonly=True)

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
                _check_schema(self.path, self.db)
                migrations.apply(self.db)

    def _recover(self) -> None:
        rows = list(self.db.query(
            "SELECT id, host FROM sessions WHERE status = 'in-progress'"))
        if not rows:
            return
        lock_dir = _lock_dir(self.path)
        lock_dir.mkdir(exist_ok=True)
        for row in rows:
            sid = row["id"]
            if sid in self._locks or (row["host"] and row["host"] != HOST):
                continue
            lock_path = lock_dir / f"{sid}.lock"
            fd = _try_lock(lock_path)
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

    @_friendly
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

    # ---- patients, plans, treatments -------------------------------------
    @_friendly
    def add_patient(self, code: str, display_name: str | None = None,
                    affected_side: str | None = None, notes: str = "") -> dict:
        code = (code or "").strip()
        if not code or any(c.isspace() for c in code):
            raise CoachError("A patient code must be one word, e.g. P001.")
        if affected_side is not None and affected_side not in AFFECTED_SIDES:
            raise CoachError(f"Affected side must be left or right, not {affected_side!r}.")
        row = {"id": new_id(), "code": code, "display_name": display_name,
               "affected_side": affected_side, "notes": notes or "", "created": now_iso()}
        with self._tx():
            if self._patient_row(code):
                raise CoachError(f"A patient with code {code} already exists.")
            self.db["patients"].insert(row)
        return row

    def _patient_row(self, code: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM patients WHERE code = ?", [code]))
        return rows[0] if rows else None

    @_friendly
    def get_patient(self, code: str) -> dict:
        row = self._patient_row(code)
        if row is None:
            raise CoachError(f"No patient with code {code}.")
        return row

    @_friendly
    def list_patients(self) -> list[dict]:
        return list(self.db.query(
            "SELECT p.*, count(s.id) AS sessions, max(s.started) AS last_session "
            "FROM patients p LEFT JOIN sessions s ON s.patient_id = p.id "
            "GROUP BY p.id ORDER BY p.code"))

    @_friendly
    def set_plan(self, code: str, items: list[dict]) -> dict:
        """Store a new plan; it becomes the active one. Items are validated and normalised."""
        patient = self.get_patient(code)
        try:
            clean = [item.to_dict() for item in parse_items(items)]
        except PlanError as exc:
            raise CoachError(str(exc)) from None
        row = {"id": new_id(), "patient_id": patient["id"], "created": now_iso(),
               "items": json.dumps(clean)}
        with self._tx():
            self.db["plans"].insert(row)
        return {**row, "items": clean}

    @_friendly
    def get_plan(self, code: str) -> list[dict] | None:
        patient = self.get_patient(code)
        rows = list(self.db.query(
            "SELECT items FROM plans WHERE patient_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
            [patient["id"]]))
        return json.loads(rows[0]["items"]) if rows else None

    @_friendly
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

    @_friendly
    def list_treatments(self, code: str) -> list[dict]:
        patient = self.get_patient(code)
        return list(self.db.query(
            "SELECT * FROM treatments WHERE patient_id = ? ORDER BY date, rowid", [patient["id"]]))

    # ---- recording a session ------------------------------------------------
    @_friendly
    def start_session(self, patient_code: str | None = None, source: str = "", kind: str = "home",
                      app_version: str = "", model_version: str = "") -> str:
        if kind not in SESSION_KINDS:
            raise CoachError(f"Session kind must be one of {', '.join(SESSION_KINDS)}, not {kind!r}.")
        patient_id = self.get_patient(patient_code)["id"] if patient_code else None
        sid = new_id()
        lock_dir = _lock_dir(self.path)
        try:
            lock_dir.mkdir(exist_ok=True)
            fd = _try_lock(lock_dir / f"{sid}.lock")
        except OSError as exc:
            raise CoachError(f"Cannot create the session lock in {lock_dir}: {exc.strerror}.") from exc
        assert fd is not None  # a fresh UUID's lock is never held
        # The lock is held before the row exists: see the module docstring.
        os.write(fd, f"{os.getpid()} {HOST}\n".encode())
        row = {"id": sid, "patient_id": patient_id, "started": now_iso(), "ended": None,
               "status": "in-progress", "source": str(source or ""),
               "app_version": app_version or __version__, "model_version": model_version or "",
               "kind": kind, "pid": os.getpid(), "host": HOST}
        try:
            with self._tx():
                self.db["sessions"].insert(row)
        except BaseException:
            os.close(fd)
            (lock_dir / f"{sid}.lock").unlink(missing_ok=True)
            raise
        self._locks[sid] = fd
        self._started[sid] = time.time()
        self._started_iso[sid] = row["started"]
        return sid

    def _require_running(self, session_id: str) -> None:
        if session_id not in self._locks:
            raise CoachError(f"Session {session_id} is not running in this process.")

    @_friendly
    def add_calibration(self, session_id: str, baseline: dict, t: float | None = None) -> str:
        self._require_running(session_id)
        if t is None:
            t = time.time() - self._started[session_id]
        row = {"id": new_id(), "session_id": session_id, "t": float(t),
               "baseline": json.dumps(baseline, default=_json_default)}
        with self._tx():
            self._flush_samples()
            self.db["calibrations"].insert(row)
        return row["id"]

    @_friendly
    def start_set(self, session_id: str, exercise: str, planned_reps: int | None, t: float | None = None) -> str:
        """`t`: session time (the clock reps and events use); the wall-clock start is derived from it."""
        self._require_running(session_id)
        row = {"id": new_id(), "session_id": session_id, "exercise": str(exercise),
               "started": self._session_iso(session_id, t), "ended": None,
               "planned_reps": None if planned_reps is None else int(planned_reps)}
        with self._tx():
            self._flush_samples()
            self.db["sets"].insert(row)
        return row["id"]

    @_friendly
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
        started = self._started_iso.get(session_id)
        if t is None or started is None:
            return now_iso()
        return (datetime.fromisoformat(started) + timedelta(seconds=float(t))).isoformat(timespec="milliseconds")

    def learned_targets(self, patient_code: str) -> dict[str, float]:
        """{exercise: target} learned in this patient's latest set of each exercise."""
        rows = self.db.execute(
            """SELECT s.exercise, s.target FROM sets s JOIN sessions se ON se.id = s.session_id
               JOIN patients p ON p.id = se.patient_id
               WHERE p.code = ? AND s.target IS NOT NULL AND s.target_source IN ('learned', 'previous')
               ORDER BY s.started""", [patient_code]).fetchall()
        return {ex: float(t) for ex, t in rows}

    @_friendly
    def add_rep(self, session_id: str, set_id: str | None, rep: dict) -> str:
        """`rep` as `coach.core.events.Rep.to_dict()`. Committed before returning."""
        self._require_running(session_id)
        sides = rep.get("peak_by_side") or {}
        row = {"id": new_id(), "session_id": session_id, "set_id": set_id,
               "idx": int(rep.get("index", 0)),
               "peak_left": _num(sides.get("left")), "peak_right": _num(sides.get("right")),
               "synkinesis": int(bool(rep.get("synkinesis", False))),
               "complete": int(bool(rep.get("complete", True)))}
        for key in ("start_s", "peak_s", "end_s", "peak", "time_to_peak_s", "hold_s",
                    "hold_steadiness", "synkinesis_peak", "target"):
            row[key] = _num(rep.get(key))
        with self._tx():
            self._flush_samples()
            self.db["reps"].insert(row)
        return row["id"]

    @_friendly
    def add_event(self, session_id: str, set_id: str | None, kind: str, side: str | None = None,
                  measure: str | None = None, start_s: float | None = None,
                  end_s: float | None = None, peak: float | None = None) -> str:
        self._require_running(session_id)
        if kind not in EVENT_KINDS:
            raise CoachError(f"Event kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}.")
        row = {"id": new_id(), "session_id": session_id, "set_id": set_id, "kind": kind,
               "side": side, "measure": measure, "start_s": _num(start_s),
               "end_s": _num(end_s), "peak": _num(peak)}
        with self._tx():
            self._flush_samples()
            self.db["events"].insert(row)
        return row["id"]

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

    @_friendly
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
            name = _column_name(key)
            if name.lower() not in existing:
                self.db.conn.execute(f'ALTER TABLE samples ADD COLUMN "{name}" REAL')
                existing[name.lower()] = name
            self._sample_columns[key] = existing[name.lower()]

    @_friendly
    def end_session(self, session_id: str, status: str = "completed") -> None:
        if status not in ("completed", "interrupted"):
            raise CoachError(f"A session ends completed or interrupted, not {status!r}.")
        self._require_running(session_id)
        with self._tx():
            self._flush_samples()
            self.db.execute(
                "UPDATE sessions SET status = ?, ended = ? WHERE id = ? AND status = 'in-progress'",
                [status, now_iso() if status == "completed" else None, session_id])
        fd = self._locks.pop(session_id)
        (_lock_dir(self.path) / f"{session_id}.lock").unlink(missing_ok=True)
        os.close(fd)
        self._started.pop(session_id, None)
        self._last_sample_t.pop(session_id, None)

    # ---- queries -----------------------------------------------------------
    @_friendly
    def sessions(self, patient_code: str | None = None) -> list[dict]:
        """Sessions, oldest first, with per-session rep counts."""
        where, params = "", []
        if patient_code:
            where, params = "WHERE s.patient_id = ?", [self.get_patient(patient_code)["id"]]
        return list(self.db.query(f"""
            SELECT s.*, p.code AS patient_code,
              (SELECT count(*) FROM sets WHERE session_id = s.id) AS n_sets,
              (SELECT count(*) FROM reps WHERE session_id = s.id) AS n_reps,
              (SELECT count(*) FROM reps WHERE session_id = s.id AND complete) AS n_complete,
              (SELECT count(*) FROM reps WHERE session_id = s.id AND complete AND NOT synkinesis)
                AS n_synkinesis_free
            FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
            {where} ORDER BY s.started, s.rowid""", params))

    @_friendly
    def get_session(self, session_id: str) -> dict:
        rows = list(self.db.query("SELECT * FROM sessions WHERE id = ?", [session_id]))
        if not rows:
            raise CoachError(f"No session with id {session_id}.")
        return rows[0]

    @_friendly
    def session_sets(self, session_id: str) -> list[dict]:
        return list(self.db.query(
            "SELECT * FROM sets WHERE session_id = ? ORDER BY started, rowid", [session_id]))

    @_friendly
    def rep_rows(self, patient_code: str | None = None, session_id: str | None = None) -> list[dict]:
        """Reps with their set's exercise and session's start, in time order."""
        where, params = self._scope(patient_code, session_id)
        return list(self.db.query(f"""
            SELECT r.*, st.exercise AS exercise, s.started AS session_started, s.status AS session_status
            FROM reps r JOIN sessions s ON s.id = r.session_id LEFT JOIN sets st ON st.id = r.set_id
            {where} ORDER BY s.started, s.rowid, st.started, r.idx, r.rowid""", params))

    @_friendly
    def event_rows(self, patient_code: str | None = None, session_id: str | None = None) -> list[dict]:
        where, params = self._scope(patient_code, session_id)
        return list(self.db.query(f"""
            SELECT e.*, st.exercise AS exercise, s.started AS session_started
            FROM events e JOIN sessions s ON s.id = e.session_id LEFT JOIN sets st ON st.id = e.set_id
            {where} ORDER BY s.started, e.start_s, e.rowid""", params))

    @_friendly
    def calibrations(self, session_id: str) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM calibrations WHERE session_id = ? ORDER BY t",
                                  [session_id]))
        return [{**r, "baseline": json.loads(r["baseline"])} for r in rows]

    @_friendly
    def samples(self, session_id: str) -> list[dict]:
        """A session's samples as dicts (NULL measure columns dropped)."""
        out = []
        for row in self.db.query("SELECT * FROM samples WHERE session_id = ? ORDER BY t", [session_id]):
            out.append({k: v for k, v in row.items() if v is not None or k in SAMPLE_BASE_COLUMNS})
        return out

    def _scope(self, patient_code, session_id) -> tuple[str, list]:
        clauses, params = [], []
        if patient_code:
            clauses.append("s.patient_id = ?")
            params.append(self.get_patient(patient_code)["id"])
        if session_id:
            clauses.append("s.id = ?")
            params.append(session_id)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    @_friendly
    def last_session_summary(self, patient_code: str, before_session_id: str | None = None) -> dict | None:
        """The patient's latest finished or interrupted session before `before_session_id`
        (or the latest at all), summarised per exercise; None if there is none."""
        patient = self.get_patient(patient_code)
        params: list = [patient["id"]]
        before = ""
        if before_session_id:
            before = "AND started < (SELECT started FROM sessions WHERE id = ?) AND id != ?"
            params += [before_session_id, before_session_id]
        rows = list(self.db.query(
            f"SELECT * FROM sessions WHERE patient_id = ? AND status != 'in-progress' {before} "
            "ORDER BY started DESC, rowid DESC LIMIT 1", params))
        if not rows:
            return None
        session = rows[0]
        exercises: dict[str, dict] = {}
        for row in self.db.query("""
                SELECT st.exercise, count(r.id) AS reps, sum(r.complete) AS complete,
                  sum(r.complete AND NOT r.synkinesis) AS synkinesis_free,
                  avg(CASE WHEN r.complete THEN r.peak END) AS mean_peak,
                  avg(CASE WHEN r.complete THEN r.hold_s END) AS mean_hold_s
                FROM sets st LEFT JOIN reps r ON r.set_id = st.id
                WHERE st.session_id = ? GROUP BY st.exercise ORDER BY min(st.started)""",
                [session["id"]]):
            complete = row["complete"] or 0
            row["synkinesis_free"] = row["synkinesis_free"] or 0
            row["synkinesis_free_rate"] = row["synkinesis_free"] / complete if complete else None
            exercises[row.pop("exercise")] = row
        return {"session_id": session["id"], "started": session["started"],
                "status": session["status"], "exercises": exercises}


# Queries a therapist wants in Datasette (`coach review`); `:patient` may be left empty.
CANNED_QUERIES = {
    "sessions_per_week": {
        "title": "Sessions per week",
        "description": "Sessions started per calendar week (local time), with how many were completed.",
        "sql": """SELECT p.code AS patient, strftime('%Y-W%W', substr(s.started, 1, 19)) AS week,
  count(*) AS sessions, sum(s.status = 'completed') AS completed,
  sum(s.status = 'interrupted') AS interrupted
FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
WHERE :patient = '' OR p.code = :patient
GROUP BY p.code, week ORDER BY p.code, week""",
    },
    "synkinesis_free_rate": {
        "title": "Synkinesis-free rep rate per exercise",
        "description": "Complete reps without detected synkinesis, per patient and exercise.",
        "sql": """SELECT p.code AS patient, st.exercise, count(*) AS complete_reps,
  sum(NOT r.synkinesis) AS synkinesis_free,
  round(100.0 * sum(NOT r.synkinesis) / count(*), 1) AS synkinesis_free_pct,
  round(avg(abs(r.synkinesis_peak)), 3) AS mean_abs_synkinesis_peak
FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
  LEFT JOIN patients p ON p.id = s.patient_id
WHERE r.complete AND (:patient = '' OR p.code = :patient)
GROUP BY p.code, st.exercise ORDER BY p.code, st.exercise""",
    },
    "latest_session_reps": {
        "title": "Reps of a patient's latest session",
        "description": "Every rep of the most recent session of the given patient code.",
        "sql": """SELECT st.exercise, r.idx, r.peak, r.peak_left, r.peak_right, r.hold_s, r.hold_steadiness,
  r.synkinesis_peak, r.synkinesis, r.complete
FROM reps r JOIN sets st ON st.id = r.set_id
WHERE r.session_id = (SELECT s.id FROM sessions s JOIN patients p ON p.id = s.patient_id
                      WHERE p.code = :patient ORDER BY s.started DESC LIMIT 1)
ORDER BY st.started, r.idx""",
    },
}

# Which of the patient's rows each exported CSV holds (`?` = patient id).
_IN_SESSIONS = "session_id IN (SELECT id FROM sessions WHERE patient_id = ?)"
EXPORT_QUERIES = {
    "patient": "SELECT * FROM patients WHERE id = ?",
    "plans": "SELECT * FROM plans WHERE patient_id = ? ORDER BY created",
    "treatments": "SELECT * FROM treatments WHERE patient_id = ? ORDER BY date",
    "sessions": "SELECT * FROM sessions WHERE patient_id = ? ORDER BY started",
    "calibrations": f"SELECT * FROM calibrations WHERE {_IN_SESSIONS} ORDER BY session_id, t",
    "sets": f"SELECT * FROM sets WHERE {_IN_SESSIONS} ORDER BY started",
    "reps": f"SELECT * FROM reps WHERE {_IN_SESSIONS} ORDER BY session_id, start_s",
    "events": f"SELECT * FROM events WHERE {_IN_SESSIONS} ORDER BY session_id, start_s",
    "samples": f"SELECT * FROM samples WHERE {_IN_SESSIONS} ORDER BY session_id, t",
}


def export_csv(store: Store, code: str, folder: str | os.PathLike) -> list[Path]:
    """Write one CSV per table with the patient's rows; returns the files written."""
    import csv

    patient = store.get_patient(code)
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CoachError(f"Cannot create the folder {folder}: {exc.strerror}.") from exc
    written = []
    for name, sql in EXPORT_QUERIES.items():
        try:
            cursor = store.db.conn.execute(sql, [patient["id"]])
        except sqlite3.Error as exc:
            raise sql_error(store.path, exc) from exc
        path = folder / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([d[0] for d in cursor.description])
            writer.writerows(cursor)
        written.append(path)
    return written


def datasette_metadata(path: Path) -> dict:
    """Datasette metadata: descriptions of every table and the canned queries."""
    return {
        "title": "coach session log",
        "description": "Exercise sessions, reps and synkinesis events recorded by coach. "
                       "Health records: do not share.",
        "databases": {path.stem: {"tables": DESCRIPTIONS, "queries": CANNED_QUERIES}},
    }
