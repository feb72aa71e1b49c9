"""Clip recipes: what each synthetic clip injects (`Clip`), its truth record (`truth`), and
the two sets: `default_clips()` (committed in tests/data/generated) and `eval_clips()`
(279 clips of 12 persons for leave-one-face-out, rendered outside the repo by
scripts/make_clips.py --set eval).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coach.eval.faces import BASELINE_S, FACES, FPS, RAMP_S
from coach.eval.warp import _smooth

# ---------------------------------------------------------------- clip recipes

PRIMES = {"gentle-eye-closure": "closure", "brow-lift": "brow", "lip-pucker": "pucker"}
PUCKER = 0.12   # each corner moves in 12 % of the mouth width (mouth ~24 % narrower)
BROW = 0.22     # brows rise 22 % of the eye's width
SMILE = (0.17, 0.11)  # corner out, up (fractions of mouth width): width +34 %, corner moves 20 %
POSE_AWAY_DEG = 30.0  # a head turned at least this far is "away": the truth records when
MOTIONS = ("none", "turn", "tilt", "approach", "yaw", "pitch", "turn_hold")
MOTIONS_3D = ("yaw", "pitch", "turn_hold")  # the landmark mesh turned in 3-D (MediaPipe's z), not the image plane
CROPS = ("forehead", "chin", "left", "right")  # the part of the face the frame cuts off (sides: the patient's)
PIVOT_IOD = 1.2                    # 3-D turns: the neck's axis, behind the landmarks' centroid (eye distances)
RINGS = ((1.25, 0.75), (1.6, 0.4), (2.1, 0.12))  # (size over the face outline, share of its movement)
VARIANTS = ("smile_synk", "smile_duchenne", "smile_clean", "smile_blink",
            "pucker_synk", "pucker_bilateral", "pucker_clean", "pucker_blink",
            "closure_oral", "closure_clean", "closure_blink",
            "brow_oral", "brow_clean", "brow_blink", "pose_away")


@dataclass(frozen=True)
class Clip:
    name: str
    face: str
    exercise: str                          # gentle-smile | open-mouth-smile | gentle-eye-closure | ...
    reps: tuple = ((1.6, 4.0),)
    duration: float = 4.6
    eyes: dict = field(default_factory=dict)   # side -> fissure closure in step with each rep
    corner: dict = field(default_factory=dict)  # side -> corner pull (fraction of mouth width) in step
    blinks: tuple = ()                     # (start, end) full closures
    motion: str = "none"                   # one of MOTIONS: turn (image plane), yaw and turn_hold (3-D)
    motion_amount: float = 0.0             # degrees (turn, yaw, turn_hold, tilt; signed) or final scale
    notes: str = ""
    smile_scale: float = 1.0               # scale on the SMILE corner movement
    pucker_scale: float = 1.0              # scale on the PUCKER corner movement
    eye_window: tuple = ()                 # (start, end): the eyes narrow in this window (own ramps)
                                           # instead of in step with the reps
    motion_hold: tuple = ()                # turn_hold: (start, full, leave, back) in seconds
    away_deg: float = POSE_AWAY_DEG        # turn_hold: the injected angle at which the tracker
                                           # reads POSE_AWAY_DEG (measured per face)
    crop: str = ""                         # one of CROPS: the frame cuts off that part of the face

    @property
    def prime(self) -> str:
        """The prime movement: smile, closure (eye), brow (lift) or pucker."""
        return PRIMES.get(self.exercise, "smile")

    @property
    def smile(self) -> bool:
        return self.prime == "smile"

    @property
    def oral(self) -> bool:
        """A mouth movement: the eyes are watched (oral-ocular); else the mouth is (ocular-oral)."""
        return self.prime in ("smile", "pucker")

    @property
    def variant(self) -> str:
        """What kind of case this is (one of VARIANTS), from the recipe."""
        if self.motion == "turn_hold":
            return "pose_away"
        if self.oral:
            n = len(self.eyes)
            kind = ("synk" if n == 1 else ("duchenne" if self.smile else "bilateral") if n >= 2
                    else "blink" if self.blinks else "clean")
        else:
            kind = "oral" if self.corner else "blink" if self.blinks else "clean"
        return f"{self.prime}_{kind}"

    @property
    def condition(self) -> str:
        """How the face is seen: still, cut off by the frame (crop_PART), moving during the hold
        (hold_MOTION), moving slowly over the whole clip (drift_MOTION) or turned away (away)."""
        if self.motion == "turn_hold":
            return "away"
        if self.crop:
            return f"crop_{self.crop}"
        if self.motion == "none":
            return "still"
        return f"{'hold' if self.motion_hold else 'drift'}_{self.motion}"

    def motion_gain(self, t: float) -> float:
        """0..1: how far the head motion has gone at time t."""
        if self.motion == "none":
            return 0.0
        if self.motion_hold:
            a, b, c, d = self.motion_hold
            return float(min(_smooth((t - a) / (b - a)), _smooth((d - t) / (d - c))))
        # Head motion starts after the baseline and grows slowly to the end of the clip.
        return float(_smooth((t - BASELINE_S) / (self.duration - BASELINE_S)))

    def pose_away(self) -> tuple[float, float] | None:
        """(t0, t1): the frames at which the head is turned at least POSE_AWAY_DEG, as the
        tracker reads it: the injected angle is at least `away_deg`."""
        if self.motion != "turn_hold":
            return None
        ts = np.arange(int(round(self.duration * FPS))) / FPS
        away = [t for t in ts if abs(self.motion_amount) * self.motion_gain(t) >= self.away_deg - 1e-9]
        return (round(float(away[0]), 3), round(float(away[-1]), 3)) if away else None


def _synkinesis(clip: Clip, pose: tuple | None) -> list[dict]:
    """The truth's synkinesis entries: what was injected, where and when."""
    if clip.eye_window:
        # Eyes narrowing outside the rhythm of the reps (pose clips: only while the head is
        # turned away, where nothing must be judged; the eval ignores these entries).
        start, end = clip.eye_window
        return [{"side": side, "start_s": start, "end_s": end, "measure": "eye_opening",
                 "injected": amt, "while_pose_away": pose is not None} for side, amt in clip.eyes.items()]
    if clip.prime == "pucker":
        # In a pucker any narrowing eye is synkinesis, also both eyes together.
        measure, moved = "eye_opening", clip.eyes
    elif clip.oral:
        # Only a one-sided narrowing is synkinesis; both eyes narrowing alike is a normal smile.
        measure, moved = "eye_opening", clip.eyes if len(clip.eyes) == 1 else {}
    else:
        measure, moved = "commissure_excursion", clip.corner
    return [{"side": side, "start_s": start, "end_s": end, "measure": measure, "injected": amt}
            for start, end in clip.reps for side, amt in moved.items()]


