"""The meters: one group per movement, its two bars side by side (the patient's left on the left).

Side by side, the two sides of a movement can be compared at a glance: that is the
evenness meter. While the sides diverge, a marker says which side is behind. The
prime movement's bars show the patient's target band ("your range") and
the goal line (the band: a lighter zone of the track); a bar above the band turns yellow with a down arrow ("gentler"),
within it green with a tick. Watched co-movements show how near an alert is, with
a dashed limit line. Fills are edged in INK and the goal line has an INK halo, so
each stands out at least 3:1 from what it touches.
"""
from __future__ import annotations

import math

import pygame

from coach.core.feedback import Meter
from coach.screen.drawing import draw_icon, level_line
from coach.screen.palette import (ALERT, BAND, BAR_MAX, BEHIND, BG, BODY, EDGE, HEADING, INK, MUTED, OVER, PRIME,
                              REACHED, SMALL, TEXT, TRACK, WATCH)

LEGEND_H = 44
LEGEND_SYMBOL_W = 74        # a legend's symbol and the space after it, before its word
RANGE_INSET = 6             # the range zone stays clear of the bar's outline: its neighbours are the track
                            # and the fill's edge, each at least 3:1 from it (palette.NON_TEXT_PAIRS)


def short_label(m: Meter) -> str:
    """'Smile – left' under a side's heading reads as just 'Smile'."""
    label = m.label.strip()
    if m.side:
        for sep in (" – ", " - ", " — ", ", "):
            head, _, tail = label.rpartition(sep)
            if head and tail.strip().lower() in (m.side, f"{m.side} side"):
                return head
    return label


def _groups(meters) -> list[tuple[str, list[Meter]]]:
    """Meters grouped by movement (prime first), each group's sides in left, right order."""
    groups: dict[tuple[str, str], list[Meter]] = {}
    for m in meters:
        groups.setdefault((m.kind, short_label(m)), []).append(m)
    ordered = sorted(groups.items(), key=lambda kv: kv[0][0] != "prime")
    return [(name, sorted(ms, key=lambda m: {"left": 0, "right": 1}.get(m.side, 2))) for (_, name), ms in ordered]


def draw_meters(r, surf, area: pygame.Rect, view, big: bool, gap: int) -> int:
    """Draw the view's meters in `area`; returns the x of the gap in the middle (for the hold ring)."""
    if not view.meters:
        return area.centerx
    groups = _groups(view.meters)
    n = len(groups)
    split = (n + 1) // 2                        # the middle gap comes after this many groups
    gaps = [gap if i == split - 1 else 30 for i in range(n - 1)]
    gw = (area.w - sum(gaps)) // n
    head_size = HEADING if big else BODY
    lines = max(len(r.text.wrap(name, r.text.fit(name, head_size, gw - 8, 2), gw - 8)) for name, _ in groups)
    head_h = min(2, lines) * r.text.line_h(head_size) + 4
    _legend(r, surf, area, view.meters, view.band)
    x, centre = area.x, area.centerx
    for gi, (name, ms) in enumerate(groups):
        g = pygame.Rect(x, area.y, gw, area.h)
        r.text.block(surf, name, head_size, TEXT, pygame.Rect(g.x + 4, g.y + 2, g.w - 8, head_h), max_lines=2,
                     shrink=True)
        _group(r, surf, pygame.Rect(g.x, g.y + head_h + 44, g.w, g.h - head_h - 44), ms, view, big)
        if gi < n - 1:
            if gi == split - 1:
                centre = g.right + gaps[gi] // 2
            x = g.right + gaps[gi]
    return centre


