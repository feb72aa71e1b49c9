"""The generator's chin and neck clips (issue 21): the displacement fields of the lower face
(coach.eval.lower_face), the image overlays (coach.eval.overlays), their recipes and truth, the
eval set's chin and neck clips, and how truth.py judges their entries.

Fast: the fields run on the cached neutral landmarks of the committed faces
(tests/data/generated/faces.json), the overlays on a synthetic skin image; no tracker.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.core import face
from coach.eval import truth as truth_mod
from coach.eval.evalset import EVAL_PERSONS, eval_clips
from coach.eval.evalset_lower import SILENT
from coach.eval.faces import DEFAULT_FACES, FACES, FPS, SIZE, Face, iod_px
from coach.eval.lower_face import (CHIN_SIDE, LIP_SIDE, chin_raise, jaw_drop, lip_chin_heights, lip_eversion,
                                   lip_lift, mouth_frame)
from coach.eval.overlays import cover_mask, darken_neck, head_axes, jaw_line, neck_bands, neck_cover
from coach.eval.recipes import COVERS, LOWER_VARIANTS, NECK_CROP, Clip, truth
from coach.eval.render import Renderer

FACES_JSON = Path(__file__).parent / "data" / "generated" / "faces.json"


def _points() -> dict[str, np.ndarray]:
    if not FACES_JSON.is_file():
        pytest.skip("tests/data/generated/faces.json is missing")
    return {k: np.array(v["points"]) for k, v in json.loads(FACES_JSON.read_text()).items()}


def _renderer(clip: Clip, p: np.ndarray) -> Renderer:
    """On a canvas with a margin round the output window, as `faces.face_canvas` makes them."""
    img = np.full((SIZE[1] + 200, SIZE[0] + 200, 3), 150, np.uint8)
    return Renderer(clip, Face(clip.face, img, (100, 100), p + 100, ""))


# ---------------------------------------------------------------- the displacement fields

@pytest.mark.parametrize("side", face.SIDES)
@pytest.mark.parametrize("amount", [0.3, 0.45])
def test_chin_raise_shortens_its_side_by_the_amount(side, amount):
    for name, p in _points().items():
        before = lip_chin_heights(p)
        after = lip_chin_heights(p + chin_raise(p, side, amount))
        short = {k: 1 - after[k] / before[k] for k in before}
        other = face.other(side)
        assert short[side] == pytest.approx(amount, abs=0.03), (name, short)
        assert short[other] < 0.35 * amount, (name, short)           # little on the other side
        assert short[other] < short["mid"] < short[side] + 1e-9, (name, short)
        d = chin_raise(p, side, amount)
        # Nothing above the lip's border (eyes, nose, upper lip) and nothing past the jaw angles moves.
        assert np.abs(d[[*face.EYE_CONTOUR["left"], *face.EYE_CONTOUR["right"], 1, 0, 13, 14]]).max() < 1e-9
        assert np.abs(d[[234, 454, 127, 356]]).max() < 1e-9
        # The chin moves up (image y decreases) on its side.
        assert (d[list(CHIN_SIDE[side]), 1] < 0).all()


def test_lip_eversion_shows_more_red_lip_and_lifts_the_lip():
    for name, p in _points().items():
        for side in face.SIDES:
            loc0, *_ = mouth_frame(p)
            q = p + lip_eversion(p, side, 0.4)
            loc1, *_ = mouth_frame(q)
            lip, inner = LIP_SIDE[side], {"left": 317, "right": 87}[side]
            other_lip = LIP_SIDE[face.other(side)]
            grow = (loc1[lip, 1] - loc1[inner, 1]) / (loc0[lip, 1] - loc0[inner, 1]) - 1
            assert 0.1 < grow < 0.3, (name, side, grow)                 # the vermilion taller: turned out
            assert loc1[inner, 1] < loc0[inner, 1]                      # the lip line rises
            assert abs(loc1[other_lip, 1] - loc0[other_lip, 1]) < 0.5 * abs(loc1[lip, 1] - loc0[lip, 1]) + 1e-6


def test_talking_keeps_the_lip_to_chin_height():
    for name, p in _points().items():
        iod = iod_px(p)
        q = p + jaw_drop(p, 0.05 * iod)
        before, after = lip_chin_heights(p), lip_chin_heights(q)
        for k in before:
            assert after[k] == pytest.approx(before[k], rel=0.02), (name, k)
        assert q[152, 1] - p[152, 1] > 0.8 * 0.05 * iod                # the chin drops
        assert 0 < q[13, 1] - p[13, 1] < q[17, 1] - p[17, 1]             # the upper lip follows part-way
        assert np.abs(q[[1, 168, 33, 263]] - p[[1, 168, 33, 263]]).max() < 1e-9


def test_snarl_lifts_the_upper_lip_over_the_canine():
    for name, p in _points().items():
        for side in face.SIDES:
            d = lip_lift(p, side, 0.12)
            width = float(np.linalg.norm(p[291] - p[61]))
            up = -d[list(face.UPPER_LIP_LATERAL[side]), 1].mean() / width
            assert 0.04 < up <= 0.12, (name, side, up)     # less under a short upper lip (the cap)
            assert np.abs(d[[17, 314, 84, 152]]).max() < 1e-9            # the lower lip's border and the chin stay


@pytest.mark.parametrize("clip", [
    Clip("a", "man", "gentle-smile", chin={"left": 0.45}),
    Clip("b", "man", "lip-pucker", chin={"right": 0.45}),
    Clip("c", "man", "gentle-eye-closure", chin={"left": 0.4}),
    Clip("d", "man", "snarl", neck={"right": 1.0}),
    Clip("e", "man", "open-mouth-smile", talk=True, lower="chin"),
    Clip("f", "man", "snarl", swallow=True, lower="neck"),
], ids=lambda c: c.name)
def test_no_lower_face_recipe_folds_the_mesh(clip):
    """On every committed face, at every frame time: no folded triangle (beyond what the exercise
    alone folds: a sliver at an eye corner of a fully closed eye, on one face)."""
    for name in DEFAULT_FACES:
        p = _points()[name]
        r = _renderer(Clip(clip.name, name, clip.exercise, chin=clip.chin, neck=clip.neck, talk=clip.talk,
                           swallow=clip.swallow, lower=clip.lower), p)
        twin = _renderer(Clip(clip.name, name, clip.exercise, lower="chin"), p)
        assert len(r.extra) >= 10                      # points under the jaw carry the movement into the neck
        for t in np.arange(0, clip.duration, 0.1):
            alone = twin.warper.flipped(twin.targets(t)[1])
            assert r.warper.flipped(r.targets(t)[1]) == alone <= 2, (name, clip.name, t)


# ---------------------------------------------------------------- the overlays

def _skin(p: np.ndarray) -> np.ndarray:
    """A smooth skin-coloured frame with a gentle vertical light falloff (no texture), reaching
    well below the chin (the committed faces' windows end just under it)."""
    h, w = SIZE[1] + 200, SIZE[0]
    ramp = np.linspace(1.0, 0.8, h)[:, None, None]
    return np.clip(np.full((h, w, 3), (120, 150, 190), np.float32) * ramp, 0, 255).astype(np.uint8)


def _neck_boxes(p: np.ndarray):
    """Boxes under the jaw on the image's left and right of the chin (x0, x1, y0, y1)."""
    o, u, v, iod = head_axes(p)
    y0, y1 = int(o[1] + 0.1 * iod), int(o[1] + 0.9 * iod)
    return {"low": (int(o[0] - 0.6 * iod), int(o[0] - 0.05 * iod), y0, y1),
            "high": (int(o[0] + 0.05 * iod), int(o[0] + 0.6 * iod), y0, y1)}


def _gx_energy(img: np.ndarray, box) -> float:
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    x0, x1, y0, y1 = box
    return float(np.mean(gx[y0:y1, x0:x1] ** 2))


@pytest.mark.parametrize("side", face.SIDES)
def test_neck_bands_add_vertical_edges_below_the_jaw_on_their_side_only(side):
    for name in DEFAULT_FACES:
        p = _points()[name]
        img = _skin(p)
        out = neck_bands(img, p, side, 1.0)
        # Which image half is the patient's `side`: the side of its mouth corner.
        image_side = "high" if p[face.MOUTH_CORNER[side], 0] > p[152, 0] else "low"
        boxes = _neck_boxes(p)
        other = "low" if image_side == "high" else "high"
        before = {k: _gx_energy(img, b) for k, b in boxes.items()}
        after = {k: _gx_energy(out, b) for k, b in boxes.items()}
        assert after[image_side] > 20 * (before[image_side] + 1.0), (name, before, after)
        assert after[other] < 0.05 * after[image_side] + before[other] + 1.0, (name, before, after)
        # The face above the jaw line is untouched.
        assert np.array_equal(out[: int(p[[13, 14], 1].max())], img[: int(p[[13, 14], 1].max())])
        # Stronger bands, more edges; none at 0.
        assert _gx_energy(neck_bands(img, p, side, 0.5), boxes[image_side]) < after[image_side]
        assert np.array_equal(neck_bands(img, p, side, 0.0), img)


def test_covers_hide_the_neck_and_darkness_darkens_it():
    p = _points()["man"]
    img = _skin(p)
    o, u, v, iod = head_axes(p)
    jaw = jaw_line(p, o, u, v, iod)
    m = cover_mask(img.shape, p)
    x, y = int(o[0]), int(o[1] + 0.5 * iod)
    assert m[y, x] == pytest.approx(1.0) and m[int(o[1] - 0.3 * iod), x] == 0.0   # the neck, not the chin
    assert m[int(o[1] + (jaw(0.0) + 0.05) * iod), x] < 0.1                         # just under the jaw: open
    banded = neck_bands(img, p, "left", 1.0)
    for kind in ("collar", "scarf"):
        covered = neck_cover(banded, p, kind)
        box = _neck_boxes(p)
        # Under the cover the bands are gone: what remains is the fabric, the same with or without bands.
        bare = neck_cover(img, p, kind)
        for b in box.values():
            x0, x1, y0, y1 = b
            y0 = int(o[1] + 0.25 * iod)
            assert np.abs(covered[y0:y1, x0:x1].astype(int) - bare[y0:y1, x0:x1].astype(int)).max() <= 1, kind
    dark = darken_neck(img, p)
    g = cv2.cvtColor(dark, cv2.COLOR_BGR2GRAY)
    assert g[int(o[1] + 0.6 * iod), x] < 25 and g[int(p[1, 1]), int(p[1, 0])] == cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[
        int(p[1, 1]), int(p[1, 0])]


def test_rendered_chin_dimples_darken_their_side_in_the_hold():
    p = _points()["man"]
    r = _renderer(Clip("a", "man", "gentle-smile", chin={"left": 0.45}), p)
    rest, hold = r.frame(0).astype(int), r.frame(int(2.8 * FPS)).astype(int)
    q = r.output_points(r.p, np.eye(3))
    lip, chin = q[17, 1], q[152, 1]
    band = slice(int(lip), int(chin))
    left = q[291, 0] > q[152, 0]                      # the patient's left is on the image's right
    mid = int(q[152, 0])
    side, other = (slice(mid + 2, int(q[291, 0])), slice(int(q[61, 0]), mid - 2))[:: 1 if left else -1]
    assert rest.min() == rest.max() == 150                        # a flat canvas: the warp alone shows nothing
    assert hold[band, side].min() < 135 and hold[band, other].min() >= 148


def test_rendered_neck_bands_follow_the_reps_and_a_beard_covers_the_chin():
    p = _points()["man"]
    img = cv2.GaussianBlur(np.random.default_rng(0).integers(90, 200, (SIZE[1], SIZE[0], 3)).astype(np.uint8),
                           (0, 0), 3)
    clip = Clip("a", "man", "snarl", neck={"left": 1.0})
    r = Renderer(clip, Face("man", img, (0, 0), p, ""))
    o, u, v, iod = head_axes(p)
    box = _neck_boxes(p)["high" if p[291, 0] > p[152, 0] else "low"]
    rest, hold = r.frame(0), r.frame(int(2.8 * FPS))
    assert _gx_energy(hold, box) > 1.5 * _gx_energy(rest, box)
    beard = Renderer(Clip("b", "man", "snarl", cover="beard"), Face("man", img, (0, 0), p, "")).frame(0)
    chin = (int(p[152, 0]), int((p[152, 1] + p[17, 1]) / 2))
    assert beard[chin[1], chin[0]].mean() < 0.6 * img[chin[1], chin[0]].mean()   # dark hair over the chin


# ---------------------------------------------------------------- recipes, truth and the eval set

def test_truth_of_chin_and_neck_clips():
    ex = "open-mouth-smile"
    chin = truth(Clip("a", "woman_neck", ex, chin={"left": 0.4}))
    assert [(e["side"], e["measure"], e["injected"]) for e in chin["synkinesis"]] == [("left", "chin_raise", 0.4)]
    assert (chin["variant"], chin["region"], chin["neck_visible"], chin["cover"]) == \
        ("chin_synk", "chin", True, "")
    neck = truth(Clip("b", "woman_neck", "snarl", neck={"right": 0.8}, reps=((1.6, 4.0), (4.6, 7.0)), duration=7.5))
    assert [(e["side"], e["measure"], e["start_s"], e["neck_visible"]) for e in neck["synkinesis"]] == \
        [("right", "neck_bands", 1.6, True), ("right", "neck_bands", 4.6, True)]
    assert neck["variant"] == "neck_synk" and neck["region"] == "neck"
    assert neck["injected"]["neck_bands_in_step"] == {"right": 0.8}
    # Faces whose window shows no neck: the neck is never visible.
    assert truth(Clip("c", "woman", ex, neck={"left": 1.0}))["neck_visible"] is False
    for kw, variant in ((dict(cover="beard"), "neck_covered"), (dict(cover="collar"), "neck_covered"),
                        (dict(cover="scarf"), "neck_covered"), (dict(dark=True), "neck_dark"),
                        (dict(crop=NECK_CROP), "neck_out")):
        t = truth(Clip("d", "rose1_neck", "snarl", neck={"left": 1.0}, **kw))
        assert t["variant"] == variant and t["neck_visible"] is False, kw
        assert all(e["neck_visible"] is False for e in t["synkinesis"])
    for cover in COVERS:
        t = truth(Clip("e", "rose1_neck", "snarl", cover=cover))
        assert (t["variant"], t["synkinesis"], t["neck_visible"], t["cover"]) == (cover, [], False, cover)
    assert truth(Clip("f", "rose1_neck", ex, talk=True, lower="chin"))["variant"] == "talk"
    assert truth(Clip("g", "rose1_neck", "snarl", swallow=True, lower="neck"))["variant"] == "swallow"
    nod = truth(Clip("h", "rose1_neck", "snarl", motion="pitch", motion_amount=12, lower="neck"))
    assert nod["variant"] == "nod" and nod["synkinesis"] == [] and nod["neck_visible"] is True
    assert truth(Clip("i", "rose1_neck", "snarl", lower="neck"))["variant"] == "neck_clean"
    # The eye and mouth clips keep their regions.
    assert truth(Clip("j", "man", "gentle-smile", eyes={"left": 0.5}))["region"] == "eye"
    assert truth(Clip("k", "man", "brow-lift", corner={"left": 0.1}))["region"] == "mouth"


def test_eval_set_chin_and_neck_clips():
    clips = [c for c in eval_clips() if c.region in ("chin", "neck")]
    assert 100 <= len(clips) <= 130
    assert {c.variant for c in clips} == set(LOWER_VARIANTS)
    for c in clips:
        assert c.name.startswith(f"{c.face}_{c.variant}"), c.name
    persons = [p for p, _ in EVAL_PERSONS]
    # Every person: a one-sided chin raise in each exercise family, with a clean twin, both sides used.
    for person in persons:
        mine = [c for c in clips if FACES[c.face]["person"] == person and c.region == "chin"]
        synk = [c for c in mine if c.variant == "chin_synk"]
        families = {"gentle-smile": "smile", "open-mouth-smile": "smile"}
        assert sorted(families.get(c.exercise, c.exercise) for c in synk) == \
            ["gentle-eye-closure", "lip-pucker", "smile"], person
        assert all(len(c.chin) == 1 and 0.25 <= min(c.chin.values()) <= 0.45 for c in synk)
        assert sum(c.variant == "chin_clean" for c in mine) == len(synk)
        for c in synk:
            if c.smile:
                assert c.exercise == FACES[c.face].get("smile", "gentle-smile")
    assert {s for c in clips if c.variant == "chin_synk" for s in c.chin} == set(face.SIDES)
    # The neck persons: bands in the snarl and the open-mouth smile, alternating sides, with clean twins.
    neck_persons = {FACES[n]["person"] for n in FACES if FACES[n].get("neck")}
    assert len(neck_persons) >= 6
    synk = [c for c in clips if c.variant == "neck_synk"]
    assert {FACES[c.face]["person"] for c in synk} == neck_persons
    assert Counter(c.exercise for c in synk) == Counter({"snarl": len(neck_persons),
                                                         "open-mouth-smile": len(neck_persons)})
    assert {s for c in synk for s in c.neck} == set(face.SIDES)
    assert all(FACES[c.face].get("neck") and c.neck_visible and min(c.neck.values()) >= 0.5 for c in synk)
    assert sum(c.variant == "neck_clean" for c in clips) == len(synk)
    # The silent twins: nothing injected, at least two of each, over several persons.
    silent = [c for c in clips if c.variant in SILENT]
    assert Counter(c.variant for c in silent) == Counter({k: 2 for k in SILENT})
    assert all(not c.chin and not c.neck and not c.eyes and not c.corner for c in silent)
    assert len({FACES[c.face]["person"] for c in silent}) >= 5
    # Nobody can see these necks.
    for c in clips:
        if c.cover or c.dark or c.crop == NECK_CROP:
            assert not c.neck_visible and not truth(c)["neck_visible"], c.name
    assert {c.cover for c in clips if c.variant == "neck_covered"} == set(COVERS)


# ---------------------------------------------------------------- judging chin and neck entries

def _Ex(exercise_id: str = "open-mouth-smile"):
    from coach.core.exercises import load_library

    return load_library()[0][exercise_id]


def _judged(clip: Clip, monkeypatch, read_lower=False):
    monkeypatch.setattr(truth_mod, "READ_LOWER", read_lower)
    t = truth(clip)
    ts = np.arange(0, clip.duration, 1 / FPS)
    rels = np.zeros((len(ts), len(truth_mod.REL_INDEX), 2))
    prime = truth_mod.REL_INDEX["commissure_excursion"]
    rels[:, prime, :] = 0.2 * ((ts > 1.6) & (ts < 4.0))[:, None]
    monkeypatch.setattr(truth_mod, "series", lambda m, b: (ts, rels))
    # Each watch is judged on its own: the chin's for a chin clip, else the neck's.
    return truth_mod.judge(t, [], None, _Ex(clip.exercise), "chin_raise" if clip.chin else "neck_bands")


def test_judge_falls_back_to_the_injected_amount(monkeypatch):
    """Until calibration.REL carries chin_raise / neck_bands (or with READ_LOWER off), chin and
    neck entries are must-flag by the injected amount, and grey where the neck is not visible."""
    ex = "open-mouth-smile"
    j = _judged(Clip("a", "woman_neck", ex, chin={"left": 0.3}), monkeypatch)
    assert [(e.measure, e.side, e.kind) for e in j.entries] == [("chin_raise", "left", "must")]
    assert _judged(Clip("b", "woman_neck", ex, chin={"left": 0.2}), monkeypatch).entries[0].kind == "grey"
    assert _judged(Clip("c", "woman_neck", ex, neck={"right": 0.5}), monkeypatch).entries[0].kind == "must"
    assert _judged(Clip("d", "woman_neck", ex, neck={"right": 0.4}), monkeypatch).entries[0].kind == "grey"
    for kw in (dict(cover="scarf"), dict(dark=True), dict(crop=NECK_CROP)):
        j = _judged(Clip("e", "woman_neck", ex, neck={"right": 1.0}, **kw), monkeypatch)
        assert [e.kind for e in j.entries] == ["grey"], kw
    # A pucker's chin entry is not copied to the other side (that rule is for the eyes).
    j = _judged(Clip("f", "woman_neck", "lip-pucker", chin={"left": 0.4}), monkeypatch)
    assert [(e.measure, e.side) for e in j.entries] == [("chin_raise", "left")]
    silent = _judged(Clip("g", "woman_neck", ex, cover="collar"), monkeypatch)
    assert silent.silent and not silent.neck_visible and not silent.entries


def test_judge_reads_the_chin_once_rel_has_it(monkeypatch):
    """With chin_raise in REL the tracker's reading decides: must-flag where it holds CHIN_MUST."""
    rel = tuple(truth_mod.REL_INDEX)
    assert "chin_raise" in rel
    clip = Clip("a", "woman_neck", "open-mouth-smile", chin={"left": 0.4})
    t = truth(clip)
    ts = np.arange(0, clip.duration, 1 / FPS)
    for read, kind in ((0.2, "must"), (0.1, "grey")):
        rels = np.zeros((len(ts), len(rel), 2))
        rels[:, rel.index("commissure_excursion"), :] = 0.2 * ((ts > 1.6) & (ts < 4.0))[:, None]
        rels[:, rel.index("chin_raise"), 0] = read * ((ts > 2.0) & (ts < 3.6))
        monkeypatch.setattr(truth_mod, "series", lambda m, b, r=rels: (ts, r))
        j = truth_mod.judge(t, [], None, _Ex(), "chin_raise")
        assert [(e.measure, e.kind) for e in j.entries] == [("chin_raise", kind)], read
        assert truth_mod.judge(t, [], None, _Ex()).entries == []     # the eyes' truth has no chin in it


def test_chin_and_neck_events_are_scored_like_the_others(monkeypatch):
    """Found on its side, a wrong side is false, a neck under a cover is forgiven where bands were
    injected and a false alarm where nothing was; and the region table adds them up per region."""
    from coach.core.events import Synkinesis
    from coach.eval.score import score_clip, table

    def ev(side, measure="chin_raise", t0=2.1, t1=3.4):
        return Synkinesis(side, measure, t0, t1, 0.3)

    ex = "open-mouth-smile"
    chin = _judged(Clip("a", "woman_neck", ex, chin={"left": 0.4}), monkeypatch)
    hit = score_clip("a", ex, "woman", "chin_synk", chin, [ev("left")], region="chin")
    assert (hit.must, hit.hits, hit.side_ok, hit.true, hit.false) == (1, 1, 1, 1, 0)
    wrong = score_clip("a", ex, "woman", "chin_synk", chin, [ev("right")], region="chin")
    assert (wrong.hits, wrong.side_ok, wrong.false) == (1, 0, 1)
    missed = score_clip("a", ex, "woman", "chin_synk", chin, [ev("left", "eye_opening")], region="chin")
    assert (missed.hits, missed.false) == (0, 1)
    under = _judged(Clip("b", "woman_neck", ex, neck={"right": 1.0}, cover="scarf"), monkeypatch)
    forgiven = score_clip("b", ex, "woman", "neck_covered", under, [ev("right", "neck_bands")], region="neck")
    assert (forgiven.must, forgiven.grey, forgiven.false) == (0, 1, 0)
    bare = _judged(Clip("c", "woman_neck", ex, cover="collar"), monkeypatch)
    alarm = score_clip("c", ex, "woman", "collar", bare, [ev("left", "neck_bands")], region="neck")
    assert alarm.silent and (alarm.false, alarm.silent_events) == (1, 1)
    rows = table([hit, wrong, forgiven, alarm], "region").splitlines()
    assert [r.split("|")[1].strip() for r in rows[2:]] == ["chin", "neck", "**all**"]
    assert rows[2].split("|")[2].strip() == "2" and rows[3].split("|")[8].strip() == "1"
    from coach.eval.cases import Case

    assert Case("x", truth(Clip("x", "rose1_neck", "snarl", cover="beard")), []).region == "neck"
    # Truth files from before the chin and neck: the region follows the exercise.
    assert [Case("y", {"exercise": e}, []).region for e in ("gentle-smile", "brow-lift")] == ["eye", "mouth"]
