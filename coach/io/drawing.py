"""Drawing primitives for the patient's screen: cached text, icons and level lines.

Pure drawing onto a pygame Surface (coach.io.render composes the screens).
Icons are small shapes, so meaning never rests on colour alone.
"""
from __future__ import annotations

import math
import os

import pygame

from coach.io.palette import BANNER, BG, GREEN, HEADING, INK, MUTED, ORANGE, SKY, TEXT


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


# --- icons ----------------------------------------------------------------------------
def _warn(surf, text, c, r, on, ink):   # a triangle with "!"
    x, y = c
    pts = [(x, y - r), (x - r * 1.1, y + r * 0.8), (x + r * 1.1, y + r * 0.8)]
    fill = ink or (INK if on == BANNER else ORANGE)
    mark = on if on == BANNER else INK
    pygame.draw.polygon(surf, fill, pts)
    if on != BANNER and ink is None:
        pygame.draw.polygon(surf, INK, pts, 2)
    pygame.draw.line(surf, mark, (x, y - r * 0.45), (x, y + r * 0.2), max(3, r // 6))
    pygame.draw.circle(surf, mark, (x, y + r * 0.5), max(2, r // 9))


def _check(surf, text, c, r, on, ink):
    x, y = c
    pygame.draw.lines(surf, ink or GREEN, False, [(x - r, y), (x - r * 0.3, y + r * 0.7), (x + r, y - r * 0.7)],
                      max(4, r // 3))


def _play(surf, text, c, r, on, ink):
    x, y = c
    pygame.draw.polygon(surf, ink or SKY, [(x - r * 0.6, y - r), (x - r * 0.6, y + r), (x + r, y)])


def _ring(surf, text, c, r, on, ink):
    pygame.draw.circle(surf, ink or SKY, c, r, max(4, r // 4))


def _star(surf, text, c, r, on, ink):
    x, y = c
    pts = [(x + (r if i % 2 == 0 else r * 0.45) * math.sin(i * math.pi / 5),
            y - (r if i % 2 == 0 else r * 0.45) * math.cos(i * math.pi / 5)) for i in range(10)]
    pygame.draw.polygon(surf, ink or GREEN, pts)


def _pause(surf, text, c, r, on, ink):
    x, y = c
    for dx in (-r * 0.5, r * 0.5):
        pygame.draw.rect(surf, ink or SKY, (x + dx - r * 0.22, y - r, r * 0.44, 2 * r), border_radius=4)


def _camera(surf, text, c, r, on, ink):
    x, y = c
    col = ink or SKY
    pygame.draw.rect(surf, col, (x - r, y - r * 0.6, 2 * r, 1.3 * r), 4, border_radius=6)
    pygame.draw.circle(surf, col, (x, y), r * 0.35, 4)
    pygame.draw.line(surf, ORANGE, (x - r * 1.2, y + r), (x + r * 1.2, y - r), 6)


def _question(surf, text, c, r, on, ink):
    col = ink or SKY
    pygame.draw.circle(surf, col, c, r, 4)
    text.blit(surf, "?", HEADING, col, c, "center")


def _mute(surf, text, c, r, on, ink):   # a speaker with a cross
    x, y = c
    col = ink or MUTED
    pygame.draw.polygon(surf, col, [(x - r, y - r * 0.4), (x - r * 0.4, y - r * 0.4), (x + r * 0.2, y - r),
                                    (x + r * 0.2, y + r), (x - r * 0.4, y + r * 0.4), (x - r, y + r * 0.4)])
    pygame.draw.line(surf, col, (x + r * 0.6, y - r * 0.6), (x + r * 1.8, y + r * 0.6), 4)
    pygame.draw.line(surf, col, (x + r * 0.6, y + r * 0.6), (x + r * 1.8, y - r * 0.6), 4)


ICONS = {"warn": _warn, "check": _check, "play": _play, "ring": _ring, "star": _star, "pause": _pause,
         "camera": _camera, "question": _question, "mute": _mute}


def draw_icon(surf, text: Text, kind: str, c, r, on=BG, ink=None) -> None:
    """One small shape centred on c with radius r; `on` is the colour beneath, `ink` overrides its colour."""
    draw = ICONS.get(kind)
    if draw is not None:
        draw(surf, text, c, r, on, ink)


# --- level lines ------------------------------------------------------------------------
def level_line(surf, bar, y, dashed, colour=TEXT) -> None:
    """A level across a bar: the limit not to cross dashed; the goal to reach solid with notches."""
    x0, x1 = bar.x - 12, bar.right + 12
    if dashed:
        for x in range(x0, x1, 14):
            pygame.draw.line(surf, colour, (x, y), (min(x + 8, x1), y), 4)
    else:
        pygame.draw.line(surf, colour, (x0, y), (x1, y), 4)
        for tip, base in ((x0, x0 - 10), (x1, x1 + 10)):
            pygame.draw.polygon(surf, colour, [(tip, y), (base, y - 8), (base, y + 8)])
