"""What each screen of a session says and offers, as `FeedbackView`s (pure), composed from a `Moment`.

Plain words, the patient's own side, no clinical grades. Every screen of an
exercise says "Exercise 1 of 3" and "Rep 2 of 5"; every phase change carries a
cue and, for spoken guidance, a short phrase (`say`, pre-rendered in
sounds/voice/ by scripts/make_voice.py from `phrases()`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from coach.core.coaching import GENTLER, MORE, SMALLER, Prompt, match_text
from coach.core.exercises import Exercise
from coach.core.face import SIDES
from coach.core.feedback import Button, Cue, FeedbackView
from coach.core.moment import Moment, SetSoFar, State
from coach.core.practice import progress_overview, rep_row
from coach.core.progress import TARGET_BAND, best_rep, mean_evenness, mean_onset_lag_ms, synkinesis_free, synkinesis_free_rate

TOGETHER_MS = 150      # sides starting less than this apart started together (a few video frames)
SAFETY_NOTICE = ("This coach does not diagnose. If you notice sudden new weakness of the face, "
                 "arm or leg, or trouble speaking, call emergency services: it can be a stroke.")

# Spoken guidance: one short phrase per phase change (and every prompt and fix).
GET_READY = "Get ready."
BEGIN, BEGIN_EYES = "Slowly begin.", "Slowly close your eyes."
HOLD, RELAX, OPEN_EYES, REST = "Hold it gently.", "Now slowly relax.", "Slowly open your eyes.", "Rest."
EXERCISE_DONE, SESSION_DONE = "Exercise done.", "All done. Well done!"
# Reminders: a state that waits on the patient never waits without a word (coach.core.session).
PRESS_READY, HOLD_LONGER = "Press Ready when you want to begin.", "Try to hold a little longer."
FACE_CAMERA, KEEP_STILL = "Face the camera to carry on.", "Relax your face and look at the screen."
PHASE_PHRASES = (GET_READY, BEGIN, BEGIN_EYES, HOLD, RELAX, OPEN_EYES, REST, EXERCISE_DONE, SESSION_DONE,
                 PRESS_READY, HOLD_LONGER, FACE_CAMERA, KEEP_STILL)

START, READY, PAUSE, STOP = Button("ready", "Start", "Enter"), Button("ready", "Ready", "Enter"), \
    Button("pause", "Pause", "P"), Button("stop", "Stop", "Q")
PROGRESS, DONE, BACK = Button("progress", "Your progress", "G"), Button("done", "Done", "Enter"), \
    Button("back", "Back", "Enter")


def phrases(library: Mapping[str, Exercise]) -> list[str]:
    """Every phrase the coach may say: the phases, the prompts and each exercise's fixes."""
    out = [*PHASE_PHRASES, MORE, GENTLER, SMALLER, *(match_text(s) for s in SIDES)]
    for ex in library.values():
        out += [w.correction for w in ex.watches]
    return list(dict.fromkeys(out))


def movement_text(ex: Exercise) -> str:
    """The instruction that names the movement (the first "slowly …" sentence)."""
    return next((s for s in ex.instructions if "slowly" in s.lower()), ex.instructions[0])


def compose(m: Moment, cue: Cue | None) -> FeedbackView:
    common: dict[str, Any] = dict(t=m.t, cue=cue, points=m.points)
    view = _fixed_view(m, common)
    if view is None:
        view = _exercise_view(m, common)
    say = _spoken(m, cue, view)
    return view if say is None else replace(view, say=say)


def _spoken(m: Moment, cue: Cue | None, view: FeedbackView) -> str | None:
    if cue is None:
        return None
    eyes = m.exercise.closes_eyes
    said = {"countdown": GET_READY if m.ticks == 1 else None, "start": BEGIN_EYES if eyes else BEGIN,
            "move": BEGIN_EYES if eyes else BEGIN, "hold": HOLD, "relax": OPEN_EYES if eyes else RELAX,
            "rest": REST, "rep_done": REST if m.state == "rest" else None, "nudge": view.prompt or m.reminder,
            "synkinesis": view.banner, "exercise_done": EXERCISE_DONE, "session_done": SESSION_DONE}
    return said.get(cue)


def _fixed_view(m: Moment, common: dict[str, Any]) -> FeedbackView | None:
    """The screens around the exercises."""
    state = m.state
    if state == "welcome":
        buttons = (START, PROGRESS) if m.history is not None else (START,)
        note = {"care": m.history.note} if m.history is not None and m.history.note else {}
        return FeedbackView("welcome", "Welcome to your face exercises",
                            "Sit facing the camera, in good light. Press Start when you are ready.",
                            extra={"notice": SAFETY_NOTICE, **note}, buttons=buttons, **common)
    if state == "calibrate":
        return FeedbackView("calibrate", "Getting to know your face",
                            m.calibrate_hint or "Relax your face and look at the screen. Keep still.",
                            countdown_s=m.countdown_s, buttons=(STOP,), **common)
    if state == "summary":
        return FeedbackView("summary", "Well done!" if m.status == "completed" else "Session ended",
                            "Here is how it went.", summary=summary_rows(m), table=summary_table(m),
                            buttons=(PROGRESS, DONE) if m.history is not None else (DONE,), **common)
    if state == "progress":
        return FeedbackView("progress", "Your progress", "", progress=_overview(m), buttons=(BACK,), **common)
    return _pause_view(m, state, common)


