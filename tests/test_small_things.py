"""Issue 19, item 7: the small things a patient or therapist tripped over. The legend's goal symbol
clear of its word; "your range" at least 3:1 from what it touches; the summary's names at one size;
a session ended early not praised as done; "Your progress" bars under their days, with numbers;
the audit's removals in words; a month label over every month of the report's calendar."""
from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from coach.core.feedback import Button, FeedbackView, Meter

pytestmark = pytest.mark.usefixtures("headless")   # SDL dummy video and disk audio (conftest)
SIZES = ("normal", "large", "largest")


@pytest.fixture
def display():
    from coach.screen.display import PygameDisplay
    d = PygameDisplay(mute=True)
    yield d
    d.close()


def shot(display, tmp_path) -> np.ndarray:
    import pygame
    path = tmp_path / "shot.png"
    display.screenshot(path)
    return pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2).astype(int)   # (h, w, 3)


def is_colour(img, colour, tol=6) -> np.ndarray:
    return np.all(np.abs(img - np.asarray(colour, int)) <= tol, axis=-1)


def drawn(display, words: str):
    return [rect for rect, text in display.renderer.text.drawn if text == words]


METERS = (Meter("Smile – left", "left", "prime", 0.5), Meter("Smile – right", "right", "prime", 0.9),
          Meter("Eye – left", "left", "watch", 0.2, 0.5), Meter("Eye – right", "right", "watch", 0.1, 0.5))


def meters_view(**kw) -> FeedbackView:
    return FeedbackView(**{"screen": "hold", "title": "Gentle smile", "text": "Hold it gently…", "meters": METERS,
                           "band": (0.7, 1.3), "rep": 1, "reps_total": 3, "t": 3.0, **kw})


# ---- the legend ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_the_legend_goal_symbol_keeps_clear_of_its_word(display, tmp_path, size):
    from coach.screen.palette import BG

    display.set_view("meters")
    display.set_text_size(size)
    display.draw(meters_view())
    img = shot(display, tmp_path)
    for word in ("goal", "your range", "limit"):
        [rect] = drawn(display, word)
        band = ~is_colour(img[rect.top:rect.bottom, :], BG, 3)          # ink in the word's rows
        ink_cols = np.flatnonzero(band.any(axis=0))
        word_left = ink_cols[ink_cols >= rect.left].min()                # the word's first inked column
        symbol_right = ink_cols[ink_cols < rect.left - 1].max()          # the symbol's last one
        assert word_left - symbol_right - 1 >= 8, (size, word, word_left - symbol_right - 1)


# ---- the range zone's contrast -------------------------------------------------------------------
def test_the_range_zone_is_at_least_3_to_1_from_its_neighbours_in_the_palette():
    from coach.screen.palette import BAND, BG, EDGE, NON_TEXT_PAIRS, TRACK, contrast_ratio

    for neighbour in (TRACK, EDGE, BG):
        assert contrast_ratio(BAND, neighbour) >= 3.0, (neighbour, round(contrast_ratio(BAND, neighbour), 2))
    low = {name: round(contrast_ratio(a, b), 2) for name, (a, b) in NON_TEXT_PAIRS.items() if contrast_ratio(a, b) < 3}
    assert not low


def test_the_range_zone_as_drawn_touches_only_colours_3_to_1_from_it(display, tmp_path):
    """Every pixel next to the drawn range zone (inside the bars) is the zone, or a colour at least 3:1
    from it: the zone is found, and its border checked, on the screen itself."""
    from coach.screen.palette import BAND, contrast_ratio

    display.set_view("meters")
    display.draw(meters_view())
    img = shot(display, tmp_path)
    for m, bar in display.renderer.bars:
        if m.kind != "prime":
            continue
        inside = img[bar.top:bar.bottom, bar.left:bar.right]
        zone = is_colour(inside, BAND, 0)
        assert zone.sum() > 200, m.label
        edge = np.zeros_like(zone)
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            edge |= np.roll(zone, (dy, dx), axis=(0, 1)) & ~zone
        edge[[0, -1], :] = edge[:, [0, -1]] = False
        touching = {tuple(c) for c in inside[edge]}
        low = {c: round(contrast_ratio(c, BAND), 2) for c in touching if contrast_ratio(c, BAND) < 3}
        assert touching and not low, (m.label, low)


