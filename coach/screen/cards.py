"""The screens around the exercises, drawn as cards: welcome, instructions (with the animated
demonstration), pause, stop, the summary (a table of every exercise) and "Your progress".

Each card lays out its parts top to bottom and centres the whole block on a `Canvas`
(coach.screen.widgets), which records every text and touch target drawn.
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any

import pygame

from coach.core.feedback import FeedbackView
from coach.screen.palette import (BG, BODY, GREEN, HEADING, MUTED, ORANGE, PANEL, PRIME, SKY, SMALL, TEXT, TITLE, TRACK)
from coach.screen.widgets import HINTS, Canvas

CARD_ICONS = {"paused": "pause", "camera_lost": "camera", "confirm_quit": "question",
              "summary": "star", "welcome": "play", "progress": "star"}
DEFAULT_TITLES = {
    "welcome": "Welcome", "calibrate": "Getting ready", "instruct": "Next exercise", "rest": "Rest",
    "paused": "Paused", "camera_lost": "Can't see the camera", "summary": "Well done",
    "confirm_quit": "Stop the session?", "progress": "Your progress", "countdown": "Get ready",
}
DEMO_WORDS = {"move": "Slowly…", "hold": "Hold", "relax": "Relax", "rest": "Rest"}
TABLE_ROWS = 6          # exercises per summary page; more turn pages by themselves
PAGE_S = 6.0


def draw_card(c: Canvas, surf: pygame.Surface, view: FeedbackView) -> None:
    if view.screen == "instruct":
        _instruct(c, surf, view)
    elif view.screen == "summary" and view.table:
        _summary(c, surf, view)
    elif view.screen == "progress" and view.progress is not None:
        _progress(c, surf, view)
    else:
        _plain(c, surf, view)
    hints = view.extra.get("hints", HINTS)       # the kiosk has no keys to advertise
    if hints:
        c.text.blit(surf, hints, SMALL, MUTED, (c.w // 2, c.h - 12), "midbottom")


def _card_rect(c: Canvas) -> pygame.Rect:
    card = pygame.Rect(0, 0, c.w - 120, c.h - 96)
    card.midtop = (c.w // 2, 32)
    return card


# ---- a plain card: icon, title, words, the safety notice, a countdown and the buttons -------------------
def _plain(c: Canvas, surf: pygame.Surface, view: FeedbackView) -> None:
    card = _card_rect(c)
    pygame.draw.rect(surf, PANEL, card, border_radius=24)
    inner = card.inflate(-96, -48)
    icon = CARD_ICONS.get(view.screen)
    title = view.title or DEFAULT_TITLES.get(view.screen, view.screen.replace("_", " ").capitalize())
    notice = view.extra.get("notice", "")          # the safety notice: never cut off
    countdown = view.countdown_s if view.countdown_s is not None and math.isfinite(view.countdown_s) else None
    rows = view.summary if view.screen == "summary" else ()
    t = c.text
    y = inner.y + max(0, (inner.h - _plain_height(c, view, inner, icon, title, notice, countdown, rows)) // 2)
    if icon:
        c.icon(surf, icon, (inner.centerx, y + 34), 34, on=PANEL)
        y += 84
    y = t.block(surf, title, TITLE, TEXT, pygame.Rect(inner.x, y, inner.w, 200), max_lines=2) + 12
    if view.text:
        y = t.block(surf, view.text, BODY, TEXT, pygame.Rect(inner.x, y, inner.w, 300), max_lines=4)
    if notice:
        box = pygame.Rect(inner.x, y + 16, inner.w, t.height(notice, SMALL, inner.w - 40, 4) + 24)
        pygame.draw.rect(surf, ORANGE, box, width=3, border_radius=12)
        y = t.block(surf, notice, SMALL, TEXT, box.inflate(-40, -24), max_lines=4) + 28
    if countdown is not None:
        rect = t.blit(surf, f"{max(0, math.ceil(countdown - 1e-6))} s", TITLE + 20, SKY, (inner.centerx, y + 16),
                      "midtop")
        y = rect.bottom + 8
    if rows:
        y = _rows(c, surf, pygame.Rect(inner.x + 60, y + 16, inner.w - 120, inner.bottom - y - 140), rows)
    if view.buttons:
        c.draw_buttons(surf, view.buttons, pygame.Rect(inner.x, min(y + 12, inner.bottom - 112), inner.w, 112),
                       view)


def _plain_height(c: Canvas, view: FeedbackView, inner: pygame.Rect, icon: str | None, title: str, notice: str,
                  countdown: float | None, rows: tuple[tuple[str, str], ...]) -> int:
    """The height of a plain card's parts, so the block can be centred."""
    t = c.text
    return sum([84 if icon else 0, t.height(title, TITLE, inner.w, 2) + 12,
                t.height(view.text, BODY, inner.w, 4) if view.text else 0,
                t.height(notice, SMALL, inner.w - 40, 4) + 40 if notice else 0,
                t.line_h(TITLE + 20) + 24 if countdown is not None else 0,
                min(len(rows), 6) * 46 + 16 if rows else 0, 124 if view.buttons else 0])


