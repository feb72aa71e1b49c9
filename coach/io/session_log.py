"""Session records → store writes. Each rep and event commits as it ends.

Dispatches on the record's type (`coach.core.events`); every time is session time.
"""
from __future__ import annotations

import numpy as np

from coach import __version__
from coach.core.calibration import REL
from coach.core.events import Calibrated, Ended, Gap, RepEnded, Sample, SetEnded, SetStarted, SynkinesisEnded
from coach.core.face import SIDES


def sample_values(rel: np.ndarray) -> dict:
    return {f"{name}_{side}": round(float(rel[i, j]), 4) for i, name in enumerate(REL) for j, side in enumerate(SIDES)}


def previous_rates(store, patient_code: str) -> dict:
    """{exercise: synkinesis-free rep rate} of the patient's last session, for "since last time"."""
    last = store.last_session_summary(patient_code)
    return {ex: d["synkinesis_free_rate"] for ex, d in (last or {}).get("exercises", {}).items()
            if d.get("synkinesis_free_rate") is not None}


class SessionLog:
    """One logged session: `write(records)` as they come, `close(status)` at the end."""

    def __init__(self, store, patient_code: str | None, source_name: str, kind: str, model_version: str = ""):
        self.store = store
        self.set_ids: dict[str, str] = {}
        self.session_id = store.start_session(patient_code, source=source_name, kind=kind,
                                              app_version=__version__, model_version=model_version)
        self.ended = False
        self._write = {Sample: self._sample, RepEnded: self._rep, SynkinesisEnded: self._synkinesis,
                       Gap: self._gap, Calibrated: self._calibrated, SetStarted: self._set_started,
                       SetEnded: self._set_ended, Ended: self._ended}

    def write(self, records) -> None:
        for rec in records:
            handler = self._write.get(type(rec))
            if handler is not None:        # the detector's other happenings are not logged
                handler(rec)

    def _sample(self, r: Sample) -> None:
        self.store.add_sample(self.session_id, r.t, r.exercise, sample_values(r.values))

    def _rep(self, r: RepEnded) -> None:
        self.store.add_rep(self.session_id, self.set_ids.get(r.exercise), r.rep.to_dict())

    def _synkinesis(self, r: SynkinesisEnded) -> None:
        ev = r.event
        self.store.add_event(self.session_id, self.set_ids.get(r.exercise), "synkinesis", ev.side, ev.measure,
                             ev.start_s, ev.end_s, ev.peak_change)

    def _gap(self, r: Gap) -> None:
        self.store.add_event(self.session_id, self.set_ids.get(r.exercise), r.kind, None, None, r.start_s, r.end_s,
                             None)

    def _calibrated(self, r: Calibrated) -> None:
        self.store.add_calibration(self.session_id, r.baseline.to_dict(), r.t)

    def _set_started(self, r: SetStarted) -> None:
        self.set_ids[r.exercise] = self.store.start_set(self.session_id, r.exercise, r.planned_reps, r.t)

    def _set_ended(self, r: SetEnded) -> None:
        if r.exercise in self.set_ids:
            self.store.end_set(self.set_ids[r.exercise], r.target, r.target_source, r.t)

    def _ended(self, r: Ended) -> None:
        self.store.end_session(self.session_id, r.status)
        self.ended = True

    def close(self, status: str = "interrupted") -> None:
        if not self.ended:
            self.store.end_session(self.session_id, status)
            self.ended = True
