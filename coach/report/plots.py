"""The report's plots: matplotlib figures drawn with their own canvas, embedded as inline SVG.

No pyplot: no global backend switch, safe next to pygame's window. The plots
only draw: every number comes from `coach.core.progress`, computed by the report.

Print. Figures are drawn at their printed size (`PRINT_WIDTH_IN`, which fits A4
and Letter with 15 mm margins) and the page prints them at that size, so a font
of 8 pt in a figure is 8 pt on paper (`MIN_FONT_PT`). Text stays text in the SVG
(selectable, searchable, sharp in print).

Colour is never the only cue: interrupted sessions are hollow markers, the two
sides differ in marker and line style, the treatment windows are labelled
"before" and "after", the calendar's classes differ in lightness or hatching,
and synkinesis and cut-short bars are hatched.
"""
from __future__ import annotations

import functools
import io
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import matplotlib
import matplotlib.dates as mdates
from matplotlib.artist import Artist
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import Formatter

from coach.core.progress import SYNKINESIS_GRADE_CUTOFFS, toxin_window_days

if TYPE_CHECKING:
    from matplotlib.typing import LegendLocType, RcKeyType

PRINT_WIDTH_IN = 6.5
MIN_FONT_PT = 8
STYLE: dict[RcKeyType, Any] = {"svg.fonttype": "none", "font.size": 8.5, "axes.titlesize": 8.5, "axes.labelsize": 8.5,
         "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8, "figure.titlesize": 10.5,
         "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial", "Helvetica", "sans-serif"],
         "hatch.linewidth": 0.8, "axes.titlelocation": "left"}
TREATMENT_COLOURS = {"botulinum_toxin": "#7b3294", "surgery": "#222222", "other": "#777777"}
TREATMENT_NAMES = {"botulinum_toxin": "toxin", "surgery": "surgery", "other": "other treatment"}
WINDOW_STYLE = {"before": ("#9ecae1", "2 weeks before toxin"), "after": ("#d8b2e3", "weeks 2–6 after toxin")}
# Calendar classes: (key, legend label, fill, edge, hatch). Lightness or hatching tells them apart.
CALENDAR_CLASSES = (("two", "2+ sessions completed", "#1a7f3c", "#1a7f3c", ""),
                    ("one", "1 session completed", "#a6d96a", "#7fb24a", ""),
                    ("partial", "interrupted or short only", "#fdd0a2", "#b35806", "////"),
                    ("none", "no session", "#ffffff", "#bdbdbd", ""))
# colour, marker, line per side
SIDE_STYLES: tuple[tuple[str, str, Literal["-", "--"]], ...] = (("#d95f02", "o", "-"), ("#1b7e9e", "s", "--"))
FULL_LABEL, PARTIAL_LABEL = "full session", "interrupted or short (not in the line)"


def styled(draw):
    """Draw a figure with the report's style (sizes are fixed when the text is created)."""
    @functools.wraps(draw)
    def wrapper(*args, **kw):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kw)
    return wrapper


