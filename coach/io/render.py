"""Drawing a FeedbackView onto a pygame Surface: palette, text, layout, views.

Pure drawing: no window, events or sound (coach.io.display owns those), so a
test can render onto a plain Surface. Everything the patient must notice is
said with a word and a shape as well as a colour (Okabe–Ito palette, contrast
checked by tests/test_display.py against CONTRAST_PAIRS).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import pygame

from coach.core import face
from coach.core.feedback import FeedbackView, Meter
from coach.resources import builtin_dir

# --- palette --------------------------------------------------------------------------
# Okabe–Ito signal colours on a dark, calm slate (easy on the eyes next to a webcam image).
ORANGE, SKY, GREEN = (230, 159, 0), (86, 180, 233), (0, 158, 115)
YELLOW, BLUE, VERMILLION, PURPLE = (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167)
BG, PANEL = (18, 24, 32), (32, 41, 52)
TEXT, MUTED, INK = (242, 242, 236), (176, 186, 196), (0, 0, 0)
TRACK = (44, 56, 70)                 # empty part of a bar (decorative; the outline is MUTED)
MESH_FILL, MESH_LINE, MESH_FEATURE = (34, 46, 60), (60, 78, 96), (196, 210, 220)

PRIME, REACHED, WATCH, ALERT = SKY, GREEN, PURPLE, VERMILLION
BANNER, HIGHLIGHT, LANDMARK = ORANGE, ORANGE, SKY

# Every foreground/background pair a patient must read or see: all ≥ 4.5:1.
CONTRAST_PAIRS = {
    "text": (TEXT, BG), "text on card": (TEXT, PANEL),
    "hint": (MUTED, BG), "hint on card": (MUTED, PANEL),
    "banner text": (INK, BANNER), "button text": (INK, SKY),
    "prime bar": (PRIME, BG), "goal reached": (REACHED, BG), "watch bar": (WATCH, BG),
    "alert bar": (ALERT, BG), "bar outline": (MUTED, BG), "goal line": (TEXT, BG),
    "landmarks": (LANDMARK, BG), "highlight": (HIGHLIGHT, BG), "mesh features": (MESH_FEATURE, MESH_FILL),
    "cue start": (INK, SKY), "cue rep_done": (INK, GREEN), "cue synkinesis": (INK, ORANGE),
}

TITLE, HEADING, BODY, SMALL = 52, 40, 34, 28     # px; nothing smaller than 28
BAR_MAX = 1.2                                    # a bar spans 0..1.2; the goal is 1.0

# cue -> (word, icon, colour): the visual twin of every sound.
CUE_LOOKS = {
    "start": ("Start", "play", SKY),
    "hold": ("Hold", "ring", SKY),
    "rep_done": ("Rep done", "check", GREEN),
    "synkinesis": ("Careful", "warn", ORANGE),
    "exercise_done": ("Exercise done", "check", GREEN),
    "session_done": ("Session done", "star", GREEN),
}
EXERCISE_SCREENS = ("calibrate", "move", "hold", "relax", "rest")   # face + meters layout
RING_WORDS = {"hold": "Hold", "rest": "Rest", "calibrate": "Keep still", "relax": "Relax"}
HINTS = "P pause    S skip    V view    M sound    Q quit"


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (1..21)."""
    def lum(c):
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# --- text -----------------------------------------------------------------------------
class Text:
    """Fonts and rendered strings, cached: font.render is far too slow to call per frame."""

    MAX_CACHED = 2000

    def __init__(self) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        # Font(None, n) silently shrinks the default font to 0.6875 n; open the file instead
        # so "34 px" really is 34 px.
        self._path = os.path.join(os.path.dirname(pygame.__file__), pygame.font.get_default_font())
        self._fonts: dict[int, pygame.font.Font] = {}
        self._cache: dict[tuple, pygame.Surface] = {}
        self._wraps: dict[tuple, tuple[str, ...]] = {}

    def font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            if os.path.exists(self._path):
                self._fonts[size] = pygame.font.Font(self._path, size)
            else:
                self._fonts[size] = pygame.font.Font(None, round(size / 0.6875))
        return self._fonts[size]

    def render(self, text: str, size: int, colour) -> pygame.Surface:
        key = (text, size, tuple(colour))
        surf = self._cache.get(key)
        if surf is None:
            if len(self._cache) >= self.MAX_CACHED:   # e.g. many countdown values over a day
                self._cache.clear()
            surf = self._cache[key] = self.font(size).render(text, True, colour)
        return surf

    def wrap(self, text: str, size: int, width: int) -> tuple[str, ...]:
        key = (text, size, width)
        lines = self._wraps.get(key)
        if lines is None:
            font, out = self.font(size), []
            for para in text.split("\n"):
                line = ""
                for word in para.split():
                    trial = f"{line} {word}".strip()
                    if line and font.size(trial)[0] > width:
                        out.append(line)
                        line = word
                    else:
                        line = trial
                out.append(line)
            if len(self._wraps) >= self.MAX_CACHED:
                self._wraps.clear()
            lines = self._wraps[key] = tuple(out)
        return lines

    def blit(self, surf, text, size, colour, pos, anchor="topleft") -> pygame.Rect:
        img = self.render(text, size, colour)
        rect = img.get_rect(**{anchor: pos})
        surf.blit(img, rect)
        return rect

    def block(self, surf, text, size, colour, rect: pygame.Rect, align="center",
              max_lines: int = 99, valign="top") -> int:
        """Wrapped text inside rect; returns the bottom y used."""
        lines = self.wrap(text, size, rect.w)[:max_lines]
        step = int(size * 1.25)
        y = rect.y if valign == "top" else rect.centery - step * len(lines) // 2
        for line in lines:
            x = {"center": rect.centerx, "left": rect.x}[align]
            self.blit(surf, line, size, colour, (x, y), "midtop" if align == "center" else "topleft")
            y += step
        return y


