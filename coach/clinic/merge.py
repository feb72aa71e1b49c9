"""Moving finished records between coach databases: one merge for bundles, kiosk files and the clinic store.

Three verbs:
    `collect`   what a database has to give (everything, or the outbox of one destination);
    `merge`     apply it to another database, SQLite or PostgreSQL, in the caller's transaction;
    `mark_sent` record in the sender's `synced` ledger what the destination now holds.

The rules, in one place
    * Rows are identified by their UUID key (`coach.log.schema.SHARED_TABLES`), so the same row
      arriving twice, from a bundle and a kiosk file, or from two kiosks at once, is stored once.
    * Rows that never change once their session has ended are inserted if absent, never rewritten.
    * Rows that can change (patients, treatments, sessions: edits, removals, voids) carry `updated`;
      a copy replaces the stored row only when it is newer. Versions are compared as times (ISO text
      with different UTC offsets does not sort), and the UPDATE is guarded by the version it saw, so
      a writer that got there first is never overwritten by older data.
    * A patient whose UUID is new but whose code is known is the same person registered on two
      machines (a kiosk and the clinic): their rows are re-pointed to the patient already stored.
    * Only sessions that ended (completed or interrupted) travel, with their children; samples,
      second factors and preferences stay on the machine that has them.

Only portable SQL (`INSERT … ON CONFLICT … DO NOTHING`, plain SELECT/UPDATE) is used, so the same
code runs against SQLite (placeholder `?`) and PostgreSQL through psycopg (`%s`).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from coach.clinic.door import ID_CHUNK
from coach.clinic.rules import allowed, quoted
from coach.log.schema import SHARED_STATUSES, SHARED_TABLES

Batch = dict   # {table: [row dicts]}, in SHARED_TABLES order

KEYS = {table: key for table, key, _ in SHARED_TABLES}
VERSIONS = {table: column for table, _, column in SHARED_TABLES if column}
PATIENT_TABLES = ("patients", "plans", "treatments", "audit")          # travel with the patient
SESSION_TABLES = ("calibrations", "sets", "reps", "events", "labels")  # children by session_id
REPOINTED = ("plans", "treatments", "sessions", "audit")              # rows that name a patient_id
LEDGER_TABLES = ("patients", "plans", "treatments", "sessions", "labels", "audit")  # what the ledger records


@dataclass(frozen=True)
class Dialect:
    placeholder: str


SQLITE = Dialect("?")
POSTGRES = Dialect("%s")


@dataclass
class Counts:
    """What a merge did, per table: rows added, rows updated (a newer version), rows kept."""
    tables: dict = field(default_factory=dict)
    remapped: list = field(default_factory=list)    # patient codes re-pointed to the stored patient
    set_aside: list = field(default_factory=list)   # one sentence per row the door set aside

    def add(self, table: str, added: int = 0, updated: int = 0, kept: int = 0) -> None:
        a, u, k = self.tables.get(table, (0, 0, 0))
        self.tables[table] = (a + added, u + updated, k + kept)

    @property
    def changed(self) -> int:
        return sum(a + u for a, u, _ in self.tables.values())

    def __iadd__(self, other: "Counts") -> "Counts":
        for table, (a, u, k) in other.tables.items():
            self.add(table, a, u, k)
        self.remapped += [c for c in other.remapped if c not in self.remapped]
        return self


# ---- collect ---------------------------------------------------------------------
def _rows(conn: sqlite3.Connection, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _in(column: str, values: list) -> tuple[str, list]:
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def _where_in(conn, table: str, column: str, values: list, order: str) -> list[dict]:
    out: list[dict] = []
    for i in range(0, len(values), ID_CHUNK):
        clause, params = _in(column, values[i:i + ID_CHUNK])
        out += _rows(conn, f"SELECT * FROM {table} WHERE {clause} ORDER BY {order}", params)
    return out


def version_of(table: str, row: dict) -> str:
    """The version the ledger records: `updated` where a row can change, else '1' (it never does)."""
    column = VERSIONS.get(table)
    if column is None:
        return "1"
    fallback = {"patients": "created", "sessions": "started", "treatments": "date", "labels": "at"}[table]
    return str(row.get(column) or row.get(fallback) or "")


def _unsent(conn, target: str, table: str, rows: list[dict]) -> list[dict]:
    sent = dict(conn.execute("SELECT row_id, version FROM synced WHERE target = ? AND row_table = ?",
                             [target, table]).fetchall())
    key = KEYS[table]
    return [r for r in rows if sent.get(r[key]) != version_of(table, r)]


def _outbox(conn, target: str, batch: Batch, patients: list[dict]) -> tuple[Batch, list[dict]]:
    """Keep what `target` has not acknowledged, and the patients those rows belong to. A label made
    after its session was sent (the therapist labels later) brings its session along again, so the
    label travels with its whole chain (rep, session, patient) and the door can check it."""
    sessions = batch["sessions"]
    batch = {t: _unsent(conn, target, t, rows) for t, rows in batch.items()}
    labels = _unsent(conn, target, "labels",
                     _where_in(conn, "labels", "session_id", [s["id"] for s in sessions], "session_id, id"))
    wanted_sessions = {s["id"] for s in batch["sessions"]} | {r["session_id"] for r in labels}
    batch["sessions"] = [s for s in sessions if s["id"] in wanted_sessions]
    wanted = ({r["patient_id"] for t in REPOINTED for r in batch[t]}
              | {p["id"] for p in _unsent(conn, target, "patients", patients)})
    return batch, [p for p in patients if p["id"] in wanted]


def collect(conn: sqlite3.Connection, target: str | None = None, patient_code: str | None = None) -> Batch:
    """The rows this database gives: its patients (or one) with their plans, treatments and audit
    rows, and every ended session of theirs with its children. With `target`, only the outbox:
    rows whose current version `target` has not acknowledged, plus the patients they belong to."""
    where, params = ("WHERE code = ?", [patient_code]) if patient_code else ("", [])
    patients = _rows(conn, f"SELECT * FROM patients {where} ORDER BY created, id", params)
    ids = [p["id"] for p in patients]
    batch: Batch = {
        "plans": _where_in(conn, "plans", "patient_id", ids, "created, id"),
        "treatments": _where_in(conn, "treatments", "patient_id", ids, "date, id"),
        "sessions": [s for s in _where_in(conn, "sessions", "patient_id", ids, "started, id")
                     if s["status"] in SHARED_STATUSES],
        "audit": _where_in(conn, "audit", "patient_id", ids, "at, id"),
    }
    if target is not None:
        batch, patients = _outbox(conn, target, batch, patients)
    batch["patients"] = patients
    sids = [s["id"] for s in batch["sessions"]]
    for table in SESSION_TABLES:
        order = "session_id, t, id" if table == "calibrations" else "session_id, id"
        batch[table] = _where_in(conn, table, "session_id", sids, order)
    batch["rep_evenness"] = _where_in(conn, "rep_evenness", "rep_id", [r["id"] for r in batch["reps"]], "rep_id")
    return {table: batch[table] for table, _, _ in SHARED_TABLES}


def chunks(batch: Batch, sessions_per_chunk: int = 20) -> Iterator[Batch]:
    """The batch in parts that can each be committed alone, parents first: the patients' rows,
    then sessions `sessions_per_chunk` at a time, each with its children and its patients again
    (a patient known by code under another UUID is re-pointed per part, so every part needs them).

    Linear: the children are indexed by their parent's id once, not looked for in the whole batch
    for every part; within a part, rows keep the batch's order."""
    yield {t: batch.get(t, []) if t in PATIENT_TABLES else [] for t, _, _ in SHARED_TABLES}
    sessions = batch.get("sessions", [])
    if not sessions:
        return
    index = {"patients": _index(batch, "patients", "id"), "rep_evenness": _index(batch, "rep_evenness", "rep_id")}
    index.update({table: _index(batch, table, "session_id") for table in SESSION_TABLES})
    for i in range(0, len(sessions), sessions_per_chunk):
        yield _sessions_part(index, sessions[i:i + sessions_per_chunk])


