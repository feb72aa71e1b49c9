"""The report's detailed sections, after the overview: plan and treatments, trends per exercise,
the Sunnybrook estimate, botulinum toxin before and after, the latest session, the session list.

Each takes `coach.report.data.ReportData` (the sessions shown, read once) and returns HTML.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from coach.core import progress
from coach.core.progress import FIGURES, GRADE_LABELS, SYNKINESIS_GRADE_CUTOFFS, local_dt
from coach.core.regions import CO_MOVEMENT_REGIONS, region_series
from coach.core.sites import regions_in
from coach.core.summary import COLUMNS, STATUS_WORDS, plain_value, session_rows
from coach.report.data import Point, ReportData, unit_of
from coach.report.html import day, esc, fmt, opt, pct, row, table
from coach.report.plots import exercise_plot, latest_plot, region_plot, svg

WEEKLY_ABOVE = 40                # more sessions than this: trend plots show weekly points


def _pct100(v) -> float | None:
    return None if v is None else 100 * v


# ---- plan and treatments ------------------------------------------------------------------
def _prescribed(data: ReportData, item: dict) -> list[str]:
    """Reps, hold and rest of a plan item; where the plan leaves one out, the exercise file's."""
    ex = data.library.get(item["exercise"])
    values = (item.get("reps", ex and ex.reps), item.get("hold_s", ex and ex.hold_s), item.get("rest_s", ex and ex.rest_s))
    return ["?" if v is None else f"{v:g}" for v in values]


def plan_section(data: ReportData) -> str:
    out = ["<section><h2>Plan and treatments</h2>"]
    if data.plan:
        out.append(table(["exercise", "reps", "hold (s)", "rest (s)", "thresholds"], [
            row([data.name(i["exercise"]), *_prescribed(data, i),
                 ", ".join(f"{k.replace('_', ' ')} {100 * v:g} %" for k, v in (i.get("thresholds") or {}).items())])
            for i in data.plan]))
    else:
        out.append("<p class='note'>No exercise plan set.</p>")
    if data.treatments:
        out.append(table(["date", "treatment", "sites", "units", "notes"], [
            row([day(t["date"]), t["kind"].replace("_", " "), t["sites"], fmt(t["units"], "g"), t["notes"]])
            for t in data.treatments]))
    out.append("</section>")
    return "".join(out)


# ---- trends -------------------------------------------------------------------------------
def weekly(points: list[Point]) -> list[Point]:
    """Pool sessions by week (dated on the Monday), full and partial sessions apart."""
    weeks: dict[tuple[str, bool], list[dict]] = defaultdict(list)
    for p in points:
        monday = p.when.date() - timedelta(days=p.when.weekday())
        weeks[(monday.isoformat(), p.full)].extend(p.reps)
    order = sorted(weeks, key=lambda key: (key[0], not key[1]))          # full before partial
    return [Point(started, weeks[(started, full)], full) for started, full in order]


def _co_title(data: ReportData, ex: str) -> str:
    watches = data.watch_measures(ex)
    units = {unit_of(m) for m, _ in watches}
    name = FIGURES["typical_co_movement"].name.capitalize()
    if len(units) == 1:
        label = " / ".join(lbl for _, lbl in watches)
        return f"{name}: {label.lower()}, {units.pop()} (dotted: grade cut-offs)"
    return f"{name}, % of the watched measure's neutral size (dotted: grade cut-offs)"


def _trend_rows(data: ReportData, ex: str, points: list[Point]) -> tuple[list[dict], dict]:
    """Rows for `exercise_plot` in the units shown, and the panel labels."""
    all_reps = [r for p in points for r in p.reps]
    in_mm = data.mm_reps(all_reps, ex) is not None
    measure = data.prime_measure(ex)
    rows = []
    for p in points:
        st = progress.rep_stats(p.reps, data.affected)
        amp = progress.rep_stats(data.mm_reps(p.reps, ex) or [], data.affected) if in_mm else \
            {k: _pct100(st[k]) for k in ("amp_first", "amp_second")}
        rows.append({"when": p.when, "full": p.full, "rate": _pct100(st["free_rate"]),
                     "co": _pct100(st["typical_co_movement"]),
                     "amp_first": amp["amp_first"], "amp_second": amp["amp_second"]})
    what = (measure or "movement").replace("_", " ")
    amp_title = (f"Typical movement: {what}, each side, mm (from the iris calibration)" if in_mm
                 else f"Typical movement: {what}, each side, {unit_of(measure)}")
    return rows, {"co_title": _co_title(data, ex), "amp_title": amp_title, "amp_unit": "mm" if in_mm else "%",
                  "sides": data.side_words}


