"""Drawing primitives for the patient's screen: cached text, icons and level lines.

Pure drawing onto a pygame Surface (coach.screen.render composes the screens).
Icons are small shapes, so meaning never rests on colour alone.
"""
from __future__ import annotations

import math
import os
from typing import Literal

import pygame

from coach.screen.palette import BANNER, BG, GREEN, HEADING, INK, MUTED, ORANGE, SKY, TEXT, Colour

Point = tuple[float, float]      # a position on the screen, in pixels


# --- text -----------------------------------------------------------------------------
class Text:
    """Fonts and rendered strings, cached: font.render is far too slow to call per frame.

    `scale` is the patient's text size (1.0, or larger): every size asked for is scaled by it.
    Every string drawn is recorded in `drawn` (its rectangle and words) until `reset()`, so a
    test can check that no two texts overlap."""

    MAX_CACHED = 2000
    MIN_FIT = 0.7           # shrink-to-fit goes no smaller than 70 % of the size asked for

    def __init__(self, scale: float = 1.0) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        # Font(None, n) silently shrinks the default font to 0.6875 n; open the file instead
        # so "34 px" really is 34 px.
        self._path = os.path.join(os.path.dirname(pygame.__file__), pygame.font.get_default_font())
        self._fonts: dict[int, pygame.font.Font] = {}
        self._cache: dict[tuple, pygame.Surface] = {}
        self._wraps: dict[tuple, tuple[str, ...]] = {}
        self.scale = float(scale)
        self.drawn: list[tuple[pygame.Rect, str]] = []

    def set_scale(self, scale: float) -> None:
        if float(scale) != self.scale:
            self.scale = float(scale)
            self._cache.clear()
            self._wraps.clear()

    def reset(self) -> None:
        self.drawn = []

    def px(self, size: int) -> int:
        """The size in pixels a text of `size` is drawn at (the text size applied)."""
        return max(8, int(round(size * self.scale)))

    def font(self, size: int) -> pygame.font.Font:
        px = self.px(size)
        if px not in self._fonts:
            if os.path.exists(self._path):
                self._fonts[px] = pygame.font.Font(self._path, px)
            else:
                self._fonts[px] = pygame.font.Font(None, round(px / 0.6875))
        return self._fonts[px]

    def render(self, text: str, size: int, colour: Colour) -> pygame.Surface:
        key = (text, size, tuple(colour))
        surf = self._cache.get(key)
        if surf is None:
            if len(self._cache) >= self.MAX_CACHED:   # e.g. many countdown values over a day
                self._cache.clear()
            surf = self._cache[key] = self.font(size).render(text, True, colour)
        return surf

    def width(self, text: str, size: int) -> int:
        return self.font(size).size(text)[0]

    def wrap(self, text: str, size: int, width: int) -> tuple[str, ...]:
        key = (text, size, width)
        lines = self._wraps.get(key)
        if lines is None:
            font, out = self.font(size), []
            for para in text.split("\n"):
                line = ""
                for word in _pieces(para, font, width):
                    trial = f"{line}{'' if line.endswith('-') or not line else ' '}{word}"
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

    def fit(self, text: str, size: int, width: int, max_lines: int = 99) -> int:
        """The largest size (down to MIN_FIT of `size`) at which `text` wraps into `max_lines` lines of `width`."""
        least = int(size * self.MIN_FIT)
        while size > least:
            lines = self.wrap(text, size, width)
            if len(lines) <= max_lines and all(self.width(ln, size) <= width for ln in lines):
                break
            size -= 2
        return size

    def blit(self, surf: pygame.Surface, text: str, size: int, colour: Colour, pos: Point,
             anchor: str = "topleft") -> pygame.Rect:
        img = self.render(text, size, colour)
        rect = img.get_rect(**{anchor: pos})
        surf.blit(img, rect)
        if text.strip():
            self.drawn.append((rect.clip(surf.get_rect()) if surf.get_rect().colliderect(rect) else rect, text))
        return rect

    def block(self, surf: pygame.Surface, text: str, size: int, colour: Colour, rect: pygame.Rect,
              align: Literal["center", "left"] = "center", max_lines: int = 99,
              valign: Literal["top", "center"] = "top", shrink: bool = False) -> int:
        """Wrapped text inside rect (shrunk to fit its width and lines if `shrink`); returns the bottom y used."""
        if shrink:
            size = self.fit(text, size, rect.w, max_lines)
        lines = self.wrap(text, size, rect.w)[:max_lines]
        step = self.line_h(size)
        y = rect.y if valign == "top" else rect.centery - step * len(lines) // 2
        for line in lines:
            x = {"center": rect.centerx, "left": rect.x}[align]
            self.blit(surf, line, size, colour, (x, y), "midtop" if align == "center" else "topleft")
            y += step
        return y

    def line_h(self, size: int) -> int:
        return int(self.px(size) * 1.25)

    def height(self, text: str, size: int, width: int, max_lines: int = 99) -> int:
        return len(self.wrap(text, size, width)[:max_lines]) * self.line_h(size)


