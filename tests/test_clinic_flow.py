"""One clinic, end to end, through the commands people type: two patients practise at home and
send encrypted bundles, two kiosks sync, the therapist's machine imports the bundles and syncs too,
and the clinic's PostgreSQL ends up with the sum of the parts. Running it all again changes nothing.

Each machine has its own user data folder (its keys), switched with XDG_DATA_HOME.
"""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import psycopg
import pytest

from coach.clinic import keys as clinic_keys
from coach.clinic import store as pg
from coach.clinic.merge import collect
from coach.log.schema import SHARED_TABLES
from coach.log.store import Store
from store_fixtures import shared_counts
from test_bundles import WHEN, add_session, cli, make_db

pytest_plugins = ("pg_server",)          # the pg_server and pg_url fixtures


@pytest.fixture
def machines(tmp_path, monkeypatch):
    """`on(name)` makes the next commands run as if on that computer (its own data folder)."""
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)   # keep stderr for capsys
    monkeypatch.delenv("COACH_DB", raising=False)

    def on(name: str) -> None:
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / name / "xdg"))
    return on


def server_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return shared_counts(conn)


def figures(path, codes) -> dict[str, list[tuple]]:
    """Every session of each patient with the figures `coach sessions` prints (progress module)."""
    with Store.open(path, readonly=True) as store:
        return {code: sorted((s["id"], s["status"], s["kind"], s["n_reps"], s["n_synkinesis_free"],
                              s["synkinesis_free_rate"]) for s in store.sessions(code)) for code in codes}


def one_round(run, on, tmp_path, homes, kiosks, clinic, url) -> list[str]:
    """Everyone sends what they have; returns what each command printed."""
    said = []
    for name, home in homes.items():
        on(name)
        said.append(run("share", "--out", tmp_path / f"{name}.bundle", "--db", home))
    on("clinic")
    for name in homes:
        if (tmp_path / f"{name}.bundle").exists():
            said.append(run("import", tmp_path / f"{name}.bundle", "--db", clinic))
    for name, kiosk in kiosks.items():
        on(name)
        said.append(run("sync", "--to", url, "--db", kiosk))
    on("clinic")
    said.append(run("sync", "--to", url, "--db", clinic))
    return said


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_two_homes_and_two_kiosks_reach_one_clinic_store(machines, pg_url, tmp_path, capsys):
    def run(*argv) -> str:
        code, text = cli(capsys, *argv)
        assert code == 0, text
        return text

    # P1 practises at home and at kiosk 1 (registered on both: two UUIDs, one person); P2 at home;
    # P3 at kiosk 2, with one visit still running there (it must not travel).
    homes = {"home1": make_db(tmp_path / "home1.db", code="P1", n=3),
             "home2": make_db(tmp_path / "home2.db", code="P2", n=2, start=WHEN + timedelta(days=1))}
    kiosks = {"kiosk1": make_db(tmp_path / "kiosk1.db", code="P1", n=2, kind="kiosk", start=WHEN + timedelta(hours=5)),
              "kiosk2": make_db(tmp_path / "kiosk2.db", code="P3", n=2, kind="kiosk", running=True)}
    clinic = tmp_path / "clinic.db"
    machines("clinic")
    run("clinic", "init", "--name", "North clinic")
    key = clinic_keys.clinic_public_key()
    assert key in run("clinic", "key")
    for name in homes:
        machines(name)
        run("clinic", "join", key, "--name", "North clinic")

    one_round(run, machines, tmp_path, homes, kiosks, clinic, pg_url)

    # Row counts: the sum of the parts, with P1 once, and nothing of the running visit.
    parts = [collect(sqlite3.connect(p)) for p in [*homes.values(), *kiosks.values()]]
    expected = {t: sum(len(b[t]) for b in parts) for t, _, _ in SHARED_TABLES}
    expected["patients"] -= 1                                  # kiosk 1's P1 is home 1's P1
    assert server_counts(pg_url) == expected
    assert expected["sessions"] == 3 + 2 + 2 + 2

    # Figures: every session with the same figures as on the machine that recorded it.
    codes = ("P1", "P2", "P3")
    want = {code: [] for code in codes}
    for path in [*homes.values(), *kiosks.values()]:
        with Store.open(path, readonly=True) as store:
            mine = {p["code"] for p in store.list_patients()}
        for code, rows in figures(path, [c for c in codes if c in mine]).items():
            want[code] += [r for r in rows if r[1] != "in-progress"]
    with pg.mirror(pg_url) as copy:
        assert figures(copy, codes) == {code: sorted(rows) for code, rows in want.items()}
    listed = run("sessions", "--patient", "P1", "--db", pg_url)
    assert listed.count("completed") == 5 and listed.count("kiosk") == 2
    run("report", "P1", "--db", pg_url, "--out", tmp_path / "report-P1.html")
    assert (tmp_path / "report-P1.html").stat().st_size > 10_000

    # Again: nothing new anywhere, and the server is exactly as it was.
    before = server_counts(pg_url)
    for path in homes.values():
        (tmp_path / f"{path.stem}.bundle").unlink()
    again = one_round(run, machines, tmp_path, homes, kiosks, clinic, pg_url)
    assert server_counts(pg_url) == before
    assert not any((tmp_path / f"{name}.bundle").exists() for name in homes)    # nothing new to share
    assert all("Nothing new" in text or "nothing new" in text for text in again), again


def test_a_therapist_corrects_a_kiosk_session_through_the_store(machines, pg_url, tmp_path, capsys):
    """The kiosk's sessions reach the server directly; the therapist pulls them, voids one, sends the
    correction back, and the kiosk's later syncs never undo it."""
    def run(*argv) -> str:
        code, text = cli(capsys, *argv)
        assert code == 0, text
        return text

    kiosk = make_db(tmp_path / "kiosk.db", code="P1", n=3, kind="kiosk")
    mine = tmp_path / "therapist.db"
    machines("kiosk")
    run("sync", "--to", pg_url, "--db", kiosk)
    machines("therapist")
    assert "Copied 3 sessions" in run("sync", "--from", pg_url, "--patient", "P1", "--db", mine)
    assert "already holds everything" in run("sync", "--from", pg_url, "--db", mine)
    with Store.open(mine, readonly=True) as store:
        wrong = store.sessions("P1")[0]["id"]
    run("session", "void", wrong[:8], "--reason", "camera pointed at the ceiling", "--db", mine)
    assert "Sent 1 session" in run("sync", "--to", pg_url, "--db", mine)        # only the correction travels

    machines("kiosk")
    add_session(kiosk, "P1", WHEN + timedelta(days=20))
    run("sync", "--to", pg_url, "--db", kiosk)                                  # its old copy stays older
    with pg.mirror(pg_url, "P1") as copy, Store.open(copy, readonly=True) as store:
        counted = [s["id"] for s in store.sessions("P1")]
        voided = store.get_session(wrong)
        audit = store.audit_rows("P1")
    assert wrong not in counted and len(counted) == 3                           # 3 - 1 voided + 1 new
    assert voided["voided"] == "camera pointed at the ceiling"
    assert any(a["command"] == "session void" and a["row_id"] == wrong for a in audit)
    listed = run("sessions", "--patient", "P1", "--db", pg_url)
    assert "voided: camera pointed at the ceiling" in listed
    history = run("audit", "P1", "--db", pg_url)                                # read from the server too
    assert "session void" in history and "camera pointed at the ceiling" in history
