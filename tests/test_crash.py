"""A real logged session — `coach run` on replayed landmarks in a child process — killed with
SIGKILL mid-session: the log stays intact, every rep committed before the kill is kept, and
the session is marked interrupted on the next open (known from its lock, not guessed)."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from coach.io.store import Store

DEMO = Path(__file__).resolve().parent.parent / "coach" / "data" / "demo.landmarks.npz"


def test_sigkill_during_a_replayed_session(tmp_path):
    db = tmp_path / "coach.db"
    with Store.open(db) as store:
        store.add_patient("P1", affected_side="left")
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk",
           "SDL_DISKAUDIOFILE": str(tmp_path / "a.raw")}
    proc = subprocess.Popen([sys.executable, "-m", "coach", "run", "--replay", str(DEMO), "--patient", "P1",
                             "--plan", "gentle-smile", "--db", str(db), "--headless", "--shots", str(tmp_path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = 0
    try:
        deadline = time.monotonic() + 120
        while seen < 1:                      # a second connection reads while the session writes
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no rep was logged"
            time.sleep(0.2)
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                seen = conn.execute("SELECT count(*) FROM reps").fetchone()[0]
                status = conn.execute("SELECT status FROM sessions").fetchone()
            assert status is None or status[0] == "in-progress"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store.open(db) as store:
        (session,) = store.sessions("P1")
        assert session["status"] == "interrupted"
        reps = store.rep_rows(session_id=session["id"])
        assert len(reps) >= seen and all(r["complete"] for r in reps)
