"""A patient's progress report: one self-contained, printable HTML file.

`build_report(store, code) -> str`. Every figure comes from
`coach.core.progress` (computed from the store's rows; rates count *complete*
reps only: a rep cut short by a lost face says nothing about synkinesis). The
plots (`coach.report_plots`) are matplotlib PNGs embedded as base64. This
module only lays the figures out, one small function per part of the page.
"""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

from matplotlib.figure import Figure

from coach import __version__
from coach.core import progress
from coach.core.exercises import load_library
from coach.core.progress import GRADE_LABELS, SYNKINESIS_GRADE_CUTOFFS, local_dt
from coach.report_plots import calendar_plot, exercise_plot, latest_plot, png

__all__ = ["build_report", "latest_section", "exercise_plot", "calendar_plot", "latest_plot", "CSS"]


def _fmt(v, spec=".3f", none="–") -> str:
    return none if v is None else format(v, spec)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _opt(prefix: str, v) -> str:
    """`prefix` and the escaped value, or nothing when there is no value."""
    return prefix + _esc(v) if v else ""


def img(fig: Figure, alt: str) -> str:
    return f'<img class="plot" alt="{_esc(alt)}" src="data:image/png;base64,{png(fig)}">'


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


def build_report(store, code: str, today: date | None = None, library: dict | None = None) -> str:
    """The whole page. `library`: the exercise library (default: the built-in one)."""
    today = today or date.today()
    patient = store.get_patient(code)
    sessions = store.sessions(code)
    reps = store.rep_rows(code)
    treatments = store.list_treatments(code)
    plan = store.get_plan(code)
    out = [_head(patient, code, today), _summary_section(sessions, reps, plan, treatments, today)]
    if not sessions:
        out.append("<p>No sessions recorded yet.</p></body></html>")
        return "".join(out)
    if library is None:
        library = load_library()[0]
    affected = patient["affected_side"]
    series = progress.per_session(reps)
    exercises = _exercise_order(series, plan)
    out += [_adherence_section(sessions, treatments, today),
            _exercises_section(series, exercises, treatments, affected),
            _sunnybrook_section(series, library),
            _toxin_section(reps, treatments, affected, exercises),
            latest_section(store, sessions[-1]),
            "</body></html>"]
    return "".join(out)


def _exercise_order(series: dict, plan: list[dict] | None) -> list[str]:
    """The plan's exercises in its order, then any others by name."""
    plan_order = [i["exercise"] for i in plan or []]
    return sorted(series, key=lambda ex: (ex not in plan_order,
                                          plan_order.index(ex) if ex in plan_order else 0, ex))


def _head(patient: dict, code: str, today: date) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>coach report {_esc(code)}</title><style>{CSS}</style></head><body>"
            f"<h1>Facial exercise report: {_esc(patient['code'])}{_opt(' – ', patient['display_name'])}</h1>"
            f"<p class='meta'>Affected side: {_esc(patient['affected_side'] or 'not recorded')} · generated "
            f"{today.isoformat()} by coach {__version__}</p>")


# ---- summary ----------------------------------------------------------------------
def _summary_section(sessions: list[dict], reps: list[dict], plan, treatments: list[dict], today: date) -> str:
    n_completed = sum(s["status"] == "completed" for s in sessions)
    n_interrupted = sum(s["status"] == "interrupted" for s in sessions)
    recent = {local_dt(s["started"]).date() for s in sessions
              if today - timedelta(days=27) <= local_dt(s["started"]).date() <= today}
    out = ["<section><h2>Summary</h2><p>"
           f"<span id='n-sessions'>{len(sessions)}</span> sessions "
           f"(<span id='n-completed'>{n_completed}</span> completed, "
           f"<span id='n-interrupted'>{n_interrupted}</span> interrupted); "
           f"<span id='n-reps'>{len(progress.complete_reps(reps))}</span> complete reps; "
           f"practised on <span id='days-28'>{len(recent)}</span> of the last 28 days.</p>",
           _plan_table(plan)]
    if treatments:
        out.append(_treatments_table(treatments))
    out.append("</section>")
    return "".join(out)


def _plan_table(plan: list[dict] | None) -> str:
    if not plan:
        return "<p class='note'>No exercise plan set.</p>"
    return _table(["exercise", "reps", "hold (s)", "rest (s)", "thresholds"], [
        _row([i["exercise"], i["reps"], f"{i['hold_s']:g}", f"{i['rest_s']:g}",
              ", ".join(f"{k}={v:g}" for k, v in i["thresholds"].items())]) for i in plan])


def _treatments_table(treatments: list[dict]) -> str:
    return "<h3>Treatments</h3>" + _table(["date", "kind", "sites", "units", "notes"], [
        _row([t["date"], t["kind"].replace("_", " "), t["sites"], _fmt(t["units"], "g"), t["notes"]])
        for t in treatments])


# ---- adherence and exercises ------------------------------------------------------
def _adherence_section(sessions: list[dict], treatments: list[dict], today: date) -> str:
    return ("<section><h2>Adherence</h2>"
            + img(calendar_plot(sessions, treatments, today), "adherence calendar") + "</section>")


