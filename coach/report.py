"""A patient's progress report: one self-contained, printable HTML file.

`build_report(store, code) -> str`. Plots are matplotlib PNGs embedded as
base64, drawn with the Agg canvas directly (no pyplot: no global backend
switch, safe next to pygame's window). Every figure is computed from the
store's rows; rates count *complete* reps only (a rep cut short by a lost
face says nothing about synkinesis).
"""
from __future__ import annotations

import base64
import html
import io
import re
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
import matplotlib.dates as mdates

from coach import __version__

# Sunnybrook synkinesis scale per expression: 0 none, 1 mild, 2 moderate, 3 severe
# (Ross, Fradet & Nedzelski 1996). We *estimate* it from the median |synkinesis
# peak| (relative change of the watched measure, e.g. 0.25 = eye 25 % narrower)
# over the complete reps of the latest session with that exercise. Below 10 %
# is within healthy faces' 7–9 % motion asymmetry, hence grade 0.
SYNKINESIS_GRADE_CUTOFFS = (0.10, 0.20, 0.35)   # |peak| below each -> grade 0, 1, 2; else 3
GRADE_LABELS = ("none", "mild", "moderate", "severe")
SUNNYBROOK_EXERCISES = {   # the five Sunnybrook expressions, by exercise id
    "brow-lift": "Brow lift", "gentle-eye-closure": "Gentle eye closure",
    "open-mouth-smile": "Open-mouth smile", "snarl": "Snarl", "lip-pucker": "Lip pucker",
}
# Botulinum toxin shows an effect in 2–3 days, is full at 1–2 weeks and wanes
# over ~3–4 months (onabotulinumtoxinA label; Cooper, Lui & Nduka, J Plast
# Reconstr Aesthet Surg 2017;70:833, a review of toxin in facial palsy). So we
# compare the 2 weeks before an injection with weeks 2–6 after it: full effect,
# before it wanes, and before the next injection cycle.
TOXIN_BEFORE_DAYS = (-14, 0)     # [date − 14 d, date)
TOXIN_AFTER_DAYS = (14, 42)      # [date + 14 d, date + 42 d)
CALENDAR_MAX_WEEKS = 53
WEEKLY_ABOVE = 40                # more sessions than this: trend plots show weekly points
TREATMENT_COLOURS = {"botulinum_toxin": "#7b3294", "surgery": "#222222", "other": "#888888"}
TREATMENT_NAMES = {"botulinum_toxin": "toxin", "surgery": "surgery", "other": "other treatment"}


def synkinesis_grade(abs_peak: float) -> int:
    return sum(abs_peak >= cut for cut in SYNKINESIS_GRADE_CUTOFFS)


def local_dt(iso: str) -> datetime:
    """The recorded local wall-clock time (the patient's day is what matters)."""
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _fmt(v, spec=".3f", none="–") -> str:
    return none if v is None else format(v, spec)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


# ---- numbers ----------------------------------------------------------------------
def rep_stats(reps: list[dict], affected: str | None) -> dict:
    """Summary of a group of reps (complete ones only)."""
    done = [r for r in reps if r["complete"]]
    first, second = (affected, "right" if affected == "left" else "left") if affected else ("left", "right")
    free = sum(1 for r in done if not r["synkinesis"])
    return {
        "n": len(done),
        "free": free,
        "free_rate": free / len(done) if done else None,
        "co_move": _mean(abs(r["synkinesis_peak"]) for r in done if r["synkinesis_peak"] is not None),
        "amp_first": _mean(abs(r[f"peak_{first}"]) for r in done if r[f"peak_{first}"] is not None),
        "amp_second": _mean(abs(r[f"peak_{second}"]) for r in done if r[f"peak_{second}"] is not None),
    }


