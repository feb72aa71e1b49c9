"""The session store on real SQLite files: schema, migrations, clock, recording, queries.

Crash recovery and concurrency with real child processes are in test_crash.py."""
from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from coach.core import progress
from coach.errors import CoachError, LogLocked, LogReadOnly, NoPatient
from coach.log import schema
from coach.log import samples as samples_mod
from coach.log import store as store_mod
from coach.log.queries import NO_REPS
from coach.log.store import Store, default_db_path
from store_fixtures import START, build_history, record_session, rep_dict

def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
        assert [m.name for m in schema.migrations.applied(store.db)][:4] == \
            ["m001_initial", "m002_treatments_and_session_owner", "m003_targets",
             "m004_end_reason_and_patient_checks"]
        # Every table has descriptions for Datasette, covering its columns.
        for table in schema.DESCRIPTIONS:
            described = set(schema.DESCRIPTIONS[table]["columns"])
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
        assert [m.name for m in schema.migrations.pending(store.db)] == []
    with Store.open(db) as store:      # a second open changes nothing
        assert len(store.list_treatments("OLD1")) == 1


# What m001-m003 created before the schema had its own module (whitespace collapsed). The CHECKs
# are now generated from the allowed-value tuples; a database created today must be the same.
SCHEMA_M003 = """
CREATE TABLE patients ( id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, display_name TEXT, affected_side TEXT CHECK (affected_side IN ('left', 'right')), notes TEXT NOT NULL DEFAULT '', created TEXT NOT NULL);
CREATE TABLE plans ( id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id), created TEXT NOT NULL, items TEXT NOT NULL);
CREATE INDEX plans_patient ON plans(patient_id, created);
CREATE TABLE sessions ( id TEXT PRIMARY KEY, patient_id TEXT REFERENCES patients(id), started TEXT NOT NULL, ended TEXT, status TEXT NOT NULL CHECK (status IN ('in-progress', 'completed', 'interrupted')), source TEXT NOT NULL DEFAULT '', app_version TEXT NOT NULL DEFAULT '', model_version TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL CHECK (kind IN ('home', 'kiosk', 'demo')), pid INTEGER, host TEXT);
CREATE INDEX sessions_patient ON sessions(patient_id, started);
CREATE INDEX sessions_status ON sessions(status);
CREATE TABLE calibrations ( id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), t REAL, baseline TEXT NOT NULL);
CREATE TABLE sets ( id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), exercise TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, planned_reps INTEGER, target REAL, target_source TEXT);
CREATE INDEX sets_session ON sets(session_id);
CREATE TABLE reps ( id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), set_id TEXT REFERENCES sets(id), idx INTEGER NOT NULL, start_s REAL, peak_s REAL, end_s REAL, peak REAL, peak_left REAL, peak_right REAL, time_to_peak_s REAL, hold_s REAL, hold_steadiness REAL, synkinesis_peak REAL, synkinesis INTEGER NOT NULL CHECK (synkinesis IN (0, 1)), complete INTEGER NOT NULL CHECK (complete IN (0, 1)), target REAL);
CREATE INDEX reps_session ON reps(session_id);
CREATE INDEX reps_set ON reps(set_id);
CREATE TABLE events ( id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), set_id TEXT REFERENCES sets(id), kind TEXT NOT NULL CHECK (kind IN ('synkinesis', 'face_lost', 'camera_lost')), side TEXT, measure TEXT, start_s REAL, end_s REAL, peak REAL);
CREATE INDEX events_session ON events(session_id);
CREATE TABLE samples ( session_id TEXT NOT NULL REFERENCES sessions(id), t REAL NOT NULL, exercise TEXT, PRIMARY KEY (session_id, t)) WITHOUT ROWID;
CREATE TABLE treatments ( id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id), date TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('botulinum_toxin', 'surgery', 'other')), sites TEXT NOT NULL DEFAULT '', units REAL, notes TEXT NOT NULL DEFAULT '');
CREATE INDEX treatments_patient ON treatments(patient_id, date);
"""


# m004 adds sessions.end_reason and the kiosk's second factors.
SCHEMA_M004 = SCHEMA_M003.replace("pid INTEGER, host TEXT);", "pid INTEGER, host TEXT, end_reason TEXT);") + (
    "CREATE TABLE patient_checks ( patient_id TEXT PRIMARY KEY REFERENCES patients(id), kind TEXT NOT NULL "
    "CHECK (kind IN ('pin', 'birth_year')), hash TEXT NOT NULL, created TEXT NOT NULL);\n")


