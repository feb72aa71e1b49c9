"""The session store on real SQLite files: schema, migrations, crash recovery, concurrency."""
from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coach.errors import CoachError
from coach.io import store as store_mod
from coach.io.store import Store, default_db_path
from store_fixtures import build_history, rep_dict

REPO = Path(__file__).resolve().parent.parent


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def child(script: str, db: Path) -> subprocess.Popen:
    """A separate Python process running `script` with DB set to the database path."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "DB": str(db)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


def read_until(proc: subprocess.Popen, marker: str, timeout: float = 20.0) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child exited early: {proc.stderr.read()}")
        lines.append(line.strip())
        if line.strip() == marker:
            return lines
    raise AssertionError(f"no {marker!r} from the child in {timeout} s")


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "coach.db"


# ---- schema, pragmas, migrations ----------------------------------------------
def test_new_database_has_schema_wal_and_full_sync(db):
    with Store.open(db) as store:
        assert set(store.db.table_names()) >= {"patients", "plans", "sessions", "calibrations", "sets",
                                               "reps", "events", "samples", "treatments"}
        assert store.db.journal_mode == "wal"
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2      # FULL
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == store_mod.BUSY_TIMEOUT_MS
        assert [m.name for m in store_mod.migrations.applied(store.db)] == \
            ["m001_initial", "m002_treatments_and_session_owner", "m003_targets"]
        # Every table has descriptions for Datasette, covering its columns.
        for table in store_mod.DESCRIPTIONS:
            described = set(store_mod.DESCRIPTIONS[table]["columns"])
            assert described <= set(store.db[table].columns_dict), table
        # No video or image columns, ever.
        for table in store.db.table_names():
            assert not any("video" in c or "image" in c for c in store.db[table].columns_dict)


V1_SCHEMA = """
CREATE TABLE patients (id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, display_name TEXT,
  affected_side TEXT CHECK (affected_side IN ('left', 'right')), notes TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL);
CREATE TABLE plans (id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id),
  created TEXT NOT NULL, items TEXT NOT NULL);
CREATE TABLE sessions (id TEXT PRIMARY KEY, patient_id TEXT REFERENCES patients(id), started TEXT NOT NULL,
  ended TEXT, status TEXT NOT NULL CHECK (status IN ('in-progress', 'completed', 'interrupted')),
  source TEXT NOT NULL DEFAULT '', app_version TEXT NOT NULL DEFAULT '', model_version TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL CHECK (kind IN ('home', 'kiosk', 'demo')));
CREATE TABLE calibrations (id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), t REAL,
  baseline TEXT NOT NULL);
CREATE TABLE sets (id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
  exercise TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, planned_reps INTEGER);
CREATE TABLE reps (id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
  set_id TEXT REFERENCES sets(id), idx INTEGER NOT NULL, start_s REAL, peak_s REAL, end_s REAL, peak REAL,
  peak_left REAL, peak_right REAL, time_to_peak_s REAL, hold_s REAL, hold_steadiness REAL,
  synkinesis_peak REAL, synkinesis INTEGER NOT NULL, complete INTEGER NOT NULL);
CREATE TABLE events (id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
  set_id TEXT REFERENCES sets(id), kind TEXT NOT NULL, side TEXT, measure TEXT, start_s REAL, end_s REAL,
  peak REAL);
CREATE TABLE samples (session_id TEXT NOT NULL REFERENCES sessions(id), t REAL NOT NULL, exercise TEXT,
  PRIMARY KEY (session_id, t)) WITHOUT ROWID;
CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT);
CREATE UNIQUE INDEX idx_sqlite_migrations ON _sqlite_migrations (migration_set, name);
INSERT INTO _sqlite_migrations (migration_set, name, applied_at)
  VALUES ('coach', 'm001_initial', '2024-01-01 00:00:00+00:00');
INSERT INTO patients VALUES ('p-1', 'OLD1', 'Old Patient', 'right', '', '2024-01-01T10:00:00+00:00');
INSERT INTO sessions VALUES ('s-1', 'p-1', '2024-01-02T10:00:00+00:00', '2024-01-02T10:10:00+00:00',
  'completed', 'cam', '0.0.9', '', 'home');
