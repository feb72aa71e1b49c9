"""The clinic store on PostgreSQL: connecting, its schema, and reading it back (`mirror`).

Connecting (`connect`)
    Only `postgresql://` and `postgres://` URLs. A password in the URL is refused: it would sit in
    shell histories, process lists and systemd units; libpq reads PGPASSWORD, ~/.pgpass (PGPASSFILE)
    and PGSERVICE itself. Everything else in the URL (sslmode, host=/socket/dir, …) goes to libpq
    as it is. Messages name the server as HOST/DB (`where`), never the URL.

One schema, derived (`ensure_schema`)
    The server's tables are not written by hand: the SQLite schema is built in memory by the very
    migrations every install runs (`coach.log.schema`), and each shared table's columns, types,
    NOT NULL, defaults, PRIMARY KEY, UNIQUE and CHECKs are read back from SQLite and written as
    PostgreSQL DDL. Only `SHARED_TABLES` live on the server, with `coach_schema`, the migration
    steps applied there. A newer coach adds the tables and columns it lacks (ADD COLUMN); a server
    that lists a step this coach does not know was set up by a newer coach, and is refused.

Reading (`mirror`)
    The readers (`coach sessions|report|export --db postgresql://…`) do not compute anything on
    the server: plain SELECTs of the shared tables are merged (`coach.clinic.merge`) into a temporary
    SQLite coach database, and the usual code reads that, so every figure and the report are
    exactly what the same records give from a local file.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator


from coach import __version__
from coach.errors import CoachError
from coach.clinic.door import sort_out
from coach.clinic.rules import columns, quoted
from coach.clinic.merge import ID_CHUNK, SQLITE, Batch, merge
from coach.log.schema import SHARED_TABLES, built, steps, table_columns, unknown_steps

URL_SCHEMES = ("postgresql://", "postgres://")
LOCK_KEY = 7_146_513_001         # pg_advisory_xact_lock key: schema changes and merges, one at a time
CONNECT_TIMEOUT_S = 10           # unless the URL sets connect_timeout
SCHEMA_TABLE = "coach_schema"
PG_TYPES = {"TEXT": "text", "INTEGER": "bigint", "REAL": "double precision"}
NO_PASSWORD = ("The clinic database URL must not contain a password; put it in PGPASSWORD or "
               "~/.pgpass instead.")


# ---- URLs and connections ---------------------------------------------------------
def is_url(text) -> bool:
    """Whether `--db` names a PostgreSQL server rather than a file."""
    return isinstance(text, str) and text.lower().startswith(URL_SCHEMES)


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:
        raise CoachError('The clinic database needs psycopg: pip install "coach[clinic]".') from exc
    return psycopg


def parse(url: str) -> dict:
    """The URL's connection parameters, checked: a PostgreSQL URL without a password."""
    if not is_url(url):
        raise CoachError("The clinic database must be a postgresql:// URL, e.g. "
                         "postgresql://coach@clinic-server/coach.", exit_code=2)
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:     # its message quotes the URL, which may hold a secret: say it our way
        raise CoachError("The clinic database URL is not valid; expected "
                         "postgresql://USER@HOST/DB.", exit_code=2) from None
    if "password" in params:
        raise CoachError(NO_PASSWORD, exit_code=2)
    return params


def where(params: dict) -> str:
    """HOST/DB for messages (a Unix socket folder stands for the host)."""
    host = str(params.get("host") or params.get("hostaddr") or "localhost").split(",")[0]
    port = params.get("port")
    return f"{host}{':' + str(port) if port else ''}/{params.get('dbname') or params.get('user') or 'postgres'}"


def _reason(exc: Exception) -> str:
    """libpq's reason, without its 'connection to server … failed:' preamble, in one line."""
    text = " ".join(str(exc).split("\n")[0].split())
    return text.rsplit("failed: ", 1)[-1].strip().rstrip(".") or type(exc).__name__


def connect(url: str):
    """A psycopg connection (autocommit: callers open `conn.transaction()` blocks)."""
    psycopg = _psycopg()
    params = parse(url)
    extra = {} if "connect_timeout" in params else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        return psycopg.connect(url, autocommit=True, **extra)
    except psycopg.Error as exc:
        raise CoachError(f"Cannot connect to the clinic database {where(params)}: {_reason(exc)}.") from None


def target(conn) -> str:
    """This server in the local `synced` ledger: host, port and database, no user or secret."""
    info = conn.info
    return f"pg:{info.host}:{info.port}/{info.dbname}"


@contextmanager
def server_errors(place: str) -> Iterator[None]:
    """A failure on the server in one sentence (nothing is half-written: callers use transactions)."""
    psycopg = _psycopg()
    try:
        yield
    except psycopg.Error as exc:
        raise CoachError(f"The clinic database {place} failed: {_reason(exc)}.") from None


