"""Clip recipes: what each synthetic clip injects (`Clip`), its truth record (`truth`), and the
default set, `default_clips()` (committed in tests/data/generated). The evaluation set is built
from the same recipes in `coach.eval.evalset`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.eval.faces import BASELINE_S, FACES, FPS, RAMP_S
from coach.eval.warp import _smooth

# ---------------------------------------------------------------- clip recipes

PRIMES = {"gentle-eye-closure": "closure", "brow-lift": "brow", "lip-pucker": "pucker", "snarl": "snarl"}
PUCKER = 0.12   # each corner moves in 12 % of the mouth width (mouth ~24 % narrower)
BROW = 0.22     # brows rise 22 % of the eye's width
SMILE = (0.17, 0.11)  # corner out, up (fractions of mouth width): width +34 %, corner moves 20 %
SNARL = 0.12    # the upper lip over each canine rises 12 % of the mouth width
POSE_AWAY_DEG = 30.0  # a head turned at least this far is "away": the truth records when
MOTIONS = ("none", "turn", "tilt", "approach", "yaw", "pitch", "turn_hold")
MOTIONS_3D = ("yaw", "pitch", "turn_hold")  # the landmark mesh turned in 3-D (MediaPipe's z), not the image plane
CROPS = ("forehead", "chin", "left", "right")  # the part of the face the frame cuts off (sides: the patient's)
PIVOT_IOD = 1.2                    # 3-D turns: the neck's axis, behind the landmarks' centroid (eye distances)
RINGS = ((1.25, 0.75), (1.6, 0.4), (2.1, 0.12))  # (size over the face outline, share of its movement)
# The chin and neck clips (issue 21): one side's chin raised (mentalis) or neck bands (platysma),
# their clean twins, the silent twins (talking, swallowing, a nod, a beard, a high collar, a
# scarf: nothing injected), and neck bands nobody can see (under a cover, in the dark, below the
# picture's edge).
LOWER_VARIANTS = ("chin_synk", "chin_clean", "neck_synk", "neck_clean", "talk", "swallow", "nod",
                  "beard", "collar", "scarf", "neck_covered", "neck_dark", "neck_out")
COVERS = ("beard", "collar", "scarf")
NECK_CROP = "neck"            # Clip.crop: the frame's lower edge just under the chin, the neck out of the picture
# Platysma pulls the same side's mouth corner down and out: (out, down) per unit of band strength,
# fractions of the mouth width.
NECK_CORNER = (0.07, 0.09)
TALK_HZ, TALK_DROP = 3.0, 0.05        # talking: the jaw drops up to 5 % of the IOD, three times a second
SWALLOW_S, SWALLOW_TUCK = 0.9, 0.025  # a swallow takes 0.9 s; the chin tucks 2.5 % of the IOD
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
    crop: str = ""                         # one of CROPS (or NECK_CROP): the frame cuts off that part of the face
    chin: dict = field(default_factory=dict)   # side -> chin raise in step (fraction of the lip-to-chin height)
    neck: dict = field(default_factory=dict)   # side -> neck band strength in step (0..1)
    cover: str = ""                        # one of COVERS over the chin and neck (the neck is not visible)
    talk: bool = False                     # the jaw and lower lip move together at TALK_HZ during the reps
    swallow: bool = False                  # one swallow in each rep's hold (a bump up the neck, a chin tuck)
    dark: bool = False                     # the frame below the jaw is too dark to judge
    lower: str = ""                        # "chin" | "neck": the region a clip with nothing injected is about

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
        return self.prime in ("smile", "pucker", "snarl")

    @property
    def region(self) -> str:
        """The region the clip is about: chin or neck (the lower-face clips), else eye (a mouth
        movement, the eyes watched) or mouth (an eye or brow movement, the corners watched)."""
        if self.chin:
            return "chin"
        if self.lower or self.neck or self.cover or self.dark or self.crop == NECK_CROP:
            return self.lower or "neck"
        return "eye" if self.oral else "mouth"

    @property
    def neck_visible(self) -> bool:
        """The face shows its neck (FACES `neck`) and nothing hides it: no cover, not too dark, and
        the frame's lower edge not cut over the chin."""
        return bool(FACES.get(self.face, {}).get("neck")) and not (
            self.cover or self.dark or self.crop in ("chin", NECK_CROP))

    @property
    def variant(self) -> str:
        """What kind of case this is (one of VARIANTS or LOWER_VARIANTS), from the recipe."""
        if self.region in ("chin", "neck"):
            return self._lower_variant()
        if self.motion == "turn_hold":
            return "pose_away"
        if self.oral:
            n = len(self.eyes)
            kind = ("synk" if n == 1 else ("duchenne" if self.smile else "bilateral") if n >= 2
                    else "blink" if self.blinks else "clean")
        else:
            kind = "oral" if self.corner else "blink" if self.blinks else "clean"
        return f"{self.prime}_{kind}"

    def _lower_variant(self) -> str:
        if self.cover:
            return "neck_covered" if self.neck else self.cover
        if self.dark:
            return "neck_dark"
        if self.crop == NECK_CROP:
            return "neck_out"
        for flag, name in ((self.talk, "talk"), (self.swallow, "swallow"), (self.chin, "chin_synk"),
                           (self.neck, "neck_synk"), (self.motion == "pitch", "nod")):
            if flag:
                return name
        return f"{self.region}_clean"

    @property
    def condition(self) -> str:
        """How the face is seen: still, cut off by the frame (crop_PART), moving during the hold
        (hold_MOTION), moving slowly over the whole clip (drift_MOTION) or turned away (away)."""
        if self.motion == "turn_hold":
            return "away"
        if self.cover:
            return f"cover_{self.cover}"
        if self.dark:
            return "dark"
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
    entries = [{"side": side, "start_s": start, "end_s": end, "measure": measure, "injected": amt}
               for start, end in clip.reps for side, amt in moved.items()]
    # The chin and the neck: every injected side (neck entries say whether the neck can be seen).
    entries += [{"side": side, "start_s": start, "end_s": end, "measure": "chin_raise", "injected": amt}
                for start, end in clip.reps for side, amt in clip.chin.items()]
    entries += [{"side": side, "start_s": start, "end_s": end, "measure": "neck_bands", "injected": amt,
                 "neck_visible": clip.neck_visible}
                for start, end in clip.reps for side, amt in clip.neck.items()]
    return entries


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
        "region": clip.region, "neck_visible": clip.neck_visible, "cover": clip.cover,
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
        "snarl_lip_lift": SNARL if clip.prime == "snarl" else None,
        "chin_raise_in_step": clip.chin, "neck_bands_in_step": clip.neck,
        "neck_corner_out_down": list(NECK_CORNER) if clip.neck else None,
        "talk": clip.talk, "swallow": clip.swallow, "dark_neck": clip.dark,
        "units": "eye: fraction of the lid gap closed by the warp; corner: displacement "
                 "as a fraction of the neutral mouth width; turn/tilt/yaw/pitch: degrees (pitch + = nod "
                 "down); approach: scale; motion_hold_s: motion starts, reaches its amount, leaves it, is back; "
                 "crop: the part of the face (the patient's side) the frame cuts off; "
                 "pose_away_from_deg: injected turn at which the tracker reads 30 deg; "
                 "snarl: upper-lip lift over the canine, fraction of the mouth width; "
                 "chin: the lower-lip-to-chin height shortened by this fraction on that side (with the "
                 "lower lip everted and the chin dimpled in step); neck: band strength 0..1 (with the same "
                 "side's corner pulled out and down by neck_corner_out_down x strength)",
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
