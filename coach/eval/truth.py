"""What the tracker read, sorted by the must-flag rules (judged by what the tracker
reads, never by what the warp put in: a warp registers differently on each face).

Each injected co-movement is judged in the hold phase of its rep, on frames where
the prime movement is under way (at least PRIME_UNDER_WAY on either side) and no
blink closes both eyes, and must hold for MUST_HELD_S:

- smile: one eye narrows at least 12 points more than the other and at least twice as much;
- pucker: an eye narrows at least 12 %; 8–12 % is a grey zone (neither required nor a false alarm);
- eye closure and brow lift: a corner pulls at least 10 % of the mouth width and 6 points more
  than the other.

- chin (`chin_raise`) and neck (`neck_bands`): see LOWER below; a neck nobody can see (the
  truth's `neck_visible` false: covered, too dark, out of the picture) is never must-flag.

Anything injected that does not read as must-flag is grey. A clip with nothing
injected (clean, blink, Duchenne, mouth still, eyes still) must stay silent unless
the tracker reads it as in between (for example a Duchenne smile whose eyes read
further apart than 1.6×): then it is grey as a whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.core.calibration import REL_INDEX, Baseline, relative
from coach.core.exercises import Exercise, Watch
from coach.core.face import SIDES

PRIME_UNDER_WAY = 0.02
MUST_HELD_S = 0.5
RAMP_S = 0.4              # the generator's rise and fall; the hold is the rep minus these
BLINK = 0.5               # both eyes this much narrower: a blink, not judged
POSE_SLACK_S = 0.5        # the turn towards and back from a turned-away pose

SMILE_DIFF, SMILE_RATIO = 0.12, 2.0
PUCKER_MUST, PUCKER_GREY = 0.12, 0.08
PULL_MUST, PULL_DIFF = 0.10, 0.06
# Must stay silent unless read as in between:
DUCHENNE_RATIO, DUCHENNE_DIFF = 1.6, 0.10   # both eyes within 1.6× (or closer than 10 points)
PULL_STILL = 0.08                            # a corner pulling less than this (or barely more than the other)

# ---- the chin and the neck (issue 21)
# Chin and neck entries are judged by what the tracker reads once `coach.core.calibration.REL`
# carries their measures ("chin_raise", "neck_bands"; the lead adds them), else by the amount the
# warp injected (the FALLBACK). READ_LOWER = False keeps the fallback even when REL has them.
READ_LOWER = True
LOWER = ("chin_raise", "neck_bands")
# Read: must-flag when the side's reading holds at least this (and more than the other side by
# LOWER_DIFF) for MUST_HELD_S in the hold; grey (a silent clip read as in between) from *_GREY.
CHIN_MUST, CHIN_GREY = 0.15, 0.08          # fraction of the neutral lip-to-chin height (clean clips: 95 % read
                                           # under 0.07 in the hold; the real smiles up to 0.14)
NECK_MUST, NECK_GREY = 0.30, 0.15          # rise of the neck's vertical-ridge energy (clean and silent twins
                                           # read at most 0.13; the real smiles up to 0.24)
LOWER_DIFF = 0.05
# FALLBACK (REL without the measure): must-flag when injected at least this much.
CHIN_MUST_INJECTED = 0.25                  # chin: lip-to-chin height shortened by >= 25 %
NECK_MUST_INJECTED = 0.5                   # neck: band strength >= 0.5

FAMILY = {"gentle-smile": "smile", "open-mouth-smile": "smile", "snarl": "smile", "lip-pucker": "pucker",
          "gentle-eye-closure": "pull", "brow-lift": "pull"}


@dataclass
class Entry:
    side: str
    measure: str
    start_s: float
    end_s: float
    kind: str                      # "must" | "grey"


@dataclass
class Judged:
    entries: list[Entry] = field(default_factory=list)
    silent: bool = False           # nothing injected, and nothing read as in between
    grey_clip: bool = False        # nothing injected, but read as in between
    pose_away: tuple | None = None  # (t0, t1): the head is turned beyond the limit
    neck_visible: bool = True      # the truth's neck_visible: false when covered, too dark or out of the picture


def series(measures, baseline: Baseline) -> tuple[np.ndarray, np.ndarray]:
    """Times and relative measures (n, len(REL), 2) of the frames with a face."""
    ts, rels = [], []
    for m in measures:
        rel = relative(m, baseline)
        if rel is not None:
            ts.append(m.t)
            rels.append(rel)
    return np.array(ts), np.array(rels).reshape(len(rels), -1, 2)


def longest_run(ts: np.ndarray, ok: np.ndarray) -> float:
    best, start = 0.0, None
    for t, flag in zip(ts, ok):
        if flag and start is None:
            start = t
        if flag:
            best = max(best, t - start)
        else:
            start = None
    return best


def reads(measure: str) -> bool:
    """Is this measure judged by what the tracker reads (else by what was injected)?"""
    return measure not in LOWER or (READ_LOWER and measure in REL_INDEX)


def _amounts(rels: np.ndarray, measure: str) -> np.ndarray:
    return (-1.0 if measure == "eye_opening" else 1.0) * rels[:, REL_INDEX[measure]]


def _must(family: str, a: np.ndarray, o: np.ndarray) -> np.ndarray:
    if family == "smile":
        return (a - o >= SMILE_DIFF) & (a >= SMILE_RATIO * np.maximum(o, 0.0))
    if family == "pucker":
        return a >= PUCKER_MUST
    return (a >= PULL_MUST) & (a - o >= PULL_DIFF)


def _grey(family: str, a: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Read as in between on a clip that must otherwise stay silent."""
    if family == "smile":
        return (a - o >= DUCHENNE_DIFF) & (a > DUCHENNE_RATIO * np.maximum(o, 0.0)) & (a > DUCHENNE_DIFF)
    if family == "pucker":
        return a >= PUCKER_GREY
    return (a >= PULL_STILL) & (a - o >= PULL_DIFF - 0.02)