# --- the face mesh, as polylines --------------------------------------------------------
def _path_cover(edges) -> list[list[int]]:
    """Chain undirected edges into few polylines, so each is one draw.lines call."""
    adj: dict[int, list[int]] = {}
    for a, b in {tuple(sorted(e)) for e in edges}:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    for v in adj.values():
        v.sort()
    paths = []
    while True:
        # Start at odd-degree points first: a walk from there uses edges up best.
        starts = [p for p in sorted(adj) if len(adj[p]) % 2] or [p for p in sorted(adj) if adj[p]]
        if not starts:
            return paths
        path = [starts[0]]
        while adj[path[-1]]:
            nxt = adj[path[-1]].pop(0)
            adj[nxt].remove(path[-1])
            path.append(nxt)
        paths.append(path)


def _chains(edges) -> list[list[int]]:
    out: list[list[int]] = []
    for a, b in edges:
        if out and out[-1][-1] == a:
            out[-1].append(b)
        else:
            out.append([a, b])
    return out


@dataclass(frozen=True)
class MeshPaths:
    tesselation: list[list[int]]
    oval: list[int]
    features: list[list[int]]          # eyes, brows, lips, nose
    irises: tuple[tuple[int, int], ...]  # (centre, a rim point) per eye

    @classmethod
    def load(cls) -> "MeshPaths":
        mesh = json.loads((builtin_dir("data") / "face_mesh.json").read_text())
        feats = []
        for name in ("left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "lips", "nose"):
            feats += _chains(mesh[name])
        oval = _chains(mesh["face_oval"])[0]
        irises = tuple((face.IRIS[s][0], face.IRIS[s][1]) for s in face.SIDES)
        return cls(_path_cover(mesh["tesselation"]), oval, feats, irises)


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
            self._level_line(surf, pygame.Rect(x + 12, y, 32, 0), y, dashed, MUTED)
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
            self._level_line(surf, bar, y, dashed)
        icon_at = (bar.centerx, bar.y - 26)
        if m.alert:
            self._icon(surf, "warn", icon_at, 22)
        elif reached:
            self._icon(surf, "check", icon_at, 20)
        if value > BAR_MAX:   # off the scale: an arrow says "even more"
            pygame.draw.polygon(surf, INK, [(bar.centerx, bar.y + 6), (bar.centerx - 10, bar.y + 20),
                                            (bar.centerx + 10, bar.y + 20)])

    @staticmethod
    def _level_line(surf, bar, y, dashed, colour=TEXT):
        x0, x1 = bar.x - 12, bar.right + 12
        if dashed:   # the limit not to cross: dashed; the goal to reach: solid with notches
            for x in range(x0, x1, 14):
                pygame.draw.line(surf, colour, (x, y), (min(x + 8, x1), y), 4)
        else:
            pygame.draw.line(surf, colour, (x0, y), (x1, y), 4)
            for tip, base in ((x0, x0 - 10), (x1, x1 + 10)):
                pygame.draw.polygon(surf, colour, [(tip, y), (base, y - 8), (base, y + 8)])

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
        icon = {"paused": "pause", "camera_lost": "camera", "confirm_quit": "question",
                "summary": "star", "welcome": "play"}.get(view.screen)
        title = view.title or _DEFAULT_TITLES.get(view.screen, view.screen.replace("_", " ").capitalize())
        n_title = len(self.text.wrap(title, TITLE, inner.w)[:2])
        n_text = len(self.text.wrap(view.text, BODY, inner.w)[:4]) if view.text else 0
        rows = view.summary if view.screen == "summary" else ()
        countdown = view.countdown_s if view.countdown_s is not None and math.isfinite(view.countdown_s) \
            else None
        notice = view.extra.get("notice", "")          # the safety notice: never cut off
        n_notice = len(self.text.wrap(notice, SMALL, inner.w - 40)[:4]) if notice else 0
        extra = (16 + 52 * len(rows) if rows else 126 if view.screen == "confirm_quit"
                 else 110 if countdown is not None else 0) + (n_notice * int(SMALL * 1.25) + 40 if notice else 0)
        # Centre the whole block in the card: a short message shouldn't hang at the top.
        height = (84 if icon else 0) + n_title * int(TITLE * 1.25) + 12 + n_text * int(BODY * 1.25) + extra
        y = inner.y + max(0, (inner.h - height) // 2)
        if icon:
            self._icon(surf, icon, (inner.centerx, y + 34), 34, on=PANEL)
            y += 84
        y = self.text.block(surf, title, TITLE, TEXT, pygame.Rect(inner.x, y, inner.w, 200), max_lines=2)
        y += 12
        if view.text:
            y = self.text.block(surf, view.text, BODY, TEXT, pygame.Rect(inner.x, y, inner.w, 300),
                                max_lines=4)
        if notice:
            box = pygame.Rect(inner.x, y + 16, inner.w, n_notice * int(SMALL * 1.25) + 24)
            pygame.draw.rect(surf, ORANGE, box, width=3, border_radius=12)
            y = self.text.block(surf, notice, SMALL, TEXT, box.inflate(-40, -24), max_lines=4) + 28
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
        x, y = c
        if kind == "warn":   # a triangle with "!"
            pts = [(x, y - r), (x - r * 1.1, y + r * 0.8), (x + r * 1.1, y + r * 0.8)]
            fill = ink or (INK if on == BANNER else ORANGE)
            mark = on if on == BANNER else INK
            pygame.draw.polygon(surf, fill, pts)
            if on != BANNER and ink is None:
                pygame.draw.polygon(surf, INK, pts, 2)
            pygame.draw.line(surf, mark, (x, y - r * 0.45), (x, y + r * 0.2), max(3, r // 6))
            pygame.draw.circle(surf, mark, (x, y + r * 0.5), max(2, r // 9))
        elif kind == "check":
            col = ink or GREEN
            pygame.draw.lines(surf, col, False, [(x - r, y), (x - r * 0.3, y + r * 0.7), (x + r, y - r * 0.7)],
                              max(4, r // 3))
        elif kind == "play":
            col = ink or SKY
            pygame.draw.polygon(surf, col, [(x - r * 0.6, y - r), (x - r * 0.6, y + r), (x + r, y)])
        elif kind == "ring":
            pygame.draw.circle(surf, ink or SKY, c, r, max(4, r // 4))
        elif kind == "star":
            col = ink or GREEN
            pts = [(x + (r if i % 2 == 0 else r * 0.45) * math.sin(i * math.pi / 5),
                    y - (r if i % 2 == 0 else r * 0.45) * math.cos(i * math.pi / 5)) for i in range(10)]
            pygame.draw.polygon(surf, col, pts)
        elif kind == "pause":
            for dx in (-r * 0.5, r * 0.5):
                pygame.draw.rect(surf, ink or SKY, (x + dx - r * 0.22, y - r, r * 0.44, 2 * r), border_radius=4)
        elif kind == "camera":
            col = ink or SKY
            pygame.draw.rect(surf, col, (x - r, y - r * 0.6, 2 * r, 1.3 * r), 4, border_radius=6)
            pygame.draw.circle(surf, col, (x, y), r * 0.35, 4)
            pygame.draw.line(surf, ORANGE, (x - r * 1.2, y + r), (x + r * 1.2, y - r), 6)
        elif kind == "question":
            col = ink or SKY
            pygame.draw.circle(surf, col, c, r, 4)
            self.text.blit(surf, "?", HEADING, col, c, "center")
        elif kind == "mute":   # a speaker with a cross
            col = ink or MUTED
            pygame.draw.polygon(surf, col, [(x - r, y - r * 0.4), (x - r * 0.4, y - r * 0.4), (x + r * 0.2, y - r),
                                            (x + r * 0.2, y + r), (x - r * 0.4, y + r * 0.4), (x - r, y + r * 0.4)])
            pygame.draw.line(surf, col, (x + r * 0.6, y - r * 0.6), (x + r * 1.8, y + r * 0.6), 4)
            pygame.draw.line(surf, col, (x + r * 0.6, y + r * 0.6), (x + r * 1.8, y - r * 0.6), 4)


_LIP_POINTS = tuple(p for p in face.MEASURED_POINTS
                    if p not in {q for s in face.SIDES for q in (*face.EYE_CONTOUR[s], *face.BROW[s])}
                    and p not in face.MOUTH_CORNER.values())

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
