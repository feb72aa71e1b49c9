"""Drawing a FeedbackView onto a pygame Surface: the screens' layout.

Pure drawing: no window, events or sound (coach.io.display owns those), so a
test can render onto a plain Surface. Everything the patient must notice is
said with a word and a shape as well as a colour (Okabe–Ito palette, contrast
checked by tests/test_display.py against CONTRAST_PAIRS). The palette lives in
coach.io.palette, text and icons in coach.io.drawing, the mesh's polylines in
coach.io.mesh_paths; their public names stay importable from here.
"""
from __future__ import annotations

import math

import numpy as np
import pygame

from coach.core import face
from coach.core.feedback import FeedbackView, Meter
from coach.io.drawing import Text, draw_icon, level_line
from coach.io.mesh_paths import MeshPaths
from coach.io.palette import (   # all re-exported: other modules use them as render.X
    ALERT, BANNER, BAR_MAX, BG, BLUE, BODY, CONTRAST_PAIRS, CUE_LOOKS, GREEN, HEADING, HIGHLIGHT, INK,
    LANDMARK, MESH_FEATURE, MESH_FILL, MESH_LINE, MUTED, ORANGE, PANEL, PRIME, PURPLE, REACHED, SKY, SMALL,
    TEXT, TITLE, TRACK, VERMILLION, WATCH, YELLOW, contrast_ratio)

EXERCISE_SCREENS = ("calibrate", "move", "hold", "relax", "rest")   # face + meters layout
RING_WORDS = {"hold": "Hold", "rest": "Rest", "calibrate": "Keep still", "relax": "Relax"}
HINTS = "P pause    S skip    V view    M sound    Q quit"
CARD_ICONS = {"paused": "pause", "camera_lost": "camera", "confirm_quit": "question",
              "summary": "star", "welcome": "play"}