def trend_figure(data: ReportData, ex: str, points: list[Point]):
    """The trend plot of one exercise (weekly points above WEEKLY_ABOVE sessions)."""
    title = data.name(ex)
    if len(points) > WEEKLY_ABOVE:
        points, title = weekly(points), title + " (weekly)"
    rows, labels = _trend_rows(data, ex, points)
    return exercise_plot(title, rows, data.treatments, labels)


def trends_section(data: ReportData) -> str:
    series = data.series()
    out = ["<section id='trends'><h2>Trends per exercise</h2><p class='note'>One point per session "
           "(per week when there are more than 40). Filled points joined by a line: full sessions; hollow "
           "points: interrupted or short sessions, left out of the line. Rates and typical values count "
           "complete reps only (see the glossary). Shaded: the 2 weeks before a toxin injection and weeks 2–6 after it.</p>"]
    for i, ex in enumerate(data.exercises()):
        out.append(f"<figure id='trend-{esc(ex)}'>"
                   + svg(trend_figure(data, ex, series[ex]), f"trend{i}", f"{data.name(ex)}: trends")
                   + "</figure>")
    out.append(region_trends(data))
    out.append("</section>")
    return "".join(out)


REGION_TITLES = {"chin": "Chin (mentalis)", "neck": "Neck (platysma)"}


def region_treatments(data: ReportData, region: str) -> list[dict]:
    """The treatments whose sites name the region's muscle (a toxin into mentalis: the chin's trend)."""
    return [t for t in data.treatments if region in regions_in(t["sites"])]


def region_trends(data: ReportData) -> str:
    """The chin's and the neck's co-movement per session, over the sessions that watched them, each with
    the treatments into its muscle (`progress.REGION_FIGURES`: the events of that region's watches)."""
    out = []
    for region in CO_MOVEMENT_REGIONS:
        series = region_series(data.sessions, data.sets, data.events, data.library, region)
        if not series:
            continue
        rows = [{"when": local_dt(started), "full": progress.in_trend(state), "events": n}
                for started, state, n in series]
        fig = region_plot(f"{REGION_TITLES[region]}: co-movement", rows, region_treatments(data, region),
                          f"{progress.REGION_FIGURES[f'{region}_events'].name.capitalize()} per session "
                          "(all exercises that watch it)")
        out.append(f"<figure id='trend-region-{region}'>" + svg(fig, f"region-{region}", f"{region} co-movement")
                   + "</figure>")
    if not out:
        return ""
    return ("<h3 id='regions'>Chin and neck</h3><p class='note'>Co-movement events of the chin and of the neck, "
            "per session, in the sessions with an exercise that watches them. A treatment is drawn on a "
            "region's trend when its sites name that region's muscle (mentalis, platysma).</p>" + "".join(out))


# ---- Sunnybrook and toxin -----------------------------------------------------------------
def sunnybrook_section(data: ReportData) -> str:
    cuts = SYNKINESIS_GRADE_CUTOFFS
    estimates = progress.sunnybrook_estimates(progress.per_session(data.reps), data.library, data.events)
    done = [g for g in estimates if g["grade"] is not None]
    missing = [g["label"] for g in estimates if g["grade"] is None]
    out = ["<section id='sunnybrook'><h2>Sunnybrook synkinesis: estimate</h2>"
           "<p class='estimate'>Estimate, not a diagnosis: computed from camera measurements, "
           "to be confirmed by a clinician's Sunnybrook assessment.</p>"
           f"<p class='note'>Typical co-movement (the median of the reps' peaks) of the latest session with the "
           f"expression; grade 0 below "
           f"{100 * cuts[0]:g} %, 1 below {100 * cuts[1]:g} %, 2 below {100 * cuts[2]:g} %, else 3. Every watched "
           "region counts (eye, mouth, chin, neck): a rep's co-movement is its largest in any of them. "
           "Co-movement in: the regions with co-movement events in that session (how many).</p>"]
    if done:
        out.append(table(["expression", "estimated grade", FIGURES["typical_co_movement"].column, "reps",
                          "co-movement in", "session"], [
            row([g["label"], f"{g['grade']} ({GRADE_LABELS[g['grade']]})", pct(g["typical_co_movement"]), g["n"],
                 ", ".join(f"{region} ({n})" for region, n in g["regions"].items()) or "–", day(g["date"])],
                f"grade-{g['exercise']}") for g in done]))
    if missing:
        out.append(f"<p id='sunnybrook-missing'>Not practised, so not estimated: {esc(', '.join(missing))}.</p>")
    out.append("</section>")
    return "".join(out)


