"""Drawing a FeedbackView onto a pygame Surface: the screens' layout.

Pure drawing: no window, events or sound (coach.screen.display owns those), so a
test can render onto a plain Surface. Everything the patient must notice is
said with a word and a shape as well as a colour (Okabe–Ito palette, contrast
checked by tests/test_display.py against CONTRAST_PAIRS and NON_TEXT_PAIRS).
The palette lives in coach.screen.palette, text and icons in coach.screen.drawing, the
buttons, hints and avatar in coach.screen.widgets, the meters in coach.screen.meters,
the card screens (instructions, summary, progress) in coach.screen.cards, the mesh's
polylines in coach.screen.mesh_paths.

Every text drawn is recorded (`self.text.drawn`), and every touch target
(`self.buttons`: rect and action), so tests check layout and touch on what was drawn.
"""
from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pygame

from coach.core import face
from coach.core.feedback import FeedbackView, Meter
from coach.screen import cards
from coach.screen.drawing import Text
from coach.screen.meters import draw_meters
from coach.screen.palette import (BANNER, BG, BODY, CUE_LOOKS, GREEN, HEADING, INK, LANDMARK, MUTED, PROMPT, SKY,
                                  SMALL, TEXT, TEXT_SIZES, TITLE, TRACK, TextSize, View)
from coach.screen.widgets import Canvas, Pixels, draw_highlights, draw_neck_unknown, landmarks_xy, neck_status

EXERCISE_SCREENS = ("calibrate", "countdown", "move", "hold", "relax", "rest")   # face + meters layout
RING_WORDS = {"hold": "Hold", "rest": "Rest", "calibrate": "Keep still", "relax": "Relax", "countdown": "Ready"}
PROMPT_ICONS = {"more": "up", "less": "down", "even": "even", "neck": "camera"}


