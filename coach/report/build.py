"""A patient's progress report: one self-contained, printable HTML file.

`build_report(store, code) -> str`. The page opens on a one-screen overview
(adherence, the clean-rep rate and evenness per exercise with the trend's
direction, the latest treatment's before/after effect), then the trends per
exercise, the Sunnybrook estimate, the treatments in detail, the latest session,
the list of sessions, the voided sessions (with their reasons, in no figure) and a glossary
of the figures (`coach.core.progress.FIGURES`).

Every figure comes from `coach.core.progress`, computed from the rows that
`coach.report.data.gather` reads (which also decides which sessions are shown).
Plots are inline SVG (`coach.report.plots`); this module and
`coach.report.sections` only lay the figures out.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from coach import __version__
from coach.core import progress
from coach.core.exercises import load_library
from coach.core.progress import local_dt
from coach.report.data import ReportData, gather
from coach.report.html import CSS, day, esc, opt, pct, points, row, table
from coach.report.care import due_section
from coach.report.plots import calendar_plot, svg
from coach.report.sections import (glossary_section, latest_section, plan_section, sessions_section,
                                   sunnybrook_section, toxin_section, trends_section, voided_section)

__all__ = ["build_report", "CSS"]

TREND_WORDS = {"up": "▲ up", "down": "▼ down", "steady": "▬ steady"}


def build_report(store, code: str, today: date | None = None, library: dict | None = None,
                 progress=None) -> str:
    """The whole page. `library`: the exercise library (default: the built-in one).
    `progress`: a `coach.bars.bar`, advanced once per section (plots over many sessions take a while)."""
    today = today or date.today()
    if library is None:
        library = load_library()[0]
    data = gather(store, code, today, library)
    out = [_head(data, code), due_section(data)]             # opens with what is due (as `coach due` says)
    if not data.sessions:
        out += [plan_section(data), "<p>No sessions recorded yet.</p>", voided_section(data),
                glossary_section(data), "</body></html>"]
        return "".join(out)
    sections = [overview_section, plan_section, trends_section, sunnybrook_section, toxin_section,
                lambda d: latest_section(store, d), sessions_section, voided_section, glossary_section]
    if progress is not None:
        progress.total = len(sections)
    for section in sections:
        out.append(section(data))
        if progress is not None:
            progress.update(1)
    out.append("</body></html>")
    return "".join(out)


def _head(data: ReportData, code: str) -> str:
    p = data.patient
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>coach report {esc(code)}</title><style>{CSS}</style></head><body>"
            f"<h1>Facial exercise report: {esc(p['code'])}{opt(' – ', p['display_name'])}</h1>"
            f"<p class='meta'>Affected side: {esc(p['affected_side'] or 'not recorded')} · report date "
            f"{day(data.today)} · coach {__version__}</p>")


# ---- the overview -----------------------------------------------------------------------
def overview_section(data: ReportData) -> str:
    return ("<section id='overview'><h2>Overview</h2><div class='cards'>"
            + _adherence_card(data) + _treatment_card(data) + "</div>"
            + svg(calendar_figure(data), "calendar", "adherence calendar: one square per day")
            + _exercise_overview(data) + "</section>")


def calendar_figure(data: ReportData):
    last = max(data.today, local_dt(data.sessions[-1]["started"]).date())
    return calendar_plot(_day_classes(data), _first_day(data), last, data.treatments)


def _first_day(data: ReportData) -> date:
    return local_dt(data.sessions[0]["started"]).date()


def _day_classes(data: ReportData) -> dict[date, str]:
    """day -> "two" (2+ full sessions), "one" or "partial" (interrupted or short sessions only)."""
    by_day: dict[date, list[str]] = defaultdict(list)
    for s in data.sessions:
        by_day[local_dt(s["started"]).date()].append(s["state"])
    out = {}
    for d, states in by_day.items():
        full = sum(progress.in_trend(st) for st in states)
        out[d] = "two" if full >= 2 else "one" if full == 1 else "partial"
    return out


def _adherence_card(data: ReportData) -> str:
    days = {local_dt(s["started"]).date() for s in data.sessions}
    a = progress.adherence(days, _first_day(data), data.today)
    recent = progress.adherence(days, max(a["first"], data.today - timedelta(days=27)), data.today)
    states = Counter(s["state"] for s in data.sessions)
    parts = ", ".join(f"<span id='n-{st}'>{states[st]}</span> {st.replace('-', ' ')}"
                      for st in ("completed", "short", "interrupted", "in-progress") if states[st] or st == "completed")
    return ("<div class='card' id='adherence'><h3>Adherence</h3>"
            f"<p class='big'>Practised on <b id='days-practised'>{a['practised']}</b> of "
            f"<b id='days-prescribed'>{a['prescribed']}</b> days (<span id='adherence-rate'>{pct(a['rate'])}</span>)"
            f"</p><p>Last 28 days: <span id='days-28'>{recent['practised']}</span> of {recent['prescribed']} days. "
            f"<span id='n-sessions'>{len(data.sessions)}</span> sessions: {parts}.</p>"
            f"<p class='note'>Days prescribed: every day from the first session ({day(a['first'])}) to the "
            "report date, as no practice schedule is recorded. Short: fewer than half the planned reps done.</p>"
            "</div>")


def _treatment_card(data: ReportData) -> str:
    past = [t for t in data.treatments if t["date"] <= data.today.isoformat()]
    if not past:
        return "<div class='card' id='latest-treatment'><h3>Latest treatment</h3><p>None recorded.</p></div>"
    latest = past[-1]
    out = ["<div class='card' id='latest-treatment'><h3>Latest treatment</h3>", f"<p>{_treatment_words(latest)}</p>"]
    toxins = [t for t in past if t["kind"] == "botulinum_toxin"]
    if toxins:
        if toxins[-1] is not latest:
            out.append(f"<p>Latest toxin injection: {_treatment_words(toxins[-1])}</p>")
        out.append(_toxin_effect(data, toxins[-1]))
    else:
        out.append("<p class='note'>Before and after are compared around botulinum toxin injections only.</p>")
    out.append("</div>")
    return "".join(out)


def _treatment_words(t: dict) -> str:
    units = f", {t['units']:g} units" if t["units"] is not None else ""
    sites = f" ({esc(t['sites'])}{units})" if t["sites"] else (f" ({units[2:]})" if units else "")
    return f"<b>{esc(t['kind'].replace('_', ' ').capitalize())}</b> on {day(t['date'])}{sites}"


def _toxin_effect(data: ReportData, t: dict) -> str:
    d = date.fromisoformat(t["date"])
    effect = progress.toxin_effect(data.reps, d, data.affected)
    windows = progress.toxin_window_days(d)
    b, a = effect["before"], effect["after"]
    after_end = windows["after"][1] - timedelta(days=1)
    state = ""
    if data.today < windows["after"][0]:
        state = f" The after window starts on {day(windows['after'][0])}."
    elif data.today < after_end:
        state = f" The after window runs until {day(after_end)}: figures so far."
    change = "" if a["free_rate"] is None or b["free_rate"] is None else f" ({points(a['free_rate'] - b['free_rate'])})"
    return ("<p class='big' id='toxin-effect'>Clean reps: <b id='toxin-before'>" + pct(b["free_rate"])
            + "</b> before → <b id='toxin-after'>" + pct(a["free_rate"]) + f"</b> after{change}</p>"
            f"<p class='note'>All exercises; complete reps: {b['n']} in the 2 weeks before, {a['n']} in weeks 2–6 "
            f"after (full effect, before it wears off).{state} Per exercise: see “Botulinum toxin”.</p>")


def _exercise_overview(data: ReportData) -> str:
    series = data.series()
    lo_hi = progress.trend_windows(data.today)
    rows = [_exercise_row(data, ex, series[ex]) for ex in data.exercises()]
    return ("<h3>Exercises</h3>"
            + table(["exercise", "sessions", "complete reps", "clean, all", "clean, last 4 wk", "clean, 4 wk before",
                     "trend (points)", "evenness, last 4 wk"], rows)
            + "<p class='note'>Clean rep: a complete rep without synkinesis. The trend compares full sessions of "
            f"the last 4 weeks ({day(lo_hi['recent'][0])} to {day(lo_hi['recent'][1])}) with the 4 weeks "
            f"before; “steady” is a change under {100 * progress.TREND_MIN_CHANGE:.0f} points. Evenness: the "
            "smaller side's movement as a share of the larger's (100 % = both sides moved equally).</p>")


def _exercise_row(data: ReportData, ex: str, pts) -> str:
    all_reps = [r for p in pts for r in p.reps]
    st = progress.rep_stats(all_reps, data.affected)
    tr = progress.trend(data.trend_points(pts), data.today)
    direction = TREND_WORDS.get(tr["direction"], "–")
    if tr["direction"]:
        direction += f" {100 * (tr['recent'] - tr['before']):+.0f}".replace("-", "−")
    return row([data.name(ex), len(pts), st["n"], pct(st["free_rate"]), pct(tr["recent"]), pct(tr["before"]),
                direction, pct(tr["evenness_recent"])], f"ex-{ex}")
