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
    care = list(view.extra.get("care", ()))        # the welcome's gentle note: review date, days practised
    countdown = view.countdown_s if view.countdown_s is not None and math.isfinite(view.countdown_s) else None
    rows = view.summary if view.screen == "summary" else ()
    t = c.text
    if care and _plain_height(c, view, inner, icon, title, notice, countdown, rows, care) > inner.h:
        icon = None                                # the note takes the icon's room …
    while care and _plain_height(c, view, inner, icon, title, notice, countdown, rows, care) > inner.h:
        care.pop()                                 # … and gives way, line by line, to the safety notice
    y = inner.y + max(0, (inner.h - _plain_height(c, view, inner, icon, title, notice, countdown, rows, care)) // 2)
    if icon:
        c.icon(surf, icon, (inner.centerx, y + 34), 34, on=PANEL)
        y += 84
    y = t.block(surf, title, TITLE, TEXT, pygame.Rect(inner.x, y, inner.w, 200), max_lines=2) + 12
    if view.text:
        y = t.block(surf, view.text, BODY, TEXT, pygame.Rect(inner.x, y, inner.w, 300), max_lines=4)
    if care:
        y = _care_note(c, surf, pygame.Rect(inner.x, y + 12, inner.w, 0), care)
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


def _plain_height(c, view, inner, icon, title, notice, countdown, rows, care=()) -> int:
    """The height of a plain card's parts, so the block can be centred."""
    t = c.text
    return sum([84 if icon else 0, t.height(title, TITLE, inner.w, 2) + 12,
                t.height(view.text, BODY, inner.w, 4) if view.text else 0,
                _care_height(c, care, inner.w),
                t.height(notice, SMALL, inner.w - 40, 4) + 40 if notice else 0,
                t.line_h(TITLE + 20) + 24 if countdown is not None else 0,
                min(len(rows), 6) * 46 + 16 if rows else 0, 124 if view.buttons else 0])


def _care_height(c, lines, width: int) -> int:
    return sum(c.text.height(line, SMALL, width - 40, 2) for line in lines) + 16 if lines else 0


def _care_note(c, surf, rect, lines) -> int:
    """The welcome's note (when the review is due, how many days were practised): plain lines, drawn
    like information, not like a warning."""
    y = rect.y
    for line in lines:
        y = c.text.block(surf, line, SMALL, TEXT, pygame.Rect(rect.x + 20, y, rect.w - 40, 200), max_lines=2)
    return y + 4


def _rows(c, surf, rect, rows) -> int:
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


COLUMNS = (0.25, 0.11, 0.18, 0.14, 0.13, 0.19)     # how spare width is shared among the columns (fractions)
CELL_PAD = 20           # a cell's room either side of its words
HEAD_SHRINK = 0.8       # a column heading may be drawn this much smaller, so the cells need not be


def _column_widths(t, area_w: int, header, rows) -> tuple[list[int], int]:
    """(column widths, cell size): each column as wide as its widest cell at BODY (its heading may wrap
    to two lines, and shrink to HEAD_SHRINK), the spare width shared as COLUMNS says. When the cells do not fit at BODY, every cell
    is drawn one size smaller, together: no name is drawn smaller than the others."""
    size, least = BODY, int(BODY * t.MIN_FIT)
    while True:
        need = []
        for ci, word in enumerate(header):
            cells = [row[ci] for row in rows if ci < len(row)]
            head = HEAD_SHRINK * max((t.width(w, SMALL) for w in str(word).split()), default=0)
            need.append(int(max([head] + [t.width(str(c), size) for c in cells])) + CELL_PAD)
        if sum(need) <= area_w or size <= least:
            break
        size -= 2
    if sum(need) > area_w:          # a very long name even so: its column takes what is left
        need[0] = max(area_w - sum(need[1:]), area_w // 4)
    spare = max(0, area_w - sum(need))
    fracs = COLUMNS[:len(header)]
    return [n + int(spare * f / sum(fracs)) for n, f in zip(need, fracs)], size


def _table(c, surf, area, header, rows) -> None:
    t = c.text
    widths, size = _column_widths(t, area.w, header, rows)
    xs, x = [], area.x
    for w in widths:
        xs.append((x, w))
        x += w
    head_h = 2 * t.line_h(SMALL) + 8
    for (x, w), word in zip(xs, header):
        t.block(surf, word, SMALL, MUTED, pygame.Rect(x + 8, area.y, w - 16, head_h), max_lines=2,
                align="left" if x == area.x else "center", shrink=True)
    step = max(t.line_h(size) + 18, min(72, (area.h - head_h) // max(1, len(rows))))
    y = area.y + head_h + 4
    for i, row in enumerate(rows):
        rect = pygame.Rect(area.x, y, area.w, step - 6)
        pygame.draw.rect(surf, PANEL if i % 2 == 0 else BG, rect, border_radius=10)
        for ci, ((x, w), cell) in enumerate(zip(xs, row)):
            if ci == 0:
                fit = size if t.width(cell, size) <= w - 20 else t.fit(cell, size, w - 20, 1)
                t.blit(surf, cell, fit, TEXT, (x + 12, rect.centery), "midleft")
            else:
                t.blit(surf, cell, size, TEXT, (x + w // 2, rect.centery), "center")
        y += step


# ---- "Your progress": the last 14 days, and per exercise simple bars -----------------------------------
NAME_W, NUMBERS_W = 0.24, 0.15      # the names' and the latest numbers' shares of the width; the days between


def _progress(c: Canvas, surf: pygame.Surface, view: FeedbackView) -> None:
    t, p = c.text, view.progress
    assert p is not None                       # (drawn only with a progress overview)
    y = t.blit(surf, view.title or "Your progress", TITLE, TEXT, (c.w // 2, 16), "midtop").bottom + 4
    days = p["days"]
    words = (f"You practised on {p['practised']} of the last {len(days)} days."
             + (f" {p['streak']} days in a row so far." if p["streak"] > 1 else
                " You practised today." if p["streak"] == 1 and days and days[-1][1] else ""))
    y = t.block(surf, words, BODY, TEXT, pygame.Rect(c.MARGIN * 3, y, c.w - c.MARGIN * 6, 90), max_lines=2)
    area = pygame.Rect(c.MARGIN * 3, 0, c.w - c.MARGIN * 6, 0)
    name_w, numbers_w = int(area.w * NAME_W), int(area.w * NUMBERS_W)
    chart_x, chart_w = area.x + name_w, area.w - name_w - numbers_w     # the days' squares and bars share it
    exercises = p["exercises"][-3:]
    y = _days(c, surf, pygame.Rect(chart_x + 8, y + 10, chart_w - 16, 70), days)
    latest_at = (area.right, y - t.line_h(SMALL))        # over the rows' numbers, if rows are shown
    y += 14
    legend = ("Bars, one per day: green, reps without co-movement; blue, how even your two sides were. "
              "Numbers: your latest day.")
    bottom = c.h - 196
    timeline_h = _timeline_height(c) if p.get("timeline") else 0
    if timeline_h and bottom - timeline_h - y - t.height(legend, SMALL, c.w - c.MARGIN * 6, 2) - 8 \
            < t.line_h(BODY) + 16:
        exercises = []                  # large text: the injection's timeline instead of the bars
    else:
        y = t.block(surf, legend, SMALL, MUTED, pygame.Rect(c.MARGIN * 3, y, c.w - c.MARGIN * 6, 80), max_lines=2)
    if not exercises and not timeline_h:
        t.block(surf, "Your bars appear here after your first session.", BODY, MUTED,
                pygame.Rect(c.MARGIN, y + 20, c.w - 2 * c.MARGIN, 80))
    if p.get("timeline"):
        height = _timeline_height(c)
        bottom -= height
        _timeline(c, surf, pygame.Rect(c.MARGIN * 3, bottom + 4, c.w - c.MARGIN * 6, height - 8), p["timeline"])
        fit = max(0, (bottom - y - 8) // (t.line_h(BODY) + 4))      # the timeline leaves room for fewer rows
        exercises = exercises[len(exercises) - fit:] if fit else []
    if exercises:
        t.blit(surf, "latest", SMALL, MUTED, latest_at, "topright")
    row_h = (bottom - y - 8) // max(1, len(exercises))
    for i, ex in enumerate(exercises):
        row = pygame.Rect(area.x, y + 8 + i * row_h, area.w, row_h - 8)
        _exercise_bars(c, surf, row, ex, name_w, numbers_w)
    c.draw_buttons(surf, view.buttons, pygame.Rect(c.MARGIN, c.h - 190, c.w - 2 * c.MARGIN, 108), view)


def day_centres(x: int, w: int, n: int) -> list[int]:
    """The centre x of each of `n` days across `w` pixels from `x`: the squares and the bars share them."""
    step = w / max(1, n)
    return [int(x + (i + 0.5) * step) for i in range(n)]


def _days(c, surf, rect, days) -> int:
    """One square per day: filled when practised, a ring when not (shape, not just colour)."""
    n = max(1, len(days))
    size = min(int(rect.w / n) - 10, 40)
    for cx, (day, done) in zip(day_centres(rect.x, rect.w, n), days):
        box = pygame.Rect(cx - size // 2, rect.y, size, size)
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


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _exercise_bars(c, surf, rect, ex, name_w: int, numbers_w: int) -> None:
    """The exercise's name, its bars under the days' squares, and its latest day's numbers (green: without
    co-movement, blue: sides even), each beside a square of its bar's colour."""
    t = c.text
    t.block(surf, ex["name"], BODY, TEXT, pygame.Rect(rect.x, rect.y, name_w - 12, rect.h), align="left",
            max_lines=2, valign="center", shrink=True)
    chart = pygame.Rect(rect.x + name_w, rect.y + 4, rect.w - name_w - numbers_w, rect.h - 8)
    pygame.draw.rect(surf, PANEL, chart, border_radius=10)
    pygame.draw.line(surf, MUTED, (chart.x + 8, chart.bottom - 8), (chart.right - 8, chart.bottom - 8), 2)
    n = max(1, len(ex["days"]))
    bar_w = max(3, int((chart.w - 16) / n / 2) - 4)
    h = chart.h - 20
    for cx, (_, clean, even) in zip(day_centres(chart.x + 8, chart.w - 16, n), ex["days"]):
        for x0, value, colour in ((cx - bar_w - 1, clean, GREEN), (cx + 1, even, PRIME)):
            if value is None:
                continue
            bh = max(3, int(h * max(0.0, min(1.0, value))))
            pygame.draw.rect(surf, colour, (x0, chart.bottom - 8 - bh, bar_w, bh))
    if not any(c is not None or e is not None for _, c, e in ex["days"]):
        pygame.draw.rect(surf, TRACK, chart, 2, border_radius=10)
    latest = next(((c, e) for _, c, e in reversed(ex["days"]) if c is not None or e is not None), None)
    if latest is None:
        return
    step = min(rect.h // 2, t.line_h(SMALL))
    top = rect.centery - step
    for i, (value, colour) in enumerate(zip(latest, (GREEN, PRIME))):
        cy = top + i * step + step // 2
        words = t.blit(surf, _percent(value), SMALL, colour, (rect.right, cy), "midright")
        pygame.draw.rect(surf, colour, (words.x - 24, cy - 7, 14, 14))


# ---- "Your progress": the latest injection's cycle, in plain words ------------------------------------
def _timeline_height(c) -> int:
    """Today's label above the line, then the marks' words in two rows below it."""
    return 3 * c.text.line_h(SMALL) + 44


def _timeline(c, surf, rect, tl) -> None:
    """A line from the injection to about six months on: the injection, the full effect and the
    wearing-off marked in words (alternating between two rows, so none overlap), and where today is."""
    t = c.text
    label_h = t.line_h(SMALL)
    label_w = int(rect.w * 0.18)
    line = pygame.Rect(rect.x + label_w + 10, rect.y + label_h + 12, rect.w - label_w - 20, 4)
    t.block(surf, "Your injection", SMALL, TEXT, pygame.Rect(rect.x, line.y - label_h, label_w - 8, 2 * label_h + 4),
            align="left", max_lines=2, valign="center", shrink=True)
    pygame.draw.rect(surf, TRACK, line, border_radius=2)
    end = max(1.0, float(tl["end_week"]))

    def x_of(week: float) -> int:
        return line.x + int(line.w * max(0.0, min(1.0, week / end)))

    today = x_of(tl["week"])
    pygame.draw.rect(surf, PRIME, (line.x, line.y, today - line.x, line.h), border_radius=2)
    marks = tl["marks"]
    size = min(t.fit(words, SMALL, line.w // 2 - 24, 1) for _, words in marks)   # two fit in a row
    right_edge = [line.x - 24, line.x - 24]
    for i, (week, words) in enumerate(marks):
        row = i % 2
        x = x_of(week)
        pygame.draw.line(surf, MUTED, (x, line.y - 10), (x, line.bottom + 10 + row * label_h), 3)
        w = t.width(words, size)
        left = x if i == 0 else x - w if i == len(marks) - 1 else x - w // 2
        left = min(max(left, right_edge[row] + 24), line.right - w)
        right_edge[row] = t.blit(surf, words, size, TEXT, (left, line.bottom + 12 + row * label_h), "topleft").right
    pygame.draw.circle(surf, PRIME, (today, line.centery), 11)
    week_words = f"Today: week {int(tl['week'])}" if tl["week"] >= 1 else "Today"
    half = t.width(week_words, SMALL) // 2 + 4
    t.blit(surf, week_words, SMALL, PRIME, (min(max(today, line.x + half), line.right - half), line.y - 14),
           "midbottom")
