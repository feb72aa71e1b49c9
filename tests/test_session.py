"""The coaching state machine and the live loop, on replayed landmarks, with no screen."""
from __future__ import annotations

import pytest

from coach.app import HomeDriver, LoopStats, run_loop
from coach.core.session import FACE_LOST_S, Session
from coach.screen.display import NullDisplay
from streams import ListSource, screens, session_stream


@pytest.fixture
def smile3(library):
    return library["gentle-smile"].with_overrides(reps=3)


def run(frames, plan, actions=None, display_voice=False, **kw):
    display = NullDisplay(actions, voice=display_voice)
    kw.setdefault("ready_s", 3.0)        # Ready, then 3-2-1: the reps start at 9 s (the streams smile from 10 s)
    session = Session(plan, welcome_s=1.0, **kw)
    stats = LoopStats()
    run_loop(ListSource(frames), HomeDriver(session), display, stats=stats)
    return session, display


def test_full_flow_counts_reps_and_flags_synkinesis(smile3):
    frames = session_stream(36, rep_starts=(10, 17, 24), synk_side="left", synk_reps=(1,))
    session, display = run(frames, [smile3])
    assert session.status == "completed"
    assert screens(display)[:7] == ["welcome", "calibrate", "instruct", "countdown", "move", "hold", "relax"]
    assert screens(display)[-1] == "summary"
    reps = session.tallies[0].reps
    assert [r.synkinesis for r in reps] == [False, True, False]
    banners = [v for v in display.views if v.banner]
    assert banners and all(v.t >= 17 and v.t <= 23 for v in banners)
    # The banner says what to change, not the symptom; only while moving or holding.
    assert banners[0].banner == "Make the smile smaller until your eye stays open"
    assert {v.screen for v in banners} <= {"move", "hold"}
    assert ("eye", "left") in banners[0].highlight
    cues = [c for c, _ in display.played]
    assert cues.count("synkinesis") == 1 and "session_done" in cues and "hold" in cues and "relax" in cues
    rows = dict(display.views[-1].summary)
    assert rows["Gentle smile"] == "3 of 3 reps" and rows["   without co-movement"] == "2 of 3"


def test_face_lost_pauses_and_resumes_and_gap_does_not_count(smile3):
    # The face disappears in the middle of the second smile.
    frames = session_stream(42, rep_starts=(10, 17, 24, 31), gap=(18.5, 20.0))
    session, display = run(frames, [smile3])
    paused = [v for v in display.views if v.screen == "paused"]
    assert paused and paused[0].t == pytest.approx(18.5 + FACE_LOST_S, abs=0.1)
    assert "can't see your face" in paused[0].text
    after = [v.screen for v in display.views if v.t > 20.0]
    assert after[0] in ("move", "hold")        # resumed into the exercise
    reps = session.tallies[0].reps
    assert all(not (r.start_s < 20.0 and r.end_s > 18.5) for r in reps)   # nothing spans the gap
    assert len(reps) == 3 and session.status == "completed"


def test_keys_pause_skip_and_quit_asks_once(library, smile3):
    plan = [smile3, library["lip-pucker"].with_overrides(reps=2)]
    frames = session_stream(30, rep_starts=(10, 17))
    # Frame indices at 30 fps: pause at 12 s, unpause at 13 s, skip at 20 s, quit at 22 s, then "no",
    # quit again at 23 s and "yes".
    acts = {360: ["pause"], 390: ["pause"], 600: ["skip"], 660: ["quit"], 661: ["no"], 690: ["quit"], 691: ["yes"]}
    session, display = run(frames, plan, acts)
    seq = screens(display)
    assert "paused" in seq and "confirm_quit" in seq
    names = [v.title for v in display.views if v.screen in ("instruct", "move")]
    assert "Lip pucker" in names                       # skip moved on to the next exercise
    assert seq.count("confirm_quit") == 2 and seq[-1] == "summary"
    assert session.status == "interrupted"


def test_calibration_hints_when_face_off_centre(smile3):
    frames = session_stream(6)
    shifted = []
    for f in frames:
        pts = f.points.copy()
        pts[:, 0] += 0.4                      # face far to the side
        shifted.append(type(f)(f.t, f.width, f.height, pts, {}, None, f.index))
    session, display = run(shifted, [smile3])
    hints = [v.text for v in display.views if v.screen == "calibrate"]
    assert any("middle of the picture" in h for h in hints)
    assert session.baseline is None


def test_meters_show_prime_and_watch_per_side(smile3):
    frames = session_stream(24, rep_starts=(10,), synk_side="right", synk_reps=(0,))
    _, display = run(frames, [smile3])
    hold = [v for v in display.views if v.screen == "hold" and v.banner]
    assert hold
    m = {(x.kind, x.side): x for x in hold[-1].meters if x.label in ("Smile", "Eye narrowing")}
    assert {x.label for x in hold[-1].meters} == {"Smile", "Eye narrowing", "Chin tightening"}
    assert m[("prime", "left")].value > 0.5 and m[("prime", "right")].value > 0.5
    assert m[("watch", "right")].alert and not m[("watch", "left")].alert
    assert m[("watch", "right")].value > m[("watch", "right")].threshold > m[("watch", "left")].value


