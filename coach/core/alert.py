"""The Careful banner (pure): what a co-movement alert says and where it rings the face, while the
co-movement lasts; shown only in the move and hold phases, its sound played once when it first shows.
"""
from __future__ import annotations

from coach.core.detector import Detector
from coach.core.events import SynkinesisStarted
from coach.core.exercises import Exercise
from coach.core.feedback import Cue
from coach.core.moment import ALERT_STATES, Highlight, State


def fix(exercise: Exercise, h: SynkinesisStarted) -> str:
    """What the banner says: the watch's fix ("make the smile smaller until …"), else its message."""
    return next((w.correction for w in exercise.watches if w.measure == h.measure), h.message)


class Alert:
    """The co-movement alert under way, if any, and whether its sound has played."""

    def __init__(self) -> None:
        self.shown: tuple[str, Highlight] | None = None   # the fix to show and where, while co-movement lasts
        self.sounded = False                              # its sound has played

    def start(self, exercise: Exercise, h: SynkinesisStarted) -> None:
        self.shown = (fix(exercise, h), ((h.region, h.side),))
        self.sounded = False

    def settle(self, detector: Detector | None) -> None:
        """The co-movement is over when the detector sees none under way."""
        if detector is not None and not detector.active_synkinesis:
            self.shown = None

    def banner(self, state: State) -> tuple[str, Highlight] | None:
        """The alert to show now: only during the move and hold phases."""
        return self.shown if state in ALERT_STATES else None

    def sound(self, state: State) -> Cue | None:
        """The alert sounds once, when its banner first shows (a rest or a relax is no time for one)."""
        if self.banner(state) is not None and not self.sounded:
            self.sounded = True
            return "synkinesis"
        return None
