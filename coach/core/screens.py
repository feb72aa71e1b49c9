"""What each screen of a session says and offers, as `FeedbackView`s (pure; the Session's views).

Plain words, the patient's own side, no clinical grades. Every screen of an
exercise says "Exercise 1 of 3" and "Rep 2 of 5"; every phase change carries a
cue and, for spoken guidance, a short phrase (`say`, pre-rendered in
sounds/voice/ by scripts/make_voice.py from `phrases()`).
"""
from __future__ import annotations

from coach.core.coaching import GENTLER, MORE, SMALLER, match_text
from coach.core.face import SIDES
from coach.core.feedback import Button, FeedbackView, Meter
from coach.core.progress import (TARGET_BAND, best_rep, mean_evenness, mean_onset_lag_ms, progress_overview,
                                 rep_row, synkinesis_free, synkinesis_free_rate)

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


def phrases(library: dict) -> list[str]:
    """Every phrase the coach may say: the phases, the prompts and each exercise's fixes."""
    out = [*PHASE_PHRASES, MORE, GENTLER, SMALLER, *(match_text(s) for s in SIDES)]
    for ex in library.values():
        out += [w.correction for w in ex.watches]
    return list(dict.fromkeys(out))


def movement_text(ex) -> str:
    """The instruction that names the movement (the first "slowly …" sentence)."""
    return next((s for s in ex.instructions if "slowly" in s.lower()), ex.instructions[0])


def compose(s, t: float, cue: str | None) -> FeedbackView:
    common = dict(t=t, cue=cue, points=s._points)
    view = _fixed_view(s, t, common)
    if view is None:
        view = _exercise_view(s, t, common)
    say = _spoken(s, cue, view)
    return view if say is None else _with(view, say=say)


def _with(view: FeedbackView, **changes) -> FeedbackView:
    from dataclasses import replace
    return replace(view, **changes)


def _spoken(s, cue: str | None, view: FeedbackView) -> str | None:
    if cue is None:
        return None
    eyes = s.exercise.closes_eyes
    said = {"countdown": GET_READY if s._ticks == 1 else None, "start": BEGIN_EYES if eyes else BEGIN,
            "move": BEGIN_EYES if eyes else BEGIN, "hold": HOLD, "relax": OPEN_EYES if eyes else RELAX,
            "rest": REST, "rep_done": REST if s.state == "rest" else None, "nudge": view.prompt or s.reminder,
            "synkinesis": view.banner, "exercise_done": EXERCISE_DONE, "session_done": SESSION_DONE}
    return said.get(cue)


def _fixed_view(s, t: float, common: dict) -> FeedbackView | None:
    """The screens around the exercises."""
    state = s.state
    if state == "welcome":
        buttons = (START, PROGRESS) if s.history is not None else (START,)
        return FeedbackView("welcome", "Welcome to your face exercises",
                            "Sit facing the camera, in good light. Press Start when you are ready.",
                            extra={"notice": SAFETY_NOTICE}, buttons=buttons, **common)
    if state == "calibrate":
        hint = s.calibrator.hint
        return FeedbackView("calibrate", "Getting to know your face",
                            hint or "Relax your face and look at the screen. Keep still.",
                            countdown_s=None if hint else s.calibrator.left(t), buttons=(STOP,), **common)
    if state == "summary":
        return FeedbackView("summary", "Well done!" if s.status == "completed" else "Session ended",
                            "Here is how it went.", summary=summary_rows(s), table=summary_table(s),
                            buttons=(PROGRESS, DONE) if s.history is not None else (DONE,), **common)
    if state == "progress":
        return FeedbackView("progress", "Your progress", "", progress=_overview(s), buttons=(BACK,), **common)
    return _pause_view(s, state, common)


def _pause_view(s, state: str, common: dict) -> FeedbackView | None:
    if state == "confirm_quit":
        return FeedbackView(state, "Stop now?", "Your reps so far are kept.",
                            buttons=(Button("yes", "Yes, stop", "Y"), Button("no", "No, go on", "N")), **common)
    if state == "camera_lost":
        return FeedbackView(state, "Camera lost", "Trying to reconnect… Check the cable or close other apps "
                                                  "using the camera.", buttons=(STOP,), **common)
    if state == "paused":
        if s.pause_reason == "face":
            return FeedbackView(state, "Paused", "We can't see your face. Face the camera to carry on.",
                                buttons=(STOP,), **common)
        return FeedbackView(state, "Paused", "Take your time. Carry on when you are ready.",
                            buttons=(Button("resume", "Carry on", "P"), STOP), **common)
    return None


