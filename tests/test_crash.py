"""Crash safety, concurrency and failed writes of the session store, with real faults.

Child writers killed with SIGKILL mid-session or while idle, readers while a session
writes, and a real logged session (`coach run` on replayed landmarks) killed mid-session:
the log stays intact, every rep committed before the kill is kept, and the session is
marked interrupted on the next open (known from its lock, not guessed).

Writes that fail (issue 10): SQLite's `max_page_count` gives a real "database or disk is
full", a second process holding `BEGIN EXCLUSIVE` a real lock. After each, the session's
status is checked against what is on disk, rep for rep and sample for sample."""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from coach.core.calibration import REL
from coach.core.events import Ended, Rep, RepEnded, Sample, SetEnded, SetStarted
from coach.errors import CoachError
from coach.log import recorder as session_log_mod
from coach.log import samples as samples_mod
from coach.log.recorder import SessionLog
from coach.log.store import Store
from coach.resources import builtin_dir

DEMO = builtin_dir("data") / "demo.landmarks.npz"   # the installed package's, as `coach demo` reads it
FPS = 30
EXERCISE = "gentle-smile"


def child(script: str, db: Path) -> subprocess.Popen:
    """A separate Python process running `script` with DB set to the database path."""
    env = {**os.environ, "DB": str(db)}
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
    from coach.log.store import Store
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


@pytest.mark.slow   # starts a process
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


@pytest.mark.slow   # starts a process
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


@pytest.mark.slow   # starts a process
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


@pytest.mark.slow   # starts a process
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
@pytest.mark.slow   # starts a process
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


# ---- 1. the log never claims more than it holds --------------------------------------------------
def session_records(n_reps: int, rep_s: float = 2.0) -> list[list]:
    """One frame's records per item: a set of `n_reps` reps, a sample every frame, then the end."""
    frames, t = [[SetStarted(0.0, EXERCISE, n_reps)]], 0.0
    for i in range(n_reps):
        for _ in range(int(rep_s * FPS)):
            t += 1 / FPS
            frames.append([Sample(t, EXERCISE, np.full((len(REL), 2), round(0.01 * i, 4)))])
        frames[-1].append(RepEnded(Rep(i, t - 1.5, t - 1.0, t, 0.9, {"left": 0.1, "right": 0.3}), EXERCISE))
    frames.append([SetEnded(t, EXERCISE, 0.1, "learned"), Ended(t, "completed")])
    return frames


def kept_sample_times(frames: list[list]) -> list[float]:
    """The samples the store keeps (~10 Hz), by its own rule."""
    kept, last = [], None
    for rec in (r for f in frames for r in f if isinstance(r, Sample)):
        if last is None or rec.t - last >= samples_mod.SAMPLE_INTERVAL_S - samples_mod.SAMPLE_SLACK_S:
            kept.append(rec.t)
            last = rec.t
    return kept


def on_disk(db: Path, sid: str) -> dict:
    """What a separate reader finds: status, reason, rep indices, sample times, sets ended."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        status, reason = conn.execute("SELECT status, end_reason FROM sessions WHERE id = ?", [sid]).fetchone()
        return {"status": status, "reason": reason or "",
                "reps": [r for (r,) in conn.execute("SELECT idx FROM reps WHERE session_id = ? ORDER BY rowid", [sid])],
                "samples": [t for (t,) in conn.execute("SELECT t FROM samples WHERE session_id = ? ORDER BY t", [sid])],
                "sets_ended": conn.execute("SELECT count(*) FROM sets WHERE session_id = ? AND ended IS NOT NULL",
                                           [sid]).fetchone()[0]}
    finally:
        conn.close()


class FrameClock:
    """A monotonic clock that moves one frame per write: backoff runs in session time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def logged(tmp_path, clock=time.monotonic) -> tuple[Store, SessionLog]:
    store = Store.open(tmp_path / "c.db")
    store.add_patient("P1")
    return store, SessionLog(store, "P1", "test", "home", clock=clock)