def svg(fig: Figure, key: str, title: str) -> str:
    """The figure as inline SVG; its ids are prefixed with `key` (unique in the page)."""
    buf = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": key}):
        FigureCanvasSVG(fig)
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{key}-\1"', text)
    text = re.sub(r'url\(#([^)]+)\)', rf'url(#{key}-\1)', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{key}-\1"', text)
    esc = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return text.replace("<svg ", f'<svg class="plot" role="img" aria-label="{esc}" ', 1)


# ---- dates ------------------------------------------------------------------------------
class DayFormatter(Formatter):
    """'4 Mar', with the year on the first tick and wherever it changes (no offset text)."""

    def __call__(self, x, pos=None):
        return self.format_ticks([x])[0]

    def format_ticks(self, values):
        out, year = [], None
        for v in values:
            d = mdates.num2date(v)
            out.append(f"{d.day} {d:%b}" + (f"\n{d.year}" if d.year != year else ""))
            year = d.year
        return out


def _date_axis(ax, xs: list[datetime], treatments: list[dict]) -> None:
    lo, hi = min(xs), max(xs)
    near = [datetime.fromisoformat(t["date"]) for t in treatments
            if lo - timedelta(days=30) <= datetime.fromisoformat(t["date"]) <= hi + timedelta(days=30)]
    lo, hi = min([lo, *near]), max([hi, *near])
    pad = max(timedelta(days=2), (hi - lo) * 0.03)
    ax.set_xlim(lo - pad, hi + pad)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(DayFormatter())
    ax.set_xlabel("date")


def treatment_marks(axes, strip, treatments: list[dict]) -> list:
    """Each treatment as a dashed line across the panels, named in the `strip` above them; a toxin
    injection's before and after windows shaded and labelled there. Returns legend handles."""
    kinds = set()
    for t in treatments:
        day = date.fromisoformat(t["date"])
        colour = TREATMENT_COLOURS.get(t["kind"], "#777777")
        kinds.add(t["kind"])
        for ax in (strip, *axes):
            ax.axvline(datetime.fromisoformat(t["date"]), color=colour, linestyle="--", linewidth=1.2, zorder=1)
        if t["kind"] == "botulinum_toxin":
            _shade_windows((strip, *axes), day)
        strip.annotate(f"{TREATMENT_NAMES.get(t['kind'], t['kind'])} {day.day} {day:%b}",
                       (datetime.fromisoformat(t["date"]), 0.75), xycoords=("data", "axes fraction"),
                       xytext=(3, 0), textcoords="offset points", fontsize=8, color=colour,
                       ha="left", va="center", annotation_clip=True)
    handles: list[Artist] = [Line2D([], [], color=TREATMENT_COLOURS.get(k, "#777777"), linestyle="--",
                      label=TREATMENT_NAMES.get(k, k)) for k in sorted(kinds)]
    if "botulinum_toxin" in kinds:
        handles += [Patch(facecolor=c, alpha=0.45, label=label) for c, label in WINDOW_STYLE.values()]
    return handles


def _shade_windows(axes, day: date) -> None:
    for name, (lo, hi) in toxin_window_days(day).items():
        colour = WINDOW_STYLE[name][0]
        start, end = datetime.combine(lo, datetime.min.time()), datetime.combine(hi, datetime.min.time())
        for ax in axes:
            ax.axvspan(start, end, color=colour, alpha=0.45, linewidth=0, zorder=0)
        axes[0].annotate(name, (start + (end - start) / 2, 0.27), xycoords=("data", "axes fraction"),
                         fontsize=8, ha="center", va="center", color="#222222", annotation_clip=True)


def _strip(strip) -> None:
    """The treatment strip above the panels: a time line without a y axis."""
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    for side in ("left", "right", "top"):
        strip.spines[side].set_visible(False)
    strip.tick_params(axis="x", bottom=False)
    strip.set_title("Treatments")


# ---- the adherence calendar ----------------------------------------------------------------
def _calendar_span(first: date, today: date, max_weeks: int = 53) -> tuple[date, int]:
    """(Monday of the first week shown, number of weeks): at most `max_weeks` up to today."""
    start = first - timedelta(days=first.weekday())
    start = max(start, today - timedelta(days=today.weekday(), weeks=max_weeks - 1))
    return start, (today - start).days // 7 + 1


MONTH_CHAR_IN = 0.6 * 8 / 72        # a month label's width per character at 8 pt (DejaVu Sans, about)


def _month_ticks(start: date, n_weeks: int, first: date | None = None, last: date | None = None,
                 week_in: float = 0.2) -> tuple[list[float], list[str]]:
    """A label over the week column that holds the 1st of each month shown (and over the first column,
    for the month it starts in); the year on the first label and on January's. `week_in`: a column's
    width in inches. A first month too short for its label loses its year, then, if still too short,
    its label."""
    first = first or start
    last = last or start + timedelta(weeks=n_weeks, days=-1)
    marks: list[tuple[float, date]] = []
    for w in range(n_weeks):
        shown = [d for d in (start + timedelta(weeks=w, days=i) for i in range(7)) if first <= d <= last]
        day = shown[0] if shown and not marks else next((d for d in shown if d.day == 1), None)
        if day is not None:
            marks.append((w + 0.45, day))

    def room(label: str) -> float:             # columns a label needs
        return len(label) * MONTH_CHAR_IN / week_in + 0.4

    labels = [d.strftime("%b %Y") if i == 0 or d.month == 1 else d.strftime("%b") for i, (_, d) in enumerate(marks)]
    if len(marks) > 1 and marks[1][0] - marks[0][0] < room(labels[0]):
        labels[0] = marks[0][1].strftime("%b")
        labels[1] = marks[1][1].strftime("%b %Y")
        if marks[1][0] - marks[0][0] < room(labels[0]):
            marks, labels = marks[1:], labels[1:]
    return [x for x, _ in marks], labels


def _square(ax, x: float, y: float, cls: str, treatment: str | None = None) -> None:
    _, _, fill, edge, hatch = next(c for c in CALENDAR_CLASSES if c[0] == cls)
    ax.add_patch(Rectangle((x, y), 0.86, 0.86, facecolor=fill, edgecolor=edge, hatch=hatch, linewidth=0.6))
    if treatment:
        ax.add_patch(Rectangle((x - 0.06, y - 0.06), 0.98, 0.98, fill=False, linewidth=1.8,
                               edgecolor=TREATMENT_COLOURS.get(treatment, "#777777")))


@styled
def calendar_plot(day_classes: dict[date, str], first: date, today: date, treatments: list[dict]) -> Figure:
    """One square per day from the first session to today (rows Mon–Sun, columns weeks).
    `day_classes`: day -> "two", "one" or "partial" (see CALENDAR_CLASSES); other days: "none".
    The legend goes right of a short calendar, below a long one."""
    start, n_weeks = _calendar_span(first, today)
    treat_days = {date.fromisoformat(t["date"]): t["kind"] for t in treatments}
    size = min(0.2, 5.6 / max(n_weeks, 1))                          # inches per square
    grid_w, grid_h = (n_weeks + 0.2) * size, 7.2 * size
    beside = grid_w < 3.4
    height = grid_h + 0.3 + (0.15 if beside else 0.7)
    fig = Figure(figsize=(PRINT_WIDTH_IN, height))
    bottom = 0.1 if beside else 0.65
    ax = fig.add_axes((0.5 / PRINT_WIDTH_IN, bottom / height, grid_w / PRINT_WIDTH_IN, grid_h / height))
    for w in range(n_weeks):
        for d in range(7):
            day = start + timedelta(weeks=w, days=d)
            if first <= day <= today:
                _square(ax, w, 6 - d, day_classes.get(day, "none"), treat_days.get(day))
    ax.set_xlim(-0.2, n_weeks)
    ax.set_ylim(-0.2, 7)
    ax.set_yticks([6.43 - d for d in (0, 2, 4, 6)], ["Mon", "Wed", "Fri", "Sun"])
    ax.set_xticks(*_month_ticks(start, n_weeks, first, today, size))
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    loc: LegendLocType
    if beside:
        anchor, ncol = ((0.5 + grid_w + 0.3) / PRINT_WIDTH_IN, (bottom + grid_h) / height), 1
        loc = "upper left"
    else:
        anchor, ncol, loc = (0.45 / PRINT_WIDTH_IN, 0.02), 3, "lower left"
    _calendar_legend(fig, treat_days, anchor, ncol, loc)
    return fig


def _calendar_legend(fig: Figure, treat_days: dict, anchor: tuple[float, float], ncol: int,
                     loc: LegendLocType) -> None:
    handles: list[Artist] = [Patch(facecolor=fill, edgecolor=edge, hatch=hatch, label=label)
                             for _, label, fill, edge, hatch in CALENDAR_CLASSES]
    for kind in sorted(set(treat_days.values())):
        handles.append(Patch(facecolor="white", edgecolor=TREATMENT_COLOURS.get(kind, "#777777"), linewidth=1.8,
                             label=f"{TREATMENT_NAMES.get(kind, kind)} day (outlined)"))
    fig.legend(handles=handles, loc=loc, bbox_to_anchor=anchor, ncol=ncol, frameon=False, handlelength=1.4,
               handleheight=1.2, columnspacing=1.4, borderaxespad=0, borderpad=0)


# ---- trends per exercise -------------------------------------------------------------------
def _series(ax, rows: list[dict], key: str, colour: str, marker: str = "o", linestyle: str = "-",
            label: str | None = None) -> None:
    """Full sessions joined by a line; interrupted or short ones as hollow markers, not joined."""
    full = [(r["when"], r[key]) for r in rows if r["full"] and r[key] is not None]
    part = [(r["when"], r[key]) for r in rows if not r["full"] and r[key] is not None]
    if full:
        ax.plot(*zip(*full), color=colour, marker=marker, markersize=4, linestyle=linestyle, linewidth=1.3,
                label=label, zorder=3)
    if part:
        ax.plot(*zip(*part), linestyle="none", marker=marker, markersize=5.5, markerfacecolor="white",
                markeredgecolor=colour, markeredgewidth=1.3, zorder=3)


def _top(values, floor: float) -> float:
    """An upper y limit that shows every value with room above it."""
    return max([floor] + [v * 1.18 for v in values if v is not None])


def _rate_panel(ax, rows: list[dict]) -> None:
    _series(ax, rows, "rate", "#1a7f3c")
    ax.set_ylim(-5, 105)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_title("Clean reps (without synkinesis), % of complete reps")
    ax.set_ylabel("%", rotation=0, ha="right", va="center")


def _co_movement_panel(ax, rows: list[dict], title: str) -> None:
    _series(ax, rows, "co", "#c0392b")
    for grade, cut in enumerate(SYNKINESIS_GRADE_CUTOFFS, start=1):
        ax.axhline(100 * cut, color="#999999", linestyle=":", linewidth=0.9, zorder=1)
        ax.annotate(f"grade {grade}", (1.0, 100 * cut), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", fontsize=8, color="#555555", va="center")
    ax.set_ylim(0, _top([r["co"] for r in rows], 40))
    ax.set_title(title)
    ax.set_ylabel("%", rotation=0, ha="right", va="center")


def _amplitude_panel(ax, rows: list[dict], title: str, unit: str, sides: tuple[str, str]) -> None:
    _series(ax, rows, "amp_first", *SIDE_STYLES[0])
    _series(ax, rows, "amp_second", *SIDE_STYLES[1])
    ax.set_ylim(0, _top([r["amp_first"] for r in rows] + [r["amp_second"] for r in rows], 1e-9))
    ax.set_title(title)
    ax.set_ylabel(unit, rotation=0, ha="right", va="center")


@styled
def exercise_plot(title: str, rows: list[dict], treatments: list[dict], labels: dict) -> Figure:
    """Three panels over time: clean-rep rate, typical co-movement, typical movement per side; above them,
    when there are treatments, a strip naming them and their windows.

    `rows`: one per session (or week) {"when", "full", "rate", "co", "amp_first", "amp_second"}, in
    the units shown; `labels`: {"co_title", "amp_title", "amp_unit", "sides"}."""
    ratios = [0.36, 1, 1, 1] if treatments else [1, 1, 1]
    fig = Figure(figsize=(PRINT_WIDTH_IN, 4.2 + 0.45 * bool(treatments)), layout="constrained")
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(h_pad=0.04, hspace=0.02)
    *strip, rate, co, amp = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    _rate_panel(rate, rows)
    _co_movement_panel(co, rows, labels["co_title"])
    _amplitude_panel(amp, rows, labels["amp_title"], labels["amp_unit"], labels["sides"])
    handles = [Line2D([], [], color="#444444", marker="o", markersize=4, label=FULL_LABEL),
               Line2D([], [], color="#444444", marker="o", markersize=5.5, linestyle="none",
                      markerfacecolor="white", label=PARTIAL_LABEL)]
    handles += [Line2D([], [], color=c, marker=m, linestyle=ls, markersize=4, label=f"movement, {side} side")
                for (c, m, ls), side in zip(SIDE_STYLES, labels["sides"])]
    if strip:
        _strip(strip[0])
        handles += treatment_marks((rate, co, amp), strip[0], treatments)
    for ax in (rate, co, amp):
        ax.grid(axis="y", color="#e6e6e6", zorder=0)
    _date_axis(amp, [r["when"] for r in rows], treatments)
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, handlelength=1.8)
    return fig


@styled
def region_plot(title: str, rows: list[dict], treatments: list[dict], panel_title: str) -> Figure:
    """One region's co-movement over time (the chin's, the neck's): its events per session, and above
    them, when there are any, the treatments into that region's muscle with their windows.

    `rows`: one per session {"when", "full", "events"}."""
    ratios = [0.36, 1] if treatments else [1]
    fig = Figure(figsize=(PRINT_WIDTH_IN, 2.2 + 0.45 * bool(treatments)), layout="constrained")
    *strip, ax = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios, squeeze=False)[:, 0]
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    _series(ax, rows, "events", "#c0392b", marker="D")
    ax.set_ylim(-0.3, _top([r["events"] for r in rows], 4))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(panel_title)
    ax.set_ylabel("events", rotation=0, ha="right", va="center")
    ax.grid(axis="y", color="#e6e6e6", zorder=0)
    handles: list[Artist] = [Line2D([], [], color="#c0392b", marker="D", markersize=4, label=FULL_LABEL),
                             Line2D([], [], color="#c0392b", marker="D", markersize=5.5, linestyle="none",
                                    markerfacecolor="white", label=PARTIAL_LABEL)]
    if strip:
        _strip(strip[0])
        handles += treatment_marks((ax,), strip[0], treatments)
    _date_axis(ax, [r["when"] for r in rows], treatments)
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, handlelength=1.8)
    return fig