def watch_family(exercise: Exercise, measure: str | None = None) -> str:
    """The family one watch of an exercise is judged and tuned in: the exercise's (smile, pucker, pull)
    for its first watch, "chin" or "neck" for the chin and neck watches."""
    measure = measure or exercise.watches[0].measure
    if measure == "chin_raise":
        return "chin"
    if measure == "neck_bands":
        return "neck"
    return FAMILY.get(exercise.id, "smile")


def judge(truth: dict, measures, baseline: Baseline, exercise: Exercise, measure: str | None = None) -> Judged:
    """The clip's truth for one watched measure (default: the exercise's first watch): its entries, and
    whether the clip must stay silent for it. Each watch is judged on its own, so a chin read as in
    between never makes a clip grey for the eyes."""
    measure = measure or exercise.watches[0].measure
    watch = next((w for w in exercise.watches if w.measure == measure), exercise.watches[0])
    family = FAMILY.get(exercise.id, "smile")
    ts, rels = series(measures, baseline)
    out = Judged(pose_away=tuple(truth["pose_away_s"]) if truth.get("pose_away_s") else None,
                 neck_visible=bool(truth.get("neck_visible", True)))
    if len(ts) == 0:
        return out
    prime = exercise.prime.direction * rels[:, REL_INDEX[exercise.prime.measure]]
    frames = _Frames(ts, rels, under_way=prime.max(axis=1) >= PRIME_UNDER_WAY,
                     blink=np.asarray((-rels[:, REL_INDEX["eye_opening"]] >= BLINK).all(axis=1)))
    if out.pose_away:
        # Around a turned-away head only the absence of events is judged (see score.py).
        frames.judged = (ts < out.pose_away[0] - POSE_SLACK_S) | (ts > out.pose_away[1] + POSE_SLACK_S)
        _judge_silence(out, frames, family, watch)
        return out
    first = exercise.watches[0].measure
    entries = [e for e in _entries(truth, family) if e.get("measure", first) == measure]
    if not entries:
        _judge_silence(out, frames, family, watch)
        return out
    ramp = float((truth.get("injected") or {}).get("ramp_s", RAMP_S))
    hold = np.zeros(len(ts), bool)
    for r in truth.get("reps", []):
        hold |= (ts >= r["start_s"] + ramp) & (ts <= r["end_s"] - ramp)
    for te in entries:
        if te.get("measure") in LOWER:
            out.entries.append(_judge_lower(te, frames, hold, truth))
        else:
            out.entries.append(_judge_entry(te, frames, hold, family, exercise))
    return out