# ---- the summary's names ---------------------------------------------------------------------------
SUMMARY = (("Exercise", "Reps", "Without co-movement", "Sides even", "Best rep", "Since last time"),
           ("Gentle smile", "5 of 5", "4 of 5", "91%", "rep 3", "+1 more"),
           ("Gentle eye closure", "5 of 5", "5 of 5", "88%", "rep 2", "–"),
           ("Brow lift", "4 of 5", "3 of 4", "97%", "rep 1", "same"))


def drawn_px(display, rect, text: str) -> frozenset:
    """The pixel sizes a text may have been drawn at: those whose rendered width is the drawn rectangle's."""
    t = display.renderer.text
    return frozenset(px for px in range(16, 80) if t.font(px / t.scale).size(text)[0] == rect.w)


@pytest.mark.parametrize("size", SIZES)
def test_the_summary_draws_every_name_at_the_same_size(display, tmp_path, size):
    """Every cell, "Gentle eye closure" too, at the body size of the patient's text size."""
    display.set_text_size(size)
    display.draw(FeedbackView("summary", "Well done!", "Here is how it went.", table=SUMMARY,
                              buttons=(Button("done", "Done", "Enter"),)))
    body = display.renderer.text.px(34)                      # BODY at this text size
    sizes = {cell: {drawn_px(display, rect, cell) for rect in drawn(display, cell)}
             for row in SUMMARY[1:] for cell in row}
    assert all(sizes.values()), sizes                        # every cell drawn, on one line
    assert all(body in px for drawn_at in sizes.values() for px in drawn_at), (size, body, sizes)


# ---- a session ended early ---------------------------------------------------------------------------
def test_a_session_ended_early_is_not_praised_as_done(library):
    from coach.app import HomeDriver, LoopStats, run_loop
    from coach.core.session import Session
    from coach.screen.display import NullDisplay
    from streams import ListSource, session_stream

    smile = library["gentle-smile"].with_overrides(reps=3)
    frames = session_stream(30, rep_starts=(10, 17))
    for quit_at, want in ((660, "interrupted"), (None, "completed")):
        display = NullDisplay({quit_at: ["quit"], quit_at + 1: ["yes"]} if quit_at else None)
        session = Session([smile], welcome_s=1.0, ready_s=1.0)
        frames_used = frames if quit_at else session_stream(36, rep_starts=(10, 17, 24))
        run_loop(ListSource(frames_used), HomeDriver(session), display, stats=LoopStats())
        assert session.status == want
        last = display.views[-1]
        cues = [c for c, _ in display.played]
        if want == "interrupted":
            assert last.title == "Session ended" and "session_done" not in cues
            assert "All done. Well done!" not in [s for s, _ in display.said]
        else:
            assert last.title == "Well done!" and cues.count("session_done") == 1


# ---- "Your progress" ------------------------------------------------------------------------------
def progress_data(today: date) -> dict:
    days = [today - timedelta(days=13 - i) for i in range(14)]
    done = [i not in (3, 7, 8) for i in range(14)]
    exercises = []
    for k, name in enumerate(("Gentle smile", "Gentle eye closure", "Brow lift")):
        exercises.append({"exercise": f"ex{k}", "name": name, "days": [
            (d, 0.4 + 0.04 * i + 0.01 * k, 0.5 + 0.03 * i) if p else (d, None, None)
            for i, (d, p) in enumerate(zip(days, done))]})
    return {"days": list(zip(days, done)), "practised": sum(done), "streak": 5, "exercises": exercises}


