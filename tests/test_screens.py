"""What the patient sees, screen by screen, in sessions run through the real loop: pacing the patient
controls (instructions, Ready, the count-in), the demonstration, the summary, Your progress, where they
are in the plan, and the layout (no text overlaps, contrast).

Sessions run on landmark streams of a patient performing each exercise on a real calm face
(`coach.core.demonstration.performed`); screens are drawn headless (SDL's dummy video and disk audio
drivers, the `window` fixture) and checked on what was drawn: the renderer's text rectangles, its touch
targets and its pixels."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from coach.app import HomeDriver, run_loop
from coach.core.demonstration import performed
from coach.core.feedback import FeedbackView, Meter
from coach.core.practice import History, progress_overview, streak
from coach.core.session import COUNTDOWN_S, Session
from coach.core.screens import PAUSE, STOP
from coach.screen.display import NullDisplay
from home_runs import ex, run
from streams import ListSource, screens


pytestmark = pytest.mark.usefixtures("headless")   # SDL dummy video and disk audio (conftest)


def still(seconds, calm):
    from coach.core.frames import LandmarkFrame
    rng = np.random.default_rng(2)
    return [LandmarkFrame(i / 30, calm.width, calm.height,
                          (calm.points + rng.normal(0, 0.0003, calm.points.shape)).astype(np.float32), index=i)
            for i in range(int(seconds * 30))]


def first(display, screen):
    return next(v for v in display.views if v.screen == screen)


def test_instructions_wait_for_ready(library, calm):
    plan = [ex(library, "gentle-smile")]
    session, display = run(still(40, calm), plan)
    assert screens(display) == ["welcome", "calibrate", "instruct", "summary"]     # nobody pressed Ready
    shown = [v.t for v in display.views if v.screen == "instruct"]
    assert shown[-1] - shown[0] > 30
    for action in ("key:enter", "space", "ready"):      # Enter, Space, or the Ready touch target
        _, d = run(still(12, calm), plan, events=[(6.0, "action", action)])
        seq = screens(d)
        assert seq[2:4] == ["instruct", "countdown"], (action, seq)
        moved = next(v.t for v in d.views if v.screen == "move")
        assert moved == pytest.approx(6.0 + COUNTDOWN_S, abs=0.1)


def test_the_ready_target_is_large_and_answers_a_touch(library, calm, window):
    import pygame
    session, _ = run(still(6, calm), [ex(library, "gentle-smile")])
    view = next(v for v in _.views if v.screen == "instruct")
    window.draw(view)
    (rect, action), = window.renderer.buttons
    assert action == "ready" and rect.w >= 200 and rect.h >= 80
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=rect.center))
    assert window.poll() == ["ready"]


def test_a_short_countdown_leads_into_the_first_rep(library, calm):
    plan = [ex(library, "gentle-smile")]
    frames = performed(calm, plan[0], [12.0, 21.0], 30.0)
    session, display = run(frames, plan, events=[(5.0, "action", "ready")])
    counts = [v for v in display.views if v.screen == "countdown"]
    assert counts[0].countdown_s == pytest.approx(3.0, abs=0.05) and counts[-1].countdown_s < 0.1
    cues = [c for c, _ in display.played]
    assert cues[:4] == ["countdown", "countdown", "countdown", "start"]
    assert counts[0].say == "Get ready."
    assert len(session.tallies[0].reps) == 2


def test_moving_on_the_instructions_counts_as_ready(library, calm):
    plan = [ex(library, "gentle-smile")]
    session, display = run(performed(calm, plan[0], [6.0, 14.0], 22.0), plan)
    assert "countdown" not in screens(display) and len(session.tallies[0].reps) == 2


def three_exercises(library, calm):
    plan = [ex(library, n) for n in ("gentle-smile", "gentle-eye-closure", "brow-lift")]
    frames, t0 = [], 0.0
    from coach.core.frames import LandmarkFrame
    for e, starts in zip(plan, ([6.0, 14.0], [3.0, 11.0], [3.0, 11.0])):
        part = performed(calm, e, starts, starts[-1] + 9.0)
        frames += [LandmarkFrame(t0 + f.t, f.width, f.height, f.points, index=len(frames) + i)
                   for i, f in enumerate(part)]
        t0 += part[-1].t + 1 / 30
    return plan, frames


def test_summary_lists_every_exercise_and_stays_until_dismissed(library, calm, window):
    plan, frames = three_exercises(library, calm)
    end = frames[-1].t
    display = NullDisplay()
    session = Session(plan, welcome_s=0.5)
    driver = HomeDriver(session, summary_s=None)            # at home: until the patient closes it
    run_loop(ListSource(frames), driver, display, clock=None, events=[(end + 60.0, "action", "done")])
    assert session.status == "completed"
    summary = [v for v in display.views if v.screen == "summary"]
    assert summary[-1].t - summary[0].t > 55 and display.views[-1].screen == "summary" and driver.finished
    table = summary[-1].table
    assert [row[0] for row in table[1:]] == ["Gentle smile", "Gentle eye closure", "Brow lift"]
    assert all(row[1] == "2 of 2" for row in table[1:])
    window.draw(summary[-1])
    drawn = [s for _, s in window.renderer.text.drawn]
    assert {"Gentle smile", "Gentle eye closure", "Brow lift"} <= set(drawn)
    assert {a for _, a in window.renderer.buttons} == {"done"}


def test_the_kiosk_summary_counts_down(tmp_path, library, calm):
    from coach.log.store import Store
    from coach.kiosk import Kiosk, KioskConfig

    store = Store.open(tmp_path / "c.db")
    store.add_patient("12")
    store.set_plan("12", [{"exercise": "gentle-smile", "reps": 1, "rest_s": 2.0}])
    kiosk = Kiosk(store, KioskConfig(summary_s=5.0, intro_s=0.5))
    frames = performed(calm, library["gentle-smile"], [6.0], 20.0)
    texts = []
    for i, f in enumerate(frames):
        acts = {3: ["key:1"], 4: ["key:2"], 5: ["key:enter"]}.get(i, [])
        view = kiosk.step(f, f.t, acts).view
        if view.screen == "summary":
            texts.append(view.text)
    store.close()
    assert texts and "closes in 5 s" in texts[0] and any("closes in 1 s" in t for t in texts)


def test_the_demonstration_animates_at_the_patients_target(library, calm, window):
    from coach.core.calibration import MIN_BASELINE_FRAMES, REL_INDEX, fit_baseline, relative
    from coach.core.frames import LandmarkFrame
    from coach.core.measures import measure

    smile = ex(library, "gentle-smile")
    session, display = run(still(12, calm), [smile], targets={"gentle-smile": 0.12})
    shown = [v for v in display.views if v.screen == "instruct"]
    pts = np.stack([v.points for v in shown])
    assert np.abs(pts - pts[0]).max() > 0.005                          # it moves ...
    base = fit_baseline([measure(calm)] * MIN_BASELINE_FRAMES)
    sizes = [relative(measure(LandmarkFrame(0, calm.width, calm.height, p)), base)[
        REL_INDEX["commissure_excursion"]].mean() for p in pts]
    assert max(sizes) == pytest.approx(0.12, abs=0.01)               # ... to the patient's target, not the file's
    assert {v.extra["demo"] for v in shown} >= {"move", "hold", "relax"}
    images = []
    for v in (shown[0], next(v for v in shown if v.extra["demo"] == "hold")):
        window.draw(v)
        images.append(window._pg.surfarray.array3d(window.screen).copy())
    half = images[0].shape[0] // 2                                   # (x, y, 3): the right half is the face
    assert np.abs(images[0][half:].astype(int) - images[1][half:]).sum(-1).astype(bool).sum() > 200


def history(today):
    rows = []
    for ago, clean in ((9, 2), (8, 3), (2, 4), (1, 5), (0, 5)):
        day = (today - timedelta(days=ago)).isoformat() + "T10:00:00"
        rows += [{"exercise": "gentle-smile", "session_started": day, "complete": 1, "synkinesis": int(i >= clean),
                  "peak": 1.0, "peak_left": 0.15 + 0.01 * (9 - ago), "peak_right": 0.2} for i in range(5)]
    return History(rows, today)


def test_your_progress_shows_14_days_bars_per_exercise_and_the_streak(library, calm, window):
    today = date(2025, 3, 14)
    h = history(today)
    overview = progress_overview(h.reps, today, {"gentle-smile": "Gentle smile"})
    assert len(overview["days"]) == 14 and overview["practised"] == 5 and overview["streak"] == 3
    (smile,) = overview["exercises"]
    rates = [r for _, r, _ in smile["days"] if r is not None]
    assert rates == [0.4, 0.6, 0.8, 1.0, 1.0]
    assert streak({today - timedelta(days=1)}, today) == 1 and streak(set(), today) == 0
    # Reached from the welcome and the summary screens; Back returns.
    plan = [ex(library, "gentle-smile", reps=1)]
    events = [(0.2, "action", "progress"), (1.0, "action", "back"), (1.5, "action", "key:enter")]
    _, display = run(performed(calm, plan[0], [8.0], 16.0), plan, events=events, history=h)
    seq = screens(display)
    assert seq[:3] == ["welcome", "progress", "welcome"]
    view = first(display, "progress")
    window.draw(view)
    drawn = " ".join(s for _, s in window.renderer.text.drawn)
    assert "You practised on 5 of the last 14 days" in drawn and "Gentle smile" in drawn
    assert not any(word in drawn.lower() for word in ("grade", "mild", "moderate", "severe", "sunnybrook"))
    summary = next(v for v in display.views if v.screen == "summary")
    assert "progress" in {b.action for b in summary.buttons}


def test_exercise_and_rep_numbers_show_throughout(library, calm, window):
    plan, frames = three_exercises(library, calm)
    _, display = run(frames, plan)
    for v in display.views:
        if v.screen in ("instruct", "countdown", "move", "hold", "relax", "rest"):
            assert v.exercises_total == 3 and 1 <= v.exercise_no <= 3 and v.reps_total == 2
    hold = next(v for v in display.views if v.screen == "hold" and v.exercise_no == 2)
    window.draw(hold)
    drawn = [s for _, s in window.renderer.text.drawn]
    assert "Exercise 2 of 3" in drawn and "Rep 1 of 2" in drawn


def layout_views(library, calm):
    """A view of every screen a patient can see, from real sessions."""
    plan, frames = three_exercises(library, calm)
    _, d = run(frames, plan, history=history(date.today()), events=[(0.2, "action", "progress"),
                                                                     (0.4, "action", "back")])
    views = {}
    for v in d.views:
        views.setdefault((v.screen, bool(v.banner), bool(v.prompt)), v)
    views[("synkinesis",)] = FeedbackView(
        "hold", "Gentle eye closure", "Hold it gently…", exercise_no=2, exercises_total=3, rep=1, reps_total=5,
        banner="Close your eyes more lightly, until your mouth stays still", highlight=(("mouth", "left"),),
        points=calm.points, hold_fraction=0.4, countdown_s=2.0, buttons=(PAUSE, STOP),
        meters=(Meter("Eye closure", "left", "prime", 0.9, 1.0), Meter("Eye closure", "right", "prime", 1.4, 1.0),
                Meter("Mouth-corner pull", "left", "watch", 0.8, 0.5, True),
                Meter("Mouth-corner pull", "right", "watch", 0.1, 0.5)), band=(0.7, 1.3))
    for screen in ("paused", "confirm_quit", "camera_lost"):
        s = Session(plan, welcome_s=0.5)
        s.state = screen
        views[(screen,)] = s.step(None, 1.0).view if screen != "camera_lost" else \
            s.step(None, 1.0, camera_lost=True).view
    return list(views.values())


@pytest.mark.parametrize("size", ["normal", "large", "largest"])
def test_no_text_overlaps_on_any_screen(library, calm, window, size):
    window.set_text_size(size)
    for view in layout_views(library, calm):
        for mode in ("mirror", "mesh", "meters"):
            window.set_view(mode)
            window.draw(view, np.full((480, 640, 3), 80, np.uint8))
            drawn = window.renderer.text.drawn
            screen = window.screen.get_rect()
            for i, (a, sa) in enumerate(drawn):
                assert screen.contains(a), (view.screen, mode, sa, a)
                for b, sb in drawn[i + 1:]:
                    assert not a.colliderect(b), (size, view.screen, mode, sa, sb)


def runs(column: np.ndarray) -> list[tuple[int, tuple]]:
    """(start, colour) of each run of identical pixels down a column."""
    out = []
    for y, px in enumerate(map(tuple, column)):
        if not out or out[-1][1] != px:
            out.append((y, px))
    return out


def test_goal_line_and_alert_bar_stand_out_at_least_3_to_1(window):
    from coach.screen.palette import ALERT, BAR_MAX, PRIME, REACHED, TEXT, contrast_ratio
    window.set_view("meters")
    meters = (Meter("Smile", "left", "prime", 1.1, 1.0), Meter("Smile", "right", "prime", 0.5, 1.0),
              Meter("Eye", "left", "watch", 0.8, 0.5, True), Meter("Eye", "right", "watch", 0.2, 0.5))
    window.draw(FeedbackView("move", "Gentle smile", meters=meters, band=(0.7, 1.3), reps_total=5))
    img = window._pg.surfarray.array3d(window.screen).transpose(1, 0, 2)
    checked = {"goal": 0, "alert": 0}
    for m, bar in window.renderer.bars:
        col = runs(img[bar.y - 30:bar.bottom + 10, bar.x + bar.w // 3])
        colours = [c for _, c in col]
        for i, c in enumerate(colours):
            neighbours = colours[max(0, i - 1):i] + colours[i + 1:i + 2]
            if m.kind == "prime" and c == TEXT:             # the goal line, against what it touches
                checked["goal"] += 1
                assert all(contrast_ratio(c, n) >= 3 for n in neighbours), (m, colours)
            if m.alert and c == ALERT:                     # the alert bar, against what it touches
                checked["alert"] += 1
                assert all(contrast_ratio(c, n) >= 3 for n in neighbours), (m, colours)
        if m.kind == "prime":
            y = bar.bottom - round(1.0 / BAR_MAX * bar.h)
            assert tuple(img[y, bar.centerx]) == TEXT
            fill = REACHED if m.value >= 0.7 else PRIME
            assert fill in colours
    assert checked["goal"] >= 2 and checked["alert"] >= 1


def test_saving_shows_while_the_log_waits(window):
    """A lock or a full disk holds records back: the patient sees "Saving…", and only then."""
    from coach.core.feedback import FeedbackView

    view = FeedbackView("rest", "Gentle smile", "Rest.", countdown_s=2.0, reps_total=5)
    window.draw(view)
    assert "Saving…" not in [s for _, s in window.renderer.text.drawn]
    window.draw(FeedbackView("rest", "Gentle smile", "Rest.", countdown_s=2.0, reps_total=5, extra={"saving": True}))
    assert "Saving…" in [s for _, s in window.renderer.text.drawn]