def per_session(reps: list[dict]) -> dict[str, list[tuple[str, list[dict]]]]:
    """exercise -> [(session_started, reps)] in time order."""
    out: dict[str, dict[str, list]] = defaultdict(dict)
    for r in reps:
        out[r["exercise"] or "?"].setdefault(r["session_started"], []).append(r)
    return {ex: sorted(by_s.items()) for ex, by_s in out.items()}


def sunnybrook_estimates(series: dict) -> list[dict]:
    rows = []
    for ex, label in SUNNYBROOK_EXERCISES.items():
        latest = next(((started, [r for r in rs if r["complete"] and r["synkinesis_peak"] is not None])
                       for started, rs in reversed(series.get(ex, []))
                       if any(r["complete"] and r["synkinesis_peak"] is not None for r in rs)), None)
        if latest is None:
            rows.append({"exercise": ex, "label": label, "grade": None})
            continue
        started, done = latest
        median = statistics.median(abs(r["synkinesis_peak"]) for r in done)
        rows.append({"exercise": ex, "label": label, "grade": synkinesis_grade(median),
                     "median": median, "n": len(done), "date": started[:10]})
    return rows


def toxin_windows(reps: list[dict], treatments: list[dict], affected: str | None,
                  order: list[str] = ()) -> list[dict]:
    rows = []
    for t in treatments:
        if t["kind"] != "botulinum_toxin":
            continue
        day = date.fromisoformat(t["date"])
        windows = {}
        for name, (lo, hi) in (("before", TOXIN_BEFORE_DAYS), ("after", TOXIN_AFTER_DAYS)):
            start, end = day + timedelta(days=lo), day + timedelta(days=hi)
            windows[name] = [r for r in reps if start <= local_dt(r["session_started"]).date() < end]
        found = {r["exercise"] for w in windows.values() for r in w}
        exercises = [ex for ex in order if ex in found] + sorted(found - set(order))
        rows.append({"treatment": t, "exercises": [
            (ex, rep_stats([r for r in windows["before"] if r["exercise"] == ex], affected),
             rep_stats([r for r in windows["after"] if r["exercise"] == ex], affected))
            for ex in exercises]})
    return rows


# ---- plots -----------------------------------------------------------------------
def png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def img(fig: Figure, alt: str) -> str:
    return f'<img class="plot" alt="{_esc(alt)}" src="data:image/png;base64,{png(fig)}">'


def treatment_markers(ax, treatments: list[dict], label: bool) -> None:
    for t in treatments:
        x = datetime.fromisoformat(t["date"])
        colour = TREATMENT_COLOURS.get(t["kind"], "#888888")
        ax.axvline(x, color=colour, linestyle="--", linewidth=1.2, zorder=0)
        if label:
            ax.annotate(TREATMENT_NAMES.get(t["kind"], t["kind"]), (x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -10),
                        textcoords="offset points", fontsize=8, color=colour, va="top")