def _pause_view(m: Moment, state: State, common: dict[str, Any]) -> FeedbackView | None:
    if state == "confirm_quit":
        return FeedbackView(state, "Stop now?", "Your reps so far are kept.",
                            buttons=(Button("yes", "Yes, stop", "Y"), Button("no", "No, go on", "N")), **common)
    if state == "camera_lost":
        return FeedbackView(state, "Camera lost", "Trying to reconnect… Check the cable or close other apps "
                                                  "using the camera.", buttons=(STOP,), **common)
    if state == "paused":
        if m.pause_reason == "face":
            return FeedbackView(state, "Paused", "We can't see your face. Face the camera to carry on.",
                                buttons=(STOP,), **common)
        return FeedbackView(state, "Paused", "Take your time. Carry on when you are ready.",
                            buttons=(Button("resume", "Carry on", "P"), STOP), **common)
    return None


def _exercise_view(m: Moment, common: dict[str, Any]) -> FeedbackView:
    ex, state, p = m.exercise, m.state, m.place
    place: dict[str, Any] = dict(exercise_no=p.exercise_no, exercises_total=p.exercises_total, rep=p.rep,
                                 reps_total=p.reps_total)
    if state == "instruct":
        return _instruct_view(m, common, place)
    texts = {"countdown": f"Get ready. {movement_text(ex)}", "move": movement_text(ex), "hold": "Hold it gently…",
             "relax": "Now slowly open your eyes." if ex.closes_eyes else "Now slowly relax.", "rest": "Rest."}
    banner, highlight = m.banner if m.banner else (None, ())
    prompt = m.prompt if banner is None else None
    if prompt is None and banner is None and m.neck_hint:       # how to show the neck, while it can't be judged
        prompt = Prompt("neck", m.neck_hint)
    text = m.pose_hint if m.pose_hint and state in ("move", "hold", "relax") else texts[state]
    return FeedbackView(state, ex.name, text, meters=m.meters, hold_fraction=m.hold_fraction,
                        countdown_s=m.countdown_s, banner=banner, highlight=highlight, neck=m.neck,
                        prompt=prompt.text if prompt else None, prompt_kind=prompt.kind if prompt else "",
                        lagging=prompt.side if prompt else "", band=TARGET_BAND, buttons=(PAUSE, STOP),
                        **place, **common)


def _instruct_view(m: Moment, common: dict[str, Any], place: dict[str, Any]) -> FeedbackView:
    ex = m.exercise
    extra: dict[str, Any] = {}
    if m.demo_points is not None:
        common = {**common, "points": m.demo_points}
        extra = {"demo": m.demo_phase, "caption": "Watch: this size, this speed."}
    else:
        common = {**common, "points": None}
    prompt = m.prompt
    if prompt is not None:                 # "press Ready", in words under the demonstration
        extra = {**extra, "caption": prompt.text}
    return FeedbackView("instruct", ex.name, " ".join(ex.instructions), buttons=(READY,), extra=extra,
                        prompt=prompt.text if prompt else None, prompt_kind=prompt.kind if prompt else "",
                        **place, **common)


# ---- the summary ------------------------------------------------------------------------------------
def _reached(m: Moment) -> list[SetSoFar]:
    return [tl for i, tl in enumerate(m.sets) if i <= m.reached or tl.reps]


def summary_rows(m: Moment) -> tuple[tuple[str, str], ...]:
    """Per exercise, in words: reps done, reps free of co-movement, evenness, the best rep, since last time."""
    rows = []
    for tl in _reached(m):
        n, clean = len(tl.reps), synkinesis_free(tl.reps)
        rows.append((tl.exercise.name, f"{n} of {tl.exercise.reps} reps"))
        rows.append(("   without co-movement", f"{clean} of {n}"))
        even = mean_evenness(tl.reps)
        if even is not None:
            rows.append(("   sides even", f"{even:.0%}"))
        lag = mean_onset_lag_ms(tl.reps)
        if lag is not None:
            rows.append(("   sides started", "together" if lag < TOGETHER_MS else f"{lag / 1000:.1f} s apart"))
        best = best_rep(tl.reps)
        if best is not None:
            rows.append(("   best rep", f"rep {best.index}: even, gentle, no co-movement"))
        change = _since_last_time(m, tl)
        if change:
            rows.append(("   since last time", f"{change} co-movement-free"))
    return tuple(rows)


def _since_last_time(m: Moment, tl: SetSoFar) -> str:
    prev = m.previous.get(tl.exercise.id)
    rate = synkinesis_free_rate(tl.reps)
    if prev is None or rate is None:
        return ""
    change = rate - prev
    return f"{'+' if change >= 0 else '−'}{abs(change):.0%}"


def summary_table(m: Moment) -> tuple[tuple[str, ...], ...]:
    """The summary screen's table: a header, then one row per exercise of the session."""
    rows = [("Exercise", "Reps", "Without co-movement", "Sides even", "Best rep", "Since last time")]
    for tl in m.sets:
        n = len(tl.reps)
        even = mean_evenness(tl.reps)
        best = best_rep(tl.reps)
        rows.append((tl.exercise.name, f"{n} of {tl.exercise.reps}", f"{synkinesis_free(tl.reps)} of {n}" if n else "–",
                     f"{even:.0%}" if even is not None else "–", f"rep {best.index}" if best else "–",
                     _since_last_time(m, tl) or "–"))
    return tuple(rows)


def _overview(m: Moment) -> dict[str, Any]:
    history = m.history
    assert history is not None          # the progress screen is only offered with a history
    started = history.today.isoformat() + "T12:00:00"
    today = [rep_row(r, tl.exercise.id, started) for tl in m.sets for r in tl.reps]
    names = {tl.exercise.id: tl.exercise.name for tl in m.sets}
    overview = progress_overview(list(history.reps) + today, history.today, names)
    return {**overview, "timeline": history.timeline} if history.timeline else overview