# ---- the latest session ------------------------------------------------------------------
def _exercise_dividers(ax, reps: list[dict], names: dict) -> None:
    prev = None
    for x, r in enumerate(reps):
        if r["exercise"] != prev:
            if x:
                ax.axvline(x - 0.5, color="#999999", linewidth=0.8)
            ax.annotate(names.get(r["exercise"], r["exercise"] or "?"), (x - 0.45, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(0, 3), textcoords="offset points",
                        fontsize=8, annotation_clip=False)
            prev = r["exercise"]


def _movement_bars(ax, reps: list[dict], xs: list[int]) -> None:
    cut = [not r["complete"] for r in reps]
    ax.bar(xs, [100 * (r["peak"] or 0) for r in reps], width=0.7, color=["white" if c else "#4575b4" for c in cut],
           edgecolor="#4575b4", hatch=["-----" if c else "" for c in cut], linewidth=0.8)
    ax.axhline(100, color="#555555", linestyle=":", linewidth=0.9)
    ax.set_title("Each rep's peak movement, % of the patient's target (dotted line: the target)", pad=14)
    ax.set_ylabel("%", rotation=0, ha="right", va="center")


def _co_movement_bars(ax, reps: list[dict], xs: list[int], title: str) -> None:
    syn = [bool(r["synkinesis"]) for r in reps]
    ax.bar(xs, [100 * abs(r["synkinesis_peak"] or 0) for r in reps], width=0.7,
           color=["#d73027" if s else "#fdae61" for s in syn], edgecolor="#7f2704",
           hatch=["xxx" if s else "" for s in syn], linewidth=0.6)
    ax.set_title(title)
    ax.set_ylabel("%", rotation=0, ha="right", va="center")
    ax.set_xticks(xs, [str(r["idx"]) for r in reps])
    ax.set_xlabel("rep number within each exercise")


@styled
def latest_plot(reps: list[dict], names: dict, co_title: str) -> Figure:
    """Per rep of one session (in set order): the movement as % of the target, and the peak
    co-movement; synkinesis and cut-short reps hatched."""
    fig = Figure(figsize=(PRINT_WIDTH_IN, 4.2), layout="constrained")
    move, co = fig.subplots(2, 1, sharex=True)
    xs = list(range(len(reps)))
    _movement_bars(move, reps, xs)
    _co_movement_bars(co, reps, xs, co_title)
    _exercise_dividers(move, reps, names)
    for ax in (move, co):
        ax.set_xlim(-0.6, max(len(reps), 1) - 0.4)
        ax.grid(axis="y", color="#e6e6e6")
        ax.set_axisbelow(True)
    fig.legend(handles=[Patch(facecolor="#4575b4", label="complete rep"),
                        Patch(facecolor="white", edgecolor="#4575b4", hatch="-----", label="cut short (not counted)"),
                        Patch(facecolor="#fdae61", edgecolor="#7f2704", label="co-movement"),
                        Patch(facecolor="#d73027", edgecolor="#7f2704", hatch="xxx", label="synkinesis")],
               loc="outside lower center", ncol=4, frameon=False)
    return fig
