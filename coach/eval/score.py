"""Detections against the judged truth: per clip, then summed per face, variant or overall.

An event is *true* when it overlaps a must-flag entry on the same side, *grey*
when it overlaps a grey entry on the same side or falls on a clip read as in
between, and *false* otherwise (a wrong side is false too, as is any event while
the head is turned away). A must-flag entry is *found* when an event overlaps it
on either side, and found on the right side when one is on its side.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.core.events import Synkinesis
from coach.eval.truth import Entry, Judged

MATCH_SLACK_S = 0.3       # a detection matches a truth entry it overlaps, give or take this
ONSET_LIMIT_S = 0.3


@dataclass
class ClipScore:
    clip: str
    exercise: str
    person: str = ""
    variant: str = ""
    must: int = 0             # entries that must be flagged
    grey: int = 0             # entries (or whole clips) in between
    hits: int = 0             # must entries found
    side_ok: int = 0          # … on the right side
    true: int = 0             # events matching a must entry on its side
    false: int = 0            # events matching nothing (wrong side, silent clip, turned-away head)
    silent: bool = False      # a clip that must stay silent
    silent_events: int = 0
    pose_events: int = 0      # events while the head is turned away
    onset_errors: list = field(default_factory=list)
    unjudged_frames: int = 0
    condition: str = ""       # how the face is seen: still, crop_PART, hold_MOTION, drift_MOTION, away
    region: str = ""          # what the clip is about: eye, mouth, chin or neck (see Case.region)


def _overlaps(e: Synkinesis, t0: float, t1: float) -> bool:
    return e.start_s <= t1 + MATCH_SLACK_S and e.end_s >= t0 - MATCH_SLACK_S


def score_clip(name: str, exercise: str, person: str, variant: str, judged: Judged, events: list[Synkinesis],
               unjudged_frames: int = 0, condition: str = "", region: str = "") -> ClipScore:
    s = ClipScore(name, exercise, person, variant, silent=judged.silent, unjudged_frames=unjudged_frames,
                  condition=condition, region=region)
    for entry in judged.entries:
        _score_entry(s, entry, events)
    s.grey += judged.grey_clip
    for e in events:
        _score_event(s, e, judged)
    return s


def _score_entry(s: ClipScore, entry: Entry, events: list[Synkinesis]) -> None:
    """Is this truth entry found, on its side, and how late?"""
    if entry.kind == "grey":
        s.grey += 1
        return
    s.must += 1
    hit = [e for e in events if e.measure == entry.measure and _overlaps(e, entry.start_s, entry.end_s)]
    if not hit:
        return
    s.hits += 1
    same = [e for e in hit if e.side == entry.side]
    s.side_ok += bool(same)
    best = min(same or hit, key=lambda e: abs(e.start_s - entry.start_s))
    s.onset_errors.append(round(abs(best.start_s - entry.start_s), 3))


def _score_event(s: ClipScore, e: Synkinesis, judged: Judged) -> None:
    """Is this detection true, grey or false?"""
    if judged.pose_away and _overlaps(e, *judged.pose_away):
        s.pose_events += 1
        s.false += 1
        return
    mine = [en for en in judged.entries if en.side == e.side and en.measure == e.measure
            and _overlaps(e, en.start_s, en.end_s)]
    if any(en.kind == "must" for en in mine):
        s.true += 1
    elif not mine and not judged.grey_clip:
        s.false += 1
        s.silent_events += judged.silent


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def totals(scores: list[ClipScore]) -> dict:
    def total(key: str) -> int:
        return sum(getattr(c, key) for c in scores)

    hits, onsets = total("hits"), [e for c in scores for e in c.onset_errors]
    return {
        "clips": len(scores),
        "must_flag": total("must"),
        "found": hits,
        "recall": _ratio(hits, total("must")),
        "precision": _ratio(total("true"), total("true") + total("false")),
        "side_accuracy": _ratio(total("side_ok"), hits),
        "false_alarms": total("false"),
        "silent_clips": total("silent"),
        "events_on_silent_clips": total("silent_events"),
        "pose_events": total("pose_events"),
        "in_between": total("grey"),
        "onset_error_median_s": float(np.median(onsets)) if onsets else None,
        "onset_error_max_s": float(max(onsets)) if onsets else None,
    }


def _fmt(v) -> str:
    return "–" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))


HEAD = ("| {key} | clips | must flag | found | recall | precision | side acc. | false alarms | silent clips | "
        "events on silent | onset median s |")


def table(scores: list[ClipScore], key: str) -> str:
    """One row per face (`person`), variant, exercise, condition or region, and the total."""
    groups: dict[str, list[ClipScore]] = {}
    for c in scores:
        groups.setdefault(getattr(c, key), []).append(c)
    rows = [HEAD.format(key=key), "|" + "---|" * 11]
    for name in sorted(groups) + ["all"]:
        t = totals(scores if name == "all" else groups[name])
        rows.append(f"| {'**all**' if name == 'all' else name} | {t['clips']} | {t['must_flag']} | {t['found']} | "
                    f"{_fmt(t['recall'])} | {_fmt(t['precision'])} | {_fmt(t['side_accuracy'])} | "
                    f"{t['false_alarms']} | {t['silent_clips']} | {t['events_on_silent_clips']} | "
                    f"{_fmt(t['onset_error_median_s'])} |")
    return "\n".join(rows)


def summary_line(t: dict) -> str:
    return (f"recall {_fmt(t['recall'])} ({t['found']} of {t['must_flag']} must-flag events), precision "
            f"{_fmt(t['precision'])} ({t['false_alarms']} false alarms), side accuracy {_fmt(t['side_accuracy'])}, "
            f"{t['events_on_silent_clips']} events on {t['silent_clips']} clips that must stay silent, "
            f"{t['pose_events']} events with the head turned away, onset error median "
            f"{_fmt(t['onset_error_median_s'])} s (max {_fmt(t['onset_error_max_s'])} s), {t['in_between']} in between")