def _exercises_section(series: dict, exercises: list[str], treatments: list[dict], affected: str | None) -> str:
    side_words = ("affected", "other") if affected else ("left", "right")
    rows = []
    for ex in exercises:
        st = progress.rep_stats([r for _, rs in series[ex] for r in rs], affected)
        rows.append(_row([ex, len(series[ex]), st["n"], _pct(st["free_rate"]), _fmt(st["co_move"]),
                          _fmt(st["amp_first"]), _fmt(st["amp_second"])], f"ex-{ex}"))
    out = ["<section><h2>Exercises</h2><p class='note'>Complete reps only. Co-movement: the largest "
           "unwanted movement during a rep, as a relative change (0.25 = 25 %). Amplitude: the exercise's "
           "own movement on each side.</p>",
           _table(["exercise", "sessions", "complete reps", "synkinesis-free", "mean |co-movement|",
                   f"amplitude {side_words[0]}", f"amplitude {side_words[1]}"], rows)]
    out += [f"<figure>{img(exercise_plot(ex, series[ex], treatments, affected), f'{ex} trends')}</figure>"
            for ex in exercises]
    out.append("</section>")
    return "".join(out)


# ---- Sunnybrook and toxin ---------------------------------------------------------
def _grade_cell(grade: int | None) -> str:
    return "not practised" if grade is None else f"{grade} ({GRADE_LABELS[grade]})"


def _sunnybrook_section(series: dict, library: dict) -> str:
    cuts = SYNKINESIS_GRADE_CUTOFFS
    rows = [_row([g["label"], _grade_cell(g["grade"]), _fmt(g.get("median")), g.get("n", ""), g.get("date", "")],
                 f"grade-{g['exercise']}")
            for g in progress.sunnybrook_estimates(series, library)]
    return ("<section class='pagebreak'><h2>Sunnybrook synkinesis: estimate</h2>"
            "<p class='estimate'>Estimate, not a diagnosis: computed from camera measurements, "
            "to be confirmed by a clinician's Sunnybrook assessment.</p>"
            f"<p class='note'>Median |co-movement| of the latest session with the expression; grade 0 below "
            f"{cuts[0]:g}, 1 below {cuts[1]:g}, 2 below {cuts[2]:g}, else 3.</p>"
            + _table(["expression", "estimated grade", "median |co-movement|", "reps", "session"], rows)
            + "</section>")


def _toxin_section(reps: list[dict], treatments: list[dict], affected: str | None, exercises: list[str]) -> str:
    toxin = progress.toxin_windows(reps, treatments, affected, exercises)
    if not toxin:
        return ""
    return ("<section><h2>Botulinum toxin: before and after</h2><p class='note'>The 2 weeks before "
            "each injection against weeks 2–6 after it (full effect, before it wears off).</p>"
            + "".join(_toxin_block(block) for block in toxin) + "</section>")


def _toxin_block(block: dict) -> str:
    t = block["treatment"]
    units = f", {t['units']:g} units" if t["units"] is not None else ""
    heading = f"<h3>{_esc(t['date'])}{_opt(': ', t['sites'])}{units}</h3>"
    if not block["exercises"]:
        return heading + "<p class='note'>No sessions in either window.</p>"
    return heading + _table(["exercise", "reps before", "synk-free before", "|co-movement| before",
                             "reps after", "synk-free after", "|co-movement| after"], [
        _row([ex, b["n"], _pct(b["free_rate"]), _fmt(b["co_move"]), a["n"], _pct(a["free_rate"]),
              _fmt(a["co_move"])], f"toxin-{t['date']}-{ex}")
        for ex, b, a in block["exercises"]])


# ---- the latest session -----------------------------------------------------------
def latest_section(store, session: dict) -> str:
    sets = store.session_sets(session["id"])
    reps = store.rep_rows(session_id=session["id"])
    events = store.event_rows(session_id=session["id"])
    rows = [_set_row(s, [r for r in reps if r["set_id"] == s["id"]]) for s in sets]
    out = [_latest_heading(session),
           _table(["exercise", "planned", "reps", "complete", "synkinesis-free", "mean peak",
                   "mean hold (s)", "steadiness"], rows) if rows else "<p>No exercise sets.</p>"]
    if reps:
        out.append(img(latest_plot(sets, reps), "reps of the latest session"))
    if events:
        out.append(_events_table(events))
    out.append("</section>")
    return "".join(out)


def _latest_heading(session: dict) -> str:
    started = local_dt(session["started"])
    duration = ""
    if session["ended"]:
        minutes = (local_dt(session["ended"]) - started).total_seconds() / 60
        duration = f", {minutes:.0f} min"
    return (f"<section class='pagebreak'><h2>Latest session: {started:%Y-%m-%d %H:%M}</h2>"
            f"<p class='meta'>{_esc(session['status'])}{duration} · {_esc(session['kind'])}"
            f"{_opt(' · ', session['source'])} · coach {_esc(session['app_version'])}"
            f"{_opt(' · model ', session['model_version'])}</p>")


def _set_row(s: dict, rs: list[dict]) -> str:
    st = progress.rep_stats(rs)
    steadiness = progress.mean(r["hold_steadiness"] for r in progress.complete_reps(rs))
    return _row([s["exercise"], s["planned_reps"] if s["planned_reps"] is not None else "–",
                 len(rs), st["n"], _pct(st["free_rate"]), _fmt(st["mean_peak"], ".2f"),
                 _fmt(st["mean_hold_s"], ".1f"), _fmt(steadiness, ".2f")], f"set-{s['id']}")


def _events_table(events: list[dict]) -> str:
    return "<h3>Events</h3>" + _table(["kind", "exercise", "side", "measure", "from (s)", "to (s)", "peak"], [
        _row([e["kind"].replace("_", " "), e["exercise"] or "", e["side"] or "", e["measure"] or "",
              _fmt(e["start_s"], ".1f"), _fmt(e["end_s"], ".1f"), _fmt(e["peak"], "+.2f")]) for e in events])
