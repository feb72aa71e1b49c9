"""Property-based fuzz of the door (Hypothesis, fixed seed): kiosk files and bundles mutated the ways a
broken kiosk or an attacker would (renamed, extra or missing columns and tables; wrong types; NaN and
inf; huge strings; views, triggers and recursive views; rows of other patients), then imported.

Properties, for every case: it ends in a clean import or a typed refusal (`CoachError`), never another
exception; a refusal changes nothing in the clinic file (dumped and compared); no case changes the
records of the patients the file does not claim (P018, P019); none takes 30 s. The fast loop runs 25
cases, the slow run 600.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach.errors import CoachError
from coach.clinic import keys as clinic_keys
from coach.log.schema import SHARED_TABLES
from test_bundles import WHEN, dump, import_into, make_db
from test_door import reseal, theirs, unpack
from test_invitations import join_invited, signed_share

TABLES = [t for t, _, _ in SHARED_TABLES]
MOST_S = 30.0
SQLISH = ["voided = ? WHERE 1 --", "x) VALUES (1); DROP TABLE patients; --", 'a"b', "id", "updated",
          "peak; DELETE FROM sessions", "rep_id", "", " ", "samples", "sqlite_master"]


def _columns(path, table) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def world():
    """Once per module: a clinic holding P018, P019 and P017's first session; P017's kiosk file (with
    evenness rows); P017's signed bundle's files; the ids of P018's and P019's rows."""
    folder = Path(tempfile.mkdtemp(prefix="coach-fuzz-"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(folder / "xdg"))
        mp.delenv("COACH_DB", raising=False)
        made = clinic_keys.init_clinic("Fuzz clinic")
        clinic_keys.join_clinic(made["public_key"])
        clinic = folder / "clinic.db"
        for i, code in enumerate(("P018", "P019")):
            import_into(clinic, make_db(folder / f"{code}.db", code=code, n=2, kind="kiosk",
                                        start=WHEN + timedelta(hours=3 + i)))
        import_into(clinic, make_db(folder / "p017-first.db", code="P017", n=1, kind="kiosk"))
        kiosk = make_db(folder / "kiosk.db", code="P017", n=2, kind="kiosk", start=WHEN + timedelta(days=5))
        conn = sqlite3.connect(kiosk)
        conn.execute("INSERT INTO rep_evenness (rep_id, onset_lag_ms, late_side, amplitude_ratio, smoothness) "
                     "SELECT id, 120.0, 'left', 0.8, 0.9 FROM reps")
        conn.commit()
        conn.close()
        home = make_db(folder / "home.db", code="P017", n=2, start=WHEN + timedelta(days=9))
        join_invited("P017")
        signed_share(home, folder / "signed.bundle")
        conn = sqlite3.connect(clinic)
        others = {t: [r[0] for r in conn.execute(
            f"SELECT x.id FROM {t} x JOIN sessions s ON s.id = x.session_id JOIN patients p ON p.id = s.patient_id "
            "WHERE p.code IN ('P018', 'P019') ORDER BY x.id")] for t in ("sets", "reps")}
        others["sessions"] = [r[0] for r in conn.execute(
            "SELECT s.id FROM sessions s JOIN patients p ON p.id = s.patient_id WHERE p.code IN ('P018', 'P019')")]
        others["patients"] = [r[0] for r in conn.execute("SELECT id FROM patients WHERE code IN ('P018', 'P019')")]
        conn.close()
        yield {"folder": folder, "clinic": clinic, "kiosk": kiosk, "bundle": unpack(folder / "signed.bundle"),
               "others": others, "env": {"XDG_DATA_HOME": str(folder / "xdg")}}
    shutil.rmtree(folder, ignore_errors=True)


# ---- mutations: each (SQL statements, {table: rows added that a manifest would count}) ---------------
def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


names = st.one_of(st.sampled_from(SQLISH), st.text(min_size=1, max_size=24))
values = st.one_of(st.none(), st.integers(-2 ** 63, 2 ** 63 - 1), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([float("inf"), float("-inf"), float("nan"), "abc", "not-a-date", "", "Infinity",
                                    "2099-01-01T00:00:00+00:00", "x" * 1_000_000, "\x00", "left", 1e308]),
                   st.text(max_size=40), st.binary(max_size=16))


@st.composite
def mutation(draw):
    kind = draw(st.sampled_from(["rename_column", "add_column", "drop_column", "drop_table", "rename_table",
                                 "extra_table", "value", "value", "value", "view", "recursive_view", "trigger",
                                 "other_patient"]))
    table = draw(st.sampled_from(TABLES))
    column = draw(st.integers(0, 30))
    return kind, table, column, draw(names), draw(values), draw(st.integers(0, 10 ** 6))


def statements(m, path, others) -> tuple[list[str], list, dict]:
    """The SQL of mutation `m` on the file at `path` (its columns as they are now)."""
    kind, table, i, name, value, pick = m
    cols = _columns(path, table)
    col = cols[i % len(cols)] if cols else "id"
    if kind == "rename_column":
        return [f"ALTER TABLE {q(table)} RENAME COLUMN {q(col)} TO {q(name)}"], [], {}
    if kind == "add_column":
        kinds = ["TEXT", "REAL", "INTEGER", "BLOB", "", "GENERATED ALWAYS AS (printf('%.*c', 50000000, 'x')) VIRTUAL"]
        return [f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {kinds[pick % len(kinds)]}"], [], {}
    if kind == "drop_column":
        return [f"ALTER TABLE {q(table)} DROP COLUMN {q(col)}"], [], {}
    if kind == "drop_table":
        return [f"DROP TABLE {q(table)}"], [], {}
    if kind == "rename_table":
        return [f"ALTER TABLE {q(table)} RENAME TO {q(name)}"], [], {}
    if kind == "extra_table":
        return [f"CREATE TABLE {q(name)} (x)", f"INSERT INTO {q(name)} VALUES (1)"], [], {}
    if kind == "value":
        return [f"UPDATE {q(table)} SET {q(col)} = ? WHERE rowid IN (SELECT rowid FROM {q(table)} "
                f"ORDER BY rowid LIMIT 1 OFFSET {pick % 3})"], [value], {}
    if kind in ("view", "recursive_view"):
        select = ", ".join(f"x AS {q(c)}" for c in cols) or "x AS id"
        source = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT "
                  if kind == "recursive_view" else "WITH n(x) AS (SELECT 1) SELECT ")
        return [f"DROP TABLE {q(table)}", f"CREATE VIEW {q(table)} AS {source}{select} FROM n"], [], {}
    if kind == "trigger":
        return [f"CREATE TRIGGER {q('t' + str(pick))} AFTER UPDATE ON {q(table)} "
                "BEGIN DELETE FROM patients; END"], [], {}
    # Rows of other patients, under P017's parents: a rep, a set, a session, or a patient id.
    target = ["reps", "sets", "sessions", "patients"][pick % 4]
    theirs_id = others[target][pick % len(others[target])]
    if target == "reps":
        return ["INSERT INTO reps (id, session_id, set_id, idx, synkinesis, complete) "
                "SELECT ?, session_id, id, 77, 0, 1 FROM sets ORDER BY id LIMIT 1",
                "INSERT INTO rep_evenness (rep_id, onset_lag_ms, late_side, amplitude_ratio, smoothness) "
                "VALUES (?, 1.0, 'left', 1.0, 1.0)"], [theirs_id], {"reps": 1, "rep_evenness": 1}
    if target == "sets":
        return ["INSERT INTO sets (id, session_id, exercise, started) "
                "SELECT ?, id, 'snarl', started FROM sessions WHERE status = 'completed' ORDER BY id LIMIT 1"], \
            [theirs_id], {"sets": 1}
    if target == "sessions":
        return ["UPDATE sessions SET id = ?, updated = '2099-01-01T00:00:00+00:00', voided = 'hacked' "
                "WHERE rowid = (SELECT min(rowid) FROM sessions)"], [theirs_id], {}
    return ["UPDATE patients SET id = ?"], [theirs_id], {}


def apply(path, ms, others) -> dict:
    """Apply what applies of `ms` to the file at `path`; {table: rows added}."""
    added: dict = {}
    for m in ms:
        try:
            sql_list, params, delta = statements(m, path, others)
        except (sqlite3.Error, IndexError, ZeroDivisionError):
            continue
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA ignore_check_constraints = ON")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA legacy_alter_table = ON")
            for statement in sql_list:
                conn.execute(statement, params[:statement.count("?")])
            conn.commit()
            for t, n in delta.items():
                added[t] = added.get(t, 0) + n
        except (sqlite3.Error, OverflowError, ValueError):
            conn.rollback()
        finally:
            conn.close()
    return added


def hostile(world, mode: str, ms, tmp: Path) -> Path:
    if mode == "kiosk":
        path = tmp / "kiosk.db"
        shutil.copyfile(world["kiosk"], path)
        apply(path, ms, world["others"])
        return path
    files = dict(world["bundle"])
    subset = tmp / "subset.db"
    subset.write_bytes(files["subset.db"])
    added = apply(subset, ms, world["others"])
    files["subset.db"] = subset.read_bytes()
    manifest = json.loads(files["manifest.json"])
    for t, n in added.items():
        manifest["row_counts"][t] += n
    files["manifest.json"] = json.dumps(manifest).encode()
    if mode == "unsigned":
        files.pop("manifest.hmac", None)
        manifest.pop("invited_code", None)
    out = tmp / "hostile.bundle"
    reseal(files, out, sign_as="P017" if mode == "signed" else None)
    return out


def one_case(world, mode, ms) -> None:
    with tempfile.TemporaryDirectory(prefix="coach-case-") as folder:
        tmp = Path(folder)
        clinic = tmp / "clinic.db"
        shutil.copyfile(world["clinic"], clinic)
        path = hostile(world, mode, ms, tmp)
        before, others = dump(clinic), {code: theirs(clinic, code) for code in ("P018", "P019")}
        started = time.monotonic()
        try:
            import_into(clinic, path)
            refused = False
        except CoachError:           # a typed refusal; any other exception fails the case
            refused = True
        elapsed = time.monotonic() - started
        assert elapsed < MOST_S, f"{mode} {ms!r} took {elapsed:.1f} s"
        if refused:
            assert dump(clinic) == before, f"{mode} {ms!r} was refused but changed the clinic file"
        assert {code: theirs(clinic, code) for code in ("P018", "P019")} == others, f"{mode} {ms!r}"


CASES = st.tuples(st.sampled_from(["kiosk", "signed", "unsigned"]), st.lists(mutation(), min_size=1, max_size=3))
COMMON = dict(derandomize=True, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])


@settings(max_examples=25, **COMMON)
@given(case=CASES)
def test_the_door_holds_against_mutated_files(world, case):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", world["env"]["XDG_DATA_HOME"])
        one_case(world, *case)


@pytest.mark.slow
@settings(max_examples=600, **COMMON)
@given(case=CASES)
def test_the_door_holds_against_600_mutated_files(world, case):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", world["env"]["XDG_DATA_HOME"])
        one_case(world, *case)
