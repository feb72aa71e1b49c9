"""The evaluation set: `eval_clips()`, 400 clips of 13 persons for leave-one-face-out (rendered
outside the repo by scripts/make_clips.py --set eval), from the recipes of `coach.eval.recipes`:
synkinesis and its silent twins per exercise, turned-away poses, head motion during the hold and
faces partly out of the picture; and the chin and neck clips of `coach.eval.evalset_lower`.
"""
from __future__ import annotations

import math
from typing import Any

from coach.eval.faces import FACES
from coach.eval.recipes import (CROPS, Clip, HOLD_BLINKS)
from coach.eval.evalset_lower import lower_face_clips


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
    clips (POSE_CLIPS), head motion during the hold (`hold_motion_clips`), faces partly out
    of the picture (`crop_clips`) and the chin and neck clips (`lower_face_clips`). No
    randomness: the same call gives the same list.
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
    clips += lower_face_clips(EVAL_PERSONS)
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