INSERT INTO sets VALUES ('set-1', 's-1', 'brow-lift', '2024-01-02T10:01:00+00:00', NULL, 3);
INSERT INTO reps VALUES ('r-1', 's-1', 'set-1', 0, 1, 2, 3, 0.9, 0.1, 0.3, 1, 1.5, 0.9, -0.2, 1, 1);
INSERT INTO reps VALUES ('r-2', 's-1', 'set-1', 1, 5, 6, 7, 0.8, 0.1, 0.3, 1, 1.5, 0.9, 0.05, 0, 1);
"""


def test_previous_schema_upgrades_in_place_with_data_intact(db):
    conn = sqlite3.connect(db)
    conn.executescript(V1_SCHEMA)
    conn.close()
    with Store.open(db) as store:
        assert "treatments" in store.db.table_names()
        assert {"pid", "host"} <= set(store.db["sessions"].columns_dict)
        assert store.get_patient("OLD1")["display_name"] == "Old Patient"
        [s] = store.sessions("OLD1")
        assert (s["status"], s["n_reps"], s["n_complete"], s["n_synkinesis_free"]) == ("completed", 2, 2, 1)
        assert [r["synkinesis_peak"] for r in store.rep_rows("OLD1")] == [-0.2, 0.05]
        store.add_treatment("OLD1", "2024-02-01", "botulinum_toxin", units=4)
        assert [m.name for m in store_mod.migrations.pending(store.db)] == []
    with Store.open(db) as store:      # a second open changes nothing
        assert len(store.list_treatments("OLD1")) == 1


def test_database_from_newer_version_is_refused_unchanged(db):
    Store.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('coach', 'm099_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()
    before = sha(db)
    with pytest.raises(CoachError, match="newer version of coach"):
        Store.open(db)
    assert sha(db) == before


@pytest.mark.parametrize("damage", ["header", "pages"])
def test_corrupt_database_is_refused_and_left_unchanged(db, damage):
    build_history(db, n_sessions=3)
    data = bytearray(db.read_bytes())
    if damage == "header":
        data[:16] = b"not a database!!"
    else:
        page = int.from_bytes(data[16:18], "big")
        for i in range(3 * page, 8 * page):
            data[i] = (i * 7919) & 0xFF
    db.write_bytes(bytes(data))
    before = sha(db)
    with pytest.raises(CoachError, match="left unchanged") as err:
        Store.open(db)
    assert "\n" not in str(err.value)
    assert sha(db) == before


def test_foreign_sqlite_file_is_refused(db):
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (x)")
    conn.commit()
    conn.close()
    before = sha(db)
    with pytest.raises(CoachError, match="not a coach database"):
        Store.open(db)
    assert sha(db) == before


def test_missing_database_for_readers(db):
    with pytest.raises(CoachError, match="No coach database"):
        Store.open(db, create=False)
    assert not db.exists()


def test_default_path_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("COACH_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("COACH_DB")
    assert default_db_path().name == "coach.db"


# ---- patients, plans, treatments ------------------------------------------------
def test_patients_plans_treatments(db):
    with Store.open(db) as store:
        store.add_patient("P1", "Ann", "left")
        with pytest.raises(CoachError, match="already exists"):
            store.add_patient("P1")
        with pytest.raises(CoachError, match="No patient with code NOPE."):
            store.get_patient("NOPE")
        with pytest.raises(CoachError, match="left or right"):
            store.add_patient("P2", affected_side="both")
        assert store.get_plan("P1") is None
        store.set_plan("P1", [{"exercise": "snarl", "reps": 5}])
        store.set_plan("P1", [{"exercise": "brow-lift", "reps": 8, "hold_s": 2, "thresholds": {"eye_opening": 0.2}}])
        # What the plan leaves out (here the rest) comes from the exercise file: one set of defaults.
        assert store.get_plan("P1") == [{"exercise": "brow-lift", "reps": 8, "hold_s": 2.0,
                                         "thresholds": {"eye_opening": 0.2}}]
        with pytest.raises(CoachError, match="reps for 'snarl' must be from 1"):
            store.set_plan("P1", [{"exercise": "snarl", "reps": 0}])
        store.add_treatment("P1", "2024-05-01", "botulinum_toxin", "orbicularis oculi", 5)
        with pytest.raises(CoachError, match="YYYY-MM-DD"):
            store.add_treatment("P1", "1 May", "surgery")
        with pytest.raises(CoachError, match="kind"):
            store.add_treatment("P1", "2024-05-01", "massage")
        assert [t["units"] for t in store.list_treatments("P1")] == [5.0]
        assert [p["code"] for p in store.list_patients()] == ["P1"]


def test_unknown_patient_everywhere(db):
    with Store.open(db) as store:
        for call in (lambda: store.start_session("X9"), lambda: store.sessions("X9"),
                     lambda: store.set_plan("X9", [{"exercise": "snarl"}]), lambda: store.list_treatments("X9"),
                     lambda: store.last_session_summary("X9")):
            with pytest.raises(CoachError, match="No patient with code X9."):
                call()


# ---- recording -------------------------------------------------------------------
def test_session_records_and_summary(db):
    with Store.open(db) as store:
        store.add_patient("P1")
        sid = store.start_session("P1", source="cam0", model_version="face_landmarker v1")
        assert store.get_session(sid)["status"] == "in-progress"
        store.add_calibration(sid, {"eye_opening": [0.3, 0.31]})
        set_id = store.start_set(sid, "brow-lift", 3)
        store.add_rep(sid, set_id, rep_dict(0, 1.0, -0.25))
        store.add_rep(sid, set_id, rep_dict(1, 5.0, 0.05))
        store.add_rep(sid, set_id, rep_dict(2, 9.0, 0.02, complete=False))
        store.add_event(sid, set_id, "synkinesis", "left", "eye_opening", 1.5, 2.5, -0.25)
        with pytest.raises(CoachError, match="Event kind"):
            store.add_event(sid, set_id, "sneeze")
        store.end_set(set_id)
        store.end_session(sid)
        s = store.get_session(sid)
        assert s["status"] == "completed" and s["ended"] and s["pid"] == os.getpid()
        assert store.calibrations(sid)[0]["baseline"] == {"eye_opening": [0.3, 0.31]}
        reps = store.rep_rows(session_id=sid)
        assert [(r["idx"], r["peak_left"], r["peak_right"], r["synkinesis"], r["complete"]) for r in reps] == \
            [(0, 0.12, 0.30, 1, 1), (1, 0.12, 0.30, 0, 1), (2, 0.12, 0.30, 0, 0)]
        summary = store.last_session_summary("P1")
        assert summary["session_id"] == sid
        assert summary["exercises"]["brow-lift"]["synkinesis_free_rate"] == 0.5
        sid2 = store.start_session("P1")
        assert store.last_session_summary("P1", before_session_id=sid2)["session_id"] == sid
        assert store.last_session_summary("P1", before_session_id=sid) is None
    assert not any((db.parent / "coach.db.locks").iterdir())


def test_samples_are_downsampled_buffered_and_flushed(db, monkeypatch):
    with Store.open(db) as store:
        sid = store.start_session(kind="demo")
        set_id = store.start_set(sid, "snarl", 1)
        kept = [store.add_sample(sid, i / 30, "snarl", {"level": i, "eye opening/L": 0.3}) for i in range(90)]
        assert sum(kept) == 30                         # 3 s at ~10 Hz
        reader = sqlite3.connect(db)
        assert reader.execute("SELECT count(*) FROM samples").fetchone()[0] == 0   # still buffered
        store.add_rep(sid, set_id, rep_dict(0, 0.0, 0.0))                           # commits them
        assert reader.execute("SELECT count(*) FROM samples").fetchone()[0] == 30
        rows = store.samples(sid)
        assert rows[1] == {"session_id": sid, "t": pytest.approx(0.1), "exercise": "snarl",
                           "eye_opening_L": 0.3, "level": 3.0}
        store.add_sample(sid, 5.0, "snarl", {"Level": 7.0, "t": 1.0})   # same column as "level"; "t" is taken
        store.flush()
        assert store.samples(sid)[-1] == {"session_id": sid, "t": 5.0, "exercise": "snarl", "level": 7.0,
                                          "v_t": 1.0}
        monkeypatch.setattr(store_mod, "SAMPLE_FLUSH_S", 0.0)   # timed flush with no rep
        store.add_sample(sid, 10.0, "snarl", {"level": 1.0, "new_measure": 2.0})
        assert reader.execute("SELECT count(*), max(new_measure) FROM samples").fetchone() == (32, 2.0)
        reader.close()


def test_close_ends_own_open_sessions_as_interrupted(db):
    store = Store.open(db)
    sid = store.start_session(kind="kiosk")
    store.close()
    with Store.open(db) as store:
        assert store.get_session(sid)["status"] == "interrupted"


def test_readonly_store_refuses_writes_clearly(db):
    Store.open(db).close()
    with Store.open(db, readonly=True) as store:
        assert store.list_patients() == []
        with pytest.raises(CoachError, match="read-only"):
            store.add_patient("P1")


def test_locked_database_gives_clear_error(db, monkeypatch):
    Store.open(db).close()
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with Store.open(db) as store:
            with pytest.raises(CoachError, match="locked by another program"):
                store.add_patient("P1")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


# ---- crash safety and concurrency (real child processes) ------------------------
WRITER = """
    import os, sys, time
    from coach.io.store import Store
    from coach.core.events import Rep
    store = Store.open(os.environ["DB"])
    sid = store.start_session("P1", source="child")
    set_id = store.start_set(sid, "brow-lift", 1000)
    print(sid, flush=True)
    for i in range(int(os.environ.get("N", "1000000"))):
        for k in range(3):
            store.add_sample(sid, i * 0.3 + k * 0.1, "brow-lift", {"level": 0.5})
        store.add_rep(sid, set_id, Rep(i, i, i + 0.1, i + 0.2, 0.9, {"left": 0.1, "right": 0.3}).to_dict())
        print(i, flush=True)       # printed only after the commit returned
    print("ready", flush=True)
    time.sleep(120)
