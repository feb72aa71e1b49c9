"""The eval set's chin and neck clips (issue 21), `lower_face_clips()`, added to `eval_clips()`.

Per person of the eval set (EVAL_PERSONS): one chin raise (mentalis: the lip-to-chin height
shortened on one side, the lower lip everted, the chin dimpled) in each exercise family that
watches the chin (the person's smile, gentle eye closure, lip pucker), sides alternating, each
with its clean twin. Per person whose photo shows the neck (FACES `neck`): neck bands (platysma,
with the same side's corner pulled down and out) in the snarl and the open-mouth smile, with
clean twins. Then the silent twins, nothing injected, spread over the neck persons: talking,
swallowing, a nod, a beard, a high collar, a scarf (two of each); neck bands nobody can see
(under each cover, in the dark, below the frame's lower edge), which must read as "can't tell".
"""
from __future__ import annotations

from coach.eval.faces import FACES
from coach.eval.recipes import COVERS, NECK_CROP, Clip

CHIN_AMOUNTS = (0.3, 0.35, 0.4, 0.45)       # all must-flag (see truth.CHIN_MUST_INJECTED)
NECK_AMOUNTS = (0.6, 0.8, 1.0)              # all must-flag (see truth.NECK_MUST_INJECTED)
CHIN_EXERCISES = (("smile", ""), ("closure", "gentle-eye-closure"), ("pucker", "lip-pucker"))
NECK_EXERCISES = (("snarl", "snarl"), ("oms", "open-mouth-smile"))
NOD = dict(motion="pitch", motion_amount=12.0, motion_hold=(2.2, 2.95, 3.45, 4.2), reps=((1.6, 5.2),),
           duration=5.8)                    # a nod of 12 deg in the hold, 0.75 s down, 0.5 s held, 0.75 s up
SILENT = ("talk", "swallow", "nod", "beard", "collar", "scarf")
BEARDED = ("boy",)                          # the neck persons who wear the beards


def _pct(x: float) -> int:
    return int(round(100 * x))


def neck_faces(person: str) -> list[str]:
    """The person's faces whose window shows the neck."""
    return [n for n, spec in FACES.items() if spec.get("person") == person and spec.get("neck")]


# A person in the chin and neck clips only (her photo shows the neck; she looks down, her eyes
# half closed, so the eye and mouth clips leave her out).
LOWER_ONLY_PERSONS = (("lisa", ()),)


def lower_face_clips(persons) -> list[Clip]:
    """The chin and neck clips of the eval set for `persons` ((person, faces) pairs) and
    LOWER_ONLY_PERSONS."""
    persons = tuple(persons) + LOWER_ONLY_PERSONS
    clips: list[Clip] = []
    for k, (person, faces) in enumerate(persons):
        clips += _chin_clips(k, list(faces) + neck_faces(person))
    necks = [(person, neck_faces(person)) for person, _ in persons if neck_faces(person)]
    for i, (person, faces) in enumerate(necks):
        clips += _neck_clips(i, faces)
    clips += _silent_twins(necks) + _unseen_bands(necks)
    return clips


def _chin_clips(k: int, pool: list[str]) -> list[Clip]:
    clips = []
    for j, (tag, exercise) in enumerate(CHIN_EXERCISES):
        name = pool[(k + j) % len(pool)]
        ex = exercise or FACES[name].get("smile", "gentle-smile")
        side, amt = ("left", "right")[(k + j) % 2], CHIN_AMOUNTS[(k + j) % 4]
        what = {"smile": "smile", "closure": "gentle eye closure", "pucker": "pucker"}[tag]
        clips.append(Clip(f"{name}_chin_synk_{side}{_pct(amt)}_{tag}", name, ex, chin={side: amt},
                          notes=f"{what}; the {side} chin rises in step: lip-to-chin height {_pct(amt)} % "
                                f"shorter, the lower lip everted, the chin dimpled"))
        clips.append(Clip(f"{name}_chin_clean_{tag}", name, ex, lower="chin", notes=f"{what}, chin still"))
    return clips


def _neck_clips(i: int, faces: list[str]) -> list[Clip]:
    clips = []
    for j, (tag, ex) in enumerate(NECK_EXERCISES):
        name = faces[j % len(faces)]
        side, amt = ("left", "right")[(i + j) % 2], NECK_AMOUNTS[(i + j) % 3]
        what = "snarl" if tag == "snarl" else "open-mouth smile"
        clips.append(Clip(f"{name}_neck_synk_{side}{_pct(amt)}_{tag}", name, ex, neck={side: amt},
                          notes=f"{what}; {side} neck bands at {_pct(amt)} % in step, the {side} corner "
                                f"pulled down and out"))
        clips.append(Clip(f"{name}_neck_clean_{tag}", name, ex, lower="neck", notes=f"{what}, neck still"))
    return clips


def _silent_twins(necks: list) -> list[Clip]:
    """Two of each SILENT kind, nothing injected, rotating over the neck persons and exercises."""
    clips = []
    for m in range(2 * len(SILENT)):
        kind = SILENT[m % len(SILENT)]
        person, faces = necks[(m + m // len(SILENT)) % len(necks)]
        if kind == "beard":
            person, faces = _bearded(necks, m)
        name = faces[m % len(faces)]
        if kind == "talk":        # the chin is watched in the smile and the eye closure
            tag, ex = ("closure", "gentle-eye-closure") if m < len(SILENT) else \
                ("smile", FACES[name].get("smile", "gentle-smile"))
        else:
            tag, ex = NECK_EXERCISES[(m // len(SILENT) + m) % 2]
        kw: dict = {"talk": dict(talk=True, lower="chin"), "swallow": dict(swallow=True, lower="neck"),
                    "nod": dict(NOD, lower="neck")}.get(kind, dict(cover=kind))
        what = {"talk": "talking (the jaw and lower lip move together at 3 Hz)",
                "swallow": "a swallow in the hold (a bump up the neck, a slight chin tuck)",
                "nod": "a 12 deg nod in the hold (3-D)"}.get(kind, f"a {kind} over the neck, nothing injected")
        clips.append(Clip(f"{name}_{kind}_{tag}", name, ex, notes=f"{tag}; {what}", **kw))
    return clips


def _bearded(necks: list, m: int) -> tuple:
    men = [n for n in necks if n[0] in BEARDED] or necks
    return men[m % len(men)]


def _unseen_bands(necks: list) -> list[Clip]:
    """Neck bands (strength 1, with the corner pull) nobody can see: under each cover, in the
    dark (twice) and below the frame's edge (twice). The truth says neck_visible false."""
    clips = []
    cases = [dict(cover=c) for c in COVERS] + [dict(dark=True)] * 2 + [dict(crop=NECK_CROP)] * 2
    for m, kw in enumerate(cases):
        person, faces = necks[(2 * m + 1) % len(necks)] if "cover" not in kw or kw["cover"] != "beard" \
            else _bearded(necks, m)
        name = faces[m % len(faces)]
        tag, ex = NECK_EXERCISES[m % 2]
        side = ("left", "right")[m % 2]
        how = f"covered_{kw['cover']}" if kw.get("cover") else "dark" if kw.get("dark") else "out"
        where = {"dark": "the neck too dark to see", "out": "the neck below the frame's lower edge"}.get(
            how, f"under a {kw.get('cover')}")
        clips.append(Clip(f"{name}_neck_{how}_{side}100_{tag}", name, ex, neck={side: 1.0},
                          notes=f"{tag}; {side} neck bands at 100 % in step, {where}: can't tell", **kw))
    return clips