# ---- the schema, from SQLite's -------------------------------------------------------
@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]      # (name, PostgreSQL column definition)
    constraints: tuple[str, ...]              # table constraints: composite keys, CHECKs of several columns
    indexes: tuple[str, ...]                  # CREATE INDEX IF NOT EXISTS …

    def create(self) -> str:
        parts = [f"{name} {ddl}" for name, ddl in self.columns] + list(self.constraints)
        return f"CREATE TABLE {self.name} ({', '.join(parts)})"


def checks(sql: str) -> list[str]:
    """Every `CHECK (…)` in a CREATE TABLE statement; one whose parentheses do not close is left out."""
    found = []
    for match in re.finditer(r"\bCHECK\s*\(", sql, re.IGNORECASE):
        depth, start = 0, match.end() - 1
        for i in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            if depth == 0:
                found.append("CHECK " + sql[start:i + 1])
                break
    return found


def _column_ddl(column: dict, single_pk: bool, unique: set, own_checks: list[str]) -> str:
    kind = PG_TYPES.get((column["type"] or "TEXT").upper())
    if kind is None:
        raise ValueError(f"no PostgreSQL type for SQLite type {column['type']!r} of {column['name']}")
    parts = [kind]
    if column["notnull"]:
        parts.append("NOT NULL")
    if column["dflt_value"] is not None:
        parts.append(f"DEFAULT {column['dflt_value']}")
    if single_pk and column["pk"]:
        parts.append("PRIMARY KEY")
    if column["name"] in unique:
        parts.append("UNIQUE")
    return " ".join(parts + own_checks)


def _uniques(db: sqlite3.Connection, name: str) -> list[list[str]]:
    """The column lists of the table's UNIQUE constraints (not its primary key or indexes)."""
    return [[r[2] for r in db.execute(f"PRAGMA index_info({idx[1]})")]
            for idx in db.execute(f"PRAGMA index_list({name})") if idx[2] and idx[3] == "u"]


def _indexes(db: sqlite3.Connection, name: str) -> tuple[str, ...]:
    rows = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
                      "ORDER BY name", [name])
    return tuple(re.sub(r"^CREATE\s+(UNIQUE\s+)?INDEX\s+", r"CREATE \1INDEX IF NOT EXISTS ", r[0], flags=re.I)
                 for r in rows)


def _place_checks(sql: str, names: set) -> tuple[dict[str, list[str]], list[str]]:
    """CHECKs of one column go on that column (so ADD COLUMN carries them); the others on the table."""
    by_column: dict[str, list[str]] = {}
    on_table = []
    for check in checks(sql):
        used = names & set(re.findall(r"[A-Za-z_]\w*", check))
        if len(used) == 1:
            by_column.setdefault(used.pop(), []).append(check)
        else:
            on_table.append(check)
    return by_column, on_table


def _read_table(db: sqlite3.Connection, name: str) -> Table:
    cols = table_columns(db, name)
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone()[0]
    pk = [c["name"] for c in sorted(cols, key=lambda c: c["pk"]) if c["pk"]]
    keys = [pk] + _uniques(db, name)           # composite keys become table constraints
    by_column, on_table = _place_checks(sql, {c["name"] for c in cols})
    constraints = [f"{'UNIQUE' if i else 'PRIMARY KEY'} ({', '.join(k)})" for i, k in enumerate(keys) if len(k) > 1]
    single_unique = {k[0] for k in keys[1:] if len(k) == 1}
    columns = tuple((c["name"], _column_ddl(c, len(pk) == 1, single_unique, by_column.get(c["name"], [])))
                    for c in cols)
    return Table(name, columns, tuple(constraints + on_table), _indexes(db, name))


def shared_schema() -> list[Table]:
    """The shared tables as every install's migrations make them, for PostgreSQL."""
    with built() as db:
        return [_read_table(db.conn, name) for name, _, _ in SHARED_TABLES]


def _applied(conn) -> list[str] | None:
    """The steps recorded on the server, or None where coach never set it up."""
    if conn.execute("SELECT to_regclass(%s)", [SCHEMA_TABLE]).fetchone()[0] is None:
        return None
    return [r[0] for r in conn.execute(f"SELECT step FROM {SCHEMA_TABLE}")]


def _refuse_newer(applied: list[str], place: str) -> None:
    unknown = unknown_steps(applied)
    if unknown:
        raise CoachError(f"The clinic database {place} was set up by a newer coach (schema step "
                         f"{sorted(unknown)[-1]}); upgrade coach (this is {__version__}) to use it.")


def _server_columns(conn) -> dict[str, set]:
    rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema()").fetchall()
    found: dict[str, set] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def _add_missing(conn, existing: dict[str, set]) -> None:
    """Create the shared tables the server lacks, and add the columns and indexes it lacks."""
    for table in shared_schema():
        if table.name not in existing:
            conn.execute(table.create())
        for name, ddl in table.columns:
            if table.name in existing and name not in existing[table.name]:
                conn.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {ddl}")
        for index in table.indexes:
            conn.execute(index)


