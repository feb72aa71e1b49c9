"""Chin and neck on the patient's screen (issue 21, item 4): the alert rings the chin's half on the
patient's side, the neck (not in the mesh) as a band below that side's jaw line, the neck's state
under the meters and the hint that says how to show it. Checked on the drawn pixels and words."""
from __future__ import annotations

import numpy as np
import pytest

from coach.core import face
from coach.core.feedback import FeedbackView, Meter
from coach.core.moment import Moment, Place
from coach.core.neck import NECK_HINT
from coach.core.screens import compose

pytestmark = pytest.mark.usefixtures("headless")

# The lower lip's outer outline in MediaPipe's canonical mesh (FACEMESH_LIPS), corner to corner.
LOWER_LIP_OUTLINE = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)


@pytest.fixture
def display():
    from coach.screen.display import PygameDisplay
    d = PygameDisplay(mute=True, view="mirror")
    yield d
    d.close()


def pixels(display, tmp_path) -> np.ndarray:
    import pygame
    path = tmp_path / "shot.png"
    display.screenshot(path)
    return pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)


def drawn_in(display, tmp_path, calm, colour, **view) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a hold on the mirror view of the calm face; the (x, y) of pixels of `colour` inside the
    face's box, and where each landmark went on the screen."""
    frame = np.full((calm.height, calm.width, 3), 90, np.uint8)
    display.draw(FeedbackView(screen="hold", title="Gentle smile", points=calm.points, t=3.0, **view), frame)
    img = pixels(display, tmp_path)
    box, dst = display.renderer.face_rect, display.renderer.image_rect
    hit = np.all(np.abs(img.astype(int) - np.asarray(colour, int)) <= 6, axis=2)
    hit[:box.y], hit[box.bottom:], hit[:, :box.x], hit[:, box.right:] = False, False, False, False
    ys, xs = np.nonzero(hit)
    px = np.stack([dst.x + (1 - calm.points[:, 0]) * dst.w, dst.y + calm.points[:, 1] * dst.h], axis=1)
    return xs, ys, px


def jaw_y(px: np.ndarray, side: str, xs: np.ndarray) -> np.ndarray:
    """The jaw line's height on the screen at each x (between its ends), from that side's lower jaw points."""
    jaw = px[list(face.REGION_POINTS["neck"][side])]
    order = np.argsort(jaw[:, 0])
    return np.interp(xs, jaw[order, 0], jaw[order, 1])


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_neck_alert_draws_a_band_below_that_sides_jaw(display, tmp_path, calm, side):
    from coach.screen.palette import HIGHLIGHT
    xs, ys, px = drawn_in(display, tmp_path, calm, HIGHLIGHT, highlight=(("neck", side),))
    assert len(xs) > 300
    jaw = px[list(face.REGION_POINTS["neck"][side])]
    inside = (xs >= jaw[:, 0].min() - 8) & (xs <= jaw[:, 0].max() + 8)
    below = ys >= jaw_y(px, side, xs) - 8                    # on the jaw line (its top edge) or under it
    assert (inside & below).mean() > 0.97
    span = float(np.linalg.norm(px[face.EYE_OUTER["left"]] - px[face.EYE_OUTER["right"]]))
    assert ys.max() - jaw[:, 1].max() > 0.3 * span           # it reaches down the neck, not just the jaw
    chin_x = px[152, 0]
    # The patient's side, as in a mirror: their left shows on the screen's left.
    assert (np.median(xs) < chin_x) == (side == "left")


def test_a_chin_alert_rings_the_chin_half_below_the_lip_on_the_patients_side(display, tmp_path, calm):
    from coach.screen.palette import HIGHLIGHT
    xs, ys, px = drawn_in(display, tmp_path, calm, HIGHLIGHT, highlight=(("chin", "left"),))
    assert len(xs) > 200
    lip, chin, nose = px[face.LOWER_LIP_MID], px[152], px[face.NOSE_TIP]
    assert chin[1] < ys.max() < chin[1] + 30                 # round the chin's lowest point, not the neck
    below = ys > lip[1] + 10                                 # round the chin, below the lower lip
    assert below.sum() > 100
    assert np.median(xs[below]) < chin[0]                    # the patient's left: the screen's left
    ring = ys > nose[1] + 40                                 # the ring itself (its warning sign sits above it)
    assert xs[ring].max() < px[face.MOUTH_CORNER["right"], 0]     # not across the other side's mouth corner