def truth(clip: Clip, source: str = "", iod: float | None = None) -> dict:
    """The clip's truth record (NAME.truth.json); `source` describes the face, `iod` is its
    neutral eye-centre distance in output pixels."""
    pose = clip.pose_away()
    syn = _synkinesis(clip, pose)
    spec = FACES.get(clip.face, {})
    return {
        "clip": clip.name + ".mp4", "fps": FPS, "exercise": clip.exercise,
        "baseline_s": [0, BASELINE_S],
        "reps": [{"start_s": a, "end_s": b} for a, b in clip.reps],
        "blinks_s": [[a, b] for a, b in clip.blinks],
        "synkinesis": syn,
        "face": source or clip.face, "face_id": clip.face, "motion": clip.motion, "notes": clip.notes,
        "person": spec.get("person", clip.face), "variant": clip.variant, "condition": clip.condition,
        "iod_px": None if iod is None else round(float(iod), 1),
        "pose_away_s": list(pose) if pose else None,
        "injected": _injected(clip),
    }


def _injected(clip: Clip) -> dict:
    """The truth's record of the recipe: amounts, timings and their units."""
    pucker = clip.prime == "pucker"
    return {
        "duration_s": clip.duration, "ramp_s": RAMP_S,
        "prime": clip.prime,
        "smile_corner_out_up": [SMILE[0] * clip.smile_scale, SMILE[1] * clip.smile_scale]
        if clip.smile else None,
        "smile_scale": clip.smile_scale if clip.smile else None,
        "pucker_corner_in": PUCKER * clip.pucker_scale if pucker else None,
        "pucker_scale": clip.pucker_scale if pucker else None,
        "brow_lift": BROW if clip.prime == "brow" else None,
        "eye_closure_in_step": clip.eyes, "corner_pull_in_step": clip.corner,
        "eye_window_s": list(clip.eye_window) or None,
        "eye_closure_exercise": 0.97 if clip.prime == "closure" else None,
        "motion_amount": clip.motion_amount,
        "motion_hold_s": list(clip.motion_hold) or None,
        "crop": clip.crop or None,
        "pose_away_from_deg": clip.away_deg if clip.motion == "turn_hold" else None,
        "units": "eye: fraction of the lid gap closed by the warp; corner: displacement "
                 "as a fraction of the neutral mouth width; turn/tilt/yaw/pitch: degrees (pitch + = nod "
                 "down); approach: scale; motion_hold_s: motion starts, reaches its amount, leaves it, is back; "
                 "crop: the part of the face (the patient's side) the frame cuts off; "
                 "pose_away_from_deg: injected turn at which the tracker reads 30 deg",
    }