def test_a_set_never_counts_more_reps_than_planned(library):
    """Reps count at the patient's pace, whatever the screen shows: three smiles made while a long
    hold is still on screen must not give "3 of 2"."""
    two = library["gentle-smile"].with_overrides(reps=2, hold_s=12.0)
    frames = session_stream(34, rep_starts=(10, 14.5, 19))
    session, display = run(frames, [two])
    assert len(session.tallies[0].reps) == 2
    assert all("3 of 2" not in value for _, value in display.views[-1].summary)


def test_the_moment_is_a_frozen_snapshot_for_the_screens(smile3):
    """`Session.moment()` hands the screens a copy of the session now: later steps leave it as it was."""
    from dataclasses import FrozenInstanceError

    from coach.core.moment import Place

    session = Session([smile3], welcome_s=1.0, ready_s=1.0)
    first = {}
    for frame in session_stream(36, rep_starts=(10, 17, 24)):
        session.step(frame, frame.t)
        first.setdefault(session.moment().state, session.moment())
    instruct, hold, end = first["instruct"], first["hold"], session.moment()
    assert instruct.sets[0].reps == () and len(session.tallies[0].reps) == 3     # taken before any rep
    assert end.state == "summary" and end.status == "completed" and len(end.sets[0].reps) == 3
    assert hold.place == Place(exercise_no=1, exercises_total=1, rep=0, reps_total=3)
    assert 0 < hold.countdown_s <= smile3.hold_s and 0 <= hold.hold_fraction < 1
    assert [(m.kind, m.side) for m in hold.meters[:2]] == [("prime", "left"), ("prime", "right")]
    assert hold.points is not None and instruct.demo_points is not None and instruct.demo_phase
    with pytest.raises(FrozenInstanceError):
        hold.state = "rest"  # type: ignore[misc]


@pytest.mark.parametrize("name, held", [("gentle-eye-closure", 1.0), ("gentle-smile", 1.5), ("gentle-smile", 0.3),
                                        ("brow-lift", 0.5)])
def test_letting_go_early_ends_the_hold_with_relax_rest_and_a_word(library, name, held):
    """Issue 19, item 1: a patient who lets go before the hold ends used to leave "Hold it gently…" on
    screen, the ring frozen, with no cue and no way out (the hold timer ran only while holding). Now the
    hold ends: relax, rest, and, when the hold was short by more than SHORT_BY_S, "try to hold a little
    longer" before the next one."""
    from coach.core.session import SHORT_BY_S
    from coach.core.demonstration import performed
    from coach.core.screens import HOLD_LONGER
    ex = library[name].with_overrides(reps=2)
    calm = session_stream(0.2)[0]
    frames = performed(calm, ex, [10.0, 24.0], 36.0, hold_s=held)
    session, display = run(frames, [ex], display_voice=True)
    views = display.views
    release = next(v.t for v in views if v.screen == "hold")           # the first hold …
    after = [v for v in views if v.t > release]
    ended = next(v for v in after if v.screen != "hold")               # … ends, soon after the release
    assert ended.screen == "relax" and ended.cue == "relax" and ended.t - release < ex.move_s + held + 1.5
    rest = next(v for v in after if v.screen == "rest")
    assert 1.0 <= rest.t - ended.t < 1.5                                # "relax" shows, then the rest
    cues = [(v.cue, v.say) for v in after if v.cue and v.t < 24.0]
    first = session.tallies[0].reps[0]
    left = [v for v in views if v.screen == "hold" and v.t < ended.t][-1].countdown_s   # the ring, at let-go
    short = [("nudge", HOLD_LONGER)] if first.short_hold else []
    assert cues[:2 + len(short)] == [("relax", "Slowly open your eyes." if ex.closes_eyes else "Now slowly relax."),
                                     ("rest", "Rest."), *short], cues
    assert cues[2 + len(short)][0] == "move"                            # … and then the next one
    if held <= 1.0:                                                     # clearly short: kept, marked so
        assert first.short_hold and first.hold_s < ex.hold_s
        assert any(v.prompt == HOLD_LONGER and v.screen == "rest" for v in after)
    assert first.short_hold == (left > SHORT_BY_S), left
    # The second rep, made into the next move phase, is not told to relax while it rises.
    second_move = next(v.t for v in views if v.t > ended.t and v.cue == "move")
    relax = [v.t for v in views if v.cue == "relax" and v.t > second_move]
    assert relax and relax[0] > 24.0 + ex.move_s