def toxin_section(data: ReportData) -> str:
    blocks = progress.toxin_windows(data.reps, data.treatments, data.affected, data.exercises())
    if not blocks:
        return ""
    return ("<section><h2>Botulinum toxin: before and after</h2><p class='note'>The 2 weeks before each "
            "injection against weeks 2–6 after it (full effect, before it wears off). Complete reps of all "
            "sessions in the window. Typical co-movement: the median of the reps' peak co-movements, in % of its "
            "measure's neutral size.</p>"
            + "".join(_toxin_block(data, block) for block in blocks) + "</section>")


def _toxin_block(data: ReportData, block: dict) -> str:
    t = block["treatment"]
    units = f", {t['units']:g} units" if t["units"] is not None else ""
    heading = f"<h3>{day(t['date'])}{opt(': ', t['sites'])}{units}</h3>"
    if not block["exercises"]:
        return heading + "<p class='note'>No sessions in either window.</p>"
    return heading + table(["exercise", "reps before", "clean before", "typical co-movement before",
                            "reps after", "clean after", "typical co-movement after"], [
        row([data.name(ex), b["n"], pct(b["free_rate"]), pct(b["typical_co_movement"]), a["n"], pct(a["free_rate"]),
             pct(a["typical_co_movement"])], f"toxin-{t['date']}-{ex}")
        for ex, b, a in block["exercises"]])


# ---- the latest session -------------------------------------------------------------------
def latest_figure(data: ReportData, session: dict):
    """Per rep of `session`, in set order: movement and co-movement (None: no reps)."""
    reps = [r for r in data.reps if r["session_id"] == session["id"]]
    if not reps:
        return None
    order = {s["id"]: i for i, s in enumerate(data.sets[session["id"]])}
    ordered = sorted(reps, key=lambda r: (order.get(r["set_id"], 99), r["idx"]))
    names = {ex: data.name(ex) for ex in {r["exercise"] for r in reps}}
    co_title = "Each rep's peak co-movement, % of the watched measure's neutral size"
    return latest_plot(ordered, names, co_title)


LATEST_FIGURES = ("planned", "done", "clean", "clean_rate", "typical_movement", "typical_co_movement",
                  "largest_co_movement", "mean_hold", "steadiness")


def figure_cell(key: str, value) -> str:
    """A figure as the report prints it: the value sessions.csv holds (its unit is in the column's title)."""
    value = plain_value(key, value)
    return "–" if value is None else str(value)


def latest_section(store, data: ReportData) -> str:
    session = data.sessions[-1]
    reps = [r for r in data.reps if r["session_id"] == session["id"]]
    rows = [row([c["exercise"], *(figure_cell(k, c[k]) for k in LATEST_FIGURES)], f"latest-{c['exercise_id']}")
            for c in session_rows([session], data.sets, reps, data.name, data.events, data.library)]
    headers = ["exercise", COLUMNS["planned"], *(FIGURES[k].column for k in LATEST_FIGURES[1:])]
    out = [_latest_heading(session, reps),
           table(headers, rows, "figures") + "<p class='note'>Per exercise, the figures of sessions.csv: see the glossary "
           "at the end.</p>" if rows else "<p>No exercise sets.</p>"]
    fig = latest_figure(data, session)
    if fig is not None:
        out.append(svg(fig, "latest", "reps of the latest session"))
    events = store.event_rows(session_id=session["id"])
    if events:
        out.append(_events_table(data, events))
    out.append("</section>")
    return "".join(out)


def _latest_heading(session: dict, reps: list[dict]) -> str:
    started = local_dt(session["started"])
    return (f"<section id='latest'><h2>Latest session: {day(started.date())} "
            f"{started:%H:%M}</h2><p class='meta'>{esc(STATUS_WORDS.get(session['state'], session['state']))}"
            f" · {esc(_duration(session, reps))} · {esc(session['kind'])}{opt(' · ', session['source'])} · "
            f"coach {esc(session['app_version'])}{opt(' · model ', session['model_version'])}</p>")


