"""The pygame display, headless (SDL dummy video, disk audio), checked on its pixels,
and the NullDisplay the game-loop tests use."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.core import face
from coach.core.feedback import CUES, FeedbackView, Meter
from coach.core.frames import load_stream

DATA = Path(__file__).parent / "data"


pytestmark = pytest.mark.usefixtures("headless")   # SDL dummy video and disk audio (conftest)


def face_points() -> np.ndarray:
    """A real recorded face when the repo has one, else the drawn demo face."""
    for path in sorted(DATA.glob("*.landmarks.npz")):
        frames = [f for f in load_stream(path)[1] if f.has_face]
        if frames:
            return frames[len(frames) // 2].points
    from coach.eval.demo_face import demo_face
    return demo_face(0.5)


METERS = (Meter("Smile – left", "left", "prime", 0.25), Meter("Eye – left", "left", "watch", 0.15, 0.5),
          Meter("Smile – right", "right", "prime", 0.6), Meter("Eye – right", "right", "watch", 0.75, 0.5, True))


def exercise_view(**kw) -> FeedbackView:
    base = dict(screen="move", title="Gentle smile", text="Smile slowly, lips closed.", meters=METERS,
                rep=1, reps_total=5, points=face_points(), t=3.0)
    base.update(kw)
    return FeedbackView(**base)


@pytest.fixture
def display():
    from coach.screen.display import PygameDisplay
    d = PygameDisplay(mute=True)
    yield d
    d.close()


def shot(display, tmp_path, name="shot.png"):
    import pygame
    path = tmp_path / name
    display.screenshot(path)
    assert path.exists()
    return pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)  # (h, w, 3)


def near(pixel, colour, tol=6) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(colour, int)) <= tol))


def mask(img, colour, tol=6) -> np.ndarray:
    return np.all(np.abs(img.astype(int) - np.asarray(colour, int)) <= tol, axis=2)


# --- accessibility --------------------------------------------------------------------
def test_palette_pairs_have_at_least_4_5_to_1_contrast():
    from coach.screen.palette import CONTRAST_PAIRS, contrast_ratio
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    low = {name: round(contrast_ratio(fg, bg), 2) for name, (fg, bg) in CONTRAST_PAIRS.items()
           if contrast_ratio(fg, bg) < 4.5}
    assert not low


def test_text_is_large_and_cached(display):
    from coach.screen import palette
    assert min(palette.TITLE, palette.HEADING) >= 40 and palette.TITLE >= 48 and palette.SMALL >= 28
    text = display.renderer.text
    # The default font really is that size (Font(None, n) would shrink it to 0.69 n).
    assert text.font(palette.SMALL).get_height() >= palette.SMALL
    a = text.render("Rep 2 of 5", palette.BODY, palette.TEXT)
    assert text.render("Rep 2 of 5", palette.BODY, palette.TEXT) is a


def test_every_cue_has_a_visual_twin_with_a_word():
    from coach.screen.palette import CUE_LOOKS
    assert set(CUES) <= set(CUE_LOOKS)
    assert all(word and icon for word, icon, _ in CUE_LOOKS.values())


# --- banner ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["mirror", "mesh", "meters"])
def test_banner_is_drawn_only_when_set(display, tmp_path, mode):
    from coach.screen.palette import BANNER
    display.set_view(mode)
    frame = np.full((360, 640, 3), 90, np.uint8)
    display.draw(exercise_view(banner="Keep your left eye open", highlight=(("eye", "left"),)), frame)
    rect = display.renderer.banner_rect
    assert rect is not None and rect.w == display.size[0]
    img = shot(display, tmp_path)
    probes = [(rect.right - 8, rect.bottom - 8), (rect.centerx, rect.bottom - 6), (rect.right - 40, rect.y + 10)]
    assert all(near(img[y, x], BANNER) for x, y in probes)
    assert mask(img[rect.y + 4:rect.bottom, :], BANNER).mean() > 0.5

    display.draw(exercise_view(), frame)
    assert display.renderer.banner_rect is None
    img = shot(display, tmp_path)
    assert not any(near(img[y, x], BANNER) for x, y in probes)
    assert mask(img, BANNER).mean() < 0.01


@pytest.mark.parametrize("mode", ["mirror", "mesh"])
def test_highlight_outlines_the_region_on_the_patients_side(display, tmp_path, mode):
    from coach.screen.palette import HIGHLIGHT
    display.set_view(mode)
    frame = np.full((360, 640, 3), 90, np.uint8)
    display.draw(exercise_view(meters=(), highlight=(("eye", "left"),)), frame)
    box = display.renderer.face_rect
    img = shot(display, tmp_path)[box.y:box.bottom, box.x:box.right]
    ys, xs = np.nonzero(mask(img, HIGHLIGHT))
    assert len(xs) > 200
    # The patient's left eye shows on the screen's left, as in a mirror.
    xy = TestMirror.screen_x(display, face_points(), mode)
    left_eye_x = float(np.mean(xy[list(face.EYE_CONTOUR["left"])])) - box.x
    assert abs(np.median(xs) - left_eye_x) < 30
    assert np.median(xs) < float(np.mean(xy[list(face.EYE_CONTOUR["right"])])) - box.x

    display.draw(exercise_view(meters=()), frame)
    img = shot(display, tmp_path)[box.y:box.bottom, box.x:box.right]
    assert mask(img, HIGHLIGHT).sum() < 50


# --- meters ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["mirror", "mesh", "meters"])
def test_meters_fill_to_their_values(display, tmp_path, mode):
    from coach.screen.palette import ALERT, BAR_MAX, PRIME, TEXT, TRACK, WATCH
    display.set_view(mode)
    display.draw(exercise_view(), np.zeros((360, 640, 3), np.uint8))
    bars = display.renderer.bars
    # One group per movement, its two sides side by side (the evenness meter), the patient's left on the left.
    assert [m.label for m, _ in bars] == ["Smile – left", "Smile – right", "Eye – left", "Eye – right"]
    assert bars[0][1].x < bars[1][1].x < bars[2][1].x < bars[3][1].x
    img = shot(display, tmp_path)
    for m, bar in bars:
        top = bar.bottom - round(m.value / BAR_MAX * bar.h)
        colour = PRIME if m.kind == "prime" else ALERT if m.alert else WATCH
        x = bar.x + bar.w // 4
        assert near(img[top + 4, x], colour), (m.label, img[top + 4, x])
        assert near(img[bar.bottom - 6, x], colour)
        assert near(img[top - 4, x], TRACK), (m.label, img[top - 4, x])
        if m.kind == "watch":   # the threshold line crosses the bar at its level
            y = bar.bottom - round(m.threshold / BAR_MAX * bar.h)
            assert mask(img[y - 2:y + 3, bar.x + 2:bar.right - 2], TEXT, 10).sum() > bar.w // 2


def test_goal_line_sits_at_one(display, tmp_path):
    from coach.screen.palette import BAR_MAX, TEXT
    display.set_view("meters")
    display.draw(exercise_view(meters=(Meter("Smile", "", "prime", 0.1),)))
    (m, bar), = display.renderer.bars
    img = shot(display, tmp_path)
    y = bar.bottom - round(1.0 / BAR_MAX * bar.h)
    assert near(img[y, bar.centerx], TEXT, 10)
    assert not near(img[y - 8, bar.centerx], TEXT, 10)


def test_short_labels_drop_the_side_word():
    from coach.screen.meters import short_label as _short_label
    assert _short_label(Meter("Smile – left", "left", "prime", 0.5)) == "Smile"
    assert _short_label(Meter("Eye closing - right", "right", "watch", 0.5)) == "Eye closing"
    assert _short_label(Meter("Smile", "", "prime", 0.5)) == "Smile"
    assert _short_label(Meter("Lower lip – right", "left", "prime", 0.5)) == "Lower lip – right"


# --- mirror ---------------------------------------------------------------------------
class TestMirror:
    @staticmethod
    def screen_x(display, points, mode):
        """Where the display put each landmark horizontally (from its drawn image rect)."""
        r = display.renderer
        if mode == "mirror":
            return r.image_rect.x + (1 - points[:, 0]) * r.image_rect.w
        cx, _, s = r.avatar.fit
        return r.face_rect.centerx + ((1 - points[:, 0]) * r.avatar.frame_size[0] - cx) * s

    def test_frame_is_shown_mirrored(self, display, tmp_path):
        display.set_view("mirror")
        frame = np.full((480, 640, 3), 60, np.uint8)
        frame[200:280, 20:100] = (255, 0, 255)          # a magenta marker on the image's left
        display.draw(exercise_view(points=None, meters=()), frame)
        dst = display.renderer.image_rect
        img = shot(display, tmp_path)
        ys, xs = np.nonzero(mask(img, (255, 0, 255), 20))
        assert len(xs) > 1000
        assert xs.min() > dst.centerx                     # ... shows on the screen's right
        expect = dst.x + (1 - 60 / 640) * dst.w
        assert abs(xs.mean() - expect) < 3

    def test_landmarks_are_mirrored_with_the_frame(self, display, tmp_path):
        from coach.screen.palette import LANDMARK
        display.set_view("mirror")
        pts = face_points().copy()
        display.draw(exercise_view(meters=()), np.zeros((480, 640, 3), np.uint8))
        img = shot(display, tmp_path)
        dst = display.renderer.image_rect
        for side in face.SIDES:
            p = pts[face.MOUTH_CORNER[side]]
            x, y = dst.x + (1 - p[0]) * dst.w, dst.y + p[1] * dst.h
            assert near(img[int(round(y)), int(round(x))], LANDMARK, 12), side
        left, right = pts[face.MOUTH_CORNER["left"], 0], pts[face.MOUTH_CORNER["right"], 0]
        assert left > right   # the patient's left is on the image's right...
        # ...and on the screen's left.
        xs = self.screen_x(display, pts, "mirror")
        assert xs[face.MOUTH_CORNER["left"]] < xs[face.MOUTH_CORNER["right"]]

    def test_mesh_view_centres_the_avatar_and_shows_no_camera(self, display, tmp_path):
        from coach.screen.palette import MESH_FEATURE
        display.set_view("mesh")
        frame = np.full((480, 640, 3), (255, 0, 255), np.uint8)
        pts = face_points().copy()
        pts[:, 0] += 0.25          # a face far off to one side of the camera image...
        display.draw(exercise_view(points=pts), frame)
        box = display.renderer.face_rect
        img = shot(display, tmp_path)
        assert not mask(img, (255, 0, 255), 20).any()
        ys, xs = np.nonzero(mask(img[box.y:box.bottom, box.x:box.right], MESH_FEATURE, 12))
        assert len(xs) > 500
        # ...is still drawn in the middle, big enough to see.
        assert abs((xs.min() + xs.max()) / 2 - box.w / 2) < 0.06 * box.w
        assert abs((ys.min() + ys.max()) / 2 - box.h / 2) < 0.1 * box.h
        assert ys.max() - ys.min() > 0.6 * box.h

    def test_meters_view_shows_no_face(self, display, tmp_path):
        from coach.screen.palette import MESH_FEATURE
        display.set_view("meters")
        display.draw(exercise_view(), np.full((480, 640, 3), (255, 0, 255), np.uint8))
        img = shot(display, tmp_path)
        assert not mask(img, (255, 0, 255), 20).any()
        assert mask(img, MESH_FEATURE, 4).sum() < 50
        bars = display.renderer.bars
        assert min(b.h for _, b in bars) > 240            # large


# --- screens, cues, input ---------------------------------------------------------------
SCREENS = ("welcome", "calibrate", "instruct", "countdown", "move", "hold", "relax", "rest", "paused",
           "camera_lost", "summary", "confirm_quit", "progress", "kiosk_pin")


@pytest.mark.parametrize("screen", SCREENS)
def test_every_screen_draws_in_every_view(display, tmp_path, screen):
    from coach.screen.display import VIEWS
    from coach.screen.palette import BG
    view = FeedbackView(screen, title="" if screen != "kiosk_pin" else "Enter your code",
                        text="Some words for the patient, long enough to need wrapping across the width "
                             "of the screen at a readable size.",
                        summary=tuple((f"Row {i}", str(i)) for i in range(30)),
                        hold_fraction=0.5 if screen == "hold" else None, countdown_s=3.0,
                        points=face_points(), meters=METERS, reps_total=5, rep=7)
    for mode in VIEWS:
        display.set_view(mode)
        display.draw(view, None)
        img = shot(display, tmp_path)
        assert (~mask(img, BG, 2)).mean() > 0.02          # something visible was drawn


def test_confirm_quit_buttons_answer_clicks_and_keys(display):
    import pygame

    from coach.core.feedback import Button
    display.draw(FeedbackView("confirm_quit", buttons=(Button("yes", "Yes, stop", "Y"), Button("no", "No, go on", "N"))))
    (yes, a1), (no, a2) = display.renderer.buttons
    assert (a1, a2) == ("yes", "no")
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=yes.center))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=no.center))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(5, 7)))
    assert display.poll() == ["yes", "no", "click:5,7"]


def test_keys_and_window_events_become_actions(display):
    import pygame
    keys = [pygame.K_s, pygame.K_RIGHT, pygame.K_p, pygame.K_SPACE, pygame.K_q, pygame.K_ESCAPE,
            pygame.K_y, pygame.K_n, pygame.K_RETURN, pygame.K_3, pygame.K_KP7, pygame.K_BACKSPACE, pygame.K_g,
            pygame.K_x]
    for k in keys:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    # Space is Ready on the instructions and pause during an exercise (the session decides).
    assert display.poll() == ["skip", "skip", "pause", "space", "quit", "quit", "yes", "no",
                              "key:enter", "yes", "key:3", "key:7", "key:backspace", "progress", "quit"]


def test_view_mute_and_fullscreen_keys_apply_themselves(display):
    import pygame
    assert display.view_mode == "mirror" and display.muted
    for k in (pygame.K_v, pygame.K_v, pygame.K_m, pygame.K_o, pygame.K_t):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))
    # Each change is also reported as a setting, for the patient's preferences.
    assert display.poll() == ["view", "set:view=mesh", "view", "set:view=meters", "mute", "set:sound=on",
                              "voice", "set:voice=on", "text_size", "set:text_size=large"]
    assert display.view_mode == "meters" and not display.muted and display.voice
    assert display.renderer.text.scale > 1.0
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_v, mod=0, unicode="", scancode=0))
    display.poll()
    assert display.view_mode == "mirror"
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_f, mod=0, unicode="", scancode=0))
    assert display.poll() == ["fullscreen"]
    # The dummy driver can't go fullscreen: the window stays usable at its logical size.
    assert display.screen.get_size() == display.size
    display.draw(exercise_view())
    display.cursor_visible(False)
    assert display.cursor is False
    with pytest.raises(ValueError):
        display.set_view("selfie")


def test_cue_flash_shows_even_when_muted_then_fades(tmp_path):
    from coach.screen.display import FLASH_S, PygameDisplay
    from coach.screen.palette import ORANGE
    now = [100.0]
    d = PygameDisplay(mute=True, clock=lambda: now[0])
    try:
        d.set_view("mesh")
        d.draw(exercise_view(meters=(), cue="synkinesis", t=7.5))
        assert d.played == [("synkinesis", 7.5)]
        box = d.renderer.face_rect
        corner = shot(d, tmp_path)[box.bottom - 100:box.bottom, box.x:box.centerx]
        assert mask(corner, ORANGE).sum() > 2000        # the "Careful" pill
        now[0] += FLASH_S + 0.1
        d.draw(exercise_view(meters=(), t=9.0))
        corner = shot(d, tmp_path)[box.bottom - 100:box.bottom, box.x:box.centerx]
        assert mask(corner, ORANGE).sum() < 100
        assert d.played == [("synkinesis", 7.5)]        # a view's cue plays once, with that view
    finally:
        d.close()


def test_no_screen_is_a_plain_error(monkeypatch):
    from coach.errors import CoachError
    from coach.screen.display import PygameDisplay
    monkeypatch.setenv("SDL_VIDEODRIVER", "no_such_video_driver")
    with pytest.raises(CoachError, match="can't open a window"):
        PygameDisplay()


def test_draw_survives_odd_input(display):
    bad = np.full((478, 3), np.nan, np.float32)
    display.draw(exercise_view(points=bad, meters=(Meter("x", "", "prime", float("nan")),),
                               hold_fraction=float("inf"), countdown_s=float("nan")))
    display.draw(exercise_view(points=np.zeros((10, 3))), np.zeros((480, 640, 4), np.uint8))
    display.draw(exercise_view(), np.zeros((480, 640, 3), np.uint8)[:, ::2])   # non-contiguous
    display.draw(exercise_view(meters=(Meter("Smile", "left", "prime", 5.0),)))
    display.play("no_such_cue")


# --- the null twin ----------------------------------------------------------------------
def test_null_display_records_views_and_cues_and_scripts_actions():
    from coach.screen.display import NullDisplay
    d = NullDisplay(actions={0: ["pause"], 2: ["view", "skip"]}, mute=True)
    assert d.poll() == ["pause"]
    d.draw(FeedbackView("move", cue="start", t=1.0))
    assert d.poll() == []
    d.draw(FeedbackView("hold", t=2.0))
    d.play("hold")
    assert d.poll() == ["view", "set:view=mesh", "skip"] and d.view_mode == "mesh"
    d.draw(FeedbackView("relax", t=3.0))
    assert [v.screen for v in d.views] == ["move", "hold", "relax"]
    assert d.view_modes == ["mirror", "mirror", "mesh"]
    assert d.played == [("start", 1.0), ("hold", 2.0)]
    assert d.sounds_heard == []                          # muted: seen, not heard
    d.screenshot("/nonexistent/dir/x.png")               # writes nothing
    assert d.screenshots == ["/nonexistent/dir/x.png"]
    d.poll()
    d.push("mute")
    assert d.poll() == ["mute", "set:sound=on"] and not d.muted
    d.draw(FeedbackView("move", cue="rep_done", t=4.0))
    assert d.sounds_heard == ["rep_done"]
    d.close()
    assert d.closed


def test_null_display_takes_a_queue_of_actions():
    from coach.screen.display import NullDisplay
    d = NullDisplay(actions=[["skip"], [], ["quit"]])
    assert [d.poll() for _ in range(4)] == [["skip"], [], ["quit"], []]


def test_both_displays_have_the_same_interface():
    from coach.screen.display import NullDisplay, PygameDisplay
    public = {"draw", "play", "poll", "screenshot", "close", "set_view", "set_mute", "set_volume",
              "toggle_fullscreen", "cursor_visible"}
    for cls in (NullDisplay, PygameDisplay):
        assert public <= {n for n in dir(cls) if not n.startswith("_")}, cls


def test_text_size_has_three_steps_a_key_and_an_option(display):
    from click.testing import CliRunner

    from coach.cli import cli
    sizes = []
    for _ in range(3):
        display._apply(["text_size"])
        sizes.append((display.text_size, display.renderer.text.scale))
    assert sizes == [("large", 1.15), ("largest", 1.3), ("normal", 1.0)]
    for command in ("run", "demo"):
        out = CliRunner().invoke(cli, [command, "--help"]).output
        assert "--text-size" in out and "largest" in out
    assert "--voice" in CliRunner().invoke(cli, ["run", "--help"]).output


def _touch(display, action):
    """Touch the drawn button that gives `action`; returns what the display reports."""
    import pygame
    rect = next(r for r, a in display.renderer.buttons if a == action)
    assert rect.w >= 120 and rect.h >= 80                    # bigger than a fingertip
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=rect.center))
    return display.poll()


def test_pause_and_stop_touch_targets_work_at_home_and_at_the_kiosk(display, tmp_path, library):
    from coach.core.session import Session
    from coach.log.store import Store
    from coach.kiosk import Kiosk, KioskConfig
    from streams import session_stream

    frames = session_stream(14, rep_starts=(9,))
    session = Session([library["gentle-smile"]], welcome_s=0.5, ready_s=0.5)
    for f in frames:
        view = session.step(f, f.t).view
        if view.screen == "hold":
            break
    display.draw(view)
    assert _touch(display, "pause") == ["pause"]
    view = session.step(None, f.t + 0.03, ["pause"]).view
    assert view.screen == "paused" and session.pause_reason == "user"
    display.draw(view)                                       # paused: Carry on, or Stop
    assert {a for _, a in display.renderer.buttons} == {"resume", "stop"}
    assert _touch(display, "resume") == ["resume"]
    assert session.step(f, f.t + 0.06, ["resume"]).view.screen in ("move", "hold")   # carries on
    # At the kiosk (no keyboard, quit keys locked out) Stop still asks, then shows the summary.
    store = Store.open(tmp_path / "c.db")
    store.add_patient("12")
    kiosk = Kiosk(store, KioskConfig(intro_s=0.5, summary_s=5.0))
    view = None
    for i, f in enumerate(frames):
        view = kiosk.step(f, f.t, {2: ["key:1"], 3: ["key:2"], 4: ["key:enter"], 120: ["ready"]}.get(i, [])).view
        if view.screen == "hold":
            break
    display.draw(view)
    assert view.extra.get("hints") == "" and _touch(display, "stop") == ["stop"]
    view = kiosk.step(f, f.t + 0.03, ["stop"]).view
    assert view.screen == "confirm_quit"
    display.draw(view)
    assert _touch(display, "yes") == ["yes"]
    view = kiosk.step(f, f.t + 0.06, ["yes"]).view
    assert view.screen == "summary" and "closes in" in view.text
    store.close()
