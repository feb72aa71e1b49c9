"""The one door for every record that arrives from another machine: bundles' subset databases, kiosk
files, rows pulled from the clinic store (`sync --from`), and the rows `sync --to` sends.

Nothing that arrives names anything
    Incoming SQLite is read only through coach's own schema: the tables of `SHARED_TABLES`, and for
    each its columns as every install's migrations make them (`schema.built`, read back with
    PRAGMA table_info, the very source of the clinic store's DDL). An identifier is never taken from
    the input, and every one is quoted. `sqlite_master` is looked at first: a view, a virtual table
    or a trigger where coach keeps a table refuses the file, so no view (a recursive one spins
    forever) and no trigger is ever run; other tables are never queried. A file of an older coach
    is read through an upgraded in-memory copy (its missing columns added by the migrations); a
    column the schema does not have, or one missing after the upgrade, refuses the file.

Budgets
    Every statement on an incoming file runs under SQLite's progress handler: once the file has
    had `seconds` of SQLite's time (COACH_IMPORT_SECONDS, default 20) it is interrupted. At most
    `rows` rows (COACH_IMPORT_MAX_ROWS, default 5,000,000) are read, no value or row over 16 MB,
    and no function of the file's schema runs unless SQLite deems it harmless (trusted_schema
    off); a generated column refuses the file. A file that exceeds a budget is refused.

Every value against its column (`check_row`)
    SQLite type (TEXT, INTEGER, REAL: no blobs, no booleans), NOT NULL, the allowed values of a
    CHECK (`coach.log.schema`'s tuples), finite numbers within each measure's plausible range
    (`RULES`), ISO dates and times, UUIDs for ids and the ids of parents, JSON where a column holds
    it, bounded text without control characters.

Refusals
    A file that fails is refused whole (`Refused`), in one sentence naming the file, table, row and
    field; nothing from it is imported. Rows from the clinic store or a local outbox are sorted
    instead (`sort_out`): a row that fails sets aside its session (or its patient's row) with one
    sentence saying which and why, and the rest goes through.

Owners (`check_parents`)
    Rows are keyed by UUID, so a row of one patient could name a row of another: every row that
    arrives must be the same row as the one stored under its key (same parents), and every set a
    rep or event names must be a set of that rep's session in the same batch; with rows chosen by
    their parents from the batch's patients, every row then leads to a patient the batch claims.
"""
from __future__ import annotations

import functools
import json
import math
import os
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import sqlite_utils

from coach import __version__
from coach.errors import CoachError
from coach.log.patients import MAX_UNITS
from coach.log.schema import (AFFECTED_SIDES, DESCRIPTIONS, EVENT_KINDS, FLAGS, SESSION_KINDS, SESSION_STATUSES,
                              SHARED_STATUSES, SHARED_TABLES, TREATMENT_KINDS, built, migrations, table_columns, unknown_steps)

SECONDS_ENV, ROWS_ENV = "COACH_IMPORT_SECONDS", "COACH_IMPORT_MAX_ROWS"
DEFAULT_SECONDS, DEFAULT_ROWS = 20.0, 5_000_000
PROGRESS_STEPS = 1000                 # SQLite VM steps between two looks at the clock
FETCH = 1000
MAX_LENGTH = 16 * 1024 * 1024         # bytes in one value or row of an incoming file (coach's: < 1 MB)
MIGRATIONS_TABLE = migrations.migrations_table
KEYS = {table: key for table, key, _ in SHARED_TABLES}
DAY_S = 86_400.0
TARGET_SOURCES = ("plan", "learned", "previous", "exercise")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")       # free text keeps \t \n \r
ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Refused(CoachError):
    """Something that arrived failed the door; its message is one sentence naming the file, table,
    row and field. Nothing from it was imported."""


# ---- the rules, per column ---------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    kind: str                 # uuid, time, date, text, word, json, choice, number, int
    low: float = 0.0
    high: float = 0.0
    values: tuple = ()
    length: int = 1000        # text: at most this many characters