# --- the renderer ----------------------------------------------------------------------
class Renderer:
    """Draws one FeedbackView per call. Keeps only caches and gentle smoothing state."""

    TOP, BOTTOM, MARGIN, PANEL_W = 84, 124, 24, 470

    def __init__(self, size: tuple[int, int]) -> None:
        self.w, self.h = size
        self.text = Text()
        self.mesh = MeshPaths.load()
        self.frame_size = (640, 480)   # last camera frame size: the aspect of normalised points
        self._fit: tuple[float, float, float] | None = None  # smoothed avatar centre and scale
        # What was drawn last, for click targets and tests.
        self.buttons: list[tuple[pygame.Rect, str]] = []
        self.bars: list[tuple[Meter, pygame.Rect]] = []
        self.banner_rect: pygame.Rect | None = None
        self.image_rect: pygame.Rect | None = None      # where the camera frame went
        self.face_rect = pygame.Rect(self.MARGIN, self.TOP, self.w - self.PANEL_W - 3 * self.MARGIN,
                                     self.h - self.TOP - self.BOTTOM - 12)
        self.panel_rect = pygame.Rect(self.face_rect.right + self.MARGIN, self.TOP,
                                      self.PANEL_W, self.face_rect.h)
        self.wide_rect = pygame.Rect(self.MARGIN, self.TOP, self.w - 2 * self.MARGIN, self.face_rect.h)
        self.bottom_rect = pygame.Rect(0, self.h - self.BOTTOM, self.w, self.BOTTOM)

    # -- entry point --
    def draw(self, surf: pygame.Surface, view: FeedbackView, frame_rgb, mode: str,
             flash: str | None = None, sound_note: str = "") -> None:
        self.buttons, self.bars, self.banner_rect, self.image_rect = [], [], None, None
        if frame_rgb is not None:
            self.frame_size = (frame_rgb.shape[1], frame_rgb.shape[0])
        surf.fill(BG)
        right = self.w - self.MARGIN
        if view.screen in EXERCISE_SCREENS:
            right = self._exercise(surf, view, frame_rgb, mode)
        else:
            self._card(surf, view)
        if view.banner:
            self._banner(surf, view.banner)
        if sound_note:
            self._sound_note(surf, sound_note, right)
        if flash and not (flash == "synkinesis" and view.banner):   # the banner already says it
            self._flash(surf, flash, mode if view.screen in EXERCISE_SCREENS else "card")

    # -- exercise screens: face (or not) + meters + instruction/banner --
    def _exercise(self, surf, view, frame_rgb, mode) -> int:
        right = self._top_bar(surf, view)
        ring = view.hold_fraction is not None or (view.countdown_s is not None and
                                                   math.isfinite(view.countdown_s))
        word = RING_WORDS.get(view.screen, "")
        if mode == "meters":
            area = self.wide_rect
            self._meters(surf, area, view.meters, big=True, gap=220 if ring else 60)
            if ring:
                self._ring(surf, (area.centerx, area.y + area.h // 2 - 20), 90,
                           view.hold_fraction, view.countdown_s, word)
        else:
            if mode == "mirror" and frame_rgb is not None:
                self._mirror(surf, view, frame_rgb)
            else:
                self._avatar(surf, view)
            self._meters(surf, self.panel_rect, view.meters, big=False, gap=30)
            if ring:
                r = 62
                self._ring(surf, (self.face_rect.right - r - 16, self.face_rect.y + r + 18), r,
                           view.hold_fraction, view.countdown_s, word, backing=True)
        if view.text and not view.banner:
            self.text.block(surf, view.text, BODY, TEXT, self.bottom_rect.inflate(-80, -16),
                            max_lines=2, valign="center")
        return right

    def _top_bar(self, surf, view):
        x_right = self.w - self.MARGIN
        if view.reps_total:
            done, total = max(0, min(view.rep, view.reps_total)), view.reps_total
            label = f"Rep {min(done + 1, total)} of {total}"
            r = self.text.blit(surf, label, HEADING, TEXT, (x_right, 22), "topright")
            # Pips: filled = done, ring = still to do (shape, not just colour).
            pip, step = 9, 26
            px = r.x - 28 - step * (total - 1)
            for i in range(total):
                c = (px + i * step, r.centery)
                if i < done:
                    pygame.draw.circle(surf, GREEN, c, pip)
                else:
                    pygame.draw.circle(surf, MUTED, c, pip, 2)
            x_right = px - pip - 32
        title = view.title or _DEFAULT_TITLES.get(view.screen, view.screen.capitalize())
        self.text.blit(surf, title, TITLE if len(title) < 28 else HEADING, TEXT, (self.MARGIN, 16))
        return x_right

    # -- the mirror: camera frame flipped for display, measured points on top --
    def _mirror(self, surf, view, frame_rgb):
        fh, fw = frame_rgb.shape[:2]
        box = self.face_rect
        scale = min(box.w / fw, box.h / fh)
        dw, dh = int(fw * scale), int(fh * scale)
        dst = pygame.Rect(0, 0, dw, dh)
        dst.center = box.center
        self.image_rect = dst
        frame = np.ascontiguousarray(frame_rgb[..., :3], dtype=np.uint8)
        img = pygame.image.frombuffer(frame, (fw, fh), "RGB")
        # Mirrored for display only: the patient expects a mirror; the core never sees it.
        # smoothscale (~5 ms at 720p) rather than scale (~1 ms): a blocky face is hard to read.
        img = pygame.transform.flip(pygame.transform.smoothscale(img, (dw, dh)), True, False)
        surf.blit(img, dst)
        xy = self._points(view.points)
        if xy is None:
            return
        px = np.empty_like(xy)
        px[:, 0] = dst.x + (1.0 - xy[:, 0]) * dw     # x mirrored with the image
        px[:, 1] = dst.y + xy[:, 1] * dh
        self._landmarks(surf, px)
        self._highlights(surf, px, view.highlight)

    def _landmarks(self, surf, px):
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

    def _highlights(self, surf, px, highlight):
        for region, side in highlight:
            idx = face.REGION_POINTS.get(region, {}).get(side)
            if not idx:
                continue
            pts = px[list(idx)]
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            rect = pygame.Rect(int(x0), int(y0), int(x1 - x0), int(y1 - y0)).inflate(44, 44)
            pygame.draw.ellipse(surf, INK, rect.inflate(6, 6), 9)
            pygame.draw.ellipse(surf, HIGHLIGHT, rect, 5)
            self._icon(surf, "warn", (rect.centerx, rect.y - 22), 18)

    # -- the avatar: the mesh on a plain background, centred and scaled to fit --
    def _avatar(self, surf, view):
        xy = self._points(view.points)
        box = self.face_rect
        if xy is None:
            self.text.block(surf, "Looking for your face…", BODY, MUTED, box, valign="center")
            return
        fw, fh = self.frame_size
        p = np.empty_like(xy)
        p[:, 0] = (1.0 - xy[:, 0]) * fw      # mirrored, like the mirror view
        p[:, 1] = xy[:, 1] * fh
        oval = p[self.mesh.oval]
        lo, hi = oval.min(axis=0), oval.max(axis=0)
        centre = (lo + hi) / 2
        # Scale by the eye-corner span (barely changes with expressions), not the outline,
        # so an open mouth doesn't shrink the face. Smoothed: the avatar should feel calm.
        span = float(np.linalg.norm(p[face.EYE_OUTER["left"]] - p[face.EYE_OUTER["right"]]))
        scale = 0.36 * box.h / max(span, 1e-6)
        target = (float(centre[0]), float(centre[1]), scale)
        if self._fit is None or abs(self._fit[2] - scale) > 0.5 * scale:
            self._fit = target
        else:
            self._fit = tuple(0.8 * a + 0.2 * b for a, b in zip(self._fit, target))
        cx, cy, s = self._fit
        p[:, 0] = box.centerx + (p[:, 0] - cx) * s
        p[:, 1] = box.centery + (p[:, 1] - cy) * s
        clip = surf.get_clip()
        surf.set_clip(box)
        pygame.draw.polygon(surf, MESH_FILL, p[self.mesh.oval].tolist())
        for path in self.mesh.tesselation:
            pygame.draw.lines(surf, MESH_LINE, False, p[path].tolist(), 1)
        pygame.draw.lines(surf, MESH_FEATURE, True, p[self.mesh.oval].tolist(), 2)
        for path in self.mesh.features:
            pygame.draw.lines(surf, MESH_FEATURE, False, p[path].tolist(), 3)
        for side, (c, rim) in zip(face.SIDES, self.mesh.irises):
            if c < len(p):
                # No bigger than the lid opening, so a closing eye looks closed.
                up, lo = face.EYE_LIDS[side][1]
                r = min(float(np.linalg.norm(p[c] - p[rim])), 0.5 * float(np.linalg.norm(p[up] - p[lo])))
                if r >= 2.0:
                    pygame.draw.circle(surf, MESH_FEATURE, p[c].tolist(), r)
        self._highlights(surf, p, view.highlight)
        surf.set_clip(clip)

    @staticmethod
    def _points(points) -> np.ndarray | None:
        if points is None:
            return None
        p = np.asarray(points, dtype=np.float32)
        if p.ndim != 2 or p.shape[0] < 468 or not np.isfinite(p[:468, :2]).all():
            return None
        return p[:, :2]

    # -- meters --
    def _meters(self, surf, area: pygame.Rect, meters, big: bool, gap: int):
        if not meters:
            return
        groups: dict[str, list[Meter]] = {}
        for m in sorted(meters, key=lambda m: ({"left": 0, "right": 1}.get(m.side, 2))):
            groups.setdefault(m.side, []).append(m)
        # The patient's left is on the screen's left, as in a mirror.
        n = len(groups)
        gw = (area.w - gap * (n - 1)) // n
        head = 52 if big else 46
        label_h = 2 * int(SMALL * 1.2) + 8 if not big else 2 * int(BODY * 1.2) + 8
        legend_h = 44
        self._legend(surf, area, meters)
        for gi, (side, ms) in enumerate(groups.items()):
            g = pygame.Rect(area.x + gi * (gw + gap), area.y, gw, area.h)
            if side:
                self.text.blit(surf, f"Your {side}", HEADING if big else BODY, TEXT, (g.centerx, g.y + 4),
                               "midtop")
                pygame.draw.line(surf, MUTED, (g.x + 10, g.y + head), (g.right - 10, g.y + head), 1)
            col = g.w // len(ms)
            bar_w = min(110 if big else 64, int(col * 0.5))
            top, bottom = g.y + head + 48, g.bottom - label_h - legend_h
            for mi, m in enumerate(ms):
                cx = g.x + mi * col + col // 2
                bar = pygame.Rect(cx - bar_w // 2, top, bar_w, bottom - top)
                self._bar(surf, bar, m)
                self.bars.append((m, bar))
                lab = pygame.Rect(cx - col // 2 + 4, bottom + 8, col - 8, label_h)
                self.text.block(surf, _short_label(m), BODY if big else SMALL, TEXT, lab, max_lines=2)

    def _legend(self, surf, area, meters):
        """What the two kinds of line mean, in words."""
        items = []
        if any(m.kind == "prime" for m in meters):
            items.append(("goal", False))
        if any(m.kind != "prime" and m.threshold is not None for m in meters):
            items.append(("limit", True))
        imgs = [self.text.render(word, SMALL, MUTED) for word, _ in items]
        total = sum(80 + img.get_width() for img in imgs) + 48 * (len(imgs) - 1)
        x, y = area.centerx - total // 2, area.bottom - 18
        for (word, dashed), img in zip(items, imgs):
            level_line(surf, pygame.Rect(x + 12, y, 32, 0), y, dashed, MUTED)
            surf.blit(img, img.get_rect(midleft=(x + 80, y)))
            x += 80 + img.get_width() + 48

    def _bar(self, surf, bar: pygame.Rect, m: Meter):
        pygame.draw.rect(surf, TRACK, bar, border_radius=8)
        value = max(0.0, float(m.value)) if math.isfinite(m.value) else 0.0
        fill_h = int(round(min(value, BAR_MAX) / BAR_MAX * bar.h))
        if m.kind == "prime":
            reached = value >= 1.0
            colour = REACHED if reached else PRIME
            line, dashed = 1.0, False
        else:
            reached = False
            colour = ALERT if m.alert else WATCH
            line, dashed = m.threshold, True
        if fill_h > 0:
            pygame.draw.rect(surf, colour, (bar.x, bar.bottom - fill_h, bar.w, fill_h),
                             border_radius=8)
        pygame.draw.rect(surf, MUTED, bar, 2, border_radius=8)
        if line is not None and math.isfinite(line):
            y = bar.bottom - int(round(min(max(line, 0.0), BAR_MAX) / BAR_MAX * bar.h))
            level_line(surf, bar, y, dashed)
        icon_at = (bar.centerx, bar.y - 26)
        if m.alert:
            self._icon(surf, "warn", icon_at, 22)
        elif reached:
            self._icon(surf, "check", icon_at, 20)
        if value > BAR_MAX:   # off the scale: an arrow says "even more"
            pygame.draw.polygon(surf, INK, [(bar.centerx, bar.y + 6), (bar.centerx - 10, bar.y + 20),
                                            (bar.centerx + 10, bar.y + 20)])

    # -- the hold ring --
    def _ring(self, surf, c, r, fraction, seconds, word="", backing=False):
        fraction = 0.0 if fraction is None or not math.isfinite(fraction) else min(max(fraction, 0.0), 1.0)
        width = max(10, r // 5)
        if backing:   # over a camera image: a plain panel keeps the number and word readable
            back = pygame.Rect(0, 0, 2 * r + 24, 2 * r + 60)
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
            self.text.blit(surf, word, SMALL, TEXT, (c[0], c[1] + r + 10), "midtop")

    # -- banner --
    def _banner(self, surf, message):
        rect = self.bottom_rect
        self.banner_rect = rect
        pygame.draw.rect(surf, BANNER, rect)
        pygame.draw.line(surf, INK, rect.topleft, rect.topright, 3)
        self._icon(surf, "warn", (rect.x + 64, rect.centery), 40, on=BANNER)
        word = self.text.blit(surf, "Careful", TITLE, INK, (rect.x + 120, rect.centery), "midleft")
        pygame.draw.line(surf, INK, (word.right + 24, rect.y + 24), (word.right + 24, rect.bottom - 24), 3)
        box = pygame.Rect(word.right + 48, rect.y + 8, rect.right - word.right - 80, rect.h - 16)
        self.text.block(surf, message, BODY, INK, box, align="left", max_lines=2, valign="center")

    # -- cards: every non-exercise screen --
    def _card(self, surf, view):
        card = pygame.Rect(0, 0, self.w - 160, self.h - 136)
        card.midtop = (self.w // 2, 56)
        pygame.draw.rect(surf, PANEL, card, border_radius=24)
        inner = card.inflate(-96, -56)
        icon = CARD_ICONS.get(view.screen)
        title = view.title or _DEFAULT_TITLES.get(view.screen, view.screen.replace("_", " ").capitalize())
        rows = view.summary if view.screen == "summary" else ()
        countdown = _finite(view.countdown_s)
        notice = view.extra.get("notice", "")          # the safety notice: never cut off
        # Centre the whole block in the card: a short message shouldn't hang at the top.
        height = self._card_height(view, inner.w, icon, title, notice) + self._card_answer_height(
            view, rows, countdown)
        y = inner.y + max(0, (inner.h - height) // 2)
        y = self._card_words(surf, view, inner, y, icon, title, notice)
        if rows:
            self._table(surf, pygame.Rect(inner.x + 60, y + 16, inner.w - 120, inner.bottom - y - 16), rows)
        elif view.screen == "confirm_quit":
            self._buttons(surf, inner, y + 30, (("Yes, stop", "Y", "yes"), ("No, go on", "N", "no")))
        elif countdown is not None:
            self.text.blit(surf, f"{max(0, math.ceil(countdown - 1e-6))} s", TITLE + 20, SKY,
                           (inner.centerx, y + 24), "midtop")
        hints = view.extra.get("hints", HINTS)       # the kiosk has no quit key to advertise
        if hints:
            self.text.blit(surf, hints, SMALL, MUTED, (self.w // 2, self.h - 26), "midbottom")

    def _card_height(self, view, width, icon, title, notice) -> int:
        """Height of the card's icon, title, text and notice."""
        n_title = len(self.text.wrap(title, TITLE, width)[:2])
        n_text = len(self.text.wrap(view.text, BODY, width)[:4]) if view.text else 0
        height = (84 if icon else 0) + n_title * int(TITLE * 1.25) + 12 + n_text * int(BODY * 1.25)
        if notice:
            height += len(self.text.wrap(notice, SMALL, width - 40)[:4]) * int(SMALL * 1.25) + 40
        return height

    @staticmethod
    def _card_answer_height(view, rows, countdown) -> int:
        """Height of what follows the words: the summary table, the quit buttons or a countdown."""
        if rows:
            return 16 + 52 * len(rows)
        if view.screen == "confirm_quit":
            return 126
        return 110 if countdown is not None else 0

    def _card_words(self, surf, view, inner, y, icon, title, notice) -> int:
        """The card's icon, title, text and notice from y down; returns the bottom y used."""
        if icon:
            self._icon(surf, icon, (inner.centerx, y + 34), 34, on=PANEL)
            y += 84
        y = self.text.block(surf, title, TITLE, TEXT, pygame.Rect(inner.x, y, inner.w, 200), max_lines=2)
        y += 12
        if view.text:
            y = self.text.block(surf, view.text, BODY, TEXT, pygame.Rect(inner.x, y, inner.w, 300),
                                max_lines=4)
        if notice:
            n_notice = len(self.text.wrap(notice, SMALL, inner.w - 40)[:4])
            box = pygame.Rect(inner.x, y + 16, inner.w, n_notice * int(SMALL * 1.25) + 24)
            pygame.draw.rect(surf, ORANGE, box, width=3, border_radius=12)
            y = self.text.block(surf, notice, SMALL, TEXT, box.inflate(-40, -24), max_lines=4) + 28
        return y

    def _table(self, surf, rect, rows):
        step = 52
        fit = max(1, rect.h // step)
        if len(rows) > fit:
            rows = rows[:fit - 1] + (("…", ""),)
        for i, (label, value) in enumerate(rows):
            row = pygame.Rect(rect.x, rect.y + i * step, rect.w, step)
            if i % 2 == 0:
                pygame.draw.rect(surf, BG, row, border_radius=10)
            self.text.blit(surf, str(label), BODY, TEXT, (row.x + 20, row.centery), "midleft")
            self.text.blit(surf, str(value), BODY, TEXT, (row.right - 20, row.centery), "midright")

    def _buttons(self, surf, inner, y, specs):
        bw, bh, gap = 340, 96, 60
        x = inner.centerx - (len(specs) * bw + (len(specs) - 1) * gap) // 2
        for word, key, action in specs:
            rect = pygame.Rect(x, y, bw, bh)
            pygame.draw.rect(surf, SKY, rect, border_radius=16)
            self.text.blit(surf, word, HEADING, INK, (rect.centerx, rect.centery - 14), "center")
            self.text.blit(surf, f"press {key}", SMALL, INK, (rect.centerx, rect.bottom - 22), "center")
            self.buttons.append((rect, action))
            x += bw + gap

    # -- status and cue twins --
    def _sound_note(self, surf, note, right):
        """Say plainly when cues will be silent (the visual twins still show)."""
        r = self.text.blit(surf, note, SMALL, MUTED, (right, 14), "topright")
        self._icon(surf, "mute", (r.x - 34, r.centery), 13, on=BG)

    def _flash(self, surf, cue, where):
        word, icon, colour = CUE_LOOKS.get(cue, (cue.replace("_", " ").capitalize(), "ring", SKY))
        img = self.text.render(word, HEADING, INK)
        pill = pygame.Rect(0, 0, img.get_width() + 110, 76)
        if where in ("mirror", "mesh"):   # a corner of the picture, off the face
            pill.bottomleft = (self.face_rect.x + 12, self.face_rect.bottom - 12)
        elif where == "meters":
            pill.midtop = (self.w // 2, self.TOP + 4)
        else:   # over the key hints, below the card: never on top of the card's words
            pill.h = 64
            pill.midbottom = (self.w // 2, self.h - 4)
            surf.fill(BG, (0, self.h - 76, self.w, 76))
        pygame.draw.rect(surf, INK, pill.inflate(6, 6), border_radius=40)
        pygame.draw.rect(surf, colour, pill, border_radius=38)
        self._icon(surf, icon, (pill.x + 44, pill.centery), 20, on=colour, ink=INK)
        surf.blit(img, img.get_rect(midleft=(pill.x + 78, pill.centery)))

    def _icon(self, surf, kind, c, r, on=BG, ink=None):
        """Small shapes, so meaning never rests on colour alone."""
        draw_icon(surf, self.text, kind, c, r, on, ink)


_LIP_POINTS = tuple(p for p in face.MEASURED_POINTS
                    if p not in {q for s in face.SIDES for q in (*face.EYE_CONTOUR[s], *face.BROW[s])}
                    and p not in face.MOUTH_CORNER.values())

def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


_DEFAULT_TITLES = {
    "welcome": "Welcome", "calibrate": "Getting ready", "instruct": "Next exercise", "rest": "Rest",
    "paused": "Paused", "camera_lost": "Can't see the camera", "summary": "Well done",
    "confirm_quit": "Stop the session?",
}


def _short_label(m: Meter) -> str:
    """'Smile – left' under a 'Your left' heading reads as just 'Smile'."""
    label = m.label.strip()
    if m.side:
        for sep in (" – ", " - ", " — ", ", "):
            head, _, tail = label.rpartition(sep)
            if head and tail.strip().lower() in (m.side, f"{m.side} side"):
                return head
    return label