def runs(mask_row: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) column of each run of True."""
    cols = np.flatnonzero(mask_row)
    if not len(cols):
        return []
    breaks = np.flatnonzero(np.diff(cols) > 1)
    starts, ends = np.r_[cols[0], cols[breaks + 1]], np.r_[cols[breaks], cols[-1]]
    return list(zip(starts.tolist(), ends.tolist()))


@pytest.mark.parametrize("size", SIZES)
def test_progress_bars_sit_under_their_days_and_carry_numbers(display, tmp_path, size):
    from coach.screen.palette import GREEN, MUTED, PRIME

    data = progress_data(date(2026, 12, 6))
    display.set_text_size(size)
    display.draw(FeedbackView("progress", "Your progress", "", progress=data, buttons=(Button("back", "Back", "Enter"),)))
    img = shot(display, tmp_path)
    green, blue = is_colour(img, GREEN, 0), is_colour(img, PRIME, 0)
    square_row = next(y for y in range(img.shape[0]) if len(runs(green[y])) >= 8) + 10
    squares = [(a + b) / 2 for a, b in runs(green[square_row])]
    practised = [i for i, (_, p) in enumerate(data["days"]) if p]
    assert len(squares) == len(practised)
    for ex in data["exercises"]:
        name = next(rect for rect, text in display.renderer.text.drawn if ex["name"].startswith(text))
        # The chart's base line: the row (near the name) with the longest run of MUTED.
        rows = range(name.top - 30, name.bottom + 60)

        def longest(y):
            return max(runs(is_colour(img[y], MUTED, 0)), key=lambda r: r[1] - r[0], default=(0, 0))
        base = max(rows, key=lambda y: longest(y)[1] - longest(y)[0])
        x0, x1 = longest(base)
        y = base - 2                                                    # every bar is at least 3 px high
        pairs = list(zip(runs(green[y, x0:x1 + 1]), runs(blue[y, x0:x1 + 1])))
        pairs = [((g[0] + x0, g[1] + x0), (b[0] + x0, b[1] + x0)) for g, b in pairs]
        assert len(pairs) == len(practised), (ex["name"], len(pairs))
        for (g, b), centre in zip(pairs, squares):
            assert g[1] < b[0] and abs((g[0] + b[1]) / 2 - centre) <= 3, (ex["name"], g, b, centre)
        # The latest day's numbers, beside the bars.
        _, clean, even = ex["days"][-1]
        for value in (clean, even):
            [rect] = drawn(display, f"{100 * value:.0f}%")[:1] or [None]
            assert rect is not None and rect.left > max(b[1] for _, b in pairs), (ex["name"], value)


# ---- the audit --------------------------------------------------------------------------------------
def test_the_audit_says_a_treatment_was_removed_not_when_in_iso(tmp_path):
    from coach.cli import cli

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    for args in (["patient", "add", "P1"], ["treatment", "add", "P1", "--date", "2024-03-01", "--kind", "surgery"]):
        assert runner.invoke(cli, [*args, "--db", db]).exit_code == 0
    listed = runner.invoke(cli, ["treatment", "list", "P1", "--db", db]).output
    tid = listed.split()[0]
    assert runner.invoke(cli, ["treatment", "remove", "P1", tid, "--db", db]).exit_code == 0
    out = runner.invoke(cli, ["audit", "P1", "--db", db]).output
    [line] = [ln for ln in out.splitlines() if "removed" in ln and "treatment" in ln]
    assert "listed → removed" in line
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", out), out


# ---- the report's calendar ----------------------------------------------------------------------------
@pytest.mark.parametrize("first, today", [(date(2026, 10, 1), date(2026, 12, 6)),     # today: a Sunday in December
                                          (date(2025, 12, 10), date(2026, 2, 20)),
                                          (date(2025, 11, 3), date(2026, 1, 4))])
def test_the_calendar_labels_every_month_over_the_week_holding_its_first_day(first, today):
    from coach.report.plots import calendar_plot

    fig = calendar_plot({}, first, today, [])
    ax = fig.axes[0]
    start = first - timedelta(days=first.weekday())
    labels = {t.get_text(): t.get_position()[0] for t in ax.get_xticklabels()}
    shown = {(d.year, d.month) for d in (first + timedelta(days=i) for i in range((today - first).days + 1))}
    months = [date(y, m, 1) for y, m in sorted(shown)]
    assert len(labels) == len(months), labels
    for label, x in labels.items():
        month = next(m for m in months if label.split()[0] == m.strftime("%b"))
        week = [start + timedelta(weeks=int(x), days=i) for i in range(7)]
        assert month in week or (month < first and first in week), (label, week)
    assert any(label.startswith("Dec") for label in labels)