def ensure_schema(conn, place: str) -> list[str]:
    """Create or upgrade the shared tables on the server, in one transaction that holds the
    advisory lock (two kiosks doing it at once cannot collide). Returns the steps it recorded."""
    with server_errors(place), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        applied = _applied(conn)
        if applied is None:           # a new server (checked first: a role without CREATE can still sync)
            conn.execute(f"CREATE TABLE {SCHEMA_TABLE} (step text PRIMARY KEY, applied text NOT NULL, "
                         "coach_version text NOT NULL)")
            applied = []
        _refuse_newer(applied, place)
        missing = [s for s in steps() if s not in applied]
        if not missing:
            return []
        _add_missing(conn, _server_columns(conn))
        for step in missing:
            conn.execute(f"INSERT INTO {SCHEMA_TABLE} (step, applied, coach_version) "
                         "VALUES (%s, now()::text, %s)", [step, __version__])
        return missing


def check_schema(conn, place: str) -> None:
    """For readers: the server holds coach's tables, set up by this coach or an older one."""
    applied = _applied(conn)
    if applied is None:
        raise CoachError(f"The clinic database {place} holds no coach records yet; send some with coach sync.")
    _refuse_newer(applied, place)


# ---- reading it back -------------------------------------------------------------------
def _select(conn, table: str, column: str, values: list, order: str) -> list[dict]:
    from psycopg.rows import dict_row

    out: list[dict] = []
    wanted = sorted(set(values))
    with conn.cursor(row_factory=dict_row) as cur:
        for i in range(0, len(wanted), ID_CHUNK):
            part = wanted[i:i + ID_CHUNK]
            cur.execute(f"SELECT {known(table)} FROM {quoted(table)} "
                        f"WHERE {quoted(column)} IN ({', '.join(['%s'] * len(part))}) ORDER BY {order}", part)
            out += cur.fetchall()
    return out


def known(table: str) -> str:
    """The columns coach knows of `table`, quoted, for a SELECT: a column the clinic added on the
    server (ALTER TABLE … ADD COLUMN) is never read."""
    return ", ".join(quoted(c) for c in columns(table))


def read_server(conn, patient_code: str | None = None) -> Batch:
    """Every shared row on the server (or one patient's), parents first, as a merge batch (only the
    columns coach knows; the values are checked by the caller, `door.sort_out`)."""
    from psycopg.rows import dict_row

    where_code, params = ("WHERE code = %s", [patient_code]) if patient_code else ("", [])
    with conn.cursor(row_factory=dict_row) as cur:
        patients = cur.execute(f"SELECT {known('patients')} FROM patients {where_code} ORDER BY created, id",
                               params).fetchall()
    ids = [p["id"] for p in patients]
    batch: Batch = {"patients": patients}
    for table, order in (("plans", "created, id"), ("treatments", "date, id"), ("sessions", "started, id"),
                         ("audit", "at, id")):
        batch[table] = _select(conn, table, "patient_id", ids, order)
    sids = [s["id"] for s in batch["sessions"]]
    for table, order in (("calibrations", "session_id, t, id"), ("sets", "session_id, started, id"),
                         ("reps", "session_id, idx, id"), ("events", "session_id, start_s, id"),
                         ("labels", "session_id, id")):
        batch[table] = _select(conn, table, "session_id", sids, order)
    batch["rep_evenness"] = _select(conn, "rep_evenness", "rep_id", [r["id"] for r in batch["reps"]], "rep_id")
    return {table: batch[table] for table, _, _ in SHARED_TABLES}


def snapshot(url: str, patient_code: str | None = None) -> tuple[str, Batch]:
    """What the server holds (for one patient, or all), read in one consistent snapshot, with the
    server's name in the local ledger (`target`)."""
    place = where(parse(url))
    conn = connect(url)
    try:
        with server_errors(place):
            conn.read_only = True
            conn.isolation_level = _psycopg().IsolationLevel.REPEATABLE_READ   # one snapshot
            with conn.transaction():
                check_schema(conn, place)
                return target(conn), read_server(conn, patient_code)
    finally:
        conn.close()


@contextmanager
def mirror(url: str, patient_code: str | None = None,
           set_aside: Callable[[str], None] | None = None) -> Iterator[Path]:
    """A temporary SQLite coach database (0600, in a 0700 folder) holding what the server holds
    (for one patient, or all); deleted when the block ends. Rows that fail the door are left out,
    each told to `set_aside` in one sentence."""
    from coach.log.store import Store

    folder = Path(tempfile.mkdtemp(prefix="coach-clinic-"))
    try:
        _, batch = snapshot(url, patient_code)
        batch, reasons = sort_out(batch)
        for reason in reasons:
            if set_aside:
                set_aside(reason)
        path = folder / "clinic.db"
        with Store.open(path) as store, store._tx():
            merge(store.db.conn, batch, SQLITE)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