def _rows(c: Canvas, surf: pygame.Surface, rect: pygame.Rect, rows: tuple[tuple[str, str], ...]) -> int:
    step = 46
    fit = max(1, rect.h // step)
    if len(rows) > fit:
        rows = rows[:fit - 1] + (("…", ""),)
    for i, (label, value) in enumerate(rows):
        row = pygame.Rect(rect.x, rect.y + i * step, rect.w, step)
        if i % 2 == 0:
            pygame.draw.rect(surf, BG, row, border_radius=10)
        vw = c.text.width(str(value), SMALL)
        c.text.blit(surf, str(value), SMALL, TEXT, (row.right - 16, row.centery), "midright")
        size = c.text.fit(str(label), SMALL, row.w - vw - 56, 1)
        c.text.blit(surf, str(label), size, TEXT, (row.x + 16, row.centery), "midleft")
    return rect.y + len(rows) * step


# ---- the instructions: words and Ready on the left, the demonstration on the right ---------------------
def _instruct(c: Canvas, surf: pygame.Surface, view: FeedbackView) -> None:
    t = c.text
    left = pygame.Rect(c.MARGIN, 24, c.w // 2 - c.MARGIN, c.h - 72)
    pygame.draw.rect(surf, PANEL, left, border_radius=24)
    inner = left.inflate(-64, -40)
    y = inner.y
    if view.exercises_total:
        y = t.blit(surf, f"Exercise {view.exercise_no} of {view.exercises_total}", BODY, MUTED, (inner.x, y)).bottom
    title_size = t.fit(view.title, TITLE, inner.w, 2)
    y = t.block(surf, view.title, title_size, TEXT, pygame.Rect(inner.x, y + 8, inner.w, 200), align="left",
                max_lines=2) + 16
    room = inner.bottom - 124 - y
    size = BODY
    while size > 24 and t.height(view.text, size, inner.w) > room:
        size -= 2
    t.block(surf, view.text, size, TEXT, pygame.Rect(inner.x, y, inner.w, room), align="left")
    c.draw_buttons(surf, view.buttons, pygame.Rect(inner.x, inner.bottom - 112, inner.w, 112), view)
    top = 24 + t.line_h(SMALL) + 4                  # below the sound note's line
    right = pygame.Rect(left.right + c.MARGIN, top, c.w - left.right - 2 * c.MARGIN, c.h - 48 - top)
    caption = view.extra.get("caption", "")
    face_box = right.inflate(0, -2 * t.line_h(BODY) - 16)
    face_box.y = right.y
    if view.points is not None:
        c.face(surf, view, face_box, steady=True)
    if caption:
        t.block(surf, caption, BODY, TEXT, pygame.Rect(right.x, face_box.bottom + 4, right.w, t.line_h(BODY)),
                shrink=True, max_lines=1)
    word = DEMO_WORDS.get(view.extra.get("demo", ""), "")
    if word and view.points is not None:
        t.blit(surf, word, HEADING, SKY, (face_box.x + 16, face_box.y + 8))


# ---- the summary: every exercise of the session in one table ------------------------------------------
def _summary(c: Canvas, surf: pygame.Surface, view: FeedbackView) -> None:
    t = c.text
    y = t.blit(surf, view.title, TITLE, TEXT, (c.w // 2, 20), "midtop").bottom + 4
    if view.text:
        y = t.block(surf, view.text, BODY, TEXT, pygame.Rect(c.MARGIN * 4, y, c.w - c.MARGIN * 8, 100),
                    max_lines=2)
    header, rows = view.table[0], view.table[1:]
    pages = max(1, math.ceil(len(rows) / TABLE_ROWS))
    page = int(view.t // PAGE_S) % pages if pages > 1 else 0
    rows = rows[page * TABLE_ROWS:(page + 1) * TABLE_ROWS]
    area = pygame.Rect(c.MARGIN, y + 12, c.w - 2 * c.MARGIN, c.h - y - 12 - 220)
    _table(c, surf, area, header, rows)
    if pages > 1:
        t.blit(surf, f"Page {page + 1} of {pages}", SMALL, MUTED, (area.right, area.bottom + 2), "topright")
    c.draw_buttons(surf, view.buttons, pygame.Rect(c.MARGIN, c.h - 196, c.w - 2 * c.MARGIN, 112), view)


COLUMNS = (0.25, 0.11, 0.18, 0.14, 0.13, 0.19)     # the table's column widths (fractions)


def _table(c: Canvas, surf: pygame.Surface, area: pygame.Rect, header: tuple[str, ...],
           rows: tuple[tuple[str, ...], ...]) -> None:
    t = c.text
    xs, x = [], area.x
    for frac in COLUMNS[:len(header)]:
        xs.append((x, int(area.w * frac)))
        x += int(area.w * frac)
    head_h = 2 * t.line_h(SMALL) + 8
    for (x, w), word in zip(xs, header):
        t.block(surf, word, SMALL, MUTED, pygame.Rect(x + 8, area.y, w - 16, head_h), max_lines=2,
                align="left" if x == area.x else "center", shrink=True)
    step = max(t.line_h(BODY) + 18, min(72, (area.h - head_h) // max(1, len(rows))))
    y = area.y + head_h + 4
    for i, row in enumerate(rows):
        rect = pygame.Rect(area.x, y, area.w, step - 6)
        pygame.draw.rect(surf, PANEL if i % 2 == 0 else BG, rect, border_radius=10)
        for ci, ((x, w), cell) in enumerate(zip(xs, row)):
            size = t.fit(cell, BODY, w - 20, 1)
            if ci == 0:
                t.blit(surf, cell, size, TEXT, (x + 12, rect.centery), "midleft")
            else:
                t.blit(surf, cell, size, TEXT, (x + w // 2, rect.centery), "center")
        y += step


# ---- "Your progress": the last 14 days, and per exercise simple bars -----------------------------------
def _progress(c: Canvas, surf: pygame.Surface, view: FeedbackView) -> None:
    t, p = c.text, view.progress
    assert p is not None                       # (drawn only with a progress overview)
    y = t.blit(surf, view.title or "Your progress", TITLE, TEXT, (c.w // 2, 16), "midtop").bottom + 4
    days = p["days"]
    words = (f"You practised on {p['practised']} of the last {len(days)} days."
             + (f" {p['streak']} days in a row so far." if p["streak"] > 1 else
                " You practised today." if p["streak"] == 1 and days and days[-1][1] else ""))
    y = t.block(surf, words, BODY, TEXT, pygame.Rect(c.MARGIN * 3, y, c.w - c.MARGIN * 6, 90), max_lines=2)
    y = _days(c, surf, pygame.Rect(c.MARGIN * 3, y + 10, c.w - c.MARGIN * 6, 70), days) + 14
    exercises = p["exercises"][-3:]
    legend = "Bars, one per day: green, reps without co-movement; blue, how even your two sides were."
    y = t.block(surf, legend, SMALL, MUTED, pygame.Rect(c.MARGIN * 3, y, c.w - c.MARGIN * 6, 80), max_lines=2)
    bottom = c.h - 196
    if not exercises:
        t.block(surf, "Your bars appear here after your first session.", BODY, MUTED,
                pygame.Rect(c.MARGIN, y + 20, c.w - 2 * c.MARGIN, 80))
    row_h = (bottom - y - 8) // max(1, len(exercises))
    for i, ex in enumerate(exercises):
        _exercise_bars(c, surf, pygame.Rect(c.MARGIN * 3, y + 8 + i * row_h, c.w - c.MARGIN * 6, row_h - 8), ex)
    c.draw_buttons(surf, view.buttons, pygame.Rect(c.MARGIN, c.h - 190, c.w - 2 * c.MARGIN, 108), view)


def _days(c: Canvas, surf: pygame.Surface, rect: pygame.Rect, days: list[tuple[date, bool]]) -> int:
    """One square per day: filled when practised, a ring when not (shape, not just colour)."""
    n = max(1, len(days))
    step = rect.w // n
    size = min(step - 10, 40)
    for i, (day, done) in enumerate(days):
        box = pygame.Rect(rect.x + i * step + (step - size) // 2, rect.y, size, size)
        if done:
            pygame.draw.rect(surf, GREEN, box, border_radius=8)
        else:
            pygame.draw.rect(surf, MUTED, box, 2, border_radius=8)
    y = rect.y + size + 4
    if days:
        c.text.blit(surf, _day_word(days[0][0], days[-1][0]), SMALL, MUTED, (rect.x, y))
        c.text.blit(surf, "today", SMALL, MUTED, (rect.right, y), "topright")
    return y + c.text.line_h(SMALL)


def _day_word(first: date, today: date) -> str:
    weeks = round((today - first).days / 7)
    return f"{weeks} weeks ago" if weeks >= 2 else "a week ago" if weeks == 1 else f"{(today - first).days} days ago"


def _exercise_bars(c: Canvas, surf: pygame.Surface, rect: pygame.Rect, ex: dict[str, Any]) -> None:
    t = c.text
    name_w = int(rect.w * 0.26)
    t.block(surf, ex["name"], BODY, TEXT, pygame.Rect(rect.x, rect.y, name_w - 12, rect.h), align="left",
            max_lines=2, valign="center", shrink=True)
    chart = pygame.Rect(rect.x + name_w, rect.y + 4, rect.w - name_w, rect.h - 8)
    pygame.draw.rect(surf, PANEL, chart, border_radius=10)
    pygame.draw.line(surf, MUTED, (chart.x + 8, chart.bottom - 8), (chart.right - 8, chart.bottom - 8), 2)
    n = max(1, len(ex["days"]))
    step = (chart.w - 16) / n
    bar_w = max(3, int(step / 2) - 3)
    h = chart.h - 20
    for i, (_, clean, even) in enumerate(ex["days"]):
        x0 = chart.x + 8 + int(i * step) + 2
        for j, (value, colour) in enumerate(((clean, GREEN), (even, PRIME))):
            if value is None:
                continue
            bh = max(3, int(h * max(0.0, min(1.0, value))))
            pygame.draw.rect(surf, colour, (x0 + j * (bar_w + 2), chart.bottom - 8 - bh, bar_w, bh))
    if not any(c is not None or e is not None for _, c, e in ex["days"]):
        pygame.draw.rect(surf, TRACK, chart, 2, border_radius=10)