# m006 adds `updated` to the rows that can change, the session's `voided` reason, the treatment's
# `removed` tombstone, and the audit and synced tables.
SCHEMA_M006 = (SCHEMA_M004
               .replace("created TEXT NOT NULL);\nCREATE TABLE plans", "created TEXT NOT NULL, updated TEXT);\n"
                        "CREATE TABLE plans")
               .replace("host TEXT, end_reason TEXT);", "host TEXT, end_reason TEXT, updated TEXT, voided TEXT);")
               .replace("notes TEXT NOT NULL DEFAULT '');\nCREATE INDEX treatments_patient",
                        "notes TEXT NOT NULL DEFAULT '', updated TEXT, removed TEXT);\n"
                        "CREATE INDEX treatments_patient"))

# m007 keeps each rep's co-movement peak per side.
SCHEMA_M007 = SCHEMA_M006.replace("complete INTEGER NOT NULL CHECK (complete IN (0, 1)), target REAL);",
                                  "complete INTEGER NOT NULL CHECK (complete IN (0, 1)), target REAL, "
                                  "synkinesis_left REAL, synkinesis_right REAL);")


def coach_schema(conn: sqlite3.Connection) -> list[str]:
    return [" ".join(sql.split()) + ";" for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name != '_sqlite_migrations' ORDER BY rowid")]


def test_generated_schema_is_what_m001_to_m007_always_created(db):
    Store.open(db).close()
    conn = sqlite3.connect(db)
    assert SCHEMA_M007 != SCHEMA_M006 != SCHEMA_M004
    assert coach_schema(conn)[:len(SCHEMA_M007.strip().splitlines())] == SCHEMA_M007.strip().splitlines()
    conn.close()


def test_database_created_before_the_split_opens_and_works(db):
    conn = sqlite3.connect(db)
    conn.executescript(SCHEMA_M003 + """
        CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT);
        CREATE UNIQUE INDEX idx_sqlite_migrations ON _sqlite_migrations (migration_set, name);
        INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES
          ('coach', 'm001_initial', '2024-01-01'), ('coach', 'm002_treatments_and_session_owner', '2024-02-01'),
          ('coach', 'm003_targets', '2024-03-01');
        INSERT INTO patients VALUES ('p-1', 'OLD1', 'Old Patient', 'right', '', '2024-01-01T10:00:00.000+00:00');
        INSERT INTO sessions VALUES ('s-1', 'p-1', '2024-01-02T10:00:00.000+00:00', '2024-01-02T10:10:00.000+00:00',
          'completed', 'cam', '0.1', '', 'home', 1, 'elsewhere');
        INSERT INTO sets VALUES ('set-1', 's-1', 'brow-lift', '2024-01-02T10:01:00.000+00:00', NULL, 3, 0.1, 'learned');
        INSERT INTO reps VALUES ('r-1', 's-1', 'set-1', 0, 1, 2, 3, 0.9, 0.1, 0.3, 1, 1.5, 0.9, -0.2, 1, 1, 0.1);
        INSERT INTO reps VALUES ('r-2', 's-1', 'set-1', 1, 5, 6, 7, 0.8, 0.1, 0.3, 1, 1.5, 0.9, 0.05, 0, 1, 0.1);
    """)
    conn.close()
    with Store.open(db) as store:
        assert schema.migrations.pending(store.db) == []
        summary = store.last_session_summary("OLD1")
        assert summary["exercises"]["brow-lift"]["synkinesis_free_rate"] == 0.5
        assert store.learned_targets("OLD1") == {"brow-lift": 0.1}
        sid = store.start_session("OLD1")
        store.end_session(sid)
        assert [s["status"] for s in store.sessions("OLD1")] == ["completed", "completed"]


# One valid row per table; each case swaps in one value of a CHECKed column.
VALID_ROWS = {
    "patients": {"id": "p", "code": "P", "affected_side": "left", "created": "2024-01-01"},
    "sessions": {"id": "s", "started": "2024-01-01", "status": "completed", "kind": "home"},
    "events": {"id": "e", "session_id": "s", "kind": "synkinesis"},
    "treatments": {"id": "t", "patient_id": "p", "date": "2024-01-01", "kind": "other"},
    "reps": {"id": "r", "session_id": "s", "idx": 0, "synkinesis": 0, "complete": 1},
    "patient_checks": {"patient_id": "p", "kind": "pin", "hash": "h", "created": "2024-01-01"},
}
CHECKED = [("patients", "affected_side", schema.AFFECTED_SIDES), ("sessions", "status", schema.SESSION_STATUSES),
           ("sessions", "kind", schema.SESSION_KINDS), ("events", "kind", schema.EVENT_KINDS),
           ("treatments", "kind", schema.TREATMENT_KINDS), ("reps", "synkinesis", schema.FLAGS),
           ("reps", "complete", schema.FLAGS), ("patient_checks", "kind", schema.CHECK_KINDS)]


@pytest.mark.parametrize("table, column, allowed", CHECKED, ids=[f"{t}.{c}" for t, c, _ in CHECKED])
def test_check_constraints_match_the_allowed_values(db, table, column, allowed):
    Store.open(db).close()
    conn = sqlite3.connect(db, isolation_level=None)       # foreign keys off: one table at a time

    def insert(value):
        row = {**VALID_ROWS[table], column: value}
        conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     list(row.values()))
        conn.execute(f"DELETE FROM {table}")

    for value in allowed:
        insert(value)
    outside = 2 if isinstance(allowed[0], int) else "not-" + allowed[0]
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        insert(outside)
    conn.close()
    assert schema.check_in(column, allowed) in " ".join(SCHEMA_M004.split())


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
        with pytest.raises(NoPatient, match="No patient with code NOPE.") as caught:
            store.get_patient("NOPE")
        assert caught.value.code == "NOPE" and isinstance(caught.value, CoachError)
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