HOLD_BLINKS = ((2.3, 2.5), (3.0, 3.25))          # inside the hold 2.0-3.6 s of the standard rep


def default_clips() -> list[Clip]:
    """The committed set. Names: FACE_WHAT[_SIDE][_AMOUNT][_MOTION]."""
    smile_ex = {"man": "gentle-smile", "boy": "gentle-smile", "woman": "open-mouth-smile", "david": "gentle-smile"}
    clips = []

    def add(name, f, kind, **kw):
        ex = {"closure": "gentle-eye-closure", "pucker": "lip-pucker", "brow": "brow-lift"}.get(kind, smile_ex[f])
        clips.append(Clip(f"{f}_{name}", f, ex, **kw))

    _default_man(add)
    _default_others(add)
    return clips


def _default_man(add) -> None:
    """The committed set's clips of the man, front-on: the full matrix."""
    hold_blinks = HOLD_BLINKS
    # The man, front-on: the full matrix.
    add("smile_clean", "man", "smile", reps=((1.6, 3.4), (3.9, 5.7)), duration=6.0,
        notes="two clean smiles, eyes untouched")
    for side in ("left", "right"):
        for amt in (0.4, 0.7, 0.9):
            add(f"smile_synk_{side}_{int(amt * 100)}", "man", "smile", eyes={side: amt},
                notes=f"{side} eye narrows {int(amt * 100)} % in step with the smile")
    add("smile_symmetric", "man", "smile", eyes={"left": 0.5, "right": 0.45},
        notes="normal smile: both eyes narrow together (50 % / 45 %), no synkinesis")
    add("smile_blinks", "man", "smile", blinks=hold_blinks, notes="clean smile, two full blinks during the hold")
    add("closure_clean", "man", "closure", notes="gentle eye closure, mouth still")
    add("closure_oral_left", "man", "closure", corner={"left": 0.12},
        notes="eye closure with the left mouth corner pulled up/out (12 % of mouth width)")
    add("closure_oral_right", "man", "closure", corner={"right": 0.08},
        notes="eye closure with the right mouth corner pulled up/out (8 % of mouth width)")
    # ... with head motion.
    add("smile_synk_left_70_turn", "man", "smile", eyes={"left": 0.7}, motion="turn", motion_amount=18,
        notes="left eye narrows 70 %; head turns 18 deg (image right recedes)")
    add("smile_synk_right_70_tilt", "man", "smile", eyes={"right": 0.7}, motion="tilt", motion_amount=12,
        notes="right eye narrows 70 %; head tilts 12 deg")
    add("smile_synk_left_90_approach", "man", "smile", eyes={"left": 0.9}, motion="approach", motion_amount=1.3,
        notes="left eye narrows 90 %; face comes 1.3x closer")
    add("smile_blinks_tilt", "man", "smile", blinks=hold_blinks, motion="tilt", motion_amount=-12,
        notes="clean smile with two blinks; head tilts -12 deg")
    add("closure_oral_right_turn", "man", "closure", corner={"right": 0.12}, motion="turn", motion_amount=-18,
        notes="eye closure, right corner pulled 12 %; head turns -18 deg (image left recedes)")
    add("smile_symmetric_approach", "man", "smile", eyes={"left": 0.5, "right": 0.5}, motion="approach",
        motion_amount=1.3, notes="normal smile, both eyes narrow 50 %; face comes 1.3x closer")
    # Other exercises: a pucker with and without one eye narrowing; a brow lift with the mouth still.
    add("pucker_synk_left_70", "man", "pucker", eyes={"left": 0.7}, notes="pucker, left eye narrows 70 % with it")
    add("pucker_clean", "man", "pucker", notes="pucker, eyes untouched")
    add("brow_clean", "man", "brow", notes="brow lift, mouth still")


