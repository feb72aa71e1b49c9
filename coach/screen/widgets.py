"""The parts every screen is built from: touch buttons, icons, the key hints and the face avatar.

Below both coach.screen.render (the exercise screens) and coach.screen.cards (the screens
around them): a `Canvas` is what they draw with. It knows its size and text, records every
touch target drawn (`buttons`: rect and action), and keeps the avatar's gentle smoothing.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pygame

from coach.core import face
from coach.core.feedback import Button, FeedbackView
from coach.screen.drawing import Point, Text, draw_icon
from coach.screen.mesh_paths import MeshPaths
from coach.screen.palette import (BG, BODY, HEADING, HIGHLIGHT, INK, MESH_FEATURE, MESH_FILL, MESH_LINE, MUTED,
                                  PANEL, SKY, SMALL, TEXT, Colour)

HINTS = "P pause   S skip   V view   M sound   O voice   T text size   Q stop"   # the keys, at home
PRIMARY = ("ready", "done", "yes", "resume", "back")     # drawn as the main (filled) button
BUTTON_ICONS = {"pause": "pause", "stop": "stop", "resume": "play"}

Pixels = npt.NDArray[np.float32]          # (n, 2) screen positions of landmarks


class Canvas:
    """A screen's size, its text, the touch targets drawn on it and the avatar."""

    MARGIN = 24

    def __init__(self, size: tuple[int, int], text: Text) -> None:
        self.w, self.h = size
        self.text = text
        self.buttons: list[tuple[pygame.Rect, str]] = []
        self.avatar = Avatar()

    # -- touch targets --
    def draw_buttons(self, surf: pygame.Surface, buttons: tuple[Button, ...], area: pygame.Rect,
                     view: FeedbackView, small: bool = False) -> None:
        """Buttons side by side, centred in `area`; each registered as a touch target with its action."""
        if not buttons:
            return
        show_keys = view.extra.get("hints", HINTS) != ""          # the kiosk has no keyboard
        gap = 16
        bw = min(340, (area.w - gap * (len(buttons) + 1)) // len(buttons))
        bh = min(area.h - 20, 88 if small else 100)
        x = area.centerx - (len(buttons) * bw + (len(buttons) - 1) * gap) // 2
        for i, b in enumerate(buttons):
            rect = pygame.Rect(x, area.centery - bh // 2, bw, bh)
            draw_button(surf, self.text, rect, b, primary=(i == 0 and b.action in PRIMARY), show_key=show_keys)
            self.buttons.append((rect, b.action))
            x += bw + gap

    def icon(self, surf: pygame.Surface, kind: str, c: Point, r: int, on: Colour = BG,
             ink: Colour | None = None) -> None:
        """Small shapes, so meaning never rests on colour alone."""
        draw_icon(surf, self.text, kind, c, r, on, ink)

    def face(self, surf: pygame.Surface, view: FeedbackView, box: pygame.Rect, steady: bool = False) -> None:
        """The avatar of `view.points` in `box` (or a word while there is no face)."""
        self.avatar.draw(surf, self.text, view.points, view.highlight, box, steady, neck=view.neck)


def draw_button(surf: pygame.Surface, text: Text, rect: pygame.Rect, b: Button, primary: bool,
                show_key: bool) -> None:
    """A button: its word (with an icon for pause, stop and carry on), and its key underneath at home."""
    fill, ink = (SKY, INK) if primary else (PANEL, TEXT)
    pygame.draw.rect(surf, fill, rect, border_radius=16)
    pygame.draw.rect(surf, SKY if primary else MUTED, rect, 3, border_radius=16)
    icon = BUTTON_ICONS.get(b.action)
    inner = rect.inflate(-24, -10)
    key = f"press {b.key}" if show_key and b.key else ""
    key_h = text.line_h(SMALL) if key else 0
    icon_w = 34 if icon else 0
    size = text.fit(b.word, HEADING if rect.h >= 96 else BODY, inner.w - icon_w, 1)
    if key and text.line_h(size) + key_h > inner.h + 10:
        key, key_h = "", 0
    word_w = text.width(b.word, size)
    x = rect.centerx - (word_w + icon_w) // 2
    cy = rect.centery - key_h // 2 + (2 if key else 0)
    if icon:
        draw_icon(surf, text, icon, (x + 12, cy), 12, fill, ink)
    text.blit(surf, b.word, size, ink, (x + icon_w, cy), "midleft")
    if key:
        text.blit(surf, key, SMALL, ink, (rect.centerx, inner.bottom + 4), "midbottom")


def landmarks_xy(points: Any) -> Pixels | None:
    """The landmarks' normalised x, y, or None when there is no whole, finite face."""
    if points is None:
        return None
    p = np.asarray(points, dtype=np.float32)
    if p.ndim != 2 or p.shape[0] < 468 or not np.isfinite(p[:468, :2]).all():
        return None
    return p[:, :2]


RING_PAD = {"chin": 14}      # px around a region's points; the chin's ring stays off the lips and nose


def draw_highlights(surf: pygame.Surface, text: Text, px: Pixels,
                    highlight: tuple[tuple[str, str], ...]) -> None:
    """A ring, with a warning sign, around each (region, side) of the face at pixels `px`."""
    for region, side in highlight:
        idx = face.REGION_POINTS.get(region, {}).get(side)
        if not idx:
            continue
        if region == "neck":            # not in the mesh: a band below that side's jaw line
            band = neck_band(px, side)
            pygame.draw.polygon(surf, INK, band.tolist(), 9)
            pygame.draw.polygon(surf, HIGHLIGHT, band.tolist(), 5)
            draw_icon(surf, text, "warn", _middle(band), 18, BG, None)
            continue
        pts = px[list(idx)]
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        pad = RING_PAD.get(region, 44)
        rect = pygame.Rect(int(x0), int(y0), int(x1 - x0), int(y1 - y0)).inflate(pad, pad)
        pygame.draw.ellipse(surf, INK, rect.inflate(6, 6), 9)
        pygame.draw.ellipse(surf, HIGHLIGHT, rect, 5)
        draw_icon(surf, text, "warn", (rect.centerx, rect.y - 22), 18, BG, None)


NECK_DEPTH = 0.45      # the neck band's height below the jaw line, as a share of the eye-corner span


def neck_band(px: Pixels, side: str) -> Pixels:
    """The outline of one side's neck below the jaw line at pixels `px`: the jaw's lower points
    (`face.REGION_POINTS["neck"]`), then the same points moved down the face's own vertical (nasion to
    chin) by NECK_DEPTH of the eye-corner span, so a tilted head tilts the band with it."""
    jaw = px[list(face.REGION_POINTS["neck"][side])].astype(np.float32)
    down = px[152] - px[face.NASION]
    down = down / max(float(np.linalg.norm(down)), 1e-6)
    span = float(np.linalg.norm(px[face.EYE_OUTER["left"]] - px[face.EYE_OUTER["right"]]))
    return np.concatenate([jaw, (jaw + NECK_DEPTH * span * down)[::-1]]).astype(np.float32)


def _middle(band: Pixels) -> Point:
    """The middle of a band (its sign goes there: inside the band, on the neck)."""
    return (int(band[:, 0].mean()), int(band[:, 1].mean()))


NECK_WORDS = {"seen": "seen", "not seen": "not seen", "can't tell": "can't tell"}


def neck_status(neck: tuple[tuple[str, str], ...]) -> str:
    """The neck's state in words for the panel: "Neck: can't tell", or per side when they differ
    ("Neck: left seen, right not seen"); "" when the exercise does not watch the neck."""
    if not neck:
        return ""
    states = dict(neck)
    if len(set(states.values())) == 1:
        return f"Neck: {NECK_WORDS.get(next(iter(states.values())), '')}"
    return "Neck: " + ", ".join(f"{side} {NECK_WORDS.get(states[side], '')}" for side in face.SIDES if side in states)


def draw_neck_unknown(surf: pygame.Surface, text: Text, px: Pixels, neck: tuple[tuple[str, str], ...]) -> None:
    """Each side whose neck the camera can't judge: its band below the jaw, thin and muted, with a
    question mark (a word and a shape, not only a colour)."""
    for side, state in neck:
        if state != "can't tell" or side not in face.SIDES:
            continue
        band = neck_band(px, side)
        pygame.draw.polygon(surf, INK, band.tolist(), 5)
        pygame.draw.polygon(surf, MUTED, band.tolist(), 2)
        draw_icon(surf, text, "question", _middle(band), 16, BG, None)


class Avatar:
    """The mesh on a plain background, centred and scaled to fit, gently smoothed."""

    def __init__(self) -> None:
        self.mesh = MeshPaths.load()
        self.frame_size = (640, 480)   # last camera frame size: the aspect of normalised points
        self.fit: tuple[float, float, float] | None = None  # smoothed avatar centre and scale

    def draw(self, surf: pygame.Surface, text: Text, points: Any, highlight: tuple[tuple[str, str], ...],
             box: pygame.Rect, steady: bool = False, neck: tuple[tuple[str, str], ...] = ()) -> None:
        xy = landmarks_xy(points)
        if xy is None:
            text.block(surf, "Looking for your face…", BODY, MUTED, box, valign="center")
            return
        fw, fh = self.frame_size
        p = np.empty_like(xy)
        p[:, 0] = (1.0 - xy[:, 0]) * fw      # mirrored, like the mirror view
        p[:, 1] = xy[:, 1] * fh
        self._place(p, box, steady)
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
        draw_neck_unknown(surf, text, p, neck)
        draw_highlights(surf, text, p, highlight)
        surf.set_clip(clip)

    def _place(self, p: Pixels, box: pygame.Rect, steady: bool) -> None:
        """Centre and scale the mesh into box, in place. Scaled by the eye-corner span (barely changes
        with expressions), not the outline, so an open mouth doesn't shrink the face. Smoothed: the
        avatar should feel calm; `steady` (a demonstration) keeps the fit it has, so only the movement moves."""
        oval = p[self.mesh.oval]
        centre = (oval.min(axis=0) + oval.max(axis=0)) / 2
        span = float(np.linalg.norm(p[face.EYE_OUTER["left"]] - p[face.EYE_OUTER["right"]]))
        scale = 0.36 * box.h / max(span, 1e-6)
        target = (float(centre[0]), float(centre[1]), scale)
        if self.fit is None or abs(self.fit[2] - scale) > 0.5 * scale:
            self.fit = target
        elif not steady:
            a0, a1, a2 = self.fit
            self.fit = (0.8 * a0 + 0.2 * target[0], 0.8 * a1 + 0.2 * target[1], 0.8 * a2 + 0.2 * target[2])
        cx, cy, s = self.fit
        p[:, 0] = box.centerx + (p[:, 0] - cx) * s
        p[:, 1] = box.centery + (p[:, 1] - cy) * s
