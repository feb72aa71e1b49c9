"""`coach patient|plan|treatment|sessions|report|export|review` through click's CliRunner."""
from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.commands import records, store as cmds
from coach.errors import CoachError
from store_fixtures import build_history



def run(*args, env=None, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, input=input)


def ok(*args, **kw) -> str:
    result = run(*args, **kw)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def fails(*args, match: str, code: int = 1, **kw) -> CoachError:
    result = run(*args, **kw)
    assert isinstance(result.exception, CoachError), (result.output, result.exception)
    assert match in str(result.exception)
    assert result.exception.exit_code == code
    return result.exception


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "coach.db"


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    return build_history(tmp_path_factory.mktemp("cli") / "coach.db")


def test_patient_commands(db):
    assert "Added patient P001, left side affected." in ok("patient", "add", "P001", "--name", "Ann Lee",
                                                            "--affected-side", "left", "--db", db)
    fails("patient", "add", "P001", "--db", db, match="already exists")
    out = ok("patient", "list", "--db", db)
    assert "P001" in out and "Ann Lee" in out
    out = ok("patient", "show", "P001", "--db", db)
    assert "affected side: left" in out and "plan: none" in out
    fails("patient", "show", "NOPE", "--db", db, match="No patient with code NOPE; add one with `coach patient add NOPE`")


def test_db_from_environment(tmp_path):
    path = tmp_path / "env.db"
    ok("patient", "add", "E1", env={"COACH_DB": str(path)})
    assert path.exists()
    assert "E1" in ok("patient", "list", env={"COACH_DB": str(path)})


def test_readers_do_not_create_a_database(db):
    fails("patient", "list", "--db", db, match="No coach database")
    assert not db.exists()


def test_plan_set_with_library(db):
    pytest.importorskip("coach.core.exercises")
    ok("patient", "add", "P1", "--db", db)
    out = ok("plan", "set", "P1", "--hold", 2, "--exercise", "brow-lift", "--reps", 8, "--exercise", "snarl",
             "--reps", 6, "--threshold", "brow-lift:commissure_excursion=0.12", "--db", db)
    assert "brow-lift: 8 reps, hold 2 s" in out and "snarl: 6 reps, hold 2 s" in out
    assert "commissure_excursion=0.12" in out
    show = ok("plan", "show", "P1", "--db", db)
    assert show.splitlines()[0].startswith("brow-lift: 8 reps")
    fails("plan", "set", "P1", "--exercise", "moonwalk", "--db", db, match="Unknown exercise 'moonwalk'")
    fails("plan", "set", "P1", "--exercise", "brow-lift", "--threshold", "eye_width=0.2", "--db", db,
          match="Bad threshold for brow-lift")
    fails("plan", "set", "P1", "--exercise", "brow-lift", "--exercise", "snarl", "--reps", 1, "--reps", 2,
          "--db", db, match="--reps is given twice after --exercise snarl")
    fails("plan", "set", "P1", "--exercise", "snarl", "--threshold", "oops", "--db", db, match="measure=value")


def test_plan_set_without_library(db, monkeypatch):
    monkeypatch.setattr(records, "exercise_library", lambda: None)
    ok("patient", "add", "P1", "--db", db)
    ok("plan", "set", "P1", "--exercise", "anything", "--threshold", "eye_opening=0.2", "--db", db)
    assert "anything: reps, hold and rest from the exercise file, thresholds eye_opening=0.2" in ok("plan", "show", "P1",
                                                                                      "--db", db)


