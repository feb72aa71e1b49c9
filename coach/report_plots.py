"""The report's plots: matplotlib figures drawn with the Agg canvas directly.

No pyplot: no global backend switch, safe next to pygame's window. Every
figure a plot shows comes from `coach.core.progress`; this module only draws.
"""
from __future__ import annotations

import base64
import io
from collections import defaultdict
from datetime import date, datetime, timedelta

import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from coach.core.progress import SYNKINESIS_GRADE_CUTOFFS, local_dt, rep_stats

CALENDAR_MAX_WEEKS = 53
WEEKLY_ABOVE = 40                # more sessions than this: trend plots show weekly points
TREATMENT_COLOURS = {"botulinum_toxin": "#7b3294", "surgery": "#222222", "other": "#888888"}
TREATMENT_NAMES = {"botulinum_toxin": "toxin", "surgery": "surgery", "other": "other treatment"}
CALENDAR_LEGEND = (("#91cf60", "1 completed"), ("#1a9850", "2+ completed"), ("#fdae61", "interrupted only"),
                   ("#eeeeee", "none"))


def png(fig: Figure) -> str:
    """The figure as a base64 PNG."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def treatment_markers(ax, treatments: list[dict], label: bool) -> None:
    for t in treatments:
        x = datetime.fromisoformat(t["date"])
        colour = TREATMENT_COLOURS.get(t["kind"], "#888888")
        ax.axvline(x, color=colour, linestyle="--", linewidth=1.2, zorder=0)
        if label:
            ax.annotate(TREATMENT_NAMES.get(t["kind"], t["kind"]), (x, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -10), textcoords="offset points", fontsize=8, color=colour, va="top")


# ---- the adherence calendar ------------------------------------------------------------
def _day_colour(statuses: list[str]) -> str:
    done = statuses.count("completed")
    if done >= 2:
        return "#1a9850"
    if done == 1:
        return "#91cf60"
    return "#fdae61" if statuses else "#eeeeee"


def _calendar_span(days: dict, today: date) -> tuple[date, date, int]:
    """(first Monday shown, last day, number of weeks): at most CALENDAR_MAX_WEEKS up to today."""
    last = max([today, *days])
    first = min([*days, last])
    start = first - timedelta(days=first.weekday())
    start = max(start, last - timedelta(days=last.weekday(), weeks=CALENDAR_MAX_WEEKS - 1))
    return start, last, (last - start).days // 7 + 1


def _calendar_squares(ax, days: dict, treat_days: dict, start: date, last: date, n_weeks: int) -> None:
    for w in range(n_weeks):
        for d in range(7):
            day = start + timedelta(weeks=w, days=d)
            if day > last:
                continue
            edge = TREATMENT_COLOURS.get(treat_days.get(day), None)
            ax.add_patch(Rectangle((w, 6 - d), 0.9, 0.9, facecolor=_day_colour(days.get(day, [])),
                                   edgecolor=edge or "white", linewidth=2 if edge else 0.5))


def _month_ticks(start: date, n_weeks: int) -> tuple[list[float], list[str]]:
    ticks, labels, month = [], [], None
    for w in range(n_weeks):
        day = start + timedelta(weeks=w)
        if day.month != month:
            month = day.month
            if ticks and w + 0.45 - ticks[-1] < 3:   # a partial first month: its label would collide
                ticks.pop()
                labels.pop()
            ticks.append(w + 0.45)
            labels.append(day.strftime("%b %Y") if not labels or day.month == 1 else day.strftime("%b"))
    return ticks, labels


def _calendar_legend(ax, treat_days: dict) -> None:
    handles = [Rectangle((0, 0), 1, 1, facecolor=c) for c, _ in CALENDAR_LEGEND]
    labels = [text for _, text in CALENDAR_LEGEND]
    for kind in sorted(set(treat_days.values())):
        handles.append(Rectangle((0, 0), 1, 1, facecolor="white",
                                 edgecolor=TREATMENT_COLOURS.get(kind, "#888888"), linewidth=2))
        labels.append(f"{TREATMENT_NAMES.get(kind, kind)} day")
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def calendar_plot(sessions: list[dict], treatments: list[dict], today: date) -> Figure:
    """One square per day (rows Mon–Sun, columns weeks): the adherence calendar."""
    days: dict[date, list[str]] = defaultdict(list)
    for s in sessions:
        days[local_dt(s["started"]).date()].append(s["status"])
    start, last, n_weeks = _calendar_span(days, today)
    treat_days = {date.fromisoformat(t["date"]): t["kind"] for t in treatments}
    # Square days: a long history makes a wide, low strip, so shrink the height to fit.
    height = min(2.4, max(1.5, 7.4 * (10 * 0.76 / (n_weeks + 0.2)) / 0.78))
    fig = Figure(figsize=(10, height))
    ax = fig.add_axes([0.06, 0.14, 0.76, 0.78])
    _calendar_squares(ax, days, treat_days, start, last, n_weeks)
    ax.set_xlim(-0.2, n_weeks)
    ax.set_ylim(-0.2, 7)
    ax.set_yticks([6.45 - d for d in (0, 2, 4, 6)], ["Mon", "Wed", "Fri", "Sun"], fontsize=8)
    ax.set_xticks(*_month_ticks(start, n_weeks), fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    ax.set_anchor("W")
    _calendar_legend(ax, treat_days)
    return fig


# ---- trends per exercise ---------------------------------------------------------------
def weekly(series: list[tuple[str, list[dict]]]) -> list[tuple[str, list[dict]]]:
    """Pool sessions by week (dated on the Monday): one point per session gets unreadable."""
    weeks: dict[str, list[dict]] = defaultdict(list)
    for started, reps in series:
        day = local_dt(started).date()
        weeks[(day - timedelta(days=day.weekday())).isoformat()].extend(reps)
    return sorted(weeks.items())


def _line(ax, x, values, **kw) -> None:
    pts = [(xi, v) for xi, v in zip(x, values) if v is not None]
    if pts:
        ax.plot(*zip(*pts), marker="o", markersize=4, **kw)


def _rate_panel(ax, x, stats) -> None:
    _line(ax, x, [None if s["free_rate"] is None else 100 * s["free_rate"] for s in stats], color="#1a9850")
    ax.set_ylim(-5, 105)
    ax.set_ylabel("synkinesis-free\nreps (%)", fontsize=9)


def _co_movement_panel(ax, x, stats) -> None:
    _line(ax, x, [s["co_move"] for s in stats], color="#d73027", label="mean |co-movement|")
    for grade, cut in enumerate(SYNKINESIS_GRADE_CUTOFFS, start=1):
        ax.axhline(cut, color="#bbbbbb", linestyle=":", linewidth=1)
        ax.annotate(f"grade {grade}", (1.0, cut), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", fontsize=7, color="#888888", va="center")
    ax.set_ylim(0, max([0.4] + [s["co_move"] * 1.1 for s in stats if s["co_move"] is not None]))
    ax.set_ylabel("peak\nco-movement", fontsize=9)


def _amplitude_panel(ax, x, stats, affected: str | None) -> None:
    first, second = (("affected", "other") if affected else ("left", "right"))
    _line(ax, x, [s["amp_first"] for s in stats], color="#d95f02", label=f"{first} side")
    _line(ax, x, [s["amp_second"] for s in stats], color="#1b9e77", label=f"{second} side")
    ax.set_ylabel("movement\namplitude", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _date_axis(ax, x: list[datetime], treatments: list[dict]) -> None:
    dates = x + [datetime.fromisoformat(t["date"]) for t in treatments]
    lo, hi = min(dates), max(dates)
    pad = max(timedelta(days=2), (hi - lo) * 0.04)
    ax.set_xlim(lo - pad, hi + pad)
    locator = mdates.AutoDateLocator(maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def exercise_plot(exercise: str, series: list[tuple[str, list[dict]]], treatments: list[dict],
                  affected: str | None) -> Figure:
    """Three panels over time: synkinesis-free rate, co-movement, amplitude per side."""
    title = exercise
    if len(series) > WEEKLY_ABOVE:
        series = weekly(series)
        title += "  (weekly)"
    x = [local_dt(started) for started, _ in series]
    stats = [rep_stats(rs, affected) for _, rs in series]
    fig = Figure(figsize=(10, 6.6))
    axes = fig.subplots(3, 1, sharex=True)
    fig.subplots_adjust(left=0.09, right=0.8, top=0.93, bottom=0.08, hspace=0.25)
    fig.suptitle(title, fontsize=12, x=0.09, ha="left")
    _rate_panel(axes[0], x, stats)
    _co_movement_panel(axes[1], x, stats)
    _amplitude_panel(axes[2], x, stats, affected)
    for i, ax in enumerate(axes):
        treatment_markers(ax, treatments, label=i == 0)
        ax.grid(axis="y", color="#eeeeee")
        ax.tick_params(labelsize=8)
    _date_axis(axes[2], x, treatments)
    return fig


# ---- the latest session ----------------------------------------------------------------
def _rep_bars(ax, reps: list[dict], xs) -> None:
    ax.bar([x - 0.2 for x in xs], [r["peak"] or 0 for r in reps], width=0.4, color="#4575b4",
           label="peak movement (1 = target)")
    ax.bar([x + 0.2 for x in xs], [abs(r["synkinesis_peak"] or 0) for r in reps], width=0.4,
           color=["#d73027" if r["synkinesis"] else "#fdae61" for r in reps])
    ax.set_axisbelow(True)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in ("#4575b4", "#fdae61", "#d73027")]
    ax.legend(handles, ["peak movement (1 = target)", "|co-movement|", "|co-movement|, synkinesis"],
              fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, frameon=False)


def _cut_short_marks(ax, reps: list[dict], xs) -> None:
    for x, r in zip(xs, reps):
        if not r["complete"]:
            ax.annotate("cut\nshort", (x, 0), xytext=(0, -22), textcoords="offset points",
                        fontsize=6, ha="center", color="#666666")


def _exercise_dividers(ax, reps: list[dict], xs) -> None:
    prev = None
    for x, r in zip(xs, reps):
        if r["exercise"] != prev:
            ax.axvline(x - 0.5, color="#999999", linewidth=0.8)
            ax.annotate(r["exercise"] or "?", (x - 0.45, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", fontsize=8)
            prev = r["exercise"]


def latest_plot(sets: list[dict], reps: list[dict]) -> Figure:
    """Per rep: movement level and |co-movement|; synkinesis reps in red."""
    order = {s["id"]: i for i, s in enumerate(sets)}
    reps = sorted(reps, key=lambda r: (order.get(r["set_id"], 99), r["idx"]))
    fig = Figure(figsize=(10, 3.6))
    ax = fig.add_axes([0.07, 0.33, 0.9, 0.58])
    xs = range(len(reps))
    _rep_bars(ax, reps, xs)
    _cut_short_marks(ax, reps, xs)
    ax.set_xticks(list(xs), [str(r["idx"]) for r in reps], fontsize=7)
    ax.set_xlabel("rep (per set)", fontsize=8)
    _exercise_dividers(ax, reps, xs)
    ax.set_xlim(-0.6, max(len(reps), 1) - 0.4)
    ax.grid(axis="y", color="#eeeeee")
    ax.tick_params(axis="y", labelsize=8)
    return fig
