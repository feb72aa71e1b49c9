"""Crash safety and concurrency of the session store, with real child processes.

Child writers killed with SIGKILL mid-session or while idle, readers while a session
writes, and a real logged session (`coach run` on replayed landmarks) killed mid-session:
the log stays intact, every rep committed before the kill is kept, and the session is
marked interrupted on the next open (known from its lock, not guessed)."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coach.io.store import Store

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "coach" / "data" / "demo.landmarks.npz"


def child(script: str, db: Path) -> subprocess.Popen:
    """A separate Python process running `script` with DB set to the database path."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "DB": str(db)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


def read_until(proc: subprocess.Popen, marker: str, timeout: float = 20.0) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child exited early: {proc.stderr.read()}")
        lines.append(line.strip())
        if line.strip() == marker:
            return lines
    raise AssertionError(f"no {marker!r} from the child in {timeout} s")


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "coach.db"


# ---- crash safety and concurrency (real child processes) ------------------------
WRITER = """
    import os, sys, time
    from coach.io.store import Store
    from coach.core.events import Rep
    store = Store.open(os.environ["DB"])
    sid = store.start_session("P1", source="child")
    set_id = store.start_set(sid, "brow-lift", 1000)
    print(sid, flush=True)
    for i in range(int(os.environ.get("N", "1000000"))):
        for k in range(3):
            store.add_sample(sid, i * 0.3 + k * 0.1, "brow-lift", {"level": 0.5})
        store.add_rep(sid, set_id, Rep(i, i, i + 0.1, i + 0.2, 0.9, {"left": 0.1, "right": 0.3}).to_dict())
        print(i, flush=True)       # printed only after the commit returned
    print("ready", flush=True)
    time.sleep(120)
"""


def make_patient(db: Path) -> None:
    with Store.open(db) as store:
        store.add_patient("P1")


def test_sigkill_mid_session_keeps_every_committed_rep(db):
    make_patient(db)
    proc = child(WRITER, db)
    try:
        sid = proc.stdout.readline().strip()
        reported = [int(proc.stdout.readline()) for _ in range(40)]   # still writing when killed
    finally:
        kill(proc)
    assert (db.parent / "coach.db.locks" / f"{sid}.lock").exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store.open(db) as store:
        assert store.get_session(sid)["status"] == "interrupted"
        idx = {r["idx"] for r in store.rep_rows(session_id=sid)}
        assert set(reported) <= idx
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not (db.parent / "coach.db.locks" / f"{sid}.lock").exists()


def test_sigkill_while_idle_marks_interrupted(db):
    make_patient(db)
    proc = child(WRITER.replace('"1000000"', '"5"'), db)
    try:
        sid = read_until(proc, "ready")[0]
    finally:
        kill(proc)
    with Store.open(db) as store:
        s = store.sessions("P1")[0]
        assert (s["id"], s["status"], s["n_reps"]) == (sid, "interrupted", 5)
        assert len(store.samples(sid)) == 15


def test_running_session_in_another_process_is_left_alone(db):
    make_patient(db)
    proc = child(WRITER.replace('"1000000"', '"3"'), db)
    try:
        sid = read_until(proc, "ready")[0]
        with Store.open(db) as store:
            assert store.get_session(sid)["status"] == "in-progress"
        with Store.open(db) as store:
            assert store.get_session(sid)["status"] == "in-progress"
    finally:
        kill(proc)
    with Store.open(db) as store:
        assert store.get_session(sid)["status"] == "interrupted"


def test_running_session_in_this_process_is_left_alone(db):
    with Store.open(db) as live:
        sid = live.start_session(kind="kiosk")
        with Store.open(db) as other:
            assert other.get_session(sid)["status"] == "in-progress"
        live.end_session(sid)


def test_reader_never_blocks_while_a_session_writes(db):
    make_patient(db)
    proc = child(WRITER, db)
    try:
        sid = proc.stdout.readline().strip()
        proc.stdout.readline()
        slowest, counts = 0.0, []
        with Store.open(db) as reader:          # a read-write store: opening must not disturb the writer
            for _ in range(40):
                t0 = time.perf_counter()
                counts.append(len(reader.rep_rows(session_id=sid)))
                reader.sessions("P1")
                slowest = max(slowest, time.perf_counter() - t0)
                time.sleep(0.01)
            assert reader.get_session(sid)["status"] == "in-progress"
        assert proc.poll() is None, proc.stderr.read()
    finally:
        kill(proc)
    assert counts[-1] > counts[0]        # the writer kept committing while we read
    assert slowest < 1.0


# ---- a real logged session ------------------------------------------------------
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