def calendar_plot(sessions: list[dict], treatments: list[dict], today: date) -> Figure:
    """One square per day (rows Mon–Sun, columns weeks): the adherence calendar."""
    days: dict[date, list[str]] = defaultdict(list)
    for s in sessions:
        days[local_dt(s["started"]).date()].append(s["status"])
    last = max([today, *days])
    first = min([*days, last])
    start = first - timedelta(days=first.weekday())
    start = max(start, last - timedelta(days=last.weekday(), weeks=CALENDAR_MAX_WEEKS - 1))
    n_weeks = (last - start).days // 7 + 1
    treat_days = {date.fromisoformat(t["date"]): t["kind"] for t in treatments}
    # Square days: a long history makes a wide, low strip, so shrink the height to fit.
    height = min(2.4, max(1.5, 7.4 * (10 * 0.76 / (n_weeks + 0.2)) / 0.78))
    fig = Figure(figsize=(10, height))
    ax = fig.add_axes([0.06, 0.14, 0.76, 0.78])
    for w in range(n_weeks):
        for d in range(7):
            day = start + timedelta(weeks=w, days=d)
            if day > last:
                continue
            statuses = days.get(day, [])
            done = statuses.count("completed")
            colour = ("#1a9850" if done >= 2 else "#91cf60" if done == 1
                      else "#fdae61" if statuses else "#eeeeee")
            edge = TREATMENT_COLOURS.get(treat_days.get(day), None)
            ax.add_patch(Rectangle((w, 6 - d), 0.9, 0.9, facecolor=colour,
                                   edgecolor=edge or "white", linewidth=2 if edge else 0.5))
    ax.set_xlim(-0.2, n_weeks)
    ax.set_ylim(-0.2, 7)
    ax.set_yticks([6.45 - d for d in (0, 2, 4, 6)], ["Mon", "Wed", "Fri", "Sun"], fontsize=8)
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
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    ax.set_anchor("W")
    legend = [("#91cf60", "1 completed"), ("#1a9850", "2+ completed"), ("#fdae61", "interrupted only"),
              ("#eeeeee", "none")]
    handles = [Rectangle((0, 0), 1, 1, facecolor=c) for c, _ in legend]
    labels = [text for _, text in legend]
    for kind in sorted(set(treat_days.values())):
        handles.append(Rectangle((0, 0), 1, 1, facecolor="white",
                                 edgecolor=TREATMENT_COLOURS.get(kind, "#888888"), linewidth=2))
        labels.append(f"{TREATMENT_NAMES.get(kind, kind)} day")
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


def weekly(series: list[tuple[str, list[dict]]]) -> list[tuple[str, list[dict]]]:
    """Pool sessions by week (dated on the Monday): one point per session gets unreadable."""
    weeks: dict[str, list[dict]] = defaultdict(list)
    for started, reps in series:
        day = local_dt(started).date()
        weeks[(day - timedelta(days=day.weekday())).isoformat()].extend(reps)
    return sorted(weeks.items())