def _default_others(add) -> None:
    """The committed set's clips of the other three faces."""
    hold_blinks = HOLD_BLINKS
    # The young man from the group photo.
    add("smile_clean", "boy", "smile", notes="clean smile")
    add("pucker_synk_right_90_tilt", "boy", "pucker", eyes={"right": 0.9}, motion="tilt", motion_amount=10,
        notes="pucker, right eye narrows 90 %; head tilts 10 deg")
    add("smile_synk_right_70", "boy", "smile", eyes={"right": 0.7}, notes="right eye narrows 70 % with the smile")
    add("smile_synk_left_90", "boy", "smile", eyes={"left": 0.9}, notes="left eye narrows 90 % with the smile")
    add("smile_symmetric_tilt", "boy", "smile", eyes={"left": 0.5, "right": 0.5}, motion="tilt",
        motion_amount=12, notes="normal smile, both eyes narrow 50 %; head tilts 12 deg")
    add("closure_oral_left_approach", "boy", "closure", corner={"left": 0.12}, motion="approach",
        motion_amount=1.3, notes="eye closure, left corner pulled 12 %; face comes 1.3x closer")
    add("closure_clean_turn", "boy", "closure", motion="turn", motion_amount=15,
        notes="gentle eye closure, mouth still; head turns 15 deg")
    # The woman (already smiling with teeth: an open-mouth smile that widens further).
    add("smile_synk_left_70", "woman", "smile", eyes={"left": 0.7}, notes="left eye narrows 70 % with the smile")
    add("smile_blinks_turn", "woman", "smile", blinks=hold_blinks, motion="turn", motion_amount=-15,
        notes="smile with two blinks; head turns -15 deg")
    add("closure_oral_right", "woman", "closure", corner={"right": 0.12},
        notes="eye closure, right corner pulled 12 %")
    add("smile_synk_right_70", "david", "smile", eyes={"right": 0.7}, notes="right eye narrows 70 % with the smile")


# ---------------------------------------------------------------- the eval set

# The eval set's persons and their faces (FACES entries), for leave-one-face-out.
EVAL_PERSONS = (("man", ("man",)), ("boy", ("boy",)), ("woman", ("woman",)), ("david", ("david",)),
                ("blonde", ("blonde",)), ("redhead", ("redhead",)), ("alex", ("alex",)),
                ("rose", ("rose1", "rose2")), ("lin", ("lin",)),
                ("obama", ("obama", "obama_small", "obama_wide")), ("biden", ("biden", "biden_wide")),
                ("kit", ("kit",)))
# What the tracker reads on each face (% of the mouth width, measured with a fresh tracker per
# clip): (pulled corner, other corner) for a 15 % corner pull in step with eye closure, and
# the same with a brow lift (from a first render of the eval set). Eye closure alone moves both
# measured corners by 2-12 %. The eval set sizes its pulls from these so must-flag pulls read
# about 10 points above the other corner (15-19 %) and grey ones about 2 points above it (at
# least 6.5 %).
PULL_READ_15 = {"man": ((13, 5), (10, 2)), "boy": ((17, 8), (12, 2)), "woman": ((15, 4), (10, 2)),
                "david": ((9, 4), (12, 3)), "blonde": ((17, 5), (14, 2)), "redhead": ((13, 7), (8, 3)),
                "alex": ((16, 7), (7, 1)), "rose1": ((15, 4), (14, 0)), "rose2": ((15, 2), (13, 4)),
                "lin": ((16, 5), (11, 2)), "obama": ((12, 5), (9, 1)), "obama_small": ((12, 6), (10, 1)),
                "obama_wide": ((17, 12), (9, 3)), "biden": ((12, 2), (10, 3)), "biden_wide": ((11, 3), (12, 4)),
                "kit": ((14, 5), (12, 2))}
# Pose clips: (face, injected turn, the injected angle at which the tracker reads 30 deg,
# narrowed eye, amount). Heads turn the way their photo already leans; the narrowing eye is
# the near one (a + turn brings the patient's left side towards the camera), which the
# tracker reads while the head is turned; the far eye's narrowing barely registers.
POSE_CLIPS = (("man", 45.0, 38.8, "left", 0.9), ("rose1", 45.0, 36.0, "left", 0.9),
              ("blonde", -42.0, 28.0, "right", 0.9))


def _pct(x: float) -> int:
    return int(round(100 * x))