def test_treatment_commands(db):
    ok("patient", "add", "P1", "--db", db)
    out = ok("treatment", "add", "P1", "--date", "2024-04-01", "--kind", "botulinum_toxin", "--sites",
             "orbicularis oculi", "--units", 5, "--db", db)
    assert "2024-04-01  botulinum_toxin, orbicularis oculi, 5 units" in out
    fails("treatment", "add", "P1", "--date", "April", "--kind", "surgery", "--db", db, match="YYYY-MM-DD")
    assert "orbicularis oculi" in ok("treatment", "list", "P1", "--db", db)


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_sessions_report_export(history, tmp_path):
    out = ok("sessions", "--patient", "P1", "--db", history)
    conn = sqlite3.connect(history)
    n_sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    assert len(out.strip().splitlines()) == n_sessions + 1 and "interrupted" in out
    report = tmp_path / "r.html"
    assert f"Wrote {report}" in ok("report", "P1", "--out", report, "--db", history)
    html = report.read_text()
    assert html.count("data:image/png;base64,") + html.count("<svg") >= 3       # the plots (PNG or SVG)
    folder = tmp_path / "csv"
    ok("export", "P1", "--csv", folder, "--db", history)
    with open(folder / "raw-reps.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == conn.execute("SELECT count(*) FROM reps").fetchone()[0]
    with open(folder / "raw-samples.csv", newline="") as f:
        assert "level" in next(csv.reader(f))
    conn.close()
    fails("report", "NOPE", "--db", history, match="No patient with code NOPE; add one with `coach patient add NOPE`")


def test_sessions_figures_come_from_progress(history):
    from coach.core import progress
    from coach.log.store import Store

    out = ok("sessions", "--patient", "P1", "--db", history).strip().splitlines()
    with Store.open(history, readonly=True) as store:
        expected = progress.session_figures(store.session_rows("P1"), store.rep_rows("P1"))
        sets = {s["id"]: len(store.session_sets(s["id"])) for s in expected}
    assert out[0].split() == ["started", "patient", "kind", "status", "sets", "reps", "synk-free", "id"]
    for line, s in zip(out[1:], expected, strict=True):
        rate = "–" if s["synkinesis_free_rate"] is None else f"{100 * s['synkinesis_free_rate']:.0f}%"
        assert line.split()[-5:] == [s["status"], str(sets[s["id"]]), str(s["n_reps"]), rate, s["id"][:8]]


def test_corrupt_or_foreign_db_via_cli(db):
    db.write_bytes(b"hello, this is not sqlite at all" * 100)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    fails("patient", "add", "P1", "--db", db, match="not an SQLite database")
    fails("sessions", "--db", db, match="not an SQLite database")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.mark.slow   # starts a process
def test_main_prints_one_sentence_not_a_traceback(db):
    db.write_bytes(b"garbage" * 100)
    proc = subprocess.run([sys.executable, "-c", "from coach.cli import main; main()", "sessions", "--db", str(db)],
                          capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("coach: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


# ---- review -------------------------------------------------------------------------
def test_review_refuses_public_host_without_password(db, monkeypatch):
    monkeypatch.delenv(cmds.PASSWORD_ENV, raising=False)
    ok("patient", "add", "P1", "--db", db)
    fails("review", "--host", "0.0.0.0", "--db", db, match="without a password", code=2)
    assert cmds.is_loopback("127.0.0.1") and cmds.is_loopback("::1") and cmds.is_loopback("localhost")
    assert not cmds.is_loopback("192.168.1.5") and not cmds.is_loopback("example.org")


def test_review_without_datasette(db, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasette", None)
    monkeypatch.setitem(sys.modules, "datasette.cli", None)
    ok("patient", "add", "P1", "--db", db)
    err = fails("review", "--db", db, match="Datasette is not installed", code=2)
    assert "\n" not in str(err)


def test_canned_queries_run_on_a_real_db(history):
    from coach.log.review import CANNED_QUERIES

    conn = sqlite3.connect(history)
    for name, query in CANNED_QUERIES.items():
        rows = conn.execute(query["sql"], {"patient": "P1"}).fetchall()
        assert rows or name == "sessions_this_week", name     # this history is from 2024 (see test_review_browser)
    [(complete,)] = conn.execute("SELECT count(*) FROM reps WHERE complete").fetchone(),
    counts = conn.execute(CANNED_QUERIES["synkinesis_counts"]["sql"], {"patient": ""}).fetchall()
    assert sum(r[2] for r in counts) == complete
    assert sum(r[3] for r in counts) == conn.execute("SELECT count(*) FROM reps WHERE complete AND synkinesis").fetchone()[0]
    # A query that computes a figure names it as coach.core.progress.FIGURES does (tests/test_figures.py
    # checks the values equal sessions.csv's); the others only count.
    from coach.core.progress import FIGURES, REP_FIGURES

    names = {f.column for f in (*FIGURES.values(), *REP_FIGURES.values())}
    for name, q in CANNED_QUERIES.items():
        computed = re.findall(r'AS "([^"]+)"', q["sql"])
        assert set(computed) <= names, (name, computed)
        if "/" in q["sql"] or "rate" in q["sql"].lower():
            assert "clean-rep rate (%)" in computed, name
    assert "report" in CANNED_QUERIES["synkinesis_counts"]["description"]
    conn.close()


def test_review_serves_metadata_with_password(history, monkeypatch):
    pytest.importorskip("datasette")
    pytest.importorskip("datasette_auth_passwords")
    from datasette.app import Datasette
    from datasette.cli import cli as datasette_cli

    from coach.log import review

    seen = {}

    def fake_main(args, **kw):       # capture what `coach review` hands to Datasette instead of serving
        seen["args"] = args
        seen["meta"] = json.loads(Path(args[args.index("--metadata") + 1]).read_text())
        seen["hash"] = os.environ[review.HASH_ENV]      # the hash: in the environment, never the metadata

    monkeypatch.setattr(datasette_cli, "main", fake_main)
    monkeypatch.setenv(cmds.PASSWORD_ENV, "s3cret")
    ok("review", "--host", "0.0.0.0", "--port", 8123, "--db", history)
    assert seen["args"][:2] == ["serve", str(history.resolve())]
    meta = seen["meta"]
    assert meta["allow"] == {"id": "therapist"}
    assert "s3cret" not in json.dumps(meta) and seen["hash"] not in json.dumps(meta)
    assert review.HASH_ENV not in os.environ                   # gone once the server stops
    monkeypatch.setenv(review.HASH_ENV, seen["hash"])
    db_meta = meta["databases"]["coach"]
    assert db_meta["tables"]["reps"]["columns"]["synkinesis"]
    assert list(db_meta["queries"])[:3] == ["sessions_this_week", "not_practised_7_days", "co_movement_trend"]
    assert db_meta["tables"]["sessions"]["label_column"] == "started"
    assert db_meta["tables"]["patients"]["label_column"] == "code"

    async def fetch():
        ds = Datasette([str(history)], metadata=meta)
        await ds.invoke_startup()
        anonymous = await ds.client.get("/coach/synkinesis_counts.json?patient=P1&_shape=array")
        cookies = {"ds_actor": ds.sign({"a": {"id": "therapist"}}, "actor")}
        allowed = await ds.client.get("/coach/synkinesis_counts.json?patient=P1&_shape=array", cookies=cookies)
        login = await ds.client.post("/-/login", data={"username": "therapist", "password": "s3cret"})
        return anonymous.status_code, allowed.status_code, allowed.json(), login.status_code

    anonymous, status, rows, login = asyncio.run(fetch())
    assert anonymous == 403 and status == 200 and login == 302
    conn = sqlite3.connect(history)
    assert len(rows) == conn.execute("SELECT count(DISTINCT exercise) FROM sets").fetchone()[0]
    conn.close()


def test_plan_target_is_stored_shown_and_validated(db):
    ok("patient", "add", "P017", "--db", db)
    out = ok("plan", "set", "P017", "--exercise", "gentle-smile", "--target", "0.08", "--exercise", "lip-pucker",
             "--target", "0.1", "--db", db)
    assert "gentle-smile" in out and "target 0.08 (set by the therapist)" in out
    shown = ok("plan", "show", "P017", "--db", db)
    assert "target 0.08 (set by the therapist)" in shown and "target 0.1 (set by the therapist)" in shown
    for value in ("nan", "inf", "0", "-1", "5"):
        fails("plan", "set", "P017", "--exercise", "gentle-smile", "--target", value, "--db", db,
              match="Bad target for gentle-smile")
    assert ok("plan", "show", "P017", "--db", db) == shown      # a refused plan changes nothing