SECONDS = Rule("number", 0.0, DAY_S)                 # session time: from its start, under a day
RELATIVE = Rule("number", -10.0, 10.0)               # a relative change of a measure
LEVEL = Rule("number", -1000.0, 1000.0)              # a fraction of the patient's target
UID = Rule("uuid")
TIME = Rule("time")
WORD = Rule("word", length=200)                      # one line: codes, names of things, versions
NOTE = Rule("text", length=10_000)                   # free text

RULES: dict[tuple[str, str], Rule] = {
    ("patients", "id"): UID, ("patients", "code"): Rule("word", length=64),
    ("patients", "display_name"): Rule("text", length=500),
    ("patients", "affected_side"): Rule("choice", values=AFFECTED_SIDES),
    ("patients", "notes"): NOTE, ("patients", "created"): TIME, ("patients", "updated"): TIME,
    ("plans", "id"): UID, ("plans", "patient_id"): UID, ("plans", "created"): TIME,
    ("plans", "items"): Rule("json", values=(list,), length=200_000),
    ("treatments", "id"): UID, ("treatments", "patient_id"): UID, ("treatments", "date"): Rule("date"),
    ("treatments", "kind"): Rule("choice", values=TREATMENT_KINDS), ("treatments", "sites"): Rule("text", length=2000),
    ("treatments", "units"): Rule("number", math.ulp(0.0), MAX_UNITS), ("treatments", "notes"): NOTE,
    ("treatments", "updated"): TIME, ("treatments", "removed"): TIME,
    ("sessions", "id"): UID, ("sessions", "patient_id"): UID, ("sessions", "started"): TIME,
    ("sessions", "ended"): TIME, ("sessions", "status"): Rule("choice", values=SESSION_STATUSES),
    ("sessions", "source"): Rule("text", length=2000), ("sessions", "app_version"): WORD,
    ("sessions", "model_version"): Rule("text", length=500),
    ("sessions", "kind"): Rule("choice", values=SESSION_KINDS), ("sessions", "pid"): Rule("int", 0, 2 ** 32),
    ("sessions", "host"): Rule("word", length=255), ("sessions", "end_reason"): Rule("text", length=2000),
    ("sessions", "updated"): TIME, ("sessions", "voided"): Rule("text", length=2000),
    ("calibrations", "id"): UID, ("calibrations", "session_id"): UID, ("calibrations", "t"): SECONDS,
    ("calibrations", "baseline"): Rule("json", values=(dict, list), length=200_000),
    ("sets", "id"): UID, ("sets", "session_id"): UID, ("sets", "exercise"): WORD, ("sets", "started"): TIME,
    ("sets", "ended"): TIME, ("sets", "planned_reps"): Rule("int", 0, 10_000), ("sets", "target"): RELATIVE,
    ("sets", "target_source"): Rule("choice", values=TARGET_SOURCES),
    ("reps", "id"): UID, ("reps", "session_id"): UID, ("reps", "set_id"): UID, ("reps", "idx"): Rule("int", 0, 100_000),
    ("reps", "start_s"): SECONDS, ("reps", "peak_s"): SECONDS, ("reps", "end_s"): SECONDS, ("reps", "peak"): LEVEL,
    ("reps", "peak_left"): RELATIVE, ("reps", "peak_right"): RELATIVE, ("reps", "time_to_peak_s"): SECONDS,
    ("reps", "hold_s"): SECONDS, ("reps", "hold_steadiness"): Rule("number", -1000.0, 1.0),
    ("reps", "synkinesis_peak"): RELATIVE, ("reps", "synkinesis"): Rule("choice", values=FLAGS),
    ("reps", "complete"): Rule("choice", values=FLAGS), ("reps", "target"): RELATIVE,
    ("reps", "synkinesis_left"): RELATIVE, ("reps", "synkinesis_right"): RELATIVE,
    ("events", "id"): UID, ("events", "session_id"): UID, ("events", "set_id"): UID,
    ("events", "kind"): Rule("choice", values=EVENT_KINDS), ("events", "side"): Rule("choice", values=AFFECTED_SIDES),
    ("events", "measure"): WORD, ("events", "start_s"): SECONDS, ("events", "end_s"): SECONDS,
    ("events", "peak"): RELATIVE,
    ("rep_evenness", "rep_id"): UID, ("rep_evenness", "onset_lag_ms"): Rule("number", 0.0, DAY_S * 1000),
    ("rep_evenness", "late_side"): Rule("choice", values=("",) + AFFECTED_SIDES),
    ("rep_evenness", "amplitude_ratio"): Rule("number", 0.0, 1e6),
    ("rep_evenness", "smoothness"): Rule("number", 0.0, 1.0),
    ("audit", "id"): UID, ("audit", "at"): TIME, ("audit", "actor"): Rule("word", length=500),
    ("audit", "command"): Rule("word", length=500), ("audit", "patient_id"): UID,
    ("audit", "row_table"): Rule("choice", values=tuple(DESCRIPTIONS)), ("audit", "row_id"): UID,
    ("audit", "field"): Rule("word", length=100), ("audit", "old"): Rule("text", length=200_000),
    ("audit", "new"): Rule("text", length=200_000),
}
# A column the rules forget (a new migration) is still checked by its type (tests/test_door.py
# asserts there is none).
FALLBACK = {"TEXT": Rule("text", length=10_000), "INTEGER": Rule("int", -2 ** 53, 2 ** 53),
            "REAL": Rule("number", -1e12, 1e12)}