def fill_disk(store: Store) -> None:
    """A real SQLITE_FULL: the database may not grow by a single page more."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def free_disk(store: Store) -> None:
    store.db.execute("PRAGMA max_page_count = 1073741823")


def assert_whole(disk: dict, frames: list[list], n_reps: int) -> None:
    assert disk["status"] == "completed"
    assert disk["reps"] == list(range(n_reps))                    # every rep, once, in order
    assert disk["samples"] == pytest.approx(kept_sample_times(frames))   # every kept sample
    assert disk["sets_ended"] == 1


def test_a_disk_that_fills_then_frees_loses_nothing_and_the_session_completes(tmp_path):
    clock = FrameClock()
    store, log = logged(tmp_path, clock)
    frames = session_records(16)
    saving_seen = False
    for i, recs in enumerate(frames):
        if i == 2 * FPS * 3:
            fill_disk(store)
        if i == 2 * FPS * 12:
            free_disk(store)
        clock.now += 1 / FPS
        log.write(recs)
        saving_seen |= log.saving
    assert log.failed_writes > 0 and saving_seen           # it really failed, and said "saving…"
    assert log.ended and log.status == "completed" and not log.problem
    store.close()
    assert_whole(on_disk(tmp_path / "c.db", log.session_id), frames, 16)


def test_a_disk_that_stays_full_ends_interrupted_with_the_reason_and_what_was_saved(tmp_path):
    clock = FrameClock()
    store, log = logged(tmp_path, clock)
    frames = session_records(16)
    for i, recs in enumerate(frames):
        if i == 2 * FPS * 3:
            fill_disk(store)
        clock.now += 1 / FPS
        log.write(recs)
    assert not log.ended                                   # the end waits for the records before it
    log.close("completed")                                 # as the loop's driver closes it
    assert log.status == "interrupted" and log.lost > 0
    assert "could not be saved" in log.problem and "full" in log.problem
    store.close()
    disk = on_disk(tmp_path / "c.db", log.session_id)
    assert disk["status"] == "interrupted" and "full" in disk["reason"]
    n = len(disk["reps"])
    assert 1 <= n < 16 and disk["reps"] == list(range(n))        # what was saved is a clean prefix
    kept = kept_sample_times(frames)
    assert 0 < len(disk["samples"]) < len(kept)
    assert disk["samples"] == pytest.approx(kept[:len(disk["samples"])])


def test_a_failed_write_keeps_its_samples_buffered(tmp_path):
    """The store's own buffer: a failed flush or rep write leaves every sample buffered."""
    store, log = logged(tmp_path)
    sid = log.session_id
    set_id = store.start_set(sid, EXERCISE, 3)
    fill_disk(store)
    for k in range(200):
        store.add_sample(sid, k / 10, EXERCISE, {"level": float(k), "other_measure": 1.0}, autoflush=False)
    with pytest.raises(CoachError, match="full"):
        store.add_rep(sid, set_id, Rep(0, 0, 1, 2, 0.9).to_dict())
    with pytest.raises(CoachError, match="full"):
        store.flush()
    assert store.buffered(sid) == 200
    free_disk(store)
    store.add_rep(sid, set_id, Rep(0, 0, 1, 2, 0.9).to_dict())
    assert store.buffered(sid) == 0 and len(store.samples(sid)) == 200
    assert store.samples(sid)[5]["other_measure"] == 1.0        # the column added in the failed try is there
    log.close("completed")
    store.close()


HOLD_LOCK = """
    import os, sqlite3, sys, time
    conn = sqlite3.connect(os.environ["DB"], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    time.sleep(float(os.environ["HOLD_S"]))
    conn.execute("COMMIT")
    print("released", flush=True)
"""


def hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    """Another program holding the database's write lock for `seconds`."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD_LOCK)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "DB": str(db), "HOLD_S": str(seconds)})
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.slow
def test_a_lock_held_15_s_is_ridden_out_and_the_session_completes(tmp_path):
    store, log = logged(tmp_path)
    frames = session_records(12)                           # 24 s of records, written in real time
    blocker, slowest, saving_at = None, 0.0, []
    t0 = time.monotonic()
    for i, recs in enumerate(frames):
        if i == 3 * FPS:
            blocker = hold_lock(tmp_path / "c.db", 15.0)
        t = time.monotonic()
        log.write(recs)
        slowest = max(slowest, time.monotonic() - t)
        if log.saving:
            saving_at.append(time.monotonic() - t0)
        time.sleep(max(0.0, t0 + i / FPS - time.monotonic()))
    assert blocker.wait(30) == 0
    assert saving_at and saving_at[-1] - saving_at[0] > 12     # "saving…" for (nearly) all of the lock
    assert slowest < 1.0                                       # the screen never froze on the lock
    assert log.failed_writes > 0 and log.status == "completed" and not log.problem
    store.close()
    assert_whole(on_disk(tmp_path / "c.db", log.session_id), frames, 12)


@pytest.mark.slow
def test_a_lock_that_outlasts_the_session_leaves_it_interrupted_never_completed(tmp_path, monkeypatch):
    monkeypatch.setattr(session_log_mod, "CLOSE_WAIT_S", 1.0)
    clock = FrameClock()
    store, log = logged(tmp_path, clock)
    frames = session_records(6)
    blocker = None
    for i, recs in enumerate(frames):
        if i == 2 * FPS * 3:
            blocker = hold_lock(tmp_path / "c.db", 5.0)
        clock.now += 1 / FPS
        log.write(recs)
    log.close("completed")
    assert log.status == "interrupted" and "locked" in log.problem
    store.close()
    assert blocker.wait(30) == 0
    with Store.open(tmp_path / "c.db") as reopened:           # recovery: its process let go of its lock
        assert reopened.get_session(log.session_id)["status"] == "interrupted"
    disk = on_disk(tmp_path / "c.db", log.session_id)
    n = len(disk["reps"])
    assert disk["status"] == "interrupted" and n < 6 and disk["reps"] == list(range(n))


@pytest.mark.slow
def test_coach_run_rides_out_a_15_s_lock_and_logs_every_rep(tmp_path):
    """The real command on the shipped recording (real time, ~35 s): another program takes the
    database's lock for 15 s once the first rep is logged; the session goes on and completes."""
    db = tmp_path / "c.db"
    with Store.open(db) as store:
        store.add_patient("P1")
        store.set_plan("P1", [{"exercise": EXERCISE, "reps": 3, "rest_s": 3.0}])   # the recording's 3 smiles
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk",
           "SDL_DISKAUDIOFILE": str(tmp_path / "a.raw")}
    proc = subprocess.Popen([sys.executable, "-m", "coach", "run", "--replay", str(DEMO), "--patient", "P1",
                             "--db", str(db), "--headless", "--shots", str(tmp_path / "s")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "no rep was logged"
            time.sleep(0.2)
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                if conn.execute("SELECT count(*) FROM reps").fetchone()[0]:
                    break
        blocker = hold_lock(db, 15.0)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert blocker.wait(30) == 0
    assert proc.returncode == 0, err
    assert "Session completed." in out and "Traceback" not in err
    done = int(re.search(r"(\d+) of \d+ reps", out).group(1))
    with Store.open(db, readonly=True) as store:
        (session,) = store.sessions("P1")
        assert session["status"] == "completed" and session["n_reps"] == done


def test_a_kiosk_visit_on_a_full_disk_ends_interrupted_and_the_log_stays_readable(tmp_path):
    from coach.cli import cli
    from coach.screen.display import NullDisplay
    from coach.kiosk import Kiosk, KioskConfig, hash_pin, run_kiosk
    from streams import ListSource, session_stream

    store = Store.open(tmp_path / "c.db")
    store.add_patient("12")
    store.set_plan("12", [{"exercise": EXERCISE, "reps": 3, "hold_s": 2.0, "rest_s": 1.0}])
    frames = session_stream(36, rep_starts=(10, 17, 24))

    class FillsUp(ListSource):             # the disk fills once the first rep is logged
        def read(self):
            item = super().read()
            if item is not None and item.t >= 16.0 and not getattr(self, "full", False):
                self.full = True
                fill_disk(store)
            return item

    kiosk = Kiosk(store, KioskConfig(pin_hash=hash_pin("2468"), idle_timeout_s=8.0, summary_s=3.0, intro_s=1.0))
    display = NullDisplay()
    typed = [(0.5 + 0.1 * i, "action", f"key:{c}") for i, c in enumerate("12")] + [(0.7, "action", "key:enter")]
    run_kiosk(kiosk, FillsUp(frames), display, events=typed)
    assert any(v.extra.get("saving") for v in display.views)                # "saving…" while it retried
    assert display.views[-1].screen == "kiosk_error" and "full" in display.views[-1].text
    assert [v.status for v in kiosk.visits] == ["interrupted"]
    store.close()
    (sid,) = [v.session_id for v in kiosk.visits]
    disk = on_disk(tmp_path / "c.db", sid)
    assert disk["status"] == "interrupted" and "full" in disk["reason"] and 1 <= len(disk["reps"]) < 3
    out = CliRunner().invoke(cli, ["sessions", "--db", str(tmp_path / "c.db")])     # a readable log
    assert out.exit_code == 0 and "interrupted" in out.output


def test_a_queued_write_runs_after_its_rep_and_is_retried_like_it(tmp_path):
    """`SessionLog.queue`: a write that belongs to a rep (a note on it) waits for it."""
    clock = FrameClock()
    store, log = logged(tmp_path, clock)
    store.db.execute("CREATE TABLE notes (rep_id TEXT, idx INTEGER)")
    log.write(session_records(1)[0])                 # the set starts
    fill_disk(store)
    idx = 0
    while not log.saving:                            # reps until one finds no room
        log.write([RepEnded(Rep(idx, idx, idx + 0.5, idx + 1.0, 0.9), EXERCISE)])
        idx += 1

    def note(store, idx):
        (rep_id,) = store.db.execute("SELECT id FROM reps WHERE idx = ?", [idx]).fetchone()
        with store.db.conn:
            store.db.execute("INSERT INTO notes VALUES (?, ?)", [rep_id, idx])
    log.queue(note, idx - 1)
    assert log.saving and [w for w, *_ in log.pending] == ["add_rep", note]
    free_disk(store)
    clock.now += 5.0
    log.write([])
    assert not log.pending and not log.saving
    assert store.db.execute("SELECT n.idx FROM notes n JOIN reps r ON r.id = n.rep_id").fetchall() == [(idx - 1,)]
    log.close("interrupted")
    store.close()


# ---- issue 17, item 9: a rep's evenness goes with the rep; a full disk never ends in a traceback --------
def smiles(n_reps: int):
    """A plan of `n_reps` gentle smiles and the landmark frames of a patient doing them."""
    from coach.core.demonstration import performed
    from coach.core.exercises import load_library
    from streams import session_stream

    plan = [load_library()[0][EXERCISE].with_overrides(reps=n_reps, rest_s=2.0)]
    starts = [6.0 + 8.0 * i for i in range(n_reps)]
    return plan, performed(session_stream(0.2)[0], plan[0], starts, starts[-1] + 8.0)


def evenness_on_disk(db: Path) -> dict[int, tuple]:
    """{rep idx: (onset lag, late side, amplitude ratio, smoothness)} as a separate reader finds them."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {idx: tuple(rest) for idx, *rest in conn.execute(
            "SELECT r.idx, e.onset_lag_ms, e.late_side, e.amplitude_ratio, e.smoothness FROM reps r "
            "JOIN rep_evenness e ON e.rep_id = r.id ORDER BY r.idx")}
    finally:
        conn.close()


def expected_evenness(session) -> dict[int, tuple]:
    """The session's own reps (what the patient saw), each rep's evenness as it computed it."""
    reps = [r for tally in session.tallies for r in tally.reps]
    assert reps and all(r.amplitude_ratio is not None for r in reps)      # there is evenness to keep
    return {r.index: (r.onset_lag_ms, r.late_side, r.amplitude_ratio, r.smoothness) for r in reps}


def run_session(store: Store, plan, source):
    from coach.app import coach_session
    from coach.screen.display import NullDisplay

    session, _ = coach_session(source, plan, store=store, patient="P1", welcome_s=0.5, summary_s=0.5,
                               display=NullDisplay(), view="mesh")
    return session


def test_a_disk_full_for_a_while_keeps_every_reps_evenness_with_its_rep(tmp_path, caplog):
    """The disk fills once the first rep is logged and frees again later: the reps written late come
    with their evenness (one write, retried whole), and the session completes."""
    from streams import ListSource

    db = tmp_path / "c.db"
    make_patient(db)
    plan, frames = smiles(3)

    store = Store.open(db)

    class FillsThenFrees(ListSource):
        state = "free"

        def read(self):
            item = super().read()
            if item is not None:
                if self.state == "free" and evenness_on_disk(db):
                    fill_disk(store)
                    self.state = "full"
                elif self.state == "full" and item.t >= 28.0:
                    free_disk(store)
                    self.state = "freed"
            return item

    source = FillsThenFrees(frames)
    session = run_session(store, plan, source)
    assert source.state == "freed" and "is full" in caplog.text          # writes really waited
    expected = expected_evenness(session)
    assert len(expected) == 3
    assert evenness_on_disk(db) == expected
    (row,) = sqlite3.connect(db).execute("SELECT status FROM sessions").fetchall()
    assert row == ("completed",)


@pytest.mark.slow
def test_a_lock_held_by_another_program_keeps_every_reps_evenness_with_its_rep(tmp_path, caplog):
    """Another program holds the write lock for 4 s from the end of the first rep: the reps it held
    back are written with their evenness once it lets go, and the session completes."""
    from streams import ListSource

    db = tmp_path / "c.db"
    make_patient(db)
    plan, frames = smiles(3)
    blocker = []

    class LockedAfterFirstRep(ListSource):
        def read(self):
            item = super().read()
            if item is not None and not blocker and evenness_on_disk(db):
                blocker.append(hold_lock(db, 4.0))
            return item

    session = run_session(Store.open(db), plan, LockedAfterFirstRep(frames))
    assert blocker and blocker[0].wait(30) == 0 and "locked" in caplog.text     # writes really waited
    expected = expected_evenness(session)
    assert len(expected) == 3 and evenness_on_disk(db) == expected
    with Store.open(db, readonly=True) as store:
        (s,) = store.sessions("P1")
        assert s["status"] == "completed" and s["n_reps"] == 3


def fill_disk_for_preferences(store: Store, patient_id: str) -> None:
    """A real SQLITE_FULL for one patient's settings row: other patients' (smaller) rows go in until,
    with the database held at its size (`fill_disk`), a probe of that row finds no room. The probe
    is rolled back; the disk is left full."""
    conn = store.db.conn
    for k in range(5000):
        fill_disk(store)
        conn.execute("BEGIN")
        try:
            conn.execute("INSERT INTO preferences VALUES (?, '{}', '')", [patient_id])
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc)
            return
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        free_disk(store)
        with conn:
            conn.execute("INSERT INTO preferences VALUES (?, '{}', '')", [f"other-{k:0{len(patient_id) - 6}d}"])
    raise AssertionError("the settings row always found room")


def test_settings_on_a_full_disk_are_not_remembered_and_say_so_without_raising(tmp_path, caplog):
    from coach.log import preferences

    store, log = logged(tmp_path)
    log.write(session_records(2)[0])
    for recs in session_records(2)[1:]:
        log.write(recs)
    assert log.status == "completed"
    pid = store.get_patient("P1")["id"]
    fill_disk_for_preferences(store, pid)
    before = on_disk(tmp_path / "c.db", log.session_id)
    assert preferences.save(store, "P1", {"view": "mesh", "volume": 0.5}) is False
    assert "display settings were not remembered" in caplog.text and "is full" in caplog.text
    assert preferences.load(store, "P1") == {}
    assert on_disk(tmp_path / "c.db", log.session_id) == before         # the session's records untouched
    free_disk(store)
    assert preferences.save(store, "P1", {"view": "mesh"}) is True and preferences.load(store, "P1")["view"] == "mesh"
    store.close()


def test_coach_run_whose_disk_fills_as_the_session_ends_completes_and_says_so(tmp_path, caplog):
    """The disk fills just after the session is logged, before its settings are remembered: the
    session is whole and `completed`, the settings are not remembered, and that is one sentence."""
    db = tmp_path / "c.db"
    make_patient(db)
    plan, frames = smiles(2)
    store = Store.open(db)
    ended = store.end_session

    def end_then_fill(*args, **kwargs):
        ended(*args, **kwargs)
        fill_disk_for_preferences(store, store.get_patient("P1")["id"])
    store.end_session = end_then_fill
    from streams import ListSource

    session = run_session(store, plan, ListSource(frames))
    assert "display settings were not remembered" in caplog.text and "is full" in caplog.text
    with Store.open(db, readonly=True) as reader:
        (s,) = reader.sessions("P1")
        assert s["status"] == "completed" and s["n_reps"] == len(expected_evenness(session)) == 2
        assert "preferences" in reader.db.table_names() and not list(reader.db.query(
            "SELECT * FROM preferences WHERE patient_id = ?", [reader.get_patient("P1")["id"]]))
