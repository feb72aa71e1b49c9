"""Health data is private whatever the umask: the log's folders 0700 and its files (database, WAL,
locks) 0600, an older log made private when opened, and reports and exports owner-only."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from coach.log.store import Store


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_folders_database_and_side_files_are_private_whatever_the_umask(tmp_path, umask022):
    db = tmp_path / "new" / "deeper" / "c.db"
    with Store.open(db) as store:
        store.add_patient("P1")
        sid = store.start_session("P1")
        assert mode(tmp_path / "new") == mode(db.parent) == 0o700
        assert mode(db.parent / "c.db.locks") == 0o700 and mode(db.parent / "c.db.locks" / f"{sid}.lock") == 0o600
        for name in ("c.db", "c.db-wal", "c.db-shm"):
            assert mode(db.parent / name) == 0o600, name
        store.end_session(sid)


def test_an_existing_database_and_coachs_own_data_folder_are_made_private(tmp_path, umask022, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COACH_DB", raising=False)
    folder = tmp_path / "xdg" / "coach"
    folder.mkdir(parents=True)                       # made by an older coach, 0755
    Store.open(folder / "coach.db").close()
    os.chmod(folder, 0o755)
    os.chmod(folder / "coach.db", 0o644)
    with Store.open() as store:
        assert store.path == folder / "coach.db"
    assert mode(folder) == 0o700 and mode(folder / "coach.db") == 0o600


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_reports_and_exports_are_private_whatever_the_umask(tmp_path, umask022):
    from coach.cli import cli
    from store_fixtures import build_history

    db = build_history(tmp_path / "c.db", n_sessions=2)
    runner = CliRunner()
    assert runner.invoke(cli, ["report", "P1", "--out", str(tmp_path / "r.html"), "--db", str(db)]).exit_code == 0
    assert runner.invoke(cli, ["export", "P1", "--csv", str(tmp_path / "out" / "csv"), "--db", str(db)]).exit_code == 0
    assert mode(tmp_path / "r.html") == 0o600
    assert mode(tmp_path / "out") == mode(tmp_path / "out" / "csv") == 0o700
    files = list((tmp_path / "out" / "csv").iterdir())
    assert len(files) >= 9 and all(mode(f) == 0o600 for f in files)
    assert not any("patient_checks" in f.read_text() or "scrypt$" in f.read_text() for f in files)


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_every_folder_coach_makes_for_health_data_is_private_whatever_the_umask(tmp_path, umask022, monkeypatch):
    """`report --out`, `export --fhir/--xlsx`, `share --out`, `analyze --json` and
    screenshots into folders that do not exist yet: each folder made, to the deepest, is 0700."""
    from coach.cli import cli
    from coach.clinic import keys as clinic_keys
    from coach.screen.display import PygameDisplay
    from coach.resources import builtin_dir
    from store_fixtures import build_history

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COACH_DB", raising=False)
    clinic_keys.join_clinic(clinic_keys.init_clinic("Test clinic")["public_key"], "Test clinic")
    db = build_history(tmp_path / "c.db", n_sessions=2)
    here = tmp_path / "here"
    here.mkdir()
    os.chmod(here, 0o755)                           # the user's own folder, readable by others
    outputs = {"report": here / "report" / "new" / "r.html", "fhir": here / "fhir" / "new" / "p.json",
               "xlsx": here / "xlsx" / "new" / "p.xlsx", "share": here / "share" / "new" / "p.bundle",
               "analyze": here / "analyze" / "new" / "a.json", "shot": here / "shots" / "new" / "s.png"}
    runner = CliRunner()
    for args in (["report", "P1", "--out", outputs["report"], "--db", db],
                 ["export", "P1", "--fhir", outputs["fhir"], "--xlsx", outputs["xlsx"], "--db", db],
                 ["share", "--out", outputs["share"], "--db", db],
                 ["analyze", builtin_dir("data") / "demo.landmarks.npz", "--exercise", "gentle-smile",
                  "--json", outputs["analyze"]]):
        result = runner.invoke(cli, list(map(str, args)))
        assert result.exit_code == 0, (args, result.output, result.exception)
    display = PygameDisplay()
    try:
        display.screenshot(outputs["shot"])
    finally:
        display.close()
    for name, path in outputs.items():
        assert mode(path) == 0o600, name
        assert mode(path.parent) == mode(path.parent.parent) == 0o700, name
    assert mode(here) == 0o755                      # a folder that was there is left as it was