def _events_table(data: ReportData, events: list[dict]) -> str:
    """The session's events; a synkinesis event's peak is shown as its size, as in the chart above."""
    return "<h3>Events</h3>" + table(["kind", "exercise", "side", "measure", "from (s)", "to (s)",
                                      "peak co-movement"], [
        row([e["kind"].replace("_", " "), data.name(e["exercise"]) if e["exercise"] else "", e["side"] or "",
             (e["measure"] or "").replace("_", " "), fmt(e["start_s"], ".1f"), fmt(e["end_s"], ".1f"),
             pct(progress.co_movement(e["peak"]))]) for e in events])


# ---- the session list ---------------------------------------------------------------------
def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def _duration(session: dict, reps: list[dict]) -> str:
    """Start to end; for a session without an end, up to its last rep ("≥")."""
    if session["ended"]:
        return _minutes((local_dt(session["ended"]) - local_dt(session["started"])).total_seconds())
    last = max((r["end_s"] for r in reps if r["end_s"] is not None), default=None)
    return "–" if last is None else f"≥ {_minutes(last)}"


def _session_row(n: int, s: dict, reps: list[dict], cells: dict[str, dict], exercises: list[str]) -> str:
    """`cells`: exercise -> the session's `coach.core.summary` row (the same rows as sessions.csv)."""
    started = local_dt(s["started"])
    return row([n, day(started.date()), f"{started:%H:%M}", s["kind"], _duration(s, reps),
                STATUS_WORDS.get(s["state"], s["state"])]
               + [f"{c['done']}/{c['planned']}" if (c := cells.get(ex)) and c["planned"] is not None else "–"
                  for ex in exercises], f"session-{n}", s["state"])


def sessions_section(data: ReportData) -> str:
    exercises = data.exercises()
    by_session: dict[str, list[dict]] = defaultdict(list)
    for r in data.reps:
        by_session[r["session_id"]].append(r)
    cells: dict[str, dict[str, dict]] = defaultdict(dict)
    for c in session_rows(data.sessions, data.sets, data.reps, data.name, data.events, data.library):
        cells[c["session_id"]][c["exercise_id"]] = c
    rows = [_session_row(n, s, by_session[s["id"]], cells[s["id"]], exercises)
            for n, s in enumerate(data.sessions, start=1)]
    return ("<section id='sessions'><h2>Sessions</h2><p class='note'>Reps per exercise: "
            "complete reps / planned reps. Short: completed with fewer than half the planned reps complete. "
            "Interrupted: ended without finishing (duration up to its last rep). Both are left out of the "
            "trend lines.</p>"
            + table(["#", "date", "start", "kind", "duration", "status"] + [data.name(ex) for ex in exercises],
                    rows, "long") + "</section>")


# ---- voided sessions and the glossary ------------------------------------------------------
def voided_section(data: ReportData) -> str:
    """The voided sessions with their reasons: kept in the log, left out of every figure above."""
    if not data.voided:
        return ""
    rows = []
    for s in data.voided:
        started = local_dt(s["started"])
        rows.append(row([day(started.date()), f"{started:%H:%M}", s["kind"], s["voided"]], f"voided-{s['id']}"))
    return ("<section id='voided'><h2>Voided sessions</h2><p class='note'>Kept in the log but left out of every "
            "figure, table and plot of this report (and of sessions.csv, the workbook and FHIR).</p>"
            + table(["date", "start", "kind", "reason"], rows) + "</section>")


def glossary_section(data: ReportData) -> str:
    """Each figure the report shows: its name, its unit and how it is computed (`progress.FIGURES`)."""
    figures = {**FIGURES, **progress.REGION_FIGURES, **progress.REP_FIGURES, **progress.REPORT_FIGURES}
    return ("<section id='glossary'><h2>Glossary</h2><p class='note'>Every figure here has the same name, "
            "unit and definition in sessions.csv, the workbook, FHIR and the review's queries.</p>"
            + table(["figure", "unit", "how it is computed"],
                    [row([f.name, f.unit_words, f.how], f"glossary-{key}") for key, f in figures.items()])
            + "</section>")