def test_a_fixed_clock_stamps_every_time_the_store_writes(db):
    fixed = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone(timedelta(hours=2)))
    stamp = "2024-05-06T07:08:09.123+02:00"
    with Store.open(db, clock=lambda: fixed) as store:
        patient = store.add_patient("P1")
        store.set_plan("P1", [{"exercise": "snarl", "reps": 3}])
        sid = store.start_session("P1")
        store.add_calibration(sid, {"eye_opening": [0.3, 0.3]})
        timed = store.start_set(sid, "snarl", 3, t=61.5)        # session start + session time
        store.end_set(timed, t=90.0)
        untimed = store.start_set(sid, "brow-lift", 3)
        store.end_set(untimed)
        store.end_session(sid)
        assert patient["created"] == stamp == store.get_patient("P1")["created"]
        assert store.db.execute("SELECT created FROM plans").fetchone()[0] == stamp
        session = store.get_session(sid)
        assert (session["started"], session["ended"]) == (stamp, stamp)
        assert store.calibrations(sid)[0]["t"] == 0.0
        sets = {s["id"]: s for s in store.session_sets(sid)}
        assert (sets[timed]["started"], sets[timed]["ended"]) == ("2024-05-06T07:09:10.623+02:00",
                                                                  "2024-05-06T07:09:39.123+02:00")
        assert (sets[untimed]["started"], sets[untimed]["ended"]) == (stamp, stamp)


def test_default_clock_is_local_now_with_offset(db):
    before = datetime.now().astimezone()
    with Store.open(db) as store:
        created = datetime.fromisoformat(store.add_patient("P1")["created"])
    assert created.utcoffset() == before.utcoffset()
    assert before - timedelta(milliseconds=1) <= created <= datetime.now().astimezone()


def test_record_session_fixture_dates_through_the_clock(db):
    with Store.open(db) as store:
        store.add_patient("P1")
        own_clock = store.clock
        sid = record_session(store, "P1", START, exercises=("snarl", "brow-lift"), reps=2)
        assert store.clock is own_clock
        session = store.get_session(sid)
        assert session["started"] == START.astimezone().isoformat(timespec="milliseconds")
        assert session["ended"] == (START + timedelta(minutes=12)).astimezone().isoformat(timespec="milliseconds")
        started = [datetime.fromisoformat(s["started"]) for s in store.session_sets(sid)]
        assert started == [START.astimezone(), START.astimezone() + timedelta(seconds=8)]


def test_last_session_summary_is_progress_exercise_summary_in_set_order(db):
    with Store.open(db) as store:
        store.add_patient("P1")
        sid = store.start_session("P1")
        snarl = store.start_set(sid, "snarl", 2, t=0.0)
        store.add_rep(sid, snarl, rep_dict(0, 1.0, -0.25))
        store.add_rep(sid, snarl, rep_dict(1, 5.0, 0.05))
        store.add_rep(sid, snarl, rep_dict(2, 9.0, 0.02, complete=False))
        store.end_set(snarl, t=10.0)
        store.start_set(sid, "brow-lift", 2, t=11.0)               # no reps at all
        store.end_session(sid)
        summary = store.last_session_summary("P1")
        assert list(summary["exercises"]) == ["snarl", "brow-lift"]
        assert summary["exercises"]["snarl"] == progress.exercise_summary(store.rep_rows(session_id=sid))["snarl"]
        assert summary["exercises"]["snarl"]["synkinesis_free_rate"] == 0.5
        assert summary["exercises"]["brow-lift"] == NO_REPS
        assert set(summary) == {"session_id", "started", "status", "exercises"}


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
        monkeypatch.setattr(samples_mod, "SAMPLE_FLUSH_S", 0.0)   # timed flush with no rep
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
        with pytest.raises(LogReadOnly, match="read-only"):
            store.add_patient("P1")


def test_locked_database_gives_clear_error(db, monkeypatch):
    Store.open(db).close()
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with Store.open(db) as store:
            with pytest.raises(LogLocked, match="locked by another program"):    # told by its class
                store.add_patient("P1")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