@dataclass(frozen=True)
class Column:
    name: str
    type: str                 # TEXT, INTEGER or REAL
    notnull: bool
    rule: Rule


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, tuple[Column, ...]]:
    """{shared table: its columns}, as every install's migrations make them."""
    with built() as db:
        return {table: tuple(Column(c["name"], (c["type"] or "TEXT").upper(), bool(c["notnull"] or c["pk"]),
                                    RULES.get((table, c["name"]), FALLBACK[(c["type"] or "TEXT").upper()]))
                             for c in table_columns(db.conn, table))
                for table, _, _ in SHARED_TABLES}


def columns(table: str) -> list[str]:
    """The columns of a shared table, in schema order (the allowlist)."""
    return [c.name for c in schema()[table]]


def quoted(name: str) -> str:
    """An SQL identifier from coach's own schema, quoted (SQLite and PostgreSQL alike)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not one of coach's identifiers: {name!r}")
    return f'"{name}"'


def allowed(table: str, names) -> list[str]:
    """`names` in schema order, each one a column of `table`; anything else is refused."""
    known = columns(table)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise Refused(f"A {table} row carries a field coach does not know ({shown_name(unknown[0])}); "
                      "nothing was written.")
    return [c for c in known if c in set(names)]


# ---- one value, one row --------------------------------------------------------------------
def shown_name(text) -> str:
    """Something that arrived, safe to quote in a sentence: letters, digits, '-' and '_', short."""
    text = re.sub(r"[^0-9A-Za-z_-]", "?", str(text))
    return text[:40] + ("…" if len(text) > 40 else "")


def _finite_json(text: str, kinds: tuple):
    def no_constant(name):
        raise ValueError(name)
    try:
        value = json.loads(text, parse_constant=no_constant)
    except (ValueError, RecursionError):
        return "is not JSON"
    return None if isinstance(value, kinds) else "is not the JSON coach writes there"


def _time(text: str, only_date: bool) -> str | None:
    if len(text) > (10 if only_date else 40):
        return "is not an ISO date" if only_date else "is not an ISO date and time"
    try:
        moment = date.fromisoformat(text) if only_date else datetime.fromisoformat(text)
    except ValueError:
        return "is not an ISO date" if only_date else "is not an ISO date and time"
    return None if 1900 <= moment.year <= 2999 else "is not a plausible date"


NOT_NULL = "is empty, which the column does not allow"


def _checker(column: Column):
    """A function of one value: why it does not belong in `column` (a phrase), or None. Built once
    per column, so a row costs a few microseconds (a kiosk file holds hundreds of thousands)."""
    rule, notnull, kind = column.rule, column.notnull, column.type
    low, high, values, length = rule.low, rule.high, rule.values, rule.length

    def text_rule(v: str) -> str | None:
        if rule.kind == "uuid":
            return None if len(v) == 36 and UUID.fullmatch(v) else "is not a UUID"
        if rule.kind in ("time", "date"):
            return _time(v, rule.kind == "date")
        if rule.kind == "choice":
            return None if v in values else "is not one of the values coach allows there"
        if len(v) > length:
            return "is too long"
        if (ANY_CONTROL if rule.kind == "word" else CONTROL).search(v):
            return "holds control characters"
        return _finite_json(v, values) if rule.kind == "json" else None

    def check(v) -> str | None:
        if v is None:
            return NOT_NULL if notnull else None
        t = type(v)
        if kind == "TEXT":
            return text_rule(v) if t is str else "is not text"
        if kind == "INTEGER":
            if t is not int:
                return "is not a whole number"
        elif t is float:
            if not math.isfinite(v):
                return "is not a finite number"
        elif t is not int:
            return "is not a number"
        if rule.kind == "choice":
            return None if v in values else "is not one of the values coach allows there"
        return None if low <= v <= high else "is outside the plausible range"
    return check


@functools.lru_cache(maxsize=None)
def _checks(table: str) -> tuple[tuple, frozenset]:
    cols = schema()[table]
    return tuple((c.name, _checker(c)) for c in cols), frozenset(c.name for c in cols)


def check_value(column: Column, value) -> str | None:
    """Why `value` does not belong in `column` (a phrase), or None: SQLite type (no blobs, no
    booleans), NOT NULL, then the column's rule (allowed values, finite and plausible numbers, UUID,
    ISO date or time, bounded text without control characters, JSON)."""
    return _checker(column)(value)


def check_row(table: str, row: dict) -> tuple[str, str] | None:
    """(field, why) for the first value of `row` that does not belong in `table`, or None."""
    checks, names = _checks(table)
    if len(row) != len(names) or not names.issuperset(row):
        unknown = [n for n in row if n not in names]
        if unknown:
            return shown_name(unknown[0]), "is not a column coach knows"
        return next(n for n, _ in checks if n not in row), "is missing"
    for name, check in checks:
        why = check(row[name])
        if why:
            return name, why
    if table == "patients" and (not row["code"] or any(c.isspace() for c in row["code"])):
        return "code", "is not one word"
    return None


def row_name(table: str, row) -> str:
    key = row.get(KEYS[table]) if isinstance(row, dict) else row
    return f"{table} row {shown_name(key) if key is not None else '(no id)'}"


def refusal(source, table: str, row, field: str, why: str) -> Refused:
    return Refused(f"{source} was refused: {row_name(table, row)}, field {field} {why}; nothing was imported.")


# ---- budgets ----------------------------------------------------------------------------------
def _setting(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


class Budget:
    """Time spent in SQLite on one file (checked by its progress handler; the checking of the rows
    in Python is not counted, it is bounded by the rows) and rows (counted as they are fetched)."""

    def __init__(self, seconds: float | None = None, rows: int | None = None):
        self.seconds = seconds or _setting(SECONDS_ENV, DEFAULT_SECONDS)
        self.rows = self.limit = int(rows or _setting(ROWS_ENV, DEFAULT_ROWS))
        self.used, self.since = 0.0, time.monotonic()
        self.spent = False

    def watch(self, conn: sqlite3.Connection) -> None:
        """Put `conn` under the budget; also no function of the file's schema runs unless SQLite
        deems it harmless, and no value or row may exceed MAX_LENGTH bytes."""
        conn.set_progress_handler(self._tick, PROGRESS_STEPS)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_LENGTH)
        conn.execute("PRAGMA trusted_schema = OFF")

    def _tick(self) -> int:
        if self.used + time.monotonic() - self.since > self.seconds:
            self.spent = True
            return 1                  # SQLite interrupts the statement
        return 0

    def pause(self) -> None:
        self.used += time.monotonic() - self.since

    def resume(self) -> None:
        self.since = time.monotonic()

    def take(self, n: int) -> bool:
        self.rows -= n
        return self.rows >= 0


# ---- incoming SQLite ---------------------------------------------------------------------------
def _objects(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    return [(t, n, tbl, sql or "") for t, n, tbl, sql in
            conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")]


def _check_objects(source, objects) -> set[str]:
    """The shared tables the file has; a view, virtual table or trigger in their place refuses it."""
    guarded = set(KEYS) | {MIGRATIONS_TABLE}
    tables = set()
    for kind, name, table, sql in objects:
        if kind == "trigger" and (table in guarded or name in guarded):
            raise Refused(f"{source} was refused: it holds a trigger on {shown_name(table)}, which coach never "
                          "makes; nothing was imported.")
        if name not in guarded:
            continue
        if kind != "table" or re.match(r"\s*CREATE\s+VIRTUAL", sql, re.IGNORECASE):
            what = "virtual table" if kind == "table" else kind
            raise Refused(f"{source} was refused: {shown_name(name)} is a {what} where coach keeps a table; "
                          "nothing was imported.")
        tables.add(name)
    return tables


def _applied(source, conn: sqlite3.Connection, tables: set) -> list[str]:
    if MIGRATIONS_TABLE not in tables:
        return []
    have = {r[1] for r in conn.execute(f'PRAGMA table_info("{MIGRATIONS_TABLE}")')}
    if not {"migration_set", "name"} <= have:
        raise Refused(f"{source} was refused: its table of schema steps is not coach's; nothing was imported.")
    rows = conn.execute(f'SELECT "migration_set", "name" FROM "{MIGRATIONS_TABLE}" LIMIT 10000').fetchall()
    if any(not isinstance(n, str) for _, n in rows):
        raise Refused(f"{source} was refused: its table of schema steps is not coach's; nothing was imported.")
    return [n for s, n in rows if s == migrations.name]


def _upgrade(source, conn: sqlite3.Connection, budget: Budget) -> sqlite3.Connection:
    """A private in-memory copy of `conn`, with the steps it lacks applied (the file is never written)."""
    copy = sqlite3.connect(":memory:")
    budget.watch(copy)
    conn.backup(copy)
    conn.close()
    try:
        migrations.apply(sqlite_utils.Database(copy, execute_plugins=False))
    except sqlite3.Error:
        copy.close()
        raise
    except Exception:            # sqlite-utils' own complaints about a table it did not expect
        copy.close()
        raise Refused(f"{source} was refused: its tables could not be brought up to this coach's schema; "
                      "nothing was imported.") from None
    return copy


def _check_columns(source, conn: sqlite3.Connection) -> None:
    for table, _, _ in SHARED_TABLES:
        info = conn.execute(f"PRAGMA table_xinfo({quoted(table)})").fetchall()
        generated = [r[1] for r in info if r[6]]          # computed on every read: never run
        if generated:
            raise Refused(f"{source} was refused: {table} has a generated column ({shown_name(generated[0])}), "
                          "which coach never makes; nothing was imported.")
        have = [r[1] for r in info]
        known = columns(table)
        extra = [c for c in have if c not in known]
        if extra:
            raise Refused(f"{source} was refused: {table} has a column coach does not know "
                          f"({shown_name(extra[0])}); nothing was imported.")
        missing = [c for c in known if c not in have]
        if missing:
            raise Refused(f"{source} was refused: {table} lacks the column {missing[0]}; nothing was imported.")


def _read_table(source, conn: sqlite3.Connection, table: str, budget: Budget) -> list[dict]:
    names = columns(table)
    cur = conn.execute(f"SELECT {', '.join(map(quoted, names))} FROM {quoted(table)}")
    out: list[dict] = []
    while True:
        part = cur.fetchmany(FETCH)
        if not part:
            return out
        if not budget.take(len(part)):
            raise Refused(f"{source} was refused: it holds more than {budget.limit} rows ({ROWS_ENV}); "
                          "nothing was imported.")
        budget.pause()
        for values in part:
            row = dict(zip(names, values))
            bad = check_row(table, row)
            if bad:
                raise refusal(source, table, row, *bad)
            out.append(row)
        budget.resume()


def _sorted(rows: list[dict], *keys: str) -> list[dict]:
    return sorted(rows, key=lambda r: tuple((r[k] is not None, r[k] if r[k] is not None else 0) for k in keys))


def select(tables: dict[str, list[dict]]) -> dict:
    """What `merge.collect` gives of a whole database: its patients with their plans, treatments and
    audit rows, and their ended sessions with their children, in collect's order."""
    patients = _sorted(tables["patients"], "created", "id")
    ids = {p["id"] for p in patients}
    sessions = [s for s in _sorted(tables["sessions"], "started", "id")
                if s["patient_id"] in ids and s["status"] in SHARED_STATUSES]
    sids = {s["id"] for s in sessions}
    batch = {
        "patients": patients,
        "plans": [r for r in _sorted(tables["plans"], "created", "id") if r["patient_id"] in ids],
        "treatments": [r for r in _sorted(tables["treatments"], "date", "id") if r["patient_id"] in ids],
        "sessions": sessions,
        "calibrations": [r for r in _sorted(tables["calibrations"], "session_id", "t", "id")
                         if r["session_id"] in sids],
        "sets": [r for r in _sorted(tables["sets"], "session_id", "id") if r["session_id"] in sids],
        "reps": [r for r in _sorted(tables["reps"], "session_id", "id") if r["session_id"] in sids],
        "events": [r for r in _sorted(tables["events"], "session_id", "id") if r["session_id"] in sids],
        "audit": [r for r in _sorted(tables["audit"], "at", "id") if r["patient_id"] in ids],
    }
    reps = {r["id"] for r in batch["reps"]}
    batch["rep_evenness"] = [r for r in _sorted(tables["rep_evenness"], "rep_id") if r["rep_id"] in reps]
    return {table: batch[table] for table, _, _ in SHARED_TABLES}


