"""A plan run through the real home loop (HomeDriver, run_loop) on a list of landmark frames."""
from __future__ import annotations

from coach.app import HomeDriver, run_loop
from coach.core.session import Session
from coach.screen.display import NullDisplay
from streams import ListSource


def ex(library, name, **kw):
    return library[name].with_overrides(**{"reps": 2, "rest_s": 2.0, **kw})


def run(frames, plan, actions=None, events=(), summary_s=0.5, display=None, **kw):
    display = display or NullDisplay(actions)
    kw.setdefault("ready_s", 0.5)        # Ready half a second into the instructions (then 3-2-1)
    session = Session(plan, welcome_s=0.5, **kw)
    run_loop(ListSource(frames), HomeDriver(session, summary_s=summary_s), display, events=events, clock=None)
    return session, display
