"""The clinic store on a real PostgreSQL: schema, sync (twice, concurrently, killed), and readers.

The server tests run against a throwaway cluster (tests/pg_server.py) when COACH_TEST_POSTGRES is
set (CI sets it); the schema derivation, URL checks and chunked re-pointing run everywhere.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

import psycopg
import pytest

from coach.errors import CoachError
from coach.clinic import merge as m
from coach.clinic import store as pg
from coach.clinic import sync as sync_module
from coach.log.store import Store
from coach.clinic.sync import sync
from cli_runs import coach
from store_fixtures import (EXERCISES, SettableClock, build_history, record_session, running_elsewhere,
                            shared_counts)

pytest_plugins = ("pg_server",)          # the pg_server and pg_url fixtures
WHEN = datetime(2024, 5, 6, 9, 0)


def kiosk_db(path, code="P7", n=6, start=WHEN, running=False):
    """A patient with `n` short finished sessions (and, if `running`, one still going elsewhere)."""
    with Store.open(path, clock=SettableClock(start - timedelta(days=1))) as store:
        store.db.execute("PRAGMA synchronous = OFF")
        store.add_patient(code, "Kiosk Patient", "right")
        store.set_plan(code, [{"exercise": EXERCISES[0], "reps": 2}])
        for i in range(n):
            record_session(store, code, start + timedelta(days=i, minutes=i), exercises=EXERCISES[:1], reps=2)
        if running:
            sid = record_session(store, code, start + timedelta(days=n), exercises=EXERCISES[:1], reps=1,
                                 finish=False)
    if running:
        running_elsewhere(path, sid)
    return path


def local_counts(*paths) -> dict[str, int]:
    total = {t: 0 for t, _, _ in m.SHARED_TABLES}
    for path in paths:
        conn = sqlite3.connect(path)
        batch = m.collect(conn)
        conn.close()
        for table, n in m.row_counts(batch).items():
            total[table] += n
    return total


def server_counts(url) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return shared_counts(conn)


@pytest.fixture(autouse=True)
def plain_stderr(monkeypatch):
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)   # keep stderr for capsys


def server_columns(conn) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table, column in conn.execute("SELECT table_name, column_name FROM information_schema.columns WHERE "
                                      "table_schema = 'public' AND table_name != 'coach_schema' "
                                      "ORDER BY ordinal_position"):
        found.setdefault(table, []).append(column)
    return found


# ---- everywhere ----------------------------------------------------------------------
def test_the_server_schema_is_read_from_the_sqlite_migrations():
    tables = {t.name: t for t in pg.shared_schema()}
    assert list(tables) == [name for name, _, _ in m.SHARED_TABLES]
    assert not {"samples", "synced", "patient_checks", "preferences"} & set(tables)
    assert {k: v for k, v in tables["patients"].columns if k != "display_name"} == {
        "id": "text PRIMARY KEY", "code": "text NOT NULL UNIQUE",
        "affected_side": "text CHECK (affected_side IN ('left', 'right'))",
        "notes": "text NOT NULL DEFAULT ''", "created": "text NOT NULL", "updated": "text"}
    reps = dict(tables["reps"].columns)
    assert (reps["idx"], reps["peak"]) == ("bigint NOT NULL", "double precision")
    assert reps["synkinesis"] == "bigint NOT NULL CHECK (synkinesis IN (0, 1))"
    # Columns added by later migrations (ALTER TABLE) are there too.
    assert {"voided", "updated", "end_reason", "pid"} <= set(dict(tables["sessions"].columns))
    assert "CREATE INDEX IF NOT EXISTS sessions_patient ON sessions(patient_id, started)" in tables["sessions"].indexes


def test_checks_are_found_with_their_parentheses():
    sql = "CREATE TABLE t (a TEXT CHECK (a IN ('x', 'y')), b INTEGER, CHECK ((b > 0) OR (a = 'x')), c CHECK (("
    assert pg.checks(sql) == ["CHECK (a IN ('x', 'y'))", "CHECK ((b > 0) OR (a = 'x'))"]


@pytest.mark.parametrize("url", ["postgresql://coach:s3cret@clinic/coach", "postgres://clinic/coach?password=s3cret",
                                 "postgresql://coach:s3cret%40x@clinic/coach"])
def test_a_password_in_the_url_is_refused_in_one_sentence(capsys, tmp_path, url):
    with pytest.raises(CoachError, match="PGPASSWORD or ~/.pgpass"):
        pg.parse(url)
    for args in (["sync", "--to", url, "--db", tmp_path / "x.db"], ["sessions", "--db", url]):
        code, out, err = coach(capsys, *args)
        assert code == 2 and out == ""
        assert err.startswith("coach: ") and err.count("\n") == 1 and "s3cret" not in err
        assert "PGPASSWORD or ~/.pgpass" in err
    assert not (tmp_path / "x.db").exists()


def test_urls_are_for_the_readers_only(capsys, tmp_path):
    code, out, err = coach(capsys, "patient", "add", "P1", "--db", "postgresql://coach@clinic/coach")
    assert code == 2 and "coach sessions, report, export, audit, due and calendar" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir()) and not os.path.exists("postgresql:")
    with pytest.raises(CoachError, match="postgresql:// URL"):
        pg.parse("mysql://clinic/coach")
    assert pg.where(pg.parse("postgresql://coach@clinic:5433/records?sslmode=require")) == "clinic:5433/records"


def test_every_chunk_repoints_a_patient_registered_twice(tmp_path):
    """Kiosk 2's sessions, sent in parts after kiosk 1 registered the same code, join kiosk 1's
    patient in every part (the SQLite clinic file checks the foreign keys)."""
    a = kiosk_db(tmp_path / "k1.db", n=2)
    b = kiosk_db(tmp_path / "k2.db", n=5, start=WHEN + timedelta(days=30))
    clinic = tmp_path / "clinic.db"
    for src in (a, b):
        conn = sqlite3.connect(src)
        batch = m.collect(conn)
        conn.close()
        for part in m.chunks(batch, 2):
            with Store.open(clinic) as store, store._tx():
                m.merge(store.db.conn, part)
    with Store.open(clinic) as store:
        assert [p["code"] for p in store.list_patients()] == ["P7"] and len(store.sessions("P7")) == 7
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []


# ---- on a real server ---------------------------------------------------------------
def test_the_schema_is_created_once_and_upgraded_in_place(pg_url):
    conn = pg.connect(pg_url)
    try:
        assert pg.ensure_schema(conn, "here") == pg.steps()
        assert pg.ensure_schema(conn, "here") == []                       # idempotent
        assert {t.name: [c for c, _ in t.columns] for t in pg.shared_schema()} == server_columns(conn)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO patients (id, code, affected_side, created) VALUES ('a', 'A', 'up', 'x')")
        # A server set up by an older coach: the last step's column and table are added.
        conn.execute("ALTER TABLE sessions DROP COLUMN voided")
        conn.execute("DROP TABLE audit")
        conn.execute("DELETE FROM coach_schema WHERE step = %s", [pg.steps()[-1]])
        assert pg.ensure_schema(conn, "here") == [pg.steps()[-1]]
        assert "voided" in server_columns(conn)["sessions"]
        assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 0
        # A server set up by a newer coach is refused.
        conn.execute("INSERT INTO coach_schema VALUES ('m999_future', 'now', '9.0')")
        with pytest.raises(CoachError, match="upgrade coach"):
            pg.ensure_schema(conn, "here")
    finally:
        conn.close()


def test_syncing_twice_sends_nothing_the_second_time(pg_url, tmp_path, capsys):
    db = kiosk_db(tmp_path / "home.db", n=3, running=True)
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", db, "--chunk", 2)
    assert code == 0, err
    place = pg.where(pg.parse(pg_url))
    assert out == f"Sent 3 sessions ({sum(local_counts(db).values())} records in all) to {place}; 0 already there.\n"
    before = server_counts(pg_url)
    assert before == local_counts(db) and before["sessions"] == 3          # the running one stays
    os.environ[sync_module.URL_ENV] = pg_url                                # as a systemd timer runs it
    try:
        code, out, err = coach(capsys, "sync", "--db", db)
    finally:
        del os.environ[sync_module.URL_ENV]
    assert (code, out) == (0, "Nothing new to send.\n")
    assert server_counts(pg_url) == before


def test_two_kiosks_with_the_same_patient_sync_at_once(pg_url, tmp_path, monkeypatch):
    a = kiosk_db(tmp_path / "k1.db", n=12)
    b = kiosk_db(tmp_path / "k2.db", n=12, start=WHEN + timedelta(hours=5))
    start = threading.Barrier(2, timeout=20)
    first = threading.local()
    send = sync_module._send

    def send_together(server, part):         # both first parts reach the server at the same moment
        if not getattr(first, "done", False):
            first.done = True
            start.wait()
        return send(server, part)

    monkeypatch.setattr(sync_module, "_send", send_together)
    results, errors = [], []

    def run(path):
        try:
            results.append(sync(path, pg_url, sessions_per_chunk=2))
        except Exception as exc:        # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 2
    assert sorted(r.remapped for r in results) == [[], ["P7"]]
    counts, local = server_counts(pg_url), local_counts(a, b)
    assert counts["patients"] == 1 and counts["sessions"] == 24
    assert {t: n for t, n in counts.items() if t != "patients"} == {t: n for t, n in local.items() if t != "patients"}
    with psycopg.connect(pg_url) as conn:
        (pid,) = conn.execute("SELECT id FROM patients").fetchone()
        assert conn.execute("SELECT count(DISTINCT patient_id) FROM sessions").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM sessions WHERE patient_id = %s", [pid]).fetchone()[0] == 24


@pytest.mark.slow   # starts a process
def test_a_sync_killed_mid_batch_resumes_without_duplicates(pg_url, tmp_path, capsys):
    db = kiosk_db(tmp_path / "home.db", n=10)
    conn = pg.connect(pg_url)
    pg.ensure_schema(conn, "here")
    env = {**os.environ, sync_module.PAUSE_ENV: "0.3"}
    proc = subprocess.Popen([sys.executable, "-m", "coach", "sync", "--to", pg_url, "--db", str(db), "--chunk", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        held = 0
        while time.monotonic() < deadline and not 0 < held < 10:
            held = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        conn.close()
    assert 0 < held < 10 and proc.returncode == -signal.SIGKILL
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", db)
    assert code == 0 and out.startswith("Sent "), err
    assert server_counts(pg_url) == local_counts(db)
    assert coach(capsys, "sync", "--to", pg_url, "--db", db)[1] == "Nothing new to send.\n"


def test_a_part_the_ledger_missed_is_sent_again_and_kept_once(pg_url, tmp_path, monkeypatch, capsys):
    """Killed after the server committed a part but before the local ledger recorded it."""
    db = kiosk_db(tmp_path / "home.db", n=4)
    calls = []
    mark = sync_module.mark_sent

    def fail_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        mark(*args)

    monkeypatch.setattr(sync_module, "mark_sent", fail_second)
    with pytest.raises(KeyboardInterrupt):
        sync(db, pg_url, sessions_per_chunk=2)
    assert server_counts(pg_url)["sessions"] == 2
    monkeypatch.setattr(sync_module, "mark_sent", mark)
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", db, "--chunk", 2)
    assert code == 0 and out.startswith("Sent 2 sessions") and out.endswith("; 2 already there.\n")
    assert server_counts(pg_url) == local_counts(db)


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_the_report_from_the_server_is_byte_identical(pg_url, tmp_path, capsys):
    db = build_history(tmp_path / "home.db")
    assert coach(capsys, "sync", "--to", pg_url, "--db", db)[0] == 0
    for _ in range(2):            # the report carries today's date: a run across midnight tries again
        today = date.today()
        assert coach(capsys, "report", "P1", "--db", db, "--out", tmp_path / "local.html")[0] == 0
        code, out, err = coach(capsys, "report", "P1", "--db", pg_url, "--out", tmp_path / "clinic.html")
        if date.today() == today:
            break
    assert code == 0, err
    local, clinic = (tmp_path / "local.html").read_bytes(), (tmp_path / "clinic.html").read_bytes()
    assert b"Facial exercise report: P1" in clinic and len(clinic) > 10_000
    assert clinic == local
    assert oct((tmp_path / "clinic.html").stat().st_mode & 0o777) == "0o600"


def test_sessions_and_exports_from_the_server_match_the_file(pg_url, tmp_path, capsys):
    db = build_history(tmp_path / "home.db", n_sessions=5)
    kiosk_db(tmp_path / "kiosk.db", code="P2", n=2)
    for path in (db, tmp_path / "kiosk.db"):
        assert coach(capsys, "sync", "--to", pg_url, "--db", path)[0] == 0
    local = coach(capsys, "sessions", "--db", db)[1]
    assert coach(capsys, "sessions", "--patient", "P1", "--db", pg_url)[1] == local
    everyone = coach(capsys, "sessions", "--db", pg_url)[1]
    assert everyone.count("P2") == 2 and everyone.count(" P1 ") == local.count(" P1 ") == 6
    assert coach(capsys, "export", "P1", "--csv", tmp_path / "a", "--db", db)[0] == 0
    assert coach(capsys, "export", "P1", "--csv", tmp_path / "b", "--db", pg_url)[0] == 0
    local_files, clinic_files = folder_bytes(tmp_path / "a"), folder_bytes(tmp_path / "b")
    # Samples stay on the machine that recorded them: the clinic's file has the header only.
    assert clinic_files.pop("raw-samples.csv") == b"session_id,t,exercise\r\n"
    assert local_files.pop("raw-samples.csv").count(b"\n") > 100
    assert len(local_files) > 3 and clinic_files == local_files


def folder_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_the_mirror_is_private_and_removed(pg_url, tmp_path, capsys):
    code, out, err = coach(capsys, "sessions", "--db", pg_url)
    assert code == 1 and "holds no coach records yet" in err and err.count("\n") == 1
    sync(kiosk_db(tmp_path / "k.db", n=1), pg_url)
    with pg.mirror(pg_url, "P7") as path:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
        with Store.open(path, readonly=True) as store:
            assert len(store.sessions("P7")) == 1
    assert not path.exists() and not path.parent.exists()
    code, out, err = coach(capsys, "sessions", "--db", pg_url.replace("/test_", "/missing_"))
    assert code == 1 and "Cannot connect to the clinic database" in err and "missing_" in err