def exercise_plot(exercise: str, series: list[tuple[str, list[dict]]], treatments: list[dict],
                  affected: str | None) -> Figure:
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

    def line(ax, values, **kw):
        pts = [(xi, v) for xi, v in zip(x, values) if v is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", markersize=4, **kw)

    a0, a1, a2 = axes
    line(a0, [None if s["free_rate"] is None else 100 * s["free_rate"] for s in stats], color="#1a9850")
    a0.set_ylim(-5, 105)
    a0.set_ylabel("synkinesis-free\nreps (%)", fontsize=9)
    line(a1, [s["co_move"] for s in stats], color="#d73027", label="mean |co-movement|")
    for grade, cut in enumerate(SYNKINESIS_GRADE_CUTOFFS, start=1):
        a1.axhline(cut, color="#bbbbbb", linestyle=":", linewidth=1)
        a1.annotate(f"grade {grade}", (1.0, cut), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", fontsize=7, color="#888888", va="center")
    a1.set_ylim(0, max([0.4] + [s["co_move"] * 1.1 for s in stats if s["co_move"] is not None]))
    a1.set_ylabel("peak\nco-movement", fontsize=9)
    first, second = (("affected", "other") if affected else ("left", "right"))
    line(a2, [s["amp_first"] for s in stats], color="#d95f02", label=f"{first} side")
    line(a2, [s["amp_second"] for s in stats], color="#1b9e77", label=f"{second} side")
    a2.set_ylabel("movement\namplitude", fontsize=9)
    a2.set_ylim(bottom=0)
    a2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    for i, ax in enumerate(axes):
        treatment_markers(ax, treatments, label=i == 0)
        ax.grid(axis="y", color="#eeeeee")
        ax.tick_params(labelsize=8)
    dates = x + [datetime.fromisoformat(t["date"]) for t in treatments]
    lo, hi = min(dates), max(dates)
    pad = max(timedelta(days=2), (hi - lo) * 0.04)
    a2.set_xlim(lo - pad, hi + pad)
    locator = mdates.AutoDateLocator(maxticks=10)
    a2.xaxis.set_major_locator(locator)
    a2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return fig


def latest_plot(sets: list[dict], reps: list[dict]) -> Figure:
    """Per rep: movement level and |co-movement|; synkinesis reps in red."""
    order = {s["id"]: i for i, s in enumerate(sets)}
    reps = sorted(reps, key=lambda r: (order.get(r["set_id"], 99), r["idx"]))
    fig = Figure(figsize=(10, 3.6))
    ax = fig.add_axes([0.07, 0.33, 0.9, 0.58])
    xs = range(len(reps))
    ax.bar([x - 0.2 for x in xs], [r["peak"] or 0 for r in reps], width=0.4, color="#4575b4",
           label="peak movement (1 = target)")
    ax.bar([x + 0.2 for x in xs], [abs(r["synkinesis_peak"] or 0) for r in reps], width=0.4,
           color=["#d73027" if r["synkinesis"] else "#fdae61" for r in reps])
    ax.set_axisbelow(True)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in ("#4575b4", "#fdae61", "#d73027")]
    ax.legend(handles, ["peak movement (1 = target)", "|co-movement|", "|co-movement|, synkinesis"],
              fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, frameon=False)
    for x, r in zip(xs, reps):
        if not r["complete"]:
            ax.annotate("cut\nshort", (x, 0), xytext=(0, -22), textcoords="offset points",
                        fontsize=6, ha="center", color="#666666")
    ax.set_xticks(list(xs), [str(r["idx"]) for r in reps], fontsize=7)
    ax.set_xlabel("rep (per set)", fontsize=8)
    prev = None
    for x, r in zip(xs, reps):
        if r["exercise"] != prev:
            ax.axvline(x - 0.5, color="#999999", linewidth=0.8)
            ax.annotate(r["exercise"] or "?", (x - 0.45, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", fontsize=8)
            prev = r["exercise"]
    ax.set_xlim(-0.6, max(len(reps), 1) - 0.4)
    ax.grid(axis="y", color="#eeeeee")
    ax.tick_params(axis="y", labelsize=8)
    return fig


# ---- HTML -------------------------------------------------------------------------
CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; max-width: 1040px; margin: 24px auto;
       padding: 0 16px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
  border-bottom: 1px solid #ccc; padding-bottom: 3px; } h3 { font-size: 15px; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 6px 0 12px; } th, td { border: 1px solid #ccc; padding: 3px 8px;
  text-align: left; vertical-align: top; } th { background: #f3f3f3; } td.num { text-align: right; }
.meta { color: #555; } .note { color: #555; font-size: 12px; }
.estimate { border: 2px solid #b35806; background: #fff7ec; padding: 6px 10px; font-weight: bold; }
img.plot { width: 100%; max-width: 1000px; display: block; }
section, figure, table, img { break-inside: avoid; }
@media print { body { margin: 0; max-width: none; font-size: 11pt; } h2 { break-after: avoid; }
  .pagebreak { break-before: page; } }
"""


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)%?$|^–$")


def _row(cells: list, row_id: str | None = None) -> str:
    rid = f' id="{_esc(row_id)}"' if row_id else ""
    tds = "".join(f"<td class='num'>{_esc(c)}</td>" if _NUMBER.match(str(c)) else f"<td>{_esc(c)}</td>"
                  for c in cells)
    return f"<tr{rid}>{tds}</tr>"


def build_report(store, code: str, today: date | None = None) -> str:
    today = today or date.today()
    patient = store.get_patient(code)
    affected = patient["affected_side"]
    sessions = store.sessions(code)
    reps = store.rep_rows(code)
    treatments = store.list_treatments(code)
    plan = store.get_plan(code)
    series = per_session(reps)
    plan_order = [i["exercise"] for i in plan or []]
    exercises = sorted(series, key=lambda ex: (ex not in plan_order,
                                               plan_order.index(ex) if ex in plan_order else 0, ex))
    side_words = ("affected", "other") if affected else ("left", "right")
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>coach report {_esc(code)}</title><style>{CSS}</style></head><body>",
           f"<h1>Facial exercise report: {_esc(patient['code'])}"
           f"{' – ' + _esc(patient['display_name']) if patient['display_name'] else ''}</h1>",
           f"<p class='meta'>Affected side: {_esc(affected or 'not recorded')} · generated "
           f"{today.isoformat()} by coach {__version__}</p>"]

    n_completed = sum(s["status"] == "completed" for s in sessions)
    n_interrupted = sum(s["status"] == "interrupted" for s in sessions)
    recent = {local_dt(s["started"]).date() for s in sessions
              if today - timedelta(days=27) <= local_dt(s["started"]).date() <= today}
    out.append("<section><h2>Summary</h2><p>"
               f"<span id='n-sessions'>{len(sessions)}</span> sessions "
               f"(<span id='n-completed'>{n_completed}</span> completed, "
               f"<span id='n-interrupted'>{n_interrupted}</span> interrupted); "
               f"<span id='n-reps'>{sum(1 for r in reps if r['complete'])}</span> complete reps; "
               f"practised on <span id='days-28'>{len(recent)}</span> of the last 28 days.</p>")
    if plan:
        out.append(_table(["exercise", "reps", "hold (s)", "rest (s)", "thresholds"], [
            _row([i["exercise"], i["reps"], f"{i['hold_s']:g}", f"{i['rest_s']:g}",
                  ", ".join(f"{k}={v:g}" for k, v in i["thresholds"].items())]) for i in plan]))
    else:
        out.append("<p class='note'>No exercise plan set.</p>")
    if treatments:
        out.append("<h3>Treatments</h3>" + _table(["date", "kind", "sites", "units", "notes"], [
            _row([t["date"], t["kind"].replace("_", " "), t["sites"], _fmt(t["units"], "g"), t["notes"]])
            for t in treatments]))
    out.append("</section>")

    if not sessions:
        out.append("<p>No sessions recorded yet.</p></body></html>")
        return "".join(out)

    out.append("<section><h2>Adherence</h2>"
               + img(calendar_plot(sessions, treatments, today), "adherence calendar") + "</section>")

    out.append("<section><h2>Exercises</h2><p class='note'>Complete reps only. Co-movement: the largest "
               "unwanted movement during a rep, as a relative change (0.25 = 25 %). Amplitude: the exercise's "
               "own movement on each side.</p>")
    out.append(_table(["exercise", "sessions", "complete reps", "synkinesis-free", "mean |co-movement|",
                       f"amplitude {side_words[0]}", f"amplitude {side_words[1]}"], [
        _row([ex, len(series[ex]), st["n"], _pct(st["free_rate"]), _fmt(st["co_move"]),
              _fmt(st["amp_first"]), _fmt(st["amp_second"])], f"ex-{ex}")
        for ex in exercises for st in [rep_stats([r for _, rs in series[ex] for r in rs], affected)]]))
    for ex in exercises:
        out.append(f"<figure>{img(exercise_plot(ex, series[ex], treatments, affected), f'{ex} trends')}</figure>")
    out.append("</section>")

    out.append("<section class='pagebreak'><h2>Sunnybrook synkinesis: estimate</h2>"
               "<p class='estimate'>Estimate, not a diagnosis: computed from camera measurements, "
               "to be confirmed by a clinician's Sunnybrook assessment.</p>"
               f"<p class='note'>Median |co-movement| of the latest session with the expression; grade 0 below "
               f"{SYNKINESIS_GRADE_CUTOFFS[0]:g}, 1 below {SYNKINESIS_GRADE_CUTOFFS[1]:g}, 2 below "
               f"{SYNKINESIS_GRADE_CUTOFFS[2]:g}, else 3.</p>")
    out.append(_table(["expression", "estimated grade", "median |co-movement|", "reps", "session"], [
        _row([g["label"], "not practised" if g["grade"] is None else f"{g['grade']} ({GRADE_LABELS[g['grade']]})",
              _fmt(g.get("median")), g.get("n", ""), g.get("date", "")], f"grade-{g['exercise']}")
        for g in sunnybrook_estimates(series)]))
    out.append("</section>")

    toxin = toxin_windows(reps, treatments, affected, exercises)
    if toxin:
        out.append("<section><h2>Botulinum toxin: before and after</h2><p class='note'>The 2 weeks before "
                   "each injection against weeks 2–6 after it (full effect, before it wears off).</p>")
        for block in toxin:
            t = block["treatment"]
            units = f", {t['units']:g} units" if t["units"] is not None else ""
            sites = f": {_esc(t['sites'])}" if t["sites"] else ""
            out.append(f"<h3>{_esc(t['date'])}{sites}{units}</h3>")
            if not block["exercises"]:
                out.append("<p class='note'>No sessions in either window.</p>")
                continue
            out.append(_table(["exercise", "reps before", "synk-free before", "|co-movement| before",
                               "reps after", "synk-free after", "|co-movement| after"], [
                _row([ex, b["n"], _pct(b["free_rate"]), _fmt(b["co_move"]), a["n"], _pct(a["free_rate"]),
                      _fmt(a["co_move"])], f"toxin-{t['date']}-{ex}")
                for ex, b, a in block["exercises"]]))
        out.append("</section>")

    out.append(latest_section(store, sessions[-1]))
    out.append("</body></html>")
    return "".join(out)


def latest_section(store, session: dict) -> str:
    sets = store.session_sets(session["id"])
    reps = store.rep_rows(session_id=session["id"])
    events = store.event_rows(session_id=session["id"])
    started = local_dt(session["started"])
    duration = ""
    if session["ended"]:
        minutes = (local_dt(session["ended"]) - started).total_seconds() / 60
        duration = f", {minutes:.0f} min"
    out = [f"<section class='pagebreak'><h2>Latest session: {started:%Y-%m-%d %H:%M}</h2>"
           f"<p class='meta'>{_esc(session['status'])}{duration} · {_esc(session['kind'])}"
           f"{' · ' + _esc(session['source']) if session['source'] else ''} · coach {_esc(session['app_version'])}"
           f"{' · model ' + _esc(session['model_version']) if session['model_version'] else ''}</p>"]
    rows = []
    for s in sets:
        rs = [r for r in reps if r["set_id"] == s["id"]]
        done = [r for r in rs if r["complete"]]
        free = sum(1 for r in done if not r["synkinesis"])
        rows.append(_row([s["exercise"], s["planned_reps"] if s["planned_reps"] is not None else "–",
                          len(rs), len(done), _pct(free / len(done) if done else None),
                          _fmt(_mean(r["peak"] for r in done), ".2f"), _fmt(_mean(r["hold_s"] for r in done), ".1f"),
                          _fmt(_mean(r["hold_steadiness"] for r in done), ".2f")], f"set-{s['id']}"))
    out.append(_table(["exercise", "planned", "reps", "complete", "synkinesis-free", "mean peak",
                       "mean hold (s)", "steadiness"], rows) if rows else "<p>No exercise sets.</p>")
    if reps:
        out.append(img(latest_plot(sets, reps), "reps of the latest session"))
    if events:
        out.append("<h3>Events</h3>" + _table(["kind", "exercise", "side", "measure", "from (s)", "to (s)", "peak"], [
            _row([e["kind"].replace("_", " "), e["exercise"] or "", e["side"] or "", e["measure"] or "",
                  _fmt(e["start_s"], ".1f"), _fmt(e["end_s"], ".1f"), _fmt(e["peak"], "+.2f")]) for e in events]))
    out.append("</section>")
    return "".join(out)