@contextmanager
def _interrupted(source, budget: Budget) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error:
        if budget.spent:
            raise Refused(f"{source} was refused: reading it took longer than {budget.seconds:g} s of the "
                          f"database's time ({SECONDS_ENV}); nothing was imported.") from None
        raise Refused(f"{source} was refused: it is not a readable coach database; nothing was imported.") from None


def read_database(path: Path, source=None, budget: Budget | None = None) -> dict:
    """Everything an incoming coach database gives (as `merge.collect` would), read through the door:
    opened read-only, checked, and every row checked (`Refused`, one sentence, otherwise)."""
    from coach.log.file import connect_readonly

    source = source or path
    budget = budget or Budget()
    try:
        conn = connect_readonly(Path(path), 1000)
    except sqlite3.Error:
        raise Refused(f"{source} was refused: it is not a readable coach database; nothing was imported.") from None
    try:
        with _interrupted(source, budget):
            budget.watch(conn)
            conn.execute("PRAGMA query_only = ON")
            problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise Refused(f"{source} was refused: the database is damaged; nothing was imported.")
            tables = _check_objects(source, _objects(conn))
            applied = _applied(source, conn, tables)
            if not applied:
                raise Refused(f"{source} is an SQLite database but not a coach database; nothing was imported.")
            unknown = unknown_steps(applied)
            if unknown:
                raise Refused(f"The database {source} was written by a newer version of coach (schema step "
                              f"{unknown[-1]}); upgrade coach (this is {__version__}) to open it.")
            if [m for m in migrations._migrations if m.name not in applied]:   # an older coach's file
                conn = _upgrade(source, conn, budget)
                tables = _check_objects(source, _objects(conn))
            missing = [t for t in KEYS if t not in tables]
            if missing:
                raise Refused(f"{source} was refused: it lacks the table {missing[0]}; nothing was imported.")
            _check_columns(source, conn)
            return select({table: _read_table(source, conn, table, budget) for table, _, _ in SHARED_TABLES})
    finally:
        conn.close()