def _pull(face_name: str, kind: str, grade: str) -> float:
    """Corner pull (fraction of the mouth width) for a must-flag or grey pull on this face.

    The tracker's reading adds up roughly like sqrt(other**2 + (gain * pull)**2), `other`
    being what the exercise alone moves the corner (PULL_READ_15)."""
    read15, other = PULL_READ_15[face_name][0 if kind == "closure" else 1]
    gain = math.sqrt(max(read15 ** 2 - other ** 2, 1.0)) / 0.15
    aim = min(19.0, max(15.0, other + 10.0)) if grade == "must" else max(6.5, other + 2.0)
    return round(min(0.3, max(0.03, math.sqrt(aim ** 2 - other ** 2) / gain)), 3)


def eval_clips() -> list[Clip]:
    """The eval set: the whole matrix on every person (EVAL_PERSONS), for leave-one-face-out.

    Per person (16 clips, spread round-robin over the person's faces): three smiles with one
    eye narrowing (side, amount 0.3-0.9 and smile size 0.1-1.0 vary), a Duchenne smile (both
    eyes, within 1.6x), a clean smile, a smile with two blinks; a pucker with one eye
    narrowing, with both (unequal), a clean one, one with blinks; two eye closures with a
    corner pulled (must-flag, or for every other person a grey 5-8 % pull), a clean one, and
    for every other person one with blinks before and after (else a brow lift with blinks);
    a brow lift with a corner pulled (grey on every fourth person) and a clean one. A quarter
    of the clips (4 per person, rotating over the variants) have head motion: a 3-D head
    turn of 25 deg (towards the front for faces whose photo leans), a tilt of 11 deg or an
    approach to 1.3x (large faces turn instead: they would leave the frame). Plus the pose
    clips (POSE_CLIPS), head motion during the hold (`hold_motion_clips`) and faces partly out
    of the picture (`crop_clips`). No randomness: the same call gives the same list.
    """
    clips: list[Clip] = []
    turns = {"yaw": 0, "tilt": 0, "approach": 0}   # motions handed out so far, per kind
    for k, (person, faces) in enumerate(EVAL_PERSONS):
        a, b = ("left", "right") if k % 2 == 0 else ("right", "left")
        c = a if (k // 2) % 2 == 0 else b
        moving = {(5 * k + 4 * j) % 16: j for j in range(4)}   # slot -> which motion
        slots = _smile_slots(k, a, b, c) + _pucker_slots(k, a, b) + _closure_brow_slots(k, a, b)
        for i, (variant, prime, detail, notes, kw) in enumerate(slots):
            name = faces[i % len(faces)]
            motion = _motion(k, moving[i], FACES[name], turns) if i in moving else None
            clips.append(_eval_clip(name, variant, prime, detail, notes, kw, motion))
    clips += _pose_clips()
    clips += hold_motion_clips() + crop_clips()
    names = [c.name for c in clips]
    assert len(names) == len(set(names)), "eval clip names must be unique"
    return clips


E = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
S_LOW, S_MID, S_HIGH = (0.1, 0.15, 0.2, 0.3), (0.4, 0.5, 0.6), (0.7, 0.8, 1.0)
DUCHENNE = ((0.5, 0.4), (0.6, 0.45), (0.45, 0.35), (0.4, 0.3), (0.55, 0.45), (0.7, 0.5), (0.35, 0.3))
BILATERAL = ((0.7, 0.35), (0.6, 0.3), (0.8, 0.4), (0.5, 0.3), (0.9, 0.5), (0.6, 0.4))


def _slot(variant, exercise, detail, notes, **kw) -> tuple:
    return variant, exercise, detail, notes, kw


def _smile_slots(k: int, a: str, b: str, c: str) -> list[tuple]:
    """Person k's smiles: three with one eye narrowing, a Duchenne, a clean one, one with blinks."""
    slots = []
    for side, amt, scale in ((a, E[k % 7], S_LOW[k % 4]), (b, E[(k + 2) % 7], S_MID[k % 3]),
                             (c, E[(k + 4) % 7], S_HIGH[(k + 1) % 3])):
        slots.append(_slot("smile_synk", "smile", f"{side}{_pct(amt)}_s{_pct(scale)}",
                           f"smile at {_pct(scale)} % size, {side} eye narrows {_pct(amt)} % in step",
                           eyes={side: amt}, smile_scale=scale))
    hi, lo = DUCHENNE[k % 7]
    scale = (0.6, 0.8, 1.0, 0.5)[k % 4]
    eyes = {a: hi, b: lo} if k % 3 else {b: hi, a: lo}
    slots.append(_slot("smile_duchenne", "smile", f"L{_pct(eyes['left'])}_R{_pct(eyes['right'])}_s{_pct(scale)}",
                       f"Duchenne smile at {_pct(scale)} %: both eyes narrow (L {_pct(eyes['left'])} %, "
                       f"R {_pct(eyes['right'])} %), no synkinesis", eyes=eyes, smile_scale=scale))
    scale = (1.0, 0.7, 0.4, 0.2)[k % 4]
    slots.append(_slot("smile_clean", "smile", f"s{_pct(scale)}", f"smile at {_pct(scale)} %, eyes still",
                       smile_scale=scale))
    scale = (0.8, 0.5, 1.0)[k % 3]
    slots.append(_slot("smile_blink", "smile", f"s{_pct(scale)}",
                       f"smile at {_pct(scale)} % with two blinks in the hold", smile_scale=scale, blinks=HOLD_BLINKS))
    return slots


def _pucker_slots(k: int, a: str, b: str) -> list[tuple]:
    """Person k's puckers: with one eye narrowing, with both (unequal), a clean one, one with blinks."""
    amt, scale = (0.5, 0.6, 0.7, 0.8, 0.9, 0.4)[k % 6], (1.0, 0.8, 1.2, 0.7)[k % 4]
    slots = [_slot("pucker_synk", "pucker", f"{b}{_pct(amt)}_p{_pct(scale)}",
                   f"pucker at {_pct(scale)} %, {b} eye narrows {_pct(amt)} % in step",
                   eyes={b: amt}, pucker_scale=scale)]
    hi, lo = BILATERAL[k % 6]
    scale = (1.0, 0.8, 1.2)[k % 3]
    eyes = {a: hi, b: lo} if k % 2 == 0 or k % 3 == 0 else {b: hi, a: lo}
    slots.append(_slot("pucker_bilateral", "pucker", f"L{_pct(eyes['left'])}_R{_pct(eyes['right'])}_p{_pct(scale)}",
                       f"pucker at {_pct(scale)} %, both eyes narrow unequally (L {_pct(eyes['left'])} %, "
                       f"R {_pct(eyes['right'])} %): both are synkinesis", eyes=eyes, pucker_scale=scale))
    scale = (1.0, 0.7, 1.2, 0.5)[k % 4]
    slots.append(_slot("pucker_clean", "pucker", f"p{_pct(scale)}", f"pucker at {_pct(scale)} %, eyes still",
                       pucker_scale=scale))
    scale = (0.8, 1.0)[k % 2]
    slots.append(_slot("pucker_blink", "pucker", f"p{_pct(scale)}",
                       f"pucker at {_pct(scale)} % with two blinks in the hold", pucker_scale=scale,
                       blinks=HOLD_BLINKS))
    return slots


def _closure_brow_slots(k: int, a: str, b: str) -> list[tuple]:
    """Person k's eye closures and brow lifts; their pulls are sized per face in `_eval_clip`."""
    slots = [_slot("closure_oral", "closure", a, "must", corner_side=a, grade="must"),
             _slot("closure_oral", "closure", b, "grey" if k % 2 == 0 else "must", corner_side=b,
                   grade="grey" if k % 2 == 0 else "must"),
             _slot("closure_clean", "closure", "", "gentle eye closure, mouth still")]
    if k % 2 == 0:
        slots.append(_slot("closure_blink", "closure", "", "eye closure, mouth still; a blink before and one after",
                           reps=((2.1, 3.9),), blinks=((1.6, 1.85), (4.1, 4.35)), duration=4.8))
    else:
        slots.append(_slot("brow_blink", "brow", "", "brow lift, mouth still, two blinks in the hold",
                           blinks=HOLD_BLINKS))
    slots.append(_slot("brow_oral", "brow", b, "grey" if k % 4 == 3 else "must", corner_side=b,
                       grade="grey" if k % 4 == 3 else "must"))
    slots.append(_slot("brow_clean", "brow", "", "brow lift, mouth still"))
    return slots


def _motion(k: int, j: int, spec: dict, turns: dict) -> tuple[dict, str, str]:
    """Person k's j-th moving clip: (Clip keywords, name suffix, note). Counts it in `turns`."""
    kind = ("yaw", "tilt", "approach", "yaw")[(j + k) % 4]
    if kind == "approach" and spec["iod"] > 100:
        kind = "tilt" if j % 2 else "yaw"
    turns[kind] += 1
    if kind == "yaw":
        # + turns the nose towards the image's left, which reads as a negative yaw.
        lean = spec.get("yaw", 0.0)
        amount = 25.0 if lean > 5 else -25.0 if lean < -5 else (25.0, -25.0)[turns[kind] % 2]
        suffix, what = f"_yaw{'n' if amount < 0 else ''}25", f"head turns {amount:+.0f} deg (3-D)"
    elif kind == "tilt":
        amount = (11.0, -11.0)[turns[kind] % 2]
        suffix, what = f"_tilt{'n' if amount < 0 else ''}11", f"head tilts {amount:+.0f} deg"
    else:
        amount, suffix, what = 1.3, "_approach", "face comes 1.3x closer"
    return dict(motion=kind, motion_amount=amount), suffix, what


def _eval_clip(name: str, variant: str, prime: str, detail: str, notes: str, kw: dict,
               motion: tuple | None) -> Clip:
    """One slot of the eval set on face `name`, its corner pull sized for that face."""
    spec = FACES[name]
    exercise = {"closure": "gentle-eye-closure", "pucker": "lip-pucker", "brow": "brow-lift"}.get(
        prime, spec.get("smile", "gentle-smile"))
    if "corner_side" in kw:
        side, grade = kw.pop("corner_side"), kw.pop("grade")
        amt = _pull(name, prime, grade)
        kw["corner"] = {side: amt}
        detail = f"{side}{_pct(amt)}"
        notes = (f"{'eye closure' if prime == 'closure' else 'brow lift'}, {side} mouth corner pulled "
                 f"{_pct(amt)} % of the mouth width in step (sized to read as "
                 f"{'must-flag' if grade == 'must' else 'grey'} on this face)")
    suffix = ""
    if motion:
        extra, suffix, what = motion
        kw.update(extra)
        notes = f"{notes}; {what}"
    clip_name = "_".join(p for p in (name, variant, detail) if p) + suffix
    return Clip(clip_name, name, exercise, notes=notes, **kw)


def _pose_clips() -> list[Clip]:
    """The pose clips (POSE_CLIPS): a long smile, the head turned away while one eye narrows."""
    clips = []
    for name, amount, away, side, amt in POSE_CLIPS:
        spec = FACES[name]
        clips.append(Clip(
            f"{name}_pose_away_{side}{_pct(amt)}", name, spec.get("smile", "gentle-smile"),
            reps=((1.6, 7.4),), duration=8.0, smile_scale=0.6, eyes={side: amt}, eye_window=(3.3, 5.5),
            motion="turn_hold", motion_amount=amount, motion_hold=(2.0, 3.0, 5.8, 6.8), away_deg=away,
            notes=f"long smile; the head turns {amount:+.0f} deg (3-D) and holds there 2.8 s; the {side} eye "
                  f"narrows {_pct(amt)} % only while the head is turned away (not to be judged)"))
    return clips


# ---------------------------------------------------------------- head motion in the hold, crops

HOLD_REPS, HOLD_DURATION = ((1.6, 5.2),), 5.8      # a longer hold (2.0-4.8 s) for the head to move in
HOLD_MOTIONS = ("yaw", "pitch", "approach")
HOLD_DEG, HOLD_SCALE = 15.0, 1.25                 # turns and nods of 15 deg; approaches to 1.25x
# Seconds the head takes to reach the amount (and again to come back): mean 10, 20 and 37.5 deg/s,
# peaks 1.5x that (the moves ease in and out).
HOLD_SPEEDS = {"slow": 1.5, "mid": 0.75, "fast": 0.4}
HOLD_MOVE_AT = 2.2                                # the head starts to move 0.2 s into the hold


def _hold_motion(k: int, j: int, spec: dict) -> tuple[dict[str, Any], str, str]:
    """Person k's j-th head motion during the hold: (Clip keywords, name suffix, note)."""
    kind = HOLD_MOTIONS[(k + j) % 3]
    speed = tuple(HOLD_SPEEDS)[(k // 3 + 2 * j) % 3]
    if kind == "approach" and spec["iod"] > 100:
        kind = "pitch" if j % 2 else "yaw"       # large faces would leave the frame
    dur = HOLD_SPEEDS[speed]
    a = HOLD_MOVE_AT
    hold = (a, a + dur, a + dur + 0.5, a + 2 * dur + 0.5)
    if kind == "approach":
        amount, what = HOLD_SCALE, f"face comes {HOLD_SCALE}x closer"
    else:
        sign = 1.0 if (k + j) % 2 == 0 else -1.0
        if kind == "yaw" and abs(spec.get("yaw", 0.0)) > 5:   # turn towards the front, as the drift clips do
            sign = 1.0 if spec["yaw"] > 0 else -1.0
        amount = sign * HOLD_DEG
        what = f"head {'turns' if kind == 'yaw' else 'nods'} {amount:+.0f} deg (3-D)"
    note = f"{what} in {dur:g} s ({speed}) during the hold, holds 0.5 s, and back"
    suffix = f"_hm{kind}{'n' if amount < 0 else ''}_{speed}"
    return dict(motion=kind, motion_amount=amount, motion_hold=hold, reps=HOLD_REPS, duration=HOLD_DURATION), \
        suffix, note


def hold_motion_clips() -> list[Clip]:
    """Head motion during the hold, each with its clean twin (the same motion, nothing injected):
    per person, a smile with one eye narrowing and a pucker with one eye narrowing. Turns (yaw)
    and nods (pitch) of 15 deg in 3-D and approaches to 1.25x, at three speeds, rotating over the
    persons."""
    clips = []
    for k, (person, faces) in enumerate(EVAL_PERSONS):
        a, b = ("left", "right") if k % 2 == 0 else ("right", "left")
        for j, (prime, side, amt, scale) in enumerate((("smile", b, E[(k + 2) % 7], S_MID[k % 3]),
                                                        ("pucker", a, (0.5, 0.6, 0.7, 0.8, 0.9, 0.4)[k % 6],
                                                         (1.0, 0.8, 1.2, 0.7)[k % 4]))):
            name = faces[j % len(faces)]
            spec = FACES[name]
            kw, suffix, note = _hold_motion(k, j, spec)
            size: dict[str, Any] = {"smile_scale": scale} if prime == "smile" else {"pucker_scale": scale}
            exercise = spec.get("smile", "gentle-smile") if prime == "smile" else "lip-pucker"
            what = f"{prime} at {_pct(scale)} %"
            clips.append(Clip(f"{name}_{prime}_synk_{side}{_pct(amt)}{suffix}", name, exercise, eyes={side: amt},
                              notes=f"{what}, {side} eye narrows {_pct(amt)} % in step; {note}", **size, **kw))
            clips.append(Clip(f"{name}_{prime}_clean{suffix}", name, exercise,
                              notes=f"{what}, eyes still; {note}", **size, **kw))
    return clips


def crop_clips() -> list[Clip]:
    """Faces partly out of the picture: the frame cuts off the forehead, the chin or one side
    (rotating over the persons), with every landmark the measures read still inside. Per
    person, a smile with one eye narrowing and its clean twin, and an eye closure with a
    mouth corner pulled (must-flag)."""
    clips = []
    for k, (person, faces) in enumerate(EVAL_PERSONS):
        a, b = ("left", "right") if k % 2 == 0 else ("right", "left")
        crop = CROPS[k % 4]
        name = faces[0]
        spec = FACES[name]
        side, amt, scale = a, E[(k + 3) % 7], S_HIGH[k % 3]
        ex = spec.get("smile", "gentle-smile")
        cut = f"; the frame cuts off the {crop if crop in ('forehead', 'chin') else crop + ' side'}"
        clips.append(Clip(f"{name}_smile_synk_{side}{_pct(amt)}_crop{crop}", name, ex, eyes={side: amt},
                          smile_scale=scale, crop=crop,
                          notes=f"smile at {_pct(scale)} %, {side} eye narrows {_pct(amt)} % in step{cut}"))
        clips.append(Clip(f"{name}_smile_clean_crop{crop}", name, ex, smile_scale=scale, crop=crop,
                          notes=f"smile at {_pct(scale)} %, eyes still{cut}"))
        other = faces[1 % len(faces)]
        pull = _pull(other, "closure", "must")
        clips.append(Clip(f"{other}_closure_oral_{b}{_pct(pull)}_crop{crop}", other, "gentle-eye-closure",
                          corner={b: pull}, crop=crop,
                          notes=f"eye closure, {b} mouth corner pulled {_pct(pull)} % of the mouth width (must-flag)"
                                f"{cut}"))
    return clips