def test_the_neck_that_cant_be_judged_is_shown_and_the_hint_says_how_to_show_it(display, tmp_path, calm):
    from coach.screen.palette import HIGHLIGHT, MUTED
    unknown = (("left", "can't tell"), ("right", "can't tell"))
    xs, ys, px = drawn_in(display, tmp_path, calm, MUTED, neck=unknown, prompt=NECK_HINT, prompt_kind="neck",
                          meters=(Meter("Neck tightening", "left", "watch", 0.1, 0.5),))
    words = [w for _, w in display.renderer.text.drawn]
    assert "Neck: can't tell" in words and NECK_HINT in " ".join(words)
    for side in face.SIDES:                                   # a muted band under each side's jaw
        jaw = px[list(face.REGION_POINTS["neck"][side])]
        under = (xs >= jaw[:, 0].min() - 4) & (xs <= jaw[:, 0].max() + 4) & (ys > jaw_y(px, side, xs) + 6)
        assert under.sum() > 40
    assert len(drawn_in(display, tmp_path, calm, HIGHLIGHT, neck=unknown)[0]) < 50   # never drawn as an alert
    drawn_in(display, tmp_path, calm, MUTED, neck=(("left", "seen"), ("right", "not seen")))
    assert "Neck: left seen, right not seen" in [w for _, w in display.renderer.text.drawn]
    drawn_in(display, tmp_path, calm, MUTED)
    assert not any(w.startswith("Neck:") for _, w in display.renderer.text.drawn)   # not watched: no line


def moment(library, calm, **kw) -> Moment:
    base = dict(t=20.0, state="hold", status="in-progress", pause_reason="", exercise=library["gentle-smile"],
                place=Place(1, 1, 2, 5), ticks=0, countdown_s=None, hold_fraction=0.5, banner=None, meters=(),
                prompt=None, pose_hint="", calibrate_hint="", points=calm.points)
    base.update(kw)
    return Moment(**base)


def test_the_snapshot_carries_the_neck_to_the_view_and_the_hint_gives_way_to_an_alert_or_coaching(library, calm):
    from coach.core.coaching import Prompt
    unknown = (("left", "can't tell"), ("right", "can't tell"))
    assert Moment.__dataclass_fields__["neck"].default == () and Moment.__dataclass_fields__["neck_hint"].default == ""
    view = compose(moment(library, calm, neck=unknown, neck_hint=NECK_HINT), None)
    assert (view.neck, view.prompt, view.prompt_kind) == (unknown, NECK_HINT, "neck")
    alert = compose(moment(library, calm, neck=unknown, neck_hint=NECK_HINT,
                           banner=("Keep your neck soft: make the movement smaller", (("neck", "left"),))), None)
    assert alert.prompt is None and alert.highlight == (("neck", "left"),) and alert.neck == unknown
    coached = compose(moment(library, calm, neck_hint=NECK_HINT, prompt=Prompt("less", "Gentler.")), None)
    assert coached.prompt == "Gentler."
    plain = compose(moment(library, calm), None)
    assert (plain.neck, plain.prompt) == ((), None)


