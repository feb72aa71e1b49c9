"""Clinic kiosk (coach kiosk): whole visits replayed against the real kiosk loop.

Most tests drive `run_kiosk` with a NullDisplay and a list of landmark frames
(a real face smiling, tests/streams.py); one runs `coach kiosk --headless` in a
subprocess with SDL's dummy drivers and checks its screenshots.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from coach.errors import CoachError
from coach.screen.display import NullDisplay
from coach.camera.sources import SourceStatus
from coach.log.store import Store
from coach.kiosk import (UNKNOWN_CODE, Kiosk, KioskConfig, hash_pin, load_events, parse_event, run_kiosk,
                         verify_pin)
from streams import ListSource, screens, session_stream

PIN = "2468"
SMILE = {"exercise": "gentle-smile", "reps": 2, "hold_s": 2.0, "rest_s": 1.0}


@pytest.fixture(scope="module")
def pin_hash():
    return hash_pin(PIN)


@pytest.fixture
def config(pin_hash):
    return KioskConfig(pin_hash=pin_hash, idle_timeout_s=8.0, summary_s=3.0, intro_s=1.0, lockout_s=5.0)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "c.db")
    s.add_patient("12", "Alice Smith", "left")
    s.set_plan("12", [SMILE])
    s.add_patient("34", "Bob Jones", "right")
    s.set_plan("34", [{**SMILE, "reps": 1}])
    yield s
    s.close()


def typed(t: float, code: str, step: float = 0.1, ready: float | None = None) -> list:
    """Events: type `code` on the keypad from time t, then OK; then Ready on the instructions at `ready`."""
    ev = [(t + i * step, "action", f"key:{c}") for i, c in enumerate(code)]
    return ev + [(t + len(code) * step, "action", "key:enter")] + ([(ready, "action", "ready")] if ready else [])


def run(store, config, frames, events, display=None):
    display = display or NullDisplay()
    kiosk = Kiosk(store, config)
    result = run_kiosk(kiosk, ListSource(frames), display, events=events)
    return kiosk, display, result


def visible_text(view) -> str:
    return " ".join([view.title, view.text, json.dumps(view.summary), json.dumps(view.extra, default=str)])


# ---- a visit ------------------------------------------------------------------------------------
def test_full_visit_logs_a_completed_kiosk_session_for_that_patient(store, config):
    frames = session_stream(30, rep_starts=(10, 17))
    kiosk, display, result = run(store, config, frames, typed(0.5, "12", ready=5.0))
    assert [(v.code, v.status, v.reps) for v in kiosk.visits] == [("12", "completed", 2)]
    sessions = store.sessions("12")
    assert len(sessions) == 1 and sessions[0]["status"] == "completed" and sessions[0]["kind"] == "kiosk"
    assert sessions[0]["n_reps"] == 2 and store.sessions("34") == []
    s = screens(display)
    assert s[0] == "kiosk_welcome" and "summary" in s and s[-1] == "kiosk_welcome"
    assert s.index("calibrate") < s.index("hold") < s.index("summary")
    assert display.fullscreen and display.cursor is False          # locked down
    assert not result.exited and kiosk.at_rest
    # no names anywhere, ever
    assert not any("Alice" in visible_text(v) or "Bob" in visible_text(v) for v in display.views)


def test_unknown_code_is_refused_kindly_and_stays_on_welcome(store, config):
    frames = session_stream(4)
    kiosk, display, _ = run(store, config, frames, typed(0.5, "999"))
    shown = [v for v in display.views if v.extra.get("message")]
    assert shown and shown[0].screen == "kiosk_welcome" and shown[0].extra["message"] == UNKNOWN_CODE
    assert all(v.screen == "kiosk_welcome" for v in display.views)
    assert kiosk.visits == [] and store.sessions() == []


def test_keypad_clicks_type_the_code(store, config):
    from coach.screen import keypad
    keys = {k.action: k.rect for k in keypad.layout((1280, 720))}

    def click(t, action):
        x, y, w, h = keys[action]
        return (t, "action", f"click:{x + w // 2},{y + h // 2}")
    events = [click(0.5, "key:3"), click(0.6, "key:4"), click(0.7, "key:9"), click(0.8, "key:backspace"),
              click(0.9, "key:enter")]
    kiosk, display, _ = run(store, config, session_stream(3), events)
    assert [v.code for v in kiosk.visits] == ["34"]


def test_idle_timeout_returns_to_welcome_and_keeps_the_reps(store, config):
    # One rep, then the patient walks away (no face) for good.
    frames = session_stream(40, rep_starts=(10,), gap=(16, 40))
    kiosk, display, _ = run(store, config, frames, typed(0.5, "12", ready=5.0))
    (s,) = store.sessions("12")
    assert s["status"] == "interrupted" and s["n_reps"] == 1
    assert [(v.status, v.reps) for v in kiosk.visits] == [("interrupted", 1)]
    assert "summary" not in screens(display)
    last = display.views[-1]
    assert last.screen == "kiosk_welcome" and last.extra["entry"] == ""
    back = next(v.t for v in display.views if v.t > 16 and v.screen == "kiosk_welcome")
    assert 16 + config.idle_timeout_s - 1 <= back <= 16 + config.idle_timeout_s + 1


def test_idle_timeout_clears_a_half_typed_code(store, config):
    frames = session_stream(20, gap=(1, 20))
    kiosk, display, _ = run(store, config, frames, [(0.5, "action", "key:1")])
    assert display.views[-1].extra["entry"] == "" and kiosk.visits == []


# ---- lockdown -----------------------------------------------------------------------------------
def test_escape_window_close_and_fullscreen_keys_are_ignored(store, config):
    frames = session_stream(30, rep_starts=(10, 17))
    events = [(0.2, "action", "quit"), (0.3, "action", "fullscreen")] + typed(0.5, "12", ready=5.5) + [
        (5.0, "action", "quit"), (12.0, "action", "quit"), (12.1, "action", "fullscreen")]
    kiosk, display, result = run(store, config, frames, events)
    assert not result.exited and not kiosk.exit_requested
    assert "confirm_quit" not in screens(display)
    assert [(v.status, v.reps) for v in kiosk.visits] == [("completed", 2)]
    assert display.fullscreen


def test_a_wrong_pin_does_not_exit_the_right_one_does(store, config):
    frames = session_stream(12)
    events = [(1.0, "action", "admin")] + typed(1.5, "1111") + typed(3.0, PIN)
    kiosk, display, result = run(store, config, frames, events)
    assert result.exited
    pin_views = [v for v in display.views if v.screen == "kiosk_pin"]
    assert any("not right" in v.extra["message"] for v in pin_views)
    assert all(v.extra["mask"] for v in pin_views)
    assert result.t == pytest.approx(3.0 + 0.4, abs=0.05)     # exited right at the good PIN


def test_pin_cancel_returns_and_corner_taps_open_the_pin_screen(store, config):
    from coach.screen import keypad
    cancel = next(k.rect for k in keypad.layout((1280, 720), cancel=True) if k.action == "cancel")
    taps = [(1.0 + 0.2 * i, "action", "click:30,40") for i in range(config.admin_taps)]
    events = taps + [(3.0, "action", f"click:{cancel[0] + 10},{cancel[1] + 10}")]
    kiosk, display, result = run(store, config, session_stream(5), events)
    s = screens(display)
    assert s == ["kiosk_welcome", "kiosk_pin", "kiosk_welcome"] and not result.exited


def test_wrong_pins_lock_the_keypad_out_doubling(store, config, pin_hash):
    kiosk = Kiosk(store, config)
    frame = session_stream(0.1)[0]
    t = [0.0]

    def press(*actions, dt=0.1):
        t[0] += dt
        return kiosk.step(frame, t[0], list(actions)).view

    def enter(pin):
        for c in pin:
            press(f"key:{c}")
        return press("key:enter")

    press("admin")
    for _ in range(3):
        view = enter("0000")
    assert view.extra["locked"] and "Try again in 5 s" in view.extra["message"]
    enter(PIN)                                        # locked: even the right PIN is not taken
    assert not kiosk.exit_requested
    t[0] += 5.0
    for _ in range(3):
        view = enter("0000")
    assert view.extra["locked"] and "in 10 s" in view.extra["message"]
    t[0] += 6.0
    enter(PIN)
    assert not kiosk.exit_requested                    # 10 s this time, not 5
    t[0] += 4.5
    enter(PIN)
    assert kiosk.exit_requested


# ---- faults -------------------------------------------------------------------------------------
def test_camera_lost_mid_visit_asks_for_staff_and_recovers(store, config):
    frames = session_stream(36, rep_starts=(10, 19, 26))
    lost = [SourceStatus("camera_lost", "gone") if 14.5 <= f.t < 17.0 else f for f in frames]
    kiosk, display, _ = run(store, config, lost, typed(0.5, "12", ready=5.0))
    cam = [v for v in display.views if v.screen == "camera_lost"]
    assert cam and "ask staff" in cam[0].text
    assert [(v.status, v.reps) for v in kiosk.visits] == [("completed", 2)]
    events = store.event_rows("12")
    assert [e["kind"] for e in events if e["kind"] == "camera_lost"] == ["camera_lost"]


def test_camera_lost_by_event_script_at_welcome(store, config):
    events = [(1.0, "camera", "lost"), (2.0, "camera", "ok")]
    kiosk, display, _ = run(store, config, session_stream(4), events)
    assert screens(display) == ["kiosk_welcome", "camera_lost", "kiosk_welcome"]


def test_a_full_disk_shows_staff_a_message_and_keeps_what_was_saved(store, config, tmp_path):
    real_add_rep, calls = store.add_rep, []

    def add_rep(*a, **kw):
        calls.append(1)
        if len(calls) > 1:
            raise CoachError(f"The disk holding {store.path} is full.")
        return real_add_rep(*a, **kw)
    store.add_rep = add_rep
    frames = session_stream(30, rep_starts=(10, 17))
    kiosk, display, _ = run(store, config, frames, typed(0.5, "12", ready=5.0))
    err = [v for v in display.views if v.screen == "kiosk_error"]
    assert err and "ask staff" in err[0].title.lower() and "full" in err[0].text
    assert display.views[-1].screen == "kiosk_error"             # stays up for staff
    del store.add_rep
    (s,) = store.sessions("12")
    assert s["n_reps"] == 1 and s["status"] == "interrupted"
    assert (tmp_path / "c.db").exists()


def test_a_database_that_cannot_open_shows_the_staff_screen(config):
    kiosk = Kiosk(None, config, store_error="The database /x/c.db is read-only; coach needs write access to it.")
    view = kiosk.step(session_stream(0.1)[0], 0.1, ["key:1", "key:enter"]).view
    assert view.screen == "kiosk_error" and "read-only" in view.text


# ---- privacy ------------------------------------------------------------------------------------
def test_two_patients_in_a_row_each_see_only_their_own_data(store, config):
    frames = session_stream(60, rep_starts=(10, 17, 40))
    events = typed(0.5, "12", ready=5.0) + typed(30.5, "34", ready=35.0)
    kiosk, display, _ = run(store, config, frames, events)
    assert [(v.code, v.status, v.reps) for v in kiosk.visits] == [("12", "completed", 2), ("34", "completed", 1)]
    summaries = [v for v in display.views if v.screen == "summary"]
    first = [v for v in summaries if v.t < 30]
    second = [v for v in summaries if v.t > 30]
    assert first and second
    text2 = " ".join(visible_text(v) for v in second)
    assert "1 of 1" in text2 and "2 of 2" not in text2 and "last time" not in text2
    after = [v for v in display.views if v.t > 30.5]
    assert not any("12" in str(v.extra.get("entry", "")) for v in after)
    assert [s["n_reps"] for s in store.sessions("34")] == [1]
    assert [s["n_reps"] for s in store.sessions("12")] == [2]


# ---- config, PIN, events ------------------------------------------------------------------------
def test_pin_is_stored_hashed_and_verified(tmp_path):
    cfg = KioskConfig()
    cfg.set_pin("13579")
    path = cfg.save(tmp_path / "k" / "kiosk.json")
    text = path.read_text()
    assert "13579" not in text and text.count("scrypt$") == 1
    assert os.stat(path).st_mode & 0o077 == 0
    loaded = KioskConfig.load(path)
    assert verify_pin("13579", loaded.pin_hash) and not verify_pin("13578", loaded.pin_hash)
    assert hash_pin("13579") != hash_pin("13579")                 # salted
    with pytest.raises(CoachError):
        cfg.set_pin("12ab")
    assert KioskConfig.load(tmp_path / "missing.json").pin_hash is None


def test_event_lines_are_parsed(tmp_path):
    assert parse_event({"t": 1, "key": "7"}) == (1.0, "action", "key:7")
    assert parse_event({"t": 1, "key": "enter"}) == (1.0, "action", "key:enter")
    assert parse_event({"t": 1, "click": [10, 20.4]}) == (1.0, "action", "click:10,20")
    assert parse_event({"t": 2, "camera": "lost"}) == (2.0, "camera", "lost")
    assert parse_event({"t": 2, "action": "admin"}) == (2.0, "action", "admin")
    p = tmp_path / "e.jsonl"
    p.write_text('{"t": 2, "key": "1"}\n\n{"t": 1, "key": "2"}\n')
    assert [e[2] for e in load_events(p)] == ["key:2", "key:1"]
    p.write_text('{"t": 2, "key": "x"}\n')
    with pytest.raises(CoachError, match="line 1"):
        load_events(p)


# ---- the real command, headless -----------------------------------------------------------------
@pytest.mark.slow   # starts a process
def test_headless_cli_visit_with_screenshots(tmp_path):
    from coach.core.frames import StreamInfo, save_stream

    frames = session_stream(28, rep_starts=(10, 17))
    stream = tmp_path / "visit.landmarks.npz"
    save_stream(stream, frames, StreamInfo("kiosk-test", 30.0, frames[0].width, frames[0].height))
    db, cfg, shots = tmp_path / "c.db", tmp_path / "kiosk.json", tmp_path / "shots"
    with Store.open(db) as s:
        s.add_patient("12", "Alice Smith")
        s.set_plan("12", [SMILE])
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk"}
    cmd = [sys.executable, "-m", "coach", "kiosk"]
    subprocess.run(cmd + ["set-pin", "--pin", PIN, "--config", str(cfg)], check=True, env=env, cwd=tmp_path,
                   capture_output=True)
    data = json.loads(cfg.read_text())
    data.update(intro_s=1.0, summary_s=3.0, idle_timeout_s=10.0)
    cfg.write_text(json.dumps(data))
    events = [{"t": 0.3, "key": "9"}, {"t": 0.4, "key": "enter"},
              {"t": 0.8, "key": "1"}, {"t": 0.9, "key": "2"}, {"t": 1.0, "key": "enter"},
              {"t": 5.0, "key": "escape"}, {"t": 5.5, "action": "ready"},
              {"t": 26.0, "action": "admin"}] + \
             [{"t": 26.2 + 0.1 * i, "key": c} for i, c in enumerate("0000")] + [{"t": 26.7, "key": "enter"}] + \
             [{"t": 27.0 + 0.1 * i, "key": c} for i, c in enumerate(PIN)] + [{"t": 27.5, "key": "enter"}]
    ev = tmp_path / "events.jsonl"
    ev.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    out = subprocess.run(cmd + ["--headless", "--events", str(ev), "--replay", str(stream), "--db", str(db),
                                "--config", str(cfg), "--shots", str(shots)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "visit 12:" in out.stdout and "completed, 2 reps" in out.stdout and "closed by staff" in out.stdout
    with Store.open(db, readonly=True) as s:
        (row,) = s.sessions("12")
        assert row["kind"] == "kiosk" and row["status"] == "completed"

    import pygame
    names = sorted(p.name for p in shots.glob("*.png"))
    wanted = ("kiosk_welcome", "kiosk_welcome-message", "welcome", "calibrate", "summary", "kiosk_pin",
              "kiosk_pin-message")
    by_key = {n[4:-4]: shots / n for n in names}
    assert set(wanted) <= set(by_key), names
    images = {}
    for key in wanted:
        img = pygame.surfarray.array3d(pygame.image.load(str(by_key[key])))
        assert img.shape[:2] == (1280, 720)
        assert img.std() > 10                                 # not blank
        images[key] = img
    keys = list(images)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert np.abs(images[a].astype(int) - images[b]).mean() > 0.5, (a, b)


def test_touching_a_drawn_key_gives_its_action(monkeypatch, tmp_path):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(tmp_path / "out.raw"))
    import pygame

    from coach.screen import keypad
    from coach.screen.display import PygameDisplay
    from coach.kiosk import show
    d = PygameDisplay(mute=True)
    try:
        kiosk = Kiosk(None, KioskConfig(), store_error="x")
        kiosk.state, kiosk.error = "welcome", ""
        show(d, kiosk.step(None, 0.1, []).view)
        keys = {k.action: k.rect for k in keypad.layout(d.size)}
        for action in ("key:5", "key:enter", "key:backspace"):
            x, y, w, h = keys[action]
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(x + w // 2, y + h // 2)))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(20, 20)))
        assert d.poll() == ["key:5", "key:enter", "key:backspace", "click:20,20"]
    finally:
        d.close()


def test_a_patient_without_a_plan_gets_the_default_plan(store, config):
    store.add_patient("56")
    kiosk = Kiosk(store, config)
    plan = kiosk._plan("56")
    assert [(ex.id, ex.reps) for ex in plan] == [("gentle-smile", 3), ("gentle-eye-closure", 3)]
    assert [(ex.id, ex.reps, ex.hold_s) for ex in kiosk._plan("12")] == [("gentle-smile", 2, 2.0)]


def test_a_camera_that_is_not_there_yet_reads_as_lost_and_is_retried():
    from coach.errors import InputError
    from coach.camera.webcam import RetryingCamera
    tries = []

    def factory():
        tries.append(1)
        if len(tries) < 2:
            raise InputError("no camera")
        return ListSource(["frame"])
    cam = RetryingCamera(0, retry_s=0.0, factory=factory)
    first = cam.read()
    assert isinstance(first, SourceStatus) and first.state == "camera_lost"
    assert cam.read() == "frame"


def test_start_screen_carries_the_safety_notice(store, config):
    from coach.core.session import SAFETY_NOTICE

    frames = session_stream(12)
    _, display, _ = run(store, config, frames, typed(0.5, "12"))
    start = [v for v in display.views if v.screen == "welcome"]
    assert start and all(SAFETY_NOTICE in visible_text(v) for v in start)
