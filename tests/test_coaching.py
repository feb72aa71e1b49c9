"""What the coach says while the patient moves: too little, too much, which side is behind, the fix
for a co-movement, and the spoken guidance; and what each rep measures of evenness."""
from __future__ import annotations

import numpy as np
import pytest

from coach.core.coaching import GENTLER, MORE, SMALLER
from coach.core.demonstration import performed
from coach.core.progress import best_rep
from coach.screen.display import NullDisplay
from home_runs import ex, run


pytestmark = pytest.mark.usefixtures("headless")   # SDL dummy video and disk audio (conftest)


def prompts(display):
    return [(v.screen, v.prompt) for v in display.views if v.prompt]


def test_a_too_small_movement_gets_try_a_little_more(library, calm, window):
    plan = [ex(library, "gentle-smile")]
    frames = performed(calm, plan[0], [5.0], 30.0, size=0.2, hold_s=18.0)
    session, display = run(frames, plan, events=[(4.0, "action", "ready")])
    got = prompts(display)
    assert ("move", MORE) in got and not session.tallies[0].reps
    assert "nudge" in [c for c, _ in display.played]
    window.draw(next(v for v in display.views if v.prompt == MORE))
    assert window.renderer.prompt_rect is not None and MORE in [s for _, s in window.renderer.text.drawn]


def test_a_too_big_movement_gets_gentler(library, calm):
    plan = [ex(library, "gentle-smile")]
    session, display = run(performed(calm, plan[0], [6.0, 14.0], 22.0, size=1.9), plan)
    assert GENTLER in {p for _, p in prompts(display)}
    big = [ex(library, "open-mouth-smile")]          # a deliberately big movement: only "a little smaller"
    _, display = run(performed(calm, big[0], [6.0, 14.0], 22.0, size=1.9), big)
    assert {p for _, p in prompts(display)} & {GENTLER, SMALLER} == {SMALLER}
    # A rep far above the band is never the best rep, and earns no tick.
    reps = [r for r in session.tallies[0].reps]
    assert reps and all(r.peak > 1.3 for r in reps) and best_rep(reps) is None


def test_the_evenness_meter_shows_the_side_that_is_behind(library, calm, window):
    from coach.screen.palette import BEHIND
    plan = [ex(library, "gentle-eye-closure")]
    session, display = run(performed(calm, plan[0], [6.0, 14.0], 22.0, sides=(0.35, 1.0)), plan)
    uneven = [v for v in display.views if v.lagging]
    assert uneven and {v.lagging for v in uneven} == {"left"}
    assert uneven[0].prompt == "Match the sides: your left side is behind."
    reps = session.tallies[0].reps
    assert reps and all(r.amplitude_ratio < 0.6 for r in reps)
    for mode in ("meters", "mesh"):
        window.set_view(mode)
        window.draw(uneven[-1])
        bars = {(m.kind, m.side): rect for m, rect in window.renderer.bars}
        marker = window.renderer.behind_rect
        assert marker is not None and abs(marker.centerx - bars[("prime", "left")].centerx) < 3
        img = window._pg.surfarray.array3d(window.screen).transpose(1, 0, 2)
        for side, want in (("left", True), ("right", False)):
            bar = bars[("prime", side)]
            above = img[bar.y - 52:bar.y - 2, bar.x:bar.right]
            found = np.all(np.abs(above.astype(int) - BEHIND) <= 6, axis=2).sum() > 100
            assert found == want, (mode, side)


def test_each_rep_measures_onset_lag_amplitude_and_smoothness(library, calm):
    plan = [ex(library, "gentle-smile")]
    session, _ = run(performed(calm, plan[0], [6.0, 14.0], 22.0, lag_s=0.4), plan, affected_side="right")
    for rep in session.tallies[0].reps:
        assert rep.late_side == "right" and rep.onset_lag_ms == pytest.approx(400, abs=120)
        assert 0.8 < rep.amplitude_ratio < 1.25 and rep.smoothness > 0.8
    rows = dict(session.summary_rows())
    assert rows["   sides started"].endswith("s apart")


def test_best_rep_is_the_most_even_clean_rep_within_the_band():
    from coach.core.events import Rep
    reps = [Rep(1, 0, 1, 2, 1.0, amplitude_ratio=0.7), Rep(2, 0, 1, 2, 1.6, amplitude_ratio=1.0),
            Rep(3, 0, 1, 2, 0.9, amplitude_ratio=0.95, synkinesis=True), Rep(4, 0, 1, 2, 1.1, amplitude_ratio=0.9)]
    assert best_rep(reps).index == 4


def test_every_watch_names_its_fix_and_it_is_checked(library, tmp_path):
    from coach.core.exercises import ExerciseError, load_exercise
    for e in library.values():
        for w in e.watches:
            assert w.fix and w.fix != w.message and len(w.fix) <= 90
    text = open(library["gentle-smile"].path).read()
    for bad in ('fix = ""', 'fix = "' + "x" * 120 + '"'):
        p = tmp_path / "bad.toml"
        p.write_text(text.replace('fix = "Make the smile smaller until your eye stays open"', bad))
        with pytest.raises(ExerciseError, match="fix"):
            load_exercise(p)


def test_spoken_guidance_follows_each_phase_when_on(library, calm):
    plan = [ex(library, "gentle-eye-closure")]
    frames = performed(calm, plan[0], [6.0, 14.0], 22.0)
    _, on = run(frames, plan, display=NullDisplay(voice=True))
    said = [p for p, _ in on.said]
    assert {"Slowly close your eyes.", "Hold it gently.", "Slowly open your eyes.", "Rest."} <= set(said)
    _, off = run(frames, plan, display=NullDisplay())
    assert off.said == [] and [c for c, _ in off.played] == [c for c, _ in on.played]