def test_chin_and_neck_regions_name_mesh_points_on_their_own_side(calm):
    """The chin's halves and the jaw points lie on the patient's own side of the face's midline,
    the chin's below the lower lip, the jaw's below the mouth corners."""
    p = calm.points[:, :2]
    mid_x = p[152, 0]
    for side, sign in (("left", 1), ("right", -1)):       # the patient's left is the image's right (unmirrored)
        own = [i for i in face.REGION_POINTS["chin"][side] if i not in (17, 18, 200, 199, 175, 152)]
        assert (sign * (p[own, 0] - mid_x) > 0).all()
        assert (p[own, 1] > p[face.MOUTH_CORNER[side], 1]).all()                 # below the mouth corner
        lip_border = [i for i in own if i in LOWER_LIP_OUTLINE]
        assert len(lip_border) == 3 and (p[[i for i in own if i not in lip_border], 1] > p[face.LOWER_LIP_MID, 1]).all()
        jaw = p[list(face.REGION_POINTS["neck"][side])]
        assert (sign * (jaw[:, 0] - mid_x) > 0).all() and (jaw[:, 1] > p[face.MOUTH_CORNER[side], 1]).all()


def test_the_alert_says_the_watchs_fix_rings_its_region_sounds_once_and_the_fix_is_voiced(library, calm):
    """The banner, its sound and its spoken fix come from the watch, whatever its region: nothing maps a
    region to words or sounds, so each shipped watch of the chin or the neck is alerted like one of the eye."""
    from coach.core.alert import Alert
    from coach.core.events import SynkinesisStarted
    from coach.core.screens import phrases
    from coach.resources import builtin_dir
    from coach.screen.sound import VOICE_DIR, voice_file

    watched = [(ex, w) for ex in library.values() for w in ex.watches if w.region in ("chin", "neck")]
    assert {w.region for _, w in watched} == {"chin", "neck"}
    listed = (builtin_dir("sounds") / VOICE_DIR / "phrases.txt").read_text()
    for ex, w in watched:
        alert = Alert()
        alert.start(ex, SynkinesisStarted("right", w.measure, 3.0, 3.2, w.message, w.region, ex.id))
        assert alert.banner("rest") is None and alert.sound("rest") is None          # not while resting
        assert alert.banner("hold") == (w.fix, ((w.region, "right"),)) and w.fix.startswith("Keep your")
        assert alert.sound("hold") == "synkinesis" and alert.sound("hold") is None   # once
        view = compose(moment(library, calm, exercise=ex, banner=alert.banner("hold")), "synkinesis")
        assert (view.banner, view.highlight, view.say) == (w.fix, ((w.region, "right"),), w.fix)
        assert w.fix in phrases(library)
        voiced = builtin_dir("sounds") / VOICE_DIR / voice_file(w.fix)
        assert voiced.stat().st_size > 5000 and voice_file(w.fix) in listed, w.fix


def test_the_labellers_five_region_buttons_fit_their_words_and_the_screen():
    """Chin (4) and Neck (5) join Eye, Brow and Mouth: every button's word inside its button, no two
    buttons overlapping, all on the 1280 × 720 screen, and the chosen region lit."""
    import pygame

    from coach.core.labelling import Labelling
    from coach.screen.labeller import BUTTONS, SIZE, LabelTool
    from coach.screen.palette import SKY

    state = Labelling([{"id": "r1", "exercise": "gentle-smile", "session_started": "2024-03-04T10:00"}])
    state.act("yes")
    state.act("side:left")
    state.draft.region = "neck"
    tool = LabelTool(state, None, lambda label: None)
    surf = pygame.Surface(SIZE)
    tool._panel(surf, state.rep)
    rects = tool.buttons
    assert {"region:chin", "region:neck"} <= set(rects)
    screen = pygame.Rect((0, 0), SIZE)
    for action, word, key in BUTTONS:
        drawn = [r for r, w in tool.text.drawn if w.startswith(word)]
        assert drawn and rects[action].contains(drawn[0]), word
        assert screen.contains(rects[action])
    others = list(rects.values())
    assert not any(a.colliderect(b) for i, a in enumerate(others) for b in others[i + 1:])
    inside = {a: (r.x + 6, r.centery) for a, r in rects.items()}      # the fill, left of the word
    assert tuple(surf.get_at(inside["region:neck"]))[:3] == SKY
    assert tuple(surf.get_at(inside["region:chin"]))[:3] != SKY