def _exercise_view(s, t: float, common: dict) -> FeedbackView:
    ex, state = s.exercise, s.state
    place = dict(exercise_no=s.ex_i + 1, exercises_total=len(s.plan), rep=len(s.tally.reps), reps_total=ex.reps)
    if state == "instruct":
        return _instruct_view(s, t, common, place)
    texts = {"countdown": f"Get ready. {movement_text(ex)}", "move": movement_text(ex), "hold": "Hold it gently…",
             "relax": "Now slowly open your eyes." if ex.closes_eyes else "Now slowly relax.", "rest": "Rest."}
    countdown = hold_fraction = None
    if state == "hold":
        countdown = max(0.0, s._hold_left)
        hold_fraction = 1.0 - countdown / ex.hold_s
    elif state == "rest":
        countdown = max(0.0, ex.rest_s - s._elapsed(t))
    elif state == "countdown":
        from coach.core.session import COUNTDOWN_S
        countdown = max(0.0, COUNTDOWN_S - s._elapsed(t))
    banner, highlight = s.banner if s.banner else (None, ())
    prompt = s.prompter.prompt if s.prompter is not None and banner is None else None
    text = s._pose_hint if s._pose_hint and state in ("move", "hold", "relax") else texts[state]
    return FeedbackView(state, ex.name, text, meters=meters(s), hold_fraction=hold_fraction, countdown_s=countdown,
                        banner=banner, highlight=highlight, prompt=prompt.text if prompt else None,
                        prompt_kind=prompt.kind if prompt else "", lagging=prompt.side if prompt else "",
                        band=TARGET_BAND, buttons=(PAUSE, STOP), **place, **common)


def _instruct_view(s, t: float, common: dict, place: dict) -> FeedbackView:
    ex = s.exercise
    extra = {}
    if s.demo is not None:
        shown = s._elapsed(t)
        common = {**common, "points": s.demo.points(shown)}
        extra = {"demo": s.demo.phase(shown), "caption": "Watch: this size, this speed."}
    else:
        common = {**common, "points": None}
    prompt = s.prompter.prompt if s.prompter is not None else None
    if prompt is not None:                 # "press Ready", in words under the demonstration
        extra = {**extra, "caption": prompt.text}
    return FeedbackView("instruct", ex.name, " ".join(ex.instructions), buttons=(READY,), extra=extra,
                        prompt=prompt.text if prompt else None, prompt_kind=prompt.kind if prompt else "",
                        **place, **common)


def meters(s) -> tuple[Meter, ...]:
    det = s.detector
    if det is None:
        return ()
    ex = s.exercise
    # Labels name the movement; the display shows each side under its bar.
    out = [Meter(ex.prime.label, side, "prime", float(det.side_levels[i]), 1.0) for i, side in enumerate(SIDES)]
    active = set(det.active_synkinesis) if s.banner else set()
    for wi, w in enumerate(ex.watches):
        for i, side in enumerate(SIDES):
            # The bar shows how near this side is to an alert (compared with the other
            # side, as the detector judges it); full at twice that, so the line is mid-bar.
            out.append(Meter(w.label, side, "watch", float(det.watch_scores[wi, i]) / 2, 0.5,
                             (w.measure, side) in active))
    return tuple(out)


# ---- the summary ------------------------------------------------------------------------------------
def _reached(s) -> list:
    return [tl for i, tl in enumerate(s.tallies) if i <= s.ex_i or tl.reps]


def summary_rows(s) -> tuple[tuple[str, str], ...]:
    """Per exercise, in words: reps done, reps free of co-movement, evenness, the best rep, since last time."""
    rows = []
    for tl in _reached(s):
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
        change = _since_last_time(s, tl)
        if change:
            rows.append(("   since last time", f"{change} co-movement-free"))
    return tuple(rows)


def _since_last_time(s, tl) -> str:
    prev = s.previous.get(tl.exercise.id)
    rate = synkinesis_free_rate(tl.reps)
    if prev is None or rate is None:
        return ""
    change = rate - prev
    return f"{'+' if change >= 0 else '−'}{abs(change):.0%}"


def summary_table(s) -> tuple[tuple[str, ...], ...]:
    """The summary screen's table: a header, then one row per exercise of the session."""
    rows = [("Exercise", "Reps", "Without co-movement", "Sides even", "Best rep", "Since last time")]
    for tl in s.tallies:
        n = len(tl.reps)
        even = mean_evenness(tl.reps)
        best = best_rep(tl.reps)
        rows.append((tl.exercise.name, f"{n} of {tl.exercise.reps}", f"{synkinesis_free(tl.reps)} of {n}" if n else "–",
                     f"{even:.0%}" if even is not None else "–", f"rep {best.index}" if best else "–",
                     _since_last_time(s, tl) or "–"))
    return tuple(rows)


def _overview(s) -> dict:
    history = s.history
    started = history.today.isoformat() + "T12:00:00"
    today = [rep_row(r, tl.exercise.id, started) for tl in s.tallies for r in tl.reps]
    names = {ex.id: ex.name for ex in s.plan}
    return progress_overview(list(history.reps) + today, history.today, names)