def _group(r, surf, g: pygame.Rect, ms: list[Meter], view, big: bool) -> None:
    """One movement's bars, side by side, each with its side's name underneath."""
    label_h = r.text.line_h(BODY if big else SMALL) + 8
    col = g.w // len(ms)
    bar_w = min(110 if big else 64, int(col * 0.5))
    bottom = g.bottom - label_h - LEGEND_H
    for mi, m in enumerate(ms):
        cx = g.x + mi * col + col // 2
        bar = pygame.Rect(cx - bar_w // 2, g.y, bar_w, bottom - g.y)
        behind = bool(m.side) and m.kind == "prime" and m.side == view.lagging
        _bar(r, surf, bar, m, view.band, behind)
        r.bars.append((m, bar))
        if m.side:
            size = BODY if big else SMALL
            word = m.side.capitalize()
            if r.text.width(word, size) > col - 8:        # many movements watched: "L" and "R"
                word = word[0]
            r.text.blit(surf, word, size, TEXT, (cx, bottom + 6), "midtop")


def _legend(r, surf, area, meters, band) -> None:
    """What the kinds of line mean, in words."""
    items = []
    if any(m.kind == "prime" for m in meters):
        items.append(("goal", "goal"))
        if band:
            items.append(("range", "your range"))
    if any(m.kind != "prime" and m.threshold is not None for m in meters):
        items.append(("limit", "limit"))
    size, gap = SMALL, 28
    while True:
        widths = [r.text.width(word, size) for _, word in items]
        total = sum(LEGEND_SYMBOL_W + w for w in widths) + gap * (len(items) - 1)
        if total <= area.w or size <= 20:
            break
        size, gap = size - 2, max(12, gap - 4)
    x, y = area.centerx - total // 2, area.bottom - 18
    for (kind, word), w in zip(items, widths):
        if kind == "range":
            pygame.draw.rect(surf, BAND, (x + 8, y - 12, 44, 24), border_radius=4)
        else:       # the goal's arrowheads reach 10 px beyond the line's ends (x + 2 … x + 62)
            level_line(surf, pygame.Rect(x + 14, y, 24, 0), y, kind == "limit", MUTED, halo=None)
        r.text.blit(surf, word, size, MUTED, (x + LEGEND_SYMBOL_W, y), "midleft")
        x += LEGEND_SYMBOL_W + w + gap


def _level_y(bar: pygame.Rect, level: float) -> int:
    return bar.bottom - int(round(min(max(level, 0.0), BAR_MAX) / BAR_MAX * bar.h))


def _look(m: Meter, value: float, band) -> tuple:
    """A bar's fill colour, its level line (and whether dashed) and its icon."""
    if m.kind == "prime":
        lo, hi = band or (1.0, math.inf)
        colour, icon = (OVER, "down") if value > hi else (REACHED, "check") if value >= lo else (PRIME, None)
        return colour, 1.0, False, icon
    return (ALERT if m.alert else WATCH), m.threshold, True, ("warn" if m.alert else None)


def _bar(r, surf, bar: pygame.Rect, m: Meter, band, behind: bool = False) -> None:
    pygame.draw.rect(surf, TRACK, bar, border_radius=8)
    if m.kind == "prime" and band:       # the patient's range: a lighter zone of the track
        top = max(_level_y(bar, band[1]), bar.y + RANGE_INSET)
        bottom = min(_level_y(bar, band[0]), bar.bottom - RANGE_INSET)
        pygame.draw.rect(surf, BAND, (bar.x + RANGE_INSET, top, bar.w - 2 * RANGE_INSET, bottom - top))
    value = max(0.0, float(m.value)) if math.isfinite(m.value) else 0.0
    fill_h = int(round(min(value, BAR_MAX) / BAR_MAX * bar.h))
    colour, line, dashed, icon = _look(m, value, band)
    if fill_h > 0:
        fill = pygame.Rect(bar.x, bar.bottom - fill_h, bar.w, fill_h)
        pygame.draw.rect(surf, EDGE, fill, border_radius=8)            # the fill's edge: ≥ 3:1 to the fill
        pygame.draw.rect(surf, colour, fill.inflate(-6, -6), border_radius=6)
    pygame.draw.rect(surf, MUTED, bar, 2, border_radius=8)
    if line is not None and math.isfinite(line):
        level_line(surf, bar, _level_y(bar, line), dashed)
    if behind:
        _disc(r, surf, bar, BEHIND, "up")
    elif icon == "down":
        _disc(r, surf, bar, OVER, "down")
    elif icon:
        draw_icon(surf, r.text, icon, (bar.centerx, bar.y - 26), 22 if icon == "warn" else 20, BG)
    if value > BAR_MAX:   # off the scale: an arrow says "even more"
        pygame.draw.polygon(surf, INK, [(bar.centerx, bar.y + 6), (bar.centerx - 10, bar.y + 20),
                                        (bar.centerx + 10, bar.y + 20)])


def _disc(r, surf, bar: pygame.Rect, colour, arrow: str) -> None:
    """A marker over a bar: an arrow in a yellow disc. Up: this side is behind; down: gentler."""
    c = (bar.centerx, bar.y - 26)
    pygame.draw.circle(surf, INK, c, 25)
    pygame.draw.circle(surf, colour, c, 22)
    draw_icon(surf, r.text, arrow, c, 14, colour, INK)
    if arrow == "up":
        r.behind_rect = pygame.Rect(c[0] - 25, c[1] - 25, 50, 50)