# ---- rows from the clinic store or a local outbox -----------------------------------------------
def sort_out(batch: dict) -> tuple[dict, list[str]]:
    """(the rows that pass the door, one sentence per row set aside). A row that fails sets aside
    its session with all its children, or its patient with everything of theirs; a plan, treatment
    or audit row goes alone."""
    reasons: list[str] = []
    bad_patients: set = set()
    bad_sessions: set = set()
    bad_rows: set = set()
    session_of_rep = {r["id"]: r.get("session_id") for r in batch.get("reps", [])}
    for table, key, _ in SHARED_TABLES:
        for row in batch.get(table, []):
            bad = check_row(table, row)
            if not bad:
                continue
            what = f"{row_name(table, row)}, field {bad[0]} {bad[1]}"
            if table == "patients":
                bad_patients.add(row.get("id"))
                reasons.append(f"Set aside patient {shown_name(row.get('code'))} and all their records: {what}.")
            elif table == "sessions":
                bad_sessions.add(row.get("id"))
                reasons.append(f"Set aside session {shown_name(row.get('id'))}: {what}.")
            elif table in ("plans", "treatments", "audit"):
                bad_rows.add((table, row.get(key)))
                reasons.append(f"Set aside {what}.")
            else:
                sid = row.get("session_id") if table != "rep_evenness" else session_of_rep.get(row.get("rep_id"))
                bad_sessions.add(sid)
                reasons.append(f"Set aside session {shown_name(sid)}: {what}.")
    if not reasons:
        return batch, []
    bad_sessions |= {s["id"] for s in batch.get("sessions", []) if s.get("patient_id") in bad_patients}
    out = {}
    for table, key, _ in SHARED_TABLES:
        rows = batch.get(table, [])
        if table == "patients":
            rows = [r for r in rows if r.get("id") not in bad_patients]
        elif table in ("plans", "treatments", "audit"):
            rows = [r for r in rows if r.get("patient_id") not in bad_patients and (table, r.get(key)) not in bad_rows]
        elif table == "sessions":
            rows = [r for r in rows if r.get("id") not in bad_sessions]
        elif table == "rep_evenness":
            rows = [r for r in rows if session_of_rep.get(r.get("rep_id")) not in bad_sessions]
        else:
            rows = [r for r in rows if r.get("session_id") not in bad_sessions]
        out[table] = rows
    return out, reasons


