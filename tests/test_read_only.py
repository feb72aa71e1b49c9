"""Reading the log never writes it: every reading command works on a database in a read-only folder
(for root too, without its power to override), and a reader shows a dead session as interrupted
without marking it so."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from coach.log.store import Store


def unprivileged(cmd: list[str]) -> list[str]:
    """Run `cmd` without the power to write what its permissions forbid (root has it)."""
    if os.geteuid() != 0:
        return cmd
    setpriv = "/usr/bin/setpriv"
    if not os.path.exists(setpriv):
        pytest.skip("running as root without setpriv: a read-only folder is not read-only")
    return [setpriv, "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--", *cmd]


@pytest.mark.slow   # starts a process
def test_readers_work_on_a_database_in_a_read_only_folder(tmp_path):
    from store_fixtures import build_history

    folder = tmp_path / "ro"
    db = build_history(folder / "coach.db", n_sessions=2)
    with Store.open(db) as store:
        store.set_patient_check("P1", "pin", "scrypt$1$1$1$00$00")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    os.chmod(db, 0o444)
    os.chmod(folder, 0o555)
    env = {**os.environ}
    try:
        for argv in (["sessions"], ["patient", "list"], ["patient", "show", "P1"], ["plan", "show", "P1"],
                     ["treatment", "list", "P1"], ["report", "P1", "--out", str(tmp_path / "r.html")],
                     ["export", "P1", "--csv", str(tmp_path / "csv")]):
            out = subprocess.run(unprivileged([sys.executable, "-m", "coach", *argv, "--db", str(db)]), env=env,
                                 capture_output=True, text=True, timeout=120, cwd=tmp_path)
            assert out.returncode == 0, (argv, out.stderr)
        assert "P1" in out.stdout or "Wrote" in out.stdout
        write = subprocess.run(unprivileged([sys.executable, "-m", "coach", "patient", "add", "P9", "--db", str(db)]),
                               env=env, capture_output=True, text=True, timeout=60)
        assert write.returncode != 0 and "read-only" in write.stderr and "Traceback" not in write.stderr
    finally:
        os.chmod(folder, 0o755)
        os.chmod(db, 0o644)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before    # nothing written


@pytest.mark.slow   # starts a process
def test_readers_open_read_only_and_show_a_dead_session_as_interrupted(tmp_path):
    from coach.cli import cli

    db = tmp_path / "c.db"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, time
        from coach.log.store import Store
        store = Store.open(os.environ["DB"])
        store.add_patient("P1")
        print(store.start_session("P1"), flush=True)
        time.sleep(60)
    """)], env={**os.environ, "DB": str(db)}, stdout=subprocess.PIPE, text=True)
    sid = proc.stdout.readline().strip()
    runner = CliRunner()
    assert "in-progress" in runner.invoke(cli, ["sessions", "--db", str(db)]).output     # still running
    proc.kill()
    proc.wait(10)
    out = runner.invoke(cli, ["sessions", "--db", str(db)])
    assert out.exit_code == 0 and "interrupted" in out.output                       # its process is gone …
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert conn.execute("SELECT status FROM sessions WHERE id = ?", [sid]).fetchone() == ("in-progress",)
    conn.close()                                                                    # … and nothing was written
