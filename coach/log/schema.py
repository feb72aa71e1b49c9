"""The session log's schema: allowed values, table descriptions and migrations.

Schema versions
    sqlite-utils' `Migrations` (recorded in `_sqlite_migrations`): an older
    database upgrades in place; one with a migration this program does not know
    was written by a newer coach and is refused (`check_version`).
    Primary keys are UUID text, so databases from several kiosks can be merged.

Allowed values
    The tuples below are the one source of truth: the store validates against
    them and the migrations generate their `CHECK (x IN (...))` constraints from
    them. SQLite cannot change a CHECK in place, and databases already created
    keep the constraint they were created with, so a new value needs a new
    migration that rebuilds the table (tests/test_store.py pins the schema).
"""
from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

import sqlite_utils
from sqlite_utils.migrations import Migrations

from coach import __version__
from coach.errors import CoachError

AFFECTED_SIDES = ("left", "right")
SessionKind = Literal["home", "kiosk", "demo"]
EventKind = Literal["synkinesis", "face_lost", "camera_lost"]
SESSION_STATUSES = ("in-progress", "completed", "interrupted")
SESSION_KINDS: tuple[SessionKind, ...] = ("home", "kiosk", "demo")
EVENT_KINDS: tuple[EventKind, ...] = ("synkinesis", "face_lost", "camera_lost")
TREATMENT_KINDS = ("botulinum_toxin", "surgery", "other")
CHECK_KINDS = ("pin", "birth_year")            # a patient's second factor at the kiosk
FLAGS = (0, 1)                                  # INTEGER booleans: synkinesis, complete
SAMPLE_BASE_COLUMNS = ("session_id", "t", "exercise")
LABEL_SIDES = ("left", "right", "both", "none")  # a therapist's label: which side co-moved (none: no co-movement)

# The tables that travel between databases (bundles, kiosk files, the clinic store), parents
# first, each with its key and the column that orders its versions (None: the row never changes
# once its session has ended, so a copy is kept as it is). Samples stay on the machine that
# recorded them (no figure uses them); second factors and preferences belong to one machine.
SHARED_TABLES = (
    ("patients", "id", "updated"),
    ("plans", "id", None),
    ("treatments", "id", "updated"),
    ("sessions", "id", "updated"),
    ("calibrations", "id", None),
    ("sets", "id", None),
    ("reps", "id", None),
    ("events", "id", None),
    ("rep_evenness", "rep_id", None),
    ("labels", "id", "updated"),
    ("audit", "id", None),
)
SHARED_STATUSES = ("completed", "interrupted")   # a session still running is not shared

# Table and column descriptions, in Datasette's metadata shape (`coach review` uses them).
DESCRIPTIONS: dict[str, dict[str, Any]] = {
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
        "pid": "Process id that ran it", "host": "Computer that ran it",
        "end_reason": "Why an interrupted session ended early, when known (e.g. records that could not be saved)"}},
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
    "patient_checks": {"description": "The second factor a patient types at the kiosk after their code, stored "
                                      "hashed (never exported).", "hidden": True, "columns": {
        "patient_id": "patients.id", "kind": "pin or birth_year", "hash": "scrypt hash of the answer",
        "created": "When the therapist set it"}},
}


def sql_literal(value) -> str:
    """An SQL literal for a str or int allowed value."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"allowed values are str or int, not {value!r}")
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def check_in(column: str, values: tuple) -> str:
    """`CHECK (column IN (...))` for a tuple of allowed values."""
    return f"CHECK ({column} IN ({', '.join(sql_literal(v) for v in values)}))"


def sample_column(key: str) -> str:
    """The samples column for a measure key: SQL-safe, never a base column, never starting with a digit."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", str(key)) or "_"
    if name in SAMPLE_BASE_COLUMNS or name[0].isdigit():
        name = "v_" + name
    return name