"""


def make_patient(db: Path) -> None:
    with Store.open(db) as store:
        store.add_patient("P1")


def test_sigkill_mid_session_keeps_every_committed_rep(db):
    make_patient(db)
    proc = child(WRITER, db)
    try:
        sid = proc.stdout.readline().strip()
        reported = [int(proc.stdout.readline()) for _ in range(40)]   # still writing when killed
    finally:
        kill(proc)
    assert (db.parent / "coach.db.locks" / f"{sid}.lock").exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store.open(db) as store:
        assert store.get_session(sid)["status"] == "interrupted"
        idx = {r["idx"] for r in store.rep_rows(session_id=sid)}
        assert set(reported) <= idx
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not (db.parent / "coach.db.locks" / f"{sid}.lock").exists()


def test_sigkill_while_idle_marks_interrupted(db):
    make_patient(db)
    proc = child(WRITER.replace('"1000000"', '"5"'), db)
    try:
        sid = read_until(proc, "ready")[0]
    finally:
        kill(proc)
    with Store.open(db) as store:
        s = store.sessions("P1")[0]
        assert (s["id"], s["status"], s["n_reps"]) == (sid, "interrupted", 5)
        assert len(store.samples(sid)) == 15


def test_running_session_in_another_process_is_left_alone(db):
    make_patient(db)
    proc = child(WRITER.replace('"1000000"', '"3"'), db)
    try:
        sid = read_until(proc, "ready")[0]
        with Store.open(db) as store:
            assert store.get_session(sid)["status"] == "in-progress"
        with Store.open(db) as store:
            assert store.get_session(sid)["status"] == "in-progress"
    finally:
        kill(proc)
    with Store.open(db) as store:
        assert store.get_session(sid)["status"] == "interrupted"


def test_running_session_in_this_process_is_left_alone(db):
    with Store.open(db) as live:
        sid = live.start_session(kind="kiosk")
        with Store.open(db) as other:
            assert other.get_session(sid)["status"] == "in-progress"
        live.end_session(sid)


def test_reader_never_blocks_while_a_session_writes(db):
    make_patient(db)
    proc = child(WRITER, db)
    try:
        sid = proc.stdout.readline().strip()
        proc.stdout.readline()
        slowest, counts = 0.0, []
        with Store.open(db) as reader:          # a read-write store: opening must not disturb the writer
            for _ in range(40):
                t0 = time.perf_counter()
                counts.append(len(reader.rep_rows(session_id=sid)))
                reader.sessions("P1")
                slowest = max(slowest, time.perf_counter() - t0)
                time.sleep(0.01)
            assert reader.get_session(sid)["status"] == "in-progress"
        assert proc.poll() is None, proc.stderr.read()
    finally:
        kill(proc)
    assert counts[-1] > counts[0]        # the writer kept committing while we read
    assert slowest < 1.0