def _index(batch: Batch, table: str, column: str) -> tuple[list[dict], dict]:
    """(the table's rows, {value of `column`: [positions of its rows]}) of one table of the batch."""
    found: dict[object, list[int]]
    rows, found = batch.get(table, []), {}
    for position, row in enumerate(rows):
        found.setdefault(row[column], []).append(position)
    return rows, found


def _having(index: tuple[list[dict], dict], values) -> list[dict]:
    """The rows whose indexed value is one of `values`, in the batch's order."""
    rows, found = index
    return [rows[p] for p in sorted(p for value in set(values) for p in found.get(value, ()))]


def _sessions_part(index: dict, part: list[dict]) -> Batch:
    rows = {"sessions": part, "patients": _having(index["patients"], (s["patient_id"] for s in part))}
    sids = {s["id"] for s in part}
    for table in SESSION_TABLES:
        rows[table] = _having(index[table], sids)
    rows["rep_evenness"] = _having(index["rep_evenness"], (r["id"] for r in rows["reps"]))
    return {t: rows.get(t, []) for t, _, _ in SHARED_TABLES}


def mark_sent(conn: sqlite3.Connection, target: str, batch: Batch, at: str) -> None:
    """Record in this database's ledger that `target` now holds these versions (caller commits)."""
    rows = [(target, table, r[KEYS[table]], version_of(table, r), at)
            for table in LEDGER_TABLES for r in batch.get(table, [])]
    conn.executemany("INSERT INTO synced (target, row_table, row_id, version, at) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT (target, row_table, row_id) DO UPDATE SET version = excluded.version, "
                     "at = excluded.at", rows)