migrations = Migrations("coach")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    for sql in (
        f"""CREATE TABLE patients (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, display_name TEXT,
            affected_side TEXT {check_in('affected_side', AFFECTED_SIDES)},
            notes TEXT NOT NULL DEFAULT '', created TEXT NOT NULL)""",
        """CREATE TABLE plans (
            id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id),
            created TEXT NOT NULL, items TEXT NOT NULL)""",
        "CREATE INDEX plans_patient ON plans(patient_id, created)",
        f"""CREATE TABLE sessions (
            id TEXT PRIMARY KEY, patient_id TEXT REFERENCES patients(id),
            started TEXT NOT NULL, ended TEXT,
            status TEXT NOT NULL {check_in('status', SESSION_STATUSES)},
            source TEXT NOT NULL DEFAULT '', app_version TEXT NOT NULL DEFAULT '',
            model_version TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL {check_in('kind', SESSION_KINDS)})""",
        "CREATE INDEX sessions_patient ON sessions(patient_id, started)",
        "CREATE INDEX sessions_status ON sessions(status)",
        """CREATE TABLE calibrations (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            t REAL, baseline TEXT NOT NULL)""",
        """CREATE TABLE sets (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            exercise TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, planned_reps INTEGER)""",
        "CREATE INDEX sets_session ON sets(session_id)",
        f"""CREATE TABLE reps (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            set_id TEXT REFERENCES sets(id), idx INTEGER NOT NULL,
            start_s REAL, peak_s REAL, end_s REAL, peak REAL, peak_left REAL, peak_right REAL,
            time_to_peak_s REAL, hold_s REAL, hold_steadiness REAL, synkinesis_peak REAL,
            synkinesis INTEGER NOT NULL {check_in('synkinesis', FLAGS)},
            complete INTEGER NOT NULL {check_in('complete', FLAGS)})""",
        "CREATE INDEX reps_session ON reps(session_id)",
        "CREATE INDEX reps_set ON reps(set_id)",
        f"""CREATE TABLE events (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
            set_id TEXT REFERENCES sets(id),
            kind TEXT NOT NULL {check_in('kind', EVENT_KINDS)},
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
    db.execute(f"""CREATE TABLE treatments (
        id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id),
        date TEXT NOT NULL,
        kind TEXT NOT NULL {check_in('kind', TREATMENT_KINDS)},
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


@migrations()
def m004_end_reason_and_patient_checks(db: sqlite_utils.Database) -> None:
    # Why a session ended interrupted (e.g. records that could not be saved), and the
    # kiosk's per-patient second factor, hashed, in its own table (kept out of exports).
    db.execute("ALTER TABLE sessions ADD COLUMN end_reason TEXT")
    db.execute(f"""CREATE TABLE patient_checks (
        patient_id TEXT PRIMARY KEY REFERENCES patients(id),
        kind TEXT NOT NULL {check_in('kind', CHECK_KINDS)},
        hash TEXT NOT NULL, created TEXT NOT NULL)""")



@migrations()
def m005_preferences(db: sqlite_utils.Database) -> None:
    # What carries over for a patient (coach.log.preferences): their display settings, and each
    # rep's evenness and timing (coach.core.coaching), in tables of their own.
    db.execute("""CREATE TABLE preferences (
        patient_id TEXT PRIMARY KEY, settings TEXT NOT NULL, updated TEXT NOT NULL)""")
    db.execute("""CREATE TABLE rep_evenness (
        rep_id TEXT PRIMARY KEY REFERENCES reps(id), onset_lag_ms REAL, late_side TEXT,
        amplitude_ratio REAL, smoothness REAL)""")


DESCRIPTIONS.update({
    "preferences": {"description": "A patient's display settings, remembered for the next session.", "columns": {
        "patient_id": "patients.id, or empty for home use without a patient code",
        "settings": "JSON {view, sound, voice, volume, text_size}", "updated": "When they were last saved"}},
    "rep_evenness": {"description": "How evenly and smoothly the two sides moved in each rep.", "columns": {
        "rep_id": "reps.id", "onset_lag_ms": "How much later the later side started moving (ms)",
        "late_side": "The side that started later (empty: together or unknown)",
        "amplitude_ratio": "Affected side's peak over the other side's (without an affected side: the smaller "
                           "over the larger); 1 = equal",
        "smoothness": "Of the rise: net rise over total up-and-down travel (1 = one smooth rise)"}},
})

@migrations()
def m006_corrections_and_sharing(db: sqlite_utils.Database) -> None:
    # Corrections keep history: an audit row per changed field, a voided session kept but left
    # out of the figures, a removed treatment kept as a tombstone. `updated` on the rows that can
    # change lets merges (bundles, kiosk files, the clinic store) keep the newer version, and
    # `synced` records which version of which row each destination already holds (the outbox is
    # every row whose current version is not there).
    for sql in (
        "ALTER TABLE patients ADD COLUMN updated TEXT",
        "UPDATE patients SET updated = created",
        "ALTER TABLE sessions ADD COLUMN updated TEXT",
        "UPDATE sessions SET updated = coalesce(ended, started)",
        "ALTER TABLE sessions ADD COLUMN voided TEXT",
        "ALTER TABLE treatments ADD COLUMN updated TEXT",
        "ALTER TABLE treatments ADD COLUMN removed TEXT",
        """CREATE TABLE audit (
            id TEXT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, command TEXT NOT NULL,
            patient_id TEXT, row_table TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
            old TEXT, new TEXT)""",
        "CREATE INDEX audit_patient ON audit(patient_id, at)",
        """CREATE TABLE synced (
            target TEXT NOT NULL, row_table TEXT NOT NULL, row_id TEXT NOT NULL,
            version TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (target, row_table, row_id))""",
    ):
        db.execute(sql)


DESCRIPTIONS["patients"]["columns"]["updated"] = "When the patient's details last changed"
DESCRIPTIONS["sessions"]["columns"].update({
    "updated": "When the session row last changed (ended, interrupted or voided)",
    "voided": "Why the therapist voided the session (empty: it counts); a voided session is kept "
              "but left out of every figure"})
DESCRIPTIONS["treatments"]["columns"].update({
    "updated": "When the treatment row last changed",
    "removed": "When the treatment was removed (empty: it stands); kept so history is not lost"})
DESCRIPTIONS.update({
    "audit": {"description": "Every correction: who or what command changed which field, when, "
                             "from what to what.", "columns": {
        "id": "UUID", "at": "When (local time, ISO 8601)", "actor": "Who: user@computer",
        "command": "The coach command that made the change, e.g. patient edit",
        "patient_id": "patients.id", "row_table": "Table of the changed row", "row_id": "Id of the changed row",
        "field": "Changed column", "old": "Value before", "new": "Value after"}},
    "synced": {"description": "Which version of each row a destination (clinic server or shared bundle) "
                              "already holds.", "hidden": True, "columns": {
        "target": "Destination", "row_table": "Table", "row_id": "Row id",
        "version": "The row's version sent", "at": "When it was sent"}},
})


@migrations()
def m007_co_movement_by_side(db: sqlite_utils.Database) -> None:
    # Synkinesis is often bilateral (eyes narrow on both sides in a pucker), so each rep keeps its
    # co-movement peak per side too, for the per-side columns of sessions.csv and FHIR.
    for side in AFFECTED_SIDES:
        db.execute(f"ALTER TABLE reps ADD COLUMN synkinesis_{side} REAL")


DESCRIPTIONS["plans"]["columns"]["items"] += ("; the first item may carry the plan's care settings, "
                                               "care: {review_weeks, practice} (coach plan set --review-weeks, "
                                               "--practice)")
DESCRIPTIONS["reps"]["columns"].update({
    f"synkinesis_{side}": f"Largest unwanted co-movement during the rep on the patient's {side} side "
                          "(relative change; logged on both sides even when one is judged)"
    for side in AFFECTED_SIDES})


@migrations()
def m008_labels(db: sqlite_utils.Database) -> None:
    # The therapist's eye: each rep they replay (`coach label`) is marked co-movement yes or no, which
    # side and which region; `coach eval --labels` scores the detector's flags against these.
    db.execute(f"""CREATE TABLE labels (
        id TEXT PRIMARY KEY, rep_id TEXT NOT NULL REFERENCES reps(id),
        session_id TEXT NOT NULL REFERENCES sessions(id),
        label INTEGER NOT NULL {check_in('label', FLAGS)},
        side TEXT NOT NULL {check_in('side', LABEL_SIDES)},
        region TEXT NOT NULL DEFAULT '', labeller TEXT NOT NULL, at TEXT NOT NULL, updated TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE INDEX labels_session ON labels(session_id)")
    db.execute("CREATE INDEX labels_rep ON labels(rep_id)")


DESCRIPTIONS.update({
    "labels": {"description": "The therapist's labels: a rep replayed as the mesh (`coach label`) and marked "
                              "co-movement yes or no, which side, which region. Kept in the clinic (bundles and "
                              "sync); never exported except anonymised (`coach export --labelled`).", "columns": {
        "id": "UUID", "rep_id": "reps.id: the labelled rep", "session_id": "sessions.id of that rep",
        "label": "1: the therapist saw co-movement in the rep; 0: none",
        "side": "Patient's side that co-moved: left, right, both, or none",
        "region": "Where: eye, brow, mouth, chin or neck (the exercise files' watch regions); empty when none",
        "labeller": "Who labelled: user@computer", "at": "When first labelled (local time, ISO 8601)",
        "updated": "When last changed", "note": "Free text"}},
})


def steps() -> list[str]:
    """The schema steps this coach knows, in order (SQLite files and the clinic store alike)."""
    return [m.name for m in migrations._migrations]  # Migrations has no public list of its steps


@contextmanager
def built() -> Iterator[sqlite_utils.Database]:
    """An in-memory database with every step applied: the schema exactly as every install has it
    (the clinic store's DDL and the door's allowlist are both read from it)."""
    db = sqlite_utils.Database(memory=True)
    try:
        migrations.apply(db)
        yield db
    finally:
        db.close()


def unknown_steps(applied) -> list[str]:
    """The steps of `applied` this coach does not know: the store was set up by a newer coach."""
    known = set(steps())
    return [name for name in applied if name not in known]


def check_version(path: Path, db: sqlite_utils.Database) -> None:
    """Refuse a foreign database or one written by a newer coach."""
    tables = set(db.table_names())
    applied = [m.name for m in migrations.applied(db)]
    if not applied:
        if tables - {migrations.migrations_table}:
            raise CoachError(f"{path} is an SQLite database but not a coach database; it was left unchanged.")
        return
    unknown = unknown_steps(applied)
    if unknown:
        raise CoachError(
            f"The database {path} was written by a newer version of coach (schema step {unknown[-1]}); "
            f"upgrade coach (this is {__version__}) to open it.")


def table_columns(db: sqlite3.Connection, name: str) -> list[dict]:
    """PRAGMA table_info of one table (its name from coach's own schema, never from input), as dicts."""
    return [dict(zip(("cid", "name", "type", "notnull", "dflt_value", "pk"), r))
            for r in db.execute(f'PRAGMA table_info("{name}")')]