class Renderer(Canvas):
    """Draws one FeedbackView per call. Keeps only caches and gentle smoothing state."""

    TOP, BOTTOM, PANEL_W, BUTTONS_W = 104, 124, 470, 400

    def __init__(self, size: tuple[int, int], text_size: TextSize = "normal") -> None:
        super().__init__(size, Text(TEXT_SIZES.get(text_size, 1.0)))
        # What was drawn last, for click targets and tests (and `buttons`, the touch targets).
        self.bars: list[tuple[Meter, pygame.Rect]] = []
        self.banner_rect: pygame.Rect | None = None
        self.prompt_rect: pygame.Rect | None = None
        self.image_rect: pygame.Rect | None = None      # where the camera frame went
        self.behind_rect: pygame.Rect | None = None     # the "behind" marker over the side that lags
        self._layout()

    def _layout(self) -> None:
        """The exercise screens' areas; the top bar grows with the text size."""
        top = max(self.TOP, 12 + self.text.line_h(TITLE) + self.text.line_h(SMALL))
        self.face_rect = pygame.Rect(self.MARGIN, top, self.w - self.PANEL_W - 3 * self.MARGIN,
                                     self.h - top - self.BOTTOM - 12)
        self.panel_rect = pygame.Rect(self.face_rect.right + self.MARGIN, top, self.PANEL_W, self.face_rect.h)
        self.wide_rect = pygame.Rect(self.MARGIN, top, self.w - 2 * self.MARGIN, self.face_rect.h)
        self.bottom_rect = pygame.Rect(0, self.h - self.BOTTOM, self.w, self.BOTTOM)
        self.words_rect = pygame.Rect(0, self.h - self.BOTTOM, self.w - self.BUTTONS_W - self.MARGIN,
                                      self.BOTTOM)

    def set_text_size(self, name: TextSize) -> None:
        self.text.set_scale(TEXT_SIZES.get(name, 1.0))
        self._layout()

    # -- entry point --
    def draw(self, surf: pygame.Surface, view: FeedbackView, frame_rgb: npt.NDArray[np.uint8] | None, mode: View,
             flash: str | None = None, sound_note: str = "") -> None:
        self.buttons, self.bars, self.banner_rect, self.image_rect = [], [], None, None
        self.prompt_rect = self.behind_rect = None
        self.text.reset()
        if frame_rgb is not None:
            self.avatar.frame_size = (frame_rgb.shape[1], frame_rgb.shape[0])
        surf.fill(BG)
        right = self.w - self.MARGIN
        exercise = view.screen in EXERCISE_SCREENS
        # A cue's twin, unless the banner or a prompt already says it in words.
        flash = None if view.banner or (exercise and view.prompt) else flash
        if exercise:
            right = self._exercise(surf, view, frame_rgb, mode, words=not (flash and mode == "meters"))
        else:
            cards.draw_card(self, surf, view)
        if view.banner:
            self._banner(surf, view.banner)
        if sound_note:
            self._sound_note(surf, sound_note, right)
        if view.extra.get("saving"):
            self._saving(surf)
        if flash:
            self._flash(surf, flash, mode if exercise else "card")

    # -- exercise screens: face (or not) + meters + instruction/banner + Pause and Stop --
    def _exercise(self, surf: pygame.Surface, view: FeedbackView, frame_rgb: npt.NDArray[np.uint8] | None,
                  mode: View, words: bool = True) -> int:
        right = self._top_bar(surf, view)
        ring = view.hold_fraction is not None or (view.countdown_s is not None and
                                                   math.isfinite(view.countdown_s))
        word = RING_WORDS.get(view.screen, "")
        status = neck_status(view.neck)
        if mode == "meters":
            area = self._neck_line(surf, self.wide_rect, status)
            centre = draw_meters(self, surf, area, view, big=True, gap=230 if ring else 60)
            if ring:
                self._ring(surf, (centre, area.y + area.h // 2 - 20), 90, view.hold_fraction, view.countdown_s,
                           word)
        else:
            if mode == "mirror" and frame_rgb is not None:
                self._mirror(surf, view, frame_rgb)
            else:
                self.face(surf, view, self.face_rect)
            draw_meters(self, surf, self._neck_line(surf, self.panel_rect, status), view, big=False, gap=30)
            if ring:
                r = 62
                self._ring(surf, (self.face_rect.right - r - 16, self.face_rect.y + r + 18), r,
                           view.hold_fraction, view.countdown_s, word, backing=True)
        if words:
            self._words(surf, view)
        self.draw_buttons(surf, view.buttons, pygame.Rect(self.words_rect.right, self.bottom_rect.y,
                                                          self.BUTTONS_W, self.BOTTOM), view, small=True)
        return right

    def _neck_line(self, surf: pygame.Surface, area: pygame.Rect, status: str) -> pygame.Rect:
        """The neck's state under the meters ("Neck: can't tell"), when the exercise watches the neck;
        returns the area left for the meters."""
        if not status:
            return area
        h = self.text.line_h(SMALL) + 8
        self.text.blit(surf, status, SMALL, TEXT, (area.centerx, area.bottom - h // 2), "center")
        return pygame.Rect(area.x, area.y, area.w, area.h - h)

    def _words(self, surf: pygame.Surface, view: FeedbackView) -> None:
        """The bottom strip: the instruction, or a coaching prompt (the alert banner covers both)."""
        if view.banner:
            return
        box = self.words_rect.inflate(-60, -16)
        if view.prompt:
            self._prompt(surf, view, box)
        elif view.text:
            self.text.block(surf, view.text, BODY, TEXT, box, max_lines=2, valign="center", shrink=True)

    def _prompt(self, surf: pygame.Surface, view: FeedbackView, box: pygame.Rect) -> None:
        pill = box.inflate(0, -4)
        self.prompt_rect = pill
        pygame.draw.rect(surf, PROMPT, pill, border_radius=20)
        self.icon(surf, PROMPT_ICONS.get(view.prompt_kind, "question"), (pill.x + 44, pill.centery), 22,
                  on=PROMPT, ink=INK)
        assert view.prompt is not None
        words = pygame.Rect(pill.x + 84, pill.y + 6, pill.w - 104, pill.h - 12)
        self.text.block(surf, view.prompt, BODY, INK, words, align="left", max_lines=2, valign="center",
                        shrink=True)

    def _top_bar(self, surf: pygame.Surface, view: FeedbackView) -> int:
        """The exercise's name and "Exercise 1 of 3" on the left; "Rep 2 of 5" with pips on the right."""
        x_right = self.w - self.MARGIN
        if view.reps_total:
            done, total = max(0, min(view.rep, view.reps_total)), view.reps_total
            label = f"Rep {min(done + 1, total)} of {total}"
            r = self.text.blit(surf, label, HEADING, TEXT, (x_right, 16), "topright")
            # Pips: filled = done, ring = still to do (shape, not just colour).
            pip, step = 9, 26
            px = r.right - step * (total - 1) - pip
            y = r.bottom + 18
            for i in range(total):
                c = (px + i * step, y)
                if i < done:
                    pygame.draw.circle(surf, GREEN, c, pip)
                else:
                    pygame.draw.circle(surf, MUTED, c, pip, 2)
            x_right = min(r.x, px - pip) - 32
        title = view.title or cards.DEFAULT_TITLES.get(view.screen, view.screen.capitalize())
        width = x_right - self.MARGIN
        size = self.text.fit(title, TITLE, width, 1)
        self.text.blit(surf, title, size, TEXT, (self.MARGIN, 8))
        if view.exercises_total:
            self.text.blit(surf, f"Exercise {view.exercise_no} of {view.exercises_total}", SMALL, MUTED,
                           (self.MARGIN, 8 + self.text.line_h(size)))
        return x_right

    # -- the mirror: camera frame flipped for display, measured points on top --
    def _mirror(self, surf: pygame.Surface, view: FeedbackView, frame_rgb: npt.NDArray[np.uint8]) -> None:
        fh, fw = frame_rgb.shape[:2]
        box = self.face_rect
        scale = min(box.w / fw, box.h / fh)
        dw, dh = int(fw * scale), int(fh * scale)
        dst = pygame.Rect(0, 0, dw, dh)
        dst.center = box.center
        self.image_rect = dst
        frame = np.ascontiguousarray(frame_rgb[..., :3], dtype=np.uint8)
        img = pygame.image.frombuffer(frame, (fw, fh), "RGB")  # type: ignore[arg-type]   # any buffer will do
        # Mirrored for display only: the patient expects a mirror; the core never sees it.
        # smoothscale (~5 ms at 720p) rather than scale (~1 ms): a blocky face is hard to read.
        img = pygame.transform.flip(pygame.transform.smoothscale(img, (dw, dh)), True, False)
        surf.blit(img, dst)
        xy = landmarks_xy(view.points)
        if xy is None:
            return
        px = np.empty_like(xy)
        px[:, 0] = dst.x + (1.0 - xy[:, 0]) * dw     # x mirrored with the image
        px[:, 1] = dst.y + xy[:, 1] * dh
        self._landmarks(surf, px)
        draw_neck_unknown(surf, self.text, px, view.neck)
        draw_highlights(surf, self.text, px, view.highlight)

    def _landmarks(self, surf: pygame.Surface, px: Pixels) -> None:
        for side in face.SIDES:
            eye = px[list(face.EYE_CONTOUR[side])].tolist()
            brow = px[list(face.BROW[side])].tolist()
            for pts, closed in ((eye, True), (brow, False)):
                pygame.draw.lines(surf, INK, closed, pts, 5)      # dark halo: visible on any skin
                pygame.draw.lines(surf, LANDMARK, closed, pts, 2)
            c = px[face.MOUTH_CORNER[side]].tolist()
            pygame.draw.circle(surf, INK, c, 9)
            pygame.draw.circle(surf, LANDMARK, c, 6)
        # The other measured points (lips) as small dots: present, but quiet.
        for p in _LIP_POINTS:
            c = px[p].tolist()
            pygame.draw.circle(surf, INK, c, 4)
            pygame.draw.circle(surf, LANDMARK, c, 2)

    # -- the hold ring --
    def _ring(self, surf: pygame.Surface, c: tuple[int, int], r: int, fraction: float | None,
              seconds: float | None, word: str = "", backing: bool = False) -> None:
        fraction = 0.0 if fraction is None or not math.isfinite(fraction) else min(max(fraction, 0.0), 1.0)
        width = max(10, r // 5)
        if backing:   # over a camera image: a plain panel keeps the number and word readable
            back = pygame.Rect(0, 0, 2 * r + 24, 2 * r + 24 + self.text.line_h(SMALL))
            back.midtop = (c[0], c[1] - r - 12)
            pygame.draw.rect(surf, BG, back, border_radius=18)
        pygame.draw.circle(surf, TRACK, c, r, width)
        if fraction > 0:
            n = max(2, int(72 * fraction))
            angles = [-math.pi / 2 + 2 * math.pi * fraction * i / (n - 1) for i in range(n)]
            outer = [(c[0] + r * math.cos(a), c[1] + r * math.sin(a)) for a in angles]
            inner = [(c[0] + (r - width) * math.cos(a), c[1] + (r - width) * math.sin(a)) for a in angles]
            pygame.draw.polygon(surf, GREEN, outer + inner[::-1])
        if seconds is not None and math.isfinite(seconds):
            size = TITLE if r >= 60 else HEADING
            self.text.blit(surf, str(max(0, math.ceil(seconds - 1e-6))), size, TEXT, c, "center")
        if word:
            self.text.blit(surf, word, SMALL, TEXT, (c[0], c[1] + r + 6), "midtop")

    # -- banner: what to change, while co-movement lasts --
    def _banner(self, surf: pygame.Surface, message: str) -> None:
        rect = self.words_rect.copy() if self.buttons else self.bottom_rect.copy()
        self.banner_rect = rect
        pygame.draw.rect(surf, BANNER, rect)
        pygame.draw.line(surf, INK, rect.topleft, rect.topright, 3)
        self.icon(surf, "warn", (rect.x + 56, rect.centery), 36, on=BANNER)
        word = self.text.blit(surf, "Careful", HEADING, INK, (rect.x + 104, rect.centery), "midleft")
        pygame.draw.line(surf, INK, (word.right + 20, rect.y + 24), (word.right + 20, rect.bottom - 24), 3)
        box = pygame.Rect(word.right + 40, rect.y + 8, rect.right - word.right - 56, rect.h - 16)
        self.text.block(surf, message, BODY, INK, box, align="left", max_lines=2, valign="center", shrink=True)

    # -- status and cue twins --
    def _sound_note(self, surf: pygame.Surface, note: str, right: int) -> None:
        """Say plainly when cues will be silent (the visual twins still show)."""
        img_w = self.text.width(note, SMALL)
        if right - img_w - 60 < self.w // 2:        # no room beside the title: under the top bar
            return
        r = self.text.blit(surf, note, SMALL, MUTED, (right, 14), "topright")
        self.icon(surf, "mute", (r.x - 34, r.centery), 13, on=BG)

    def _saving(self, surf: pygame.Surface) -> None:
        """The log is waiting for the disk (another program holds it, or it is full): say so, calmly."""
        self.text.blit(surf, "Saving…", SMALL, MUTED, (self.MARGIN, self.h - 14), "bottomleft")

    def _flash(self, surf: pygame.Surface, cue: str, where: str) -> None:
        word, icon, colour = CUE_LOOKS.get(cue, (cue.replace("_", " ").capitalize(), "ring", SKY))
        img_w = self.text.width(word, HEADING)
        pill = pygame.Rect(0, 0, img_w + 110, 76)
        if where in ("mirror", "mesh"):   # a corner of the picture, off the face
            pill.bottomleft = (self.face_rect.x + 12, self.face_rect.bottom - 12)
        elif where == "meters":     # in the words' strip, for the moment it shows: the bars stay clear
            pill.center = self.words_rect.center
        else:   # over the key hints, below the card: never on top of the card's words
            pill.h = 64
            pill.midbottom = (self.w // 2, self.h - 4)
            surf.fill(BG, (0, self.h - 76, self.w, 76))
            self.text.drawn = [(r, s) for r, s in self.text.drawn if r.bottom <= self.h - 76]
        pygame.draw.rect(surf, INK, pill.inflate(6, 6), border_radius=40)
        pygame.draw.rect(surf, colour, pill, border_radius=38)
        self.icon(surf, icon, (pill.x + 44, pill.centery), 20, on=colour, ink=INK)
        self.text.blit(surf, word, HEADING, INK, (pill.x + 78, pill.centery), "midleft")


_LIP_POINTS = tuple(p for p in face.MEASURED_POINTS
                    if p not in {q for s in face.SIDES for q in (*face.EYE_CONTOUR[s], *face.BROW[s])}
                    and p not in face.MOUTH_CORNER.values())