# ---- merge -----------------------------------------------------------------------
def _when(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def newer(incoming, stored) -> bool:
    """Whether version `incoming` is later than `stored` (a missing version is the oldest)."""
    a, b = _when(incoming), _when(stored)
    return a is not None and (b is None or a > b)


def _existing(cur, dialect: Dialect, table: str, column: str, values: list, extra: str | None) -> dict:
    """{value of column: extra column's value (or True)} for the rows already stored."""
    allowed(table, [column] + ([extra] if extra else []))
    found: dict = {}
    wanted = sorted(set(values))
    for i in range(0, len(wanted), ID_CHUNK):
        part = wanted[i:i + ID_CHUNK]
        marks = ", ".join([dialect.placeholder] * len(part))
        cur.execute(f"SELECT {quoted(column)}, {quoted(extra or column)} FROM {quoted(table)} "
                    f"WHERE {quoted(column)} IN ({marks})", part)
        found.update({k: (v if extra else True) for k, v in cur.fetchall()})
    return found


def remap_patients(cur, dialect: Dialect, patients: list[dict]) -> dict[str, str]:
    """{incoming patient id: stored patient id} for patients known by code under another UUID."""
    known_ids = _existing(cur, dialect, "patients", "id", [p["id"] for p in patients], None)
    new = [p for p in patients if p["id"] not in known_ids]
    by_code = _existing(cur, dialect, "patients", "code", [p["code"] for p in new], "id")
    return {p["id"]: by_code[p["code"]] for p in new if p["code"] in by_code and by_code[p["code"]] != p["id"]}


def _repoint(table: str, row: dict, remap: dict) -> dict:
    if table in REPOINTED and row.get("patient_id") in remap:
        row = {**row, "patient_id": remap[row["patient_id"]]}
    if table == "audit" and row.get("row_table") == "patients" and row.get("row_id") in remap:
        row = {**row, "row_id": remap[row["row_id"]]}
    return row


def _insert(cur, dialect: Dialect, table: str, rows: list[dict]) -> None:
    """Rows absent from the store, added; the columns are coach's (`rules.allowed`), never the rows'
    own names, and every identifier is quoted."""
    columns = allowed(table, {c for r in rows for c in r})
    marks = ", ".join([dialect.placeholder] * len(columns))
    cur.executemany(f"INSERT INTO {quoted(table)} ({', '.join(map(quoted, columns))}) VALUES ({marks}) "
                    f"ON CONFLICT ({quoted(KEYS[table])}) DO NOTHING", [[r.get(c) for c in columns] for r in rows])


def _update(cur, dialect: Dialect, table: str, row: dict, seen) -> int:
    """Replace the stored row by `row` if it still has version `seen`; rows changed (0 or 1)."""
    key, column, p = quoted(KEYS[table]), quoted(VERSIONS[table]), dialect.placeholder
    columns = [c for c in allowed(table, row) if c != KEYS[table]]
    sets = ", ".join(f"{quoted(c)} = {p}" for c in columns)
    cur.execute(f"UPDATE {quoted(table)} SET {sets} WHERE {key} = {p} AND "
                f"({column} = {p} OR ({column} IS NULL AND CAST({p} AS TEXT) IS NULL))",
                [row[c] for c in columns] + [row[KEYS[table]], seen, seen])
    return max(cur.rowcount, 0)


def _merge_table(cur, dialect: Dialect, table: str, rows: list[dict], counts: Counts) -> None:
    key, column = KEYS[table], VERSIONS.get(table)
    stored = _existing(cur, dialect, table, key, [r[key] for r in rows], column)
    fresh = [r for r in rows if r[key] not in stored]
    if fresh:
        _insert(cur, dialect, table, fresh)
    updated = 0
    if column:
        for row in rows:
            if row[key] in stored and newer(row.get(column), stored[row[key]]):
                updated += _update(cur, dialect, table, row, stored[row[key]])
    counts.add(table, added=len(fresh), updated=updated, kept=len(rows) - len(fresh) - updated)


def merge(conn, batch: Batch, dialect: Dialect = SQLITE) -> Counts:
    """Apply `batch` to the database behind `conn` (sqlite3 or psycopg), inside the caller's
    transaction. Idempotent; never replaces a row by an older version of it."""
    cur = conn.cursor()
    counts = Counts()
    patients = batch.get("patients", [])
    remap = remap_patients(cur, dialect, patients)
    counts.remapped = sorted(p["code"] for p in patients if p["id"] in remap)
    if counts.remapped:
        counts.add("patients", kept=len(counts.remapped))
    for table, _, _ in SHARED_TABLES:
        rows = [_repoint(table, r, remap) for r in batch.get(table, [])
                if not (table == "patients" and r["id"] in remap)]
        if rows:
            _merge_table(cur, dialect, table, rows, counts)
    return counts


def row_counts(batch: Batch) -> dict[str, int]:
    """{table: number of rows} of a batch (for manifests and messages)."""
    return {table: len(batch.get(table, [])) for table, _, _ in SHARED_TABLES}