def _judge_lower(te: dict, f: "_Frames", hold: np.ndarray, truth: dict) -> Entry:
    """A chin or neck entry: must-flag by what the tracker reads (`reads`), else by the injected
    amount; never must-flag where the neck cannot be seen."""
    m = te["measure"]
    if m == "neck_bands" and not te.get("neck_visible", truth.get("neck_visible", True)):
        kind = "grey"
    elif reads(m):
        am = _amounts(f.rels, m)
        si = SIDES.index(te["side"])
        ok = (f.ts >= te["start_s"]) & (f.ts <= te["end_s"]) & hold & f.under_way
        limit = CHIN_MUST if m == "chin_raise" else NECK_MUST
        other = np.nan_to_num(am[:, 1 - si], nan=0.0)     # a side the picture cannot show: healthy (0)
        held = ok & (am[:, si] >= limit) & (am[:, si] - other >= LOWER_DIFF)
        kind = "must" if longest_run(f.ts, held) >= MUST_HELD_S else "grey"
    else:   # FALLBACK: the injected amount
        limit = CHIN_MUST_INJECTED if m == "chin_raise" else NECK_MUST_INJECTED
        kind = "must" if float(te.get("injected", 0.0)) >= limit - 1e-9 else "grey"
    return Entry(te["side"], m, te["start_s"], te["end_s"], kind)


@dataclass
class _Frames:
    ts: np.ndarray
    rels: np.ndarray
    under_way: np.ndarray          # the prime movement is under way
    blink: np.ndarray              # both eyes closed
    judged: np.ndarray | None = None

    def __post_init__(self):
        if self.judged is None:
            self.judged = np.ones(len(self.ts), bool)


def _entries(truth: dict, family: str) -> list[dict]:
    entries = list(truth.get("synkinesis", []))
    eyes = [e for e in entries if e.get("measure", "eye_opening") == "eye_opening"]
    if family == "pucker" and eyes:
        # "An eye narrows at least 12 %; if both eyes do, flagging both is right": the eye
        # that was not narrowed on purpose is judged by what the tracker reads, too.
        first = eyes[0]
        entries += [dict(first, side=s) for s in SIDES if s not in {e["side"] for e in eyes}]
    return entries


def _judge_entry(te: dict, f: _Frames, hold: np.ndarray, family: str, exercise: Exercise) -> Entry:
    m = te.get("measure") or exercise.watches[0].measure
    am = _amounts(f.rels, m)
    si = SIDES.index(te["side"])
    ok = (f.ts >= te["start_s"]) & (f.ts <= te["end_s"]) & hold & f.under_way
    if m == "eye_opening" and family != "pull":
        ok &= ~f.blink
    must = bool(longest_run(f.ts, ok & _must(family, am[:, si], am[:, 1 - si])) >= MUST_HELD_S)
    return Entry(te["side"], m, te["start_s"], te["end_s"], "must" if must else "grey")


def _judge_silence(out: Judged, f: _Frames, family: str, w: Watch) -> None:
    """Nothing injected for this watch: silent, unless the tracker reads it as in between."""
    odd = False
    if w.measure in LOWER:
        odd = _lower_in_between(out, f, w.measure)
    else:
        am = _amounts(f.rels, w.measure)
        ok = f.judged & f.under_way & (~f.blink if w.measure == "eye_opening" else True)
        for si in (0, 1):
            odd |= longest_run(f.ts, ok & _grey(family, am[:, si], am[:, 1 - si])) >= MUST_HELD_S
    out.silent, out.grey_clip = not odd, bool(odd)


def _lower_in_between(out: Judged, f: _Frames, measure: str) -> bool:
    """A silent clip whose chin or neck reads in between (only where the tracker's reading is
    judged, and never for a neck nobody can see: any neck event there is a false alarm)."""
    if not reads(measure) or (measure == "neck_bands" and not out.neck_visible):
        return False
    am = _amounts(f.rels, measure)
    grey = CHIN_GREY if measure == "chin_raise" else NECK_GREY
    ok = f.judged & f.under_way
    return any(longest_run(f.ts, ok & (am[:, si] >= grey)) >= MUST_HELD_S for si in (0, 1))