def _pieces(para: str, font: pygame.font.Font, width: int) -> list[str]:
    """The words of a paragraph; a word too wide for a line is split after its hyphens."""
    out = []
    for word in para.split():
        if "-" in word.strip("-") and font.size(word)[0] > width:
            parts = word.split("-")
            out += [p + "-" for p in parts[:-1]] + [parts[-1]]
        else:
            out.append(word)
    return out


# --- icons ----------------------------------------------------------------------------
# a triangle with "!"
def _warn(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    pts = [(x, y - r), (x - r * 1.1, y + r * 0.8), (x + r * 1.1, y + r * 0.8)]
    fill = ink or (INK if on == BANNER else ORANGE)
    mark = on if on == BANNER else INK
    pygame.draw.polygon(surf, fill, pts)
    if on != BANNER and ink is None:
        pygame.draw.polygon(surf, INK, pts, 2)
    pygame.draw.line(surf, mark, (x, y - r * 0.45), (x, y + r * 0.2), max(3, r // 6))
    pygame.draw.circle(surf, mark, (x, y + r * 0.5), max(2, r // 9))


def _check(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    pygame.draw.lines(surf, ink or GREEN, False, [(x - r, y), (x - r * 0.3, y + r * 0.7), (x + r, y - r * 0.7)],
                      max(4, r // 3))


def _play(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    pygame.draw.polygon(surf, ink or SKY, [(x - r * 0.6, y - r), (x - r * 0.6, y + r), (x + r, y)])


def _ring(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    pygame.draw.circle(surf, ink or SKY, c, r, max(4, r // 4))


def _star(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    pts = [(x + (r if i % 2 == 0 else r * 0.45) * math.sin(i * math.pi / 5),
            y - (r if i % 2 == 0 else r * 0.45) * math.cos(i * math.pi / 5)) for i in range(10)]
    pygame.draw.polygon(surf, ink or GREEN, pts)


def _pause(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    for dx in (-r * 0.5, r * 0.5):
        pygame.draw.rect(surf, ink or SKY, (x + dx - r * 0.22, y - r, r * 0.44, 2 * r), border_radius=4)


def _camera(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    col = ink or SKY
    pygame.draw.rect(surf, col, (x - r, y - r * 0.6, 2 * r, 1.3 * r), 4, border_radius=6)
    pygame.draw.circle(surf, col, (x, y), r * 0.35, 4)
    pygame.draw.line(surf, ORANGE, (x - r * 1.2, y + r), (x + r * 1.2, y - r), 6)


def _question(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    col = ink or SKY
    pygame.draw.circle(surf, col, c, r, 4)
    text.blit(surf, "?", HEADING, col, c, "center")


# a speaker with a cross
def _mute(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    col = ink or MUTED
    pygame.draw.polygon(surf, col, [(x - r, y - r * 0.4), (x - r * 0.4, y - r * 0.4), (x + r * 0.2, y - r),
                                    (x + r * 0.2, y + r), (x - r * 0.4, y + r * 0.4), (x - r, y + r * 0.4)])
    pygame.draw.line(surf, col, (x + r * 0.6, y - r * 0.6), (x + r * 1.8, y + r * 0.6), 4)
    pygame.draw.line(surf, col, (x + r * 0.6, y + r * 0.6), (x + r * 1.8, y - r * 0.6), 4)


def _arrow(surf: pygame.Surface, c: Point, r: int, colour: Colour, up: bool) -> None:
    x, y = c
    s = -1 if up else 1
    pygame.draw.polygon(surf, colour, [(x, y + s * r), (x - r, y), (x - r * 0.4, y), (x - r * 0.4, y - s * r),
                                       (x + r * 0.4, y - s * r), (x + r * 0.4, y), (x + r, y)])


def _up(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    _arrow(surf, c, r, ink or SKY, True)


def _down(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    _arrow(surf, c, r, ink or SKY, False)


# two equal bars on a beam: "match the sides"
def _even(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    col = ink or SKY
    pygame.draw.rect(surf, col, (x - r, y - r * 0.2, 2 * r, max(3, r // 5)))
    for dx in (-r * 0.7, r * 0.4):
        pygame.draw.rect(surf, col, (x + dx, y - r, r * 0.3, r * 0.8))
    pygame.draw.polygon(surf, col, [(x, y), (x - r * 0.4, y + r), (x + r * 0.4, y + r)])


def _stop(surf: pygame.Surface, text: Text, c: Point, r: int, on: Colour, ink: Colour | None) -> None:
    x, y = c
    pygame.draw.rect(surf, ink or SKY, (x - r * 0.8, y - r * 0.8, r * 1.6, r * 1.6), border_radius=3)


ICONS = {"warn": _warn, "check": _check, "play": _play, "ring": _ring, "star": _star, "pause": _pause,
         "camera": _camera, "question": _question, "mute": _mute, "up": _up, "down": _down, "even": _even,
         "stop": _stop}


def draw_icon(surf: pygame.Surface, text: Text, kind: str, c: Point, r: int, on: Colour = BG,
              ink: Colour | None = None) -> None:
    """One small shape centred on c with radius r; `on` is the colour beneath, `ink` overrides its colour."""
    draw = ICONS.get(kind)
    if draw is not None:
        draw(surf, text, c, r, on, ink)


# --- level lines ------------------------------------------------------------------------
def level_line(surf: pygame.Surface, bar: pygame.Rect, y: int, dashed: bool, colour: Colour = TEXT,
               halo: Colour | None = INK) -> None:
    """A level across a bar: the limit not to cross dashed; the goal to reach solid with notches.

    Drawn as a `colour` core in a `halo`, so it stands out (≥ 3:1) from whatever it crosses:
    the bar's fill, its empty track and the background."""
    x0, x1 = bar.x - 12, bar.right + 12
    if dashed:
        for x in range(x0, x1, 14):
            if halo is not None:
                pygame.draw.rect(surf, halo, (x - 2, y - 4, min(x + 8, x1) - x + 5, 9))
            pygame.draw.line(surf, colour, (x, y), (min(x + 8, x1), y), 4)
    else:
        if halo is not None:
            pygame.draw.rect(surf, halo, (x0 - 2, y - 4, x1 - x0 + 5, 9))
            for tip, base in ((x0, x0 - 10), (x1, x1 + 10)):
                pygame.draw.polygon(surf, halo, [(tip + (2 if tip == x0 else -2), y), (base, y - 11),
                                                 (base, y + 11)])
        pygame.draw.line(surf, colour, (x0, y), (x1, y), 4)
        for tip, base in ((x0, x0 - 10), (x1, x1 + 10)):
            pygame.draw.polygon(surf, colour, [(tip, y), (base, y - 8), (base, y + 8)])
