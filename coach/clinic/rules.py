"""The rules of the door (`coach.clinic.door`): what every column of every shared table may hold, and
the check of one value and one row against them.

Every value against its column (`check_row`)
    SQLite type (TEXT, INTEGER, REAL: no blobs, no booleans), NOT NULL, the allowed values of a
    CHECK (`coach.log.schema`'s tuples), finite numbers within each measure's plausible range
    (`RULES`), ISO dates and times, UUIDs for ids and the ids of parents, JSON where a column holds
    it, bounded text without control characters. Identifiers come from coach's own schema
    (`schema`, `columns`, `allowed`) and are always quoted (`quoted`).
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from coach.core.exercises import REGIONS as LABEL_REGIONS     # the exercise files' watch regions
from coach.errors import CoachError
from coach.log.patients import MAX_UNITS
from coach.log.schema import (AFFECTED_SIDES, DESCRIPTIONS, EVENT_KINDS, FLAGS, LABEL_SIDES, SESSION_KINDS, SESSION_STATUSES,
                              SHARED_TABLES, TREATMENT_KINDS, built, migrations, table_columns)

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
    ("labels", "id"): UID, ("labels", "rep_id"): UID, ("labels", "session_id"): UID,
    ("labels", "label"): Rule("choice", values=FLAGS), ("labels", "side"): Rule("choice", values=LABEL_SIDES),
    ("labels", "region"): Rule("choice", values=("",) + LABEL_REGIONS), ("labels", "labeller"): Rule("word", length=500),
    ("labels", "at"): TIME, ("labels", "updated"): TIME, ("labels", "note"): Rule("text", length=2000),
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