# ---- owners: every row leads to a patient the batch claims ------------------------------------
PARENTS = {"patients": ("code",), "plans": ("patient_id",), "treatments": ("patient_id",), "sessions": ("patient_id",),
           "audit": ("patient_id",), "calibrations": ("session_id",), "sets": ("session_id",),
           "reps": ("session_id", "set_id"), "events": ("session_id", "set_id")}


ID_CHUNK = 500                      # ids per `IN (...)`: well under SQLite's and libpq's limits
PARENT_NAMES = {"code": "patient code", "patient_id": "patient", "session_id": "session", "set_id": "set"}


def _stored(cur, placeholder: str, table: str, names: list[str], keys: list) -> dict:
    """{key: (parent values…)} of the rows of `table` stored under these keys."""
    key = KEYS[table]
    found: dict = {}
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), ID_CHUNK):
        part = wanted[i:i + ID_CHUNK]
        cur.execute(f"SELECT {', '.join(map(quoted, [key] + names))} FROM {quoted(table)} "
                    f"WHERE {quoted(key)} IN ({', '.join([placeholder] * len(part))})", part)
        found.update({r[0]: tuple(r[1:]) for r in cur.fetchall()})
    return found


def check_parents(cur, placeholder: str, batch: dict, remap: dict, source, signer: str | None = None) -> None:
    """Refuse (`Refused`) a batch with a row that is not the row stored under its key (a patient
    under another code, which no correction makes; a row under another parent: another patient's,
    or another session's), or a rep or event naming a set that is not
    one of its own session's in the batch. `remap`: {incoming patient id: stored id}; `signer`: the
    invited patient who signed it, named in the refusal."""
    def refuse(what: str) -> Refused:
        if signer:
            return Refused(f"{source} holds records that are not {signer}'s, though only {signer} signed it "
                           f"({what}); nothing was imported.")
        return Refused(f"{source} was refused: {what}; nothing was imported.")

    sets = {r["id"]: r["session_id"] for r in batch.get("sets", [])}
    for table in ("reps", "events"):
        for row in batch.get(table, []):
            if row.get("set_id") is not None and sets.get(row["set_id"]) != row["session_id"]:
                raise refuse(f"{row_name(table, row)}, field set_id, names a set of another session")
    for table, names in PARENTS.items():
        rows = batch.get(table, [])
        if not rows:
            continue
        stored = _stored(cur, placeholder, table, list(names), [r[KEYS[table]] for r in rows])
        for row in rows:
            seen = stored.get(row[KEYS[table]])
            if seen is None:
                continue
            mine = tuple(remap.get(row[n], row[n]) if n == "patient_id" else row[n] for n in names)
            if seen != mine:
                field = next(n for n, a, b in zip(names, seen, mine) if a != b)
                raise refuse(f"{row_name(table, row)}, field {field}, is stored under another {PARENT_NAMES[field]}")
