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
    arrives must be the same row as the one stored under its key (same parents), every set a
    rep or event names must be a set of that rep's session in the same batch, and every rep a label
    (the therapist's) names must be a rep of the label's session in the same batch; with rows chosen by
    their parents from the batch's patients, every row then leads to a patient the batch claims.
"""
from __future__ import annotations

import os
import re
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from coach import __version__
from coach.clinic.rules import (KEYS, MAX_LENGTH, MIGRATIONS_TABLE, Refused, check_row, columns, quoted, refusal, row_name, shown_name)
from coach.log.schema import SHARED_STATUSES, SHARED_TABLES, migrations, unknown_steps

SECONDS_ENV, ROWS_ENV = "COACH_IMPORT_SECONDS", "COACH_IMPORT_MAX_ROWS"
DEFAULT_SECONDS, DEFAULT_ROWS = 20.0, 5_000_000
PROGRESS_STEPS = 1000                 # SQLite VM steps between two looks at the clock
FETCH = 1000
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
    # A label goes with its session; one naming a rep that is not its session's is refused (check_parents).
    batch["labels"] = [r for r in _sorted(tables["labels"], "session_id", "id") if r["session_id"] in sids]
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
           "reps": ("session_id", "set_id"), "events": ("session_id", "set_id"),
           "labels": ("session_id", "rep_id")}      # label → rep and session → patient


ID_CHUNK = 500                      # ids per `IN (...)`: well under SQLite's and libpq's limits
PARENT_NAMES = {"code": "patient code", "patient_id": "patient", "session_id": "session", "set_id": "set",
                "rep_id": "rep"}


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
    reps = {r["id"]: r["session_id"] for r in batch.get("reps", [])}
    for row in batch.get("labels", []):
        if reps.get(row["rep_id"]) != row["session_id"]:
            raise refuse(f"{row_name('labels', row)}, field rep_id, names a rep that is not one of its session's")
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
