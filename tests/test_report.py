"""The HTML report, checked against SQL queries on the same database (not hard-coded numbers), and
its figures checked as drawn: units, hollow interrupted sessions, treatment windows, nothing clipped,
no text under 8 pt. The page as rendered by a browser: tests/test_report_browser.py."""
from __future__ import annotations

import html as htmlmod
import json
import re
import statistics
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from coach.core.calibration import Baseline, to_mm
from coach.core.exercises import load_library
from coach.core.measures import MEASURES
from coach.core.progress import SYNKINESIS_GRADE_CUTOFFS, TOXIN_AFTER_DAYS, TOXIN_BEFORE_DAYS
from coach.errors import CoachError
from coach.log.store import Store
from coach.report.build import build_report, calendar_figure
from coach.report.data import Point, gather, shown_sessions
from coach.report.plots import MIN_FONT_PT, PRINT_WIDTH_IN
from coach.report.sections import latest_figure, trend_figure, weekly
from coach.core.regions import CO_MOVEMENT_REGIONS
from store_fixtures import EXERCISES, START, SettableClock, build_history, record_session

TODAY = date(2024, 5, 1)
LIBRARY = load_library()[0]
NAMES = {ex: LIBRARY[ex].name for ex in EXERCISES}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = build_history(tmp_path_factory.mktemp("report") / "coach.db")
    store = Store.open(path)
    yield store, build_report(store, "P1", today=TODAY)
    store.close()


def q(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


def cells(page: str, row_id: str) -> list[str]:
    m = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page)
    assert m, f"no row {row_id}"
    return [htmlmod.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1))]


def num(page: str, elem_id: str) -> int:
    return int(re.search(rf"id='{elem_id}'>(\d+)<", page).group(1))


def pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f} %"


PID = "(SELECT id FROM patients WHERE code = 'P1')"
REPS = f"""FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
           WHERE s.patient_id = {PID} AND r.complete"""


# ---- figures against SQL ------------------------------------------------------------------------
def test_overview_numbers_match_sql(built):
    store, page = built
    [(n, done, interrupted, days, first)] = q(store, f"""SELECT count(*), sum(status = 'completed'),
        sum(status = 'interrupted'), count(DISTINCT substr(started, 1, 10)), min(substr(started, 1, 10))
        FROM sessions WHERE patient_id = {PID}""")
    assert (num(page, "n-sessions"), num(page, "n-completed"), num(page, "n-interrupted")) == (n, done, interrupted)
    assert num(page, "days-practised") == days
    assert num(page, "days-prescribed") == (TODAY - date.fromisoformat(first)).days + 1
    [(recent,)] = q(store, f"SELECT count(DISTINCT substr(started, 1, 10)) FROM sessions WHERE patient_id = {PID} "
                           "AND substr(started, 1, 10) BETWEEN ? AND ?",
                    [(TODAY - timedelta(days=27)).isoformat(), TODAY.isoformat()])
    assert num(page, "days-28") == recent


def test_per_exercise_rates_match_sql(built):
    store, page = built
    rows = q(store, f"""SELECT st.exercise, count(DISTINCT r.session_id), count(*),
                          1.0 * sum(NOT r.synkinesis) / count(*) {REPS} GROUP BY st.exercise""")
    assert {r[0] for r in rows} == set(EXERCISES)
    for ex, n_sessions, n_reps, free_rate in rows:
        c = cells(page, f"ex-{ex}")
        assert c[:4] == [NAMES[ex], str(n_sessions), str(n_reps), pct(free_rate)]
    # In the plan's order, by name.
    order = re.findall(r'<tr id="ex-([a-z-]+)"', page)
    assert order == list(EXERCISES)


def test_sunnybrook_estimates_match_sql(built):
    store, page = built
    assert "estimate, not a diagnosis" in page.lower()
    assert "not practised" not in page.lower()            # all five practised: no empty rows
    for ex in EXERCISES:
        latest = q(store, f"""SELECT s.id {REPS} AND st.exercise = ? ORDER BY s.started DESC LIMIT 1""", [ex])[0][0]
        peaks = [abs(v) for (v,) in q(store, f"SELECT r.synkinesis_peak {REPS} AND st.exercise = ? AND s.id = ?",
                                      [ex, latest])]
        median = statistics.median(peaks)
        grade = sum(median >= cut for cut in SYNKINESIS_GRADE_CUTOFFS)
        c = cells(page, f"grade-{ex}")
        assert c[0] == NAMES[ex] and c[1].startswith(f"{grade} (")
        assert c[2] == pct(median) and int(c[3]) == len(peaks)


def test_toxin_before_after_windows_match_sql(built):
    store, page = built
    [(day,)] = q(store, f"SELECT date FROM treatments WHERE patient_id = {PID} AND kind = 'botulinum_toxin'")
    d = date.fromisoformat(day)

    def window(ex, lo, hi):
        rows = q(store, f"""SELECT r.synkinesis, abs(r.synkinesis_peak)
                           {REPS} AND st.exercise = ? AND substr(s.started, 1, 10) >= ?
                           AND substr(s.started, 1, 10) < ?""",
                 [ex, (d + timedelta(days=lo)).isoformat(), (d + timedelta(days=hi)).isoformat()])
        # The typical co-movement: the median of the reps' peak co-movements.
        return len(rows), sum(not syn for syn, _ in rows) / len(rows), statistics.median(co for _, co in rows)

    for ex in EXERCISES:
        c = cells(page, f"toxin-{day}-{ex}")
        assert c[0] == NAMES[ex]
        for offset, (lo, hi) in ((1, TOXIN_BEFORE_DAYS), (4, TOXIN_AFTER_DAYS)):
            n, rate, co = window(ex, lo, hi)
            assert c[offset:offset + 3] == [str(n), pct(rate), pct(co)] and n > 0
    [(rate_before,)] = q(store, f"SELECT 1.0 * sum(NOT r.synkinesis) / count(*) {REPS} AND substr(s.started, 1, 10) "
                                "BETWEEN '2024-03-18' AND '2024-03-31'")
    assert f"id='toxin-before'>{pct(rate_before)}<" in page


def test_latest_session_detail_matches_sql(built):
    store, page = built
    [(sid, status)] = q(store, f"SELECT id, status FROM sessions WHERE patient_id = {PID} "
                               "ORDER BY started DESC LIMIT 1")
    assert "Latest session" in page and status in page
    for ex, planned, done, clean in q(store, """SELECT st.exercise, st.planned_reps, sum(r.complete),
                                               sum(r.complete AND NOT r.synkinesis) FROM sets st
                                               LEFT JOIN reps r ON r.set_id = st.id
                                               WHERE st.session_id = ? GROUP BY st.id""", [sid]):
        c = cells(page, f"latest-{ex}")
        assert (c[0], int(c[1]), int(c[2]), int(c[3])) == (NAMES[ex], planned, done, clean)


def test_session_list_has_every_session(built):
    store, page = built
    sessions = q(store, f"SELECT started, status, kind FROM sessions WHERE patient_id = {PID} ORDER BY started")
    for n, (started, status, kind) in enumerate(sessions, start=1):
        c = cells(page, f"session-{n}")
        when = datetime.fromisoformat(started)
        assert c[1:4] == [f"{when.day} {when:%b %Y}", f"{when:%H:%M}", kind] and c[5] == status
    assert f'id="session-{len(sessions)}" class="interrupted"' in page


def test_page_is_self_contained_with_inline_svg(built):
    store, page = built
    n_exercises = len(EXERCISES)
    regions = {w.region for ex in EXERCISES for w in LIBRARY[ex].watches} & set(CO_MOVEMENT_REGIONS)
    # calendar, one per exercise, the chin's and the neck's trends where an exercise watches them, latest session
    assert page.count("<svg ") == 1 + n_exercises + len(regions) + 1
    assert "<img" not in page and not re.search(r'(src|href)="(?!data:|#)', page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))                          # the SVGs' ids do not clash
    assert "@media print" in page and "width: 6.5in" in page


# ---- figures as drawn ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(built):
    return gather(built[0], "P1", TODAY, LIBRARY)


def drawn_texts(fig):
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    return renderer, [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def all_figures(data):
    series = data.series()
    return ([calendar_figure(data), latest_figure(data, data.sessions[-1])]
            + [trend_figure(data, ex, series[ex]) for ex in data.exercises()])


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_figures_print_at_8pt_or_more_and_nothing_is_clipped(data):
    for fig in all_figures(data):
        assert fig.get_figwidth() == PRINT_WIDTH_IN              # printed at 100 %: points are points
        renderer, texts = drawn_texts(fig)
        w, h = fig.bbox.width, fig.bbox.height
        for t in texts:
            assert t.get_fontsize() >= MIN_FONT_PT, t.get_text()
            box = t.get_window_extent(renderer)
            assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= w + 0.5 and box.y1 <= h + 0.5, t.get_text()
        for ax in fig.axes:                                      # every data point inside its panel
            lo, hi = ax.get_ylim()
            for line in ax.lines:
                y = np.asarray(line.get_ydata(), float)
                if len(y) and line.get_marker() not in (None, "None", ""):
                    assert lo <= y.min() and y.max() <= hi


def test_trend_plot_units_interrupted_and_treatment_windows(data):
    fig = trend_figure(data, "brow-lift", data.series()["brow-lift"])
    strip, rate, co, amp = fig.axes
    assert rate.get_title("left").endswith("% of complete reps")
    assert co.get_title("left").startswith("Typical co-movement: mouth-corner pull, % of mouth width")
    assert amp.get_title("left") == "Typical movement: brow height, each side, % of neutral brow height"
    assert [ax.get_ylabel() for ax in (rate, co, amp)] == ["%", "%", "%"] and amp.get_xlabel() == "date"
    _, texts = drawn_texts(fig)
    words = [t.get_text() for t in texts]
    assert not [w for w in words if re.search(r"\d{4}-[A-Z][a-z]{2}", w)]      # no offset label
    assert {"before", "after", "toxin 1 Apr", "other treatment 10 Mar"} <= set(words)
    assert {"interrupted or short (not in the line)", "2 weeks before toxin", "weeks 2–6 after toxin"} <= set(words)


def test_trend_plot_draws_interrupted_sessions_hollow_and_shades_windows(data):
    fig = trend_figure(data, "brow-lift", data.series()["brow-lift"])
    strip, rate, co, amp = fig.axes
    # The interrupted session: a hollow marker, not on the line.
    interrupted = [datetime.fromisoformat(s["started"]).replace(tzinfo=None) for s in data.sessions
                   if s["state"] == "interrupted"]
    hollow = [line for line in rate.lines if line.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == interrupted
    joined = [line for line in rate.lines if line.get_linestyle() == "-" and len(line.get_xdata()) > 2]
    assert interrupted[0] not in list(joined[0].get_xdata())
    # Both windows shaded on every panel; every treatment drawn on every panel.
    for ax in (strip, rate, co, amp):
        assert len(ax.patches) == 2
        assert {datetime.fromisoformat(t["date"]) for t in data.treatments} <= vertical_lines(ax)


def vertical_lines(ax) -> set:
    return {line.get_xdata()[0] for line in ax.lines
            if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]}


def test_calendar_marks_classes_by_pattern(data):
    fig = calendar_figure(data)
    ax = fig.axes[0]
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1                         # the one day with only an interrupted session
    assert len([p for p in ax.patches if p.get_linewidth() > 1.5]) == len(data.treatments)   # outlined days
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["2+ sessions completed", "1 session completed", "interrupted or short only", "no session",
                      "toxin day (outlined)", "other treatment day (outlined)"]


# ---- units in mm, short and voided sessions --------------------------------------------------------
def _iris_baseline(mm_per_iod: float) -> dict:
    values = np.full((len(MEASURES), 2), 0.4)
    return Baseline(values, np.zeros_like(values), 30, mm_per_iod, 120.0).to_dict()


def test_amplitude_in_mm_when_every_session_has_an_iris_calibration(tmp_path):
    with Store.open(tmp_path / "c.db") as store:
        store.add_patient("P3", affected_side="right")
        for i in range(3):
            record_session(store, "P3", START + timedelta(days=i), exercises=("brow-lift",))
        store.db.execute("UPDATE calibrations SET baseline = ?", [json.dumps(_iris_baseline(60.0))])
        data = gather(store, "P3", TODAY, LIBRARY)
        fig = trend_figure(data, "brow-lift", data.series()["brow-lift"])
        amp = fig.axes[-1]
        assert amp.get_title("left") == "Typical movement: brow height, each side, mm (from the iris calibration)"
        assert amp.get_ylabel() == "mm"
        base = Baseline.from_dict(_iris_baseline(60.0))
        reps = [r for r in data.reps if r["session_id"] == data.sessions[0]["id"] and r["complete"]]
        want = np.median([abs(to_mm(r["peak_right"], "brow_height", base)) for r in reps])   # affected: right
        first = [line for line in amp.lines if line.get_marker() == "o"][0]
        assert first.get_ydata()[0] == pytest.approx(want)
        # One session without the iris scale: back to % for the whole plot.
        store.db.execute("UPDATE calibrations SET baseline = ? WHERE session_id = ?",
                         [json.dumps(_iris_baseline(float("nan"))), data.sessions[1]["id"]])
        data = gather(store, "P3", TODAY, LIBRARY)
        assert trend_figure(data, "brow-lift", data.series()["brow-lift"]).axes[-1].get_ylabel() == "%"


def test_short_session_is_drawn_apart_and_named(tmp_path):
    with Store.open(tmp_path / "c.db") as store:
        store.add_patient("P4")
        for i in range(3):
            record_session(store, "P4", START + timedelta(days=i), exercises=("snarl",))
        sid = record_session(store, "P4", START + timedelta(days=3), exercises=("snarl",), reps=1)
        store.db.execute("UPDATE sets SET planned_reps = 5 WHERE session_id = ?", [sid])
        page = build_report(store, "P4", today=TODAY)
        assert cells(page, "session-4")[5] == "short" and 'class="short"' in page
        assert "<span id='n-short'>1</span> short" in page
        data = gather(store, "P4", TODAY, LIBRARY)
        assert [p.full for p in data.series()["snarl"]] == [True, True, True, False]


def test_voided_sessions_are_left_out_everywhere(tmp_path, monkeypatch):
    """Sessions to show come from one function: a session it leaves out is in no figure."""
    with Store.open(tmp_path / "c.db") as store:
        store.add_patient("P5")
        sids = [record_session(store, "P5", START + timedelta(days=i), exercises=("snarl",), rng=None)
                for i in range(4)]
        before = build_report(store, "P5", today=TODAY)
        sessions = store.sessions
        monkeypatch.setattr(store, "sessions", lambda code=None: [
            {**s, "voided": int(s["id"] == sids[1])} for s in sessions(code)])
        assert [s["id"] for s in shown_sessions(store, "P5")] == sids[:1] + sids[2:]
        page = build_report(store, "P5", today=TODAY)
        assert num(before, "n-sessions") == 4 and num(page, "n-sessions") == 3
        assert "session-4" not in page and "session-3" in page
        [(n,)] = q(store, "SELECT count(*) FROM reps WHERE complete AND session_id != ?", [sids[1]])
        assert cells(page, "ex-snarl")[2] == str(n)


def test_weekly_points_keep_partial_sessions_apart():
    mon = "2024-03-04T18:00:00.000+01:00"
    pts = [Point(mon, [{"id": 1}], True), Point("2024-03-06T18:00:00.000+01:00", [{"id": 2}], True),
           Point("2024-03-07T18:00:00.000+01:00", [{"id": 3}], False),
           Point("2024-03-12T18:00:00.000+01:00", [{"id": 4}], True)]
    out = weekly(pts)
    assert [(p.started, len(p.reps), p.full) for p in out] == [
        ("2024-03-04", 2, True), ("2024-03-04", 1, False), ("2024-03-11", 1, True)]


# ---- edge cases ----------------------------------------------------------------------------------
def test_sunnybrook_lists_only_practised_and_names_the_missing(tmp_path):
    with Store.open(tmp_path / "c.db") as store:
        store.add_patient("P6")
        record_session(store, "P6", START, exercises=("brow-lift", "snarl"))
        page = build_report(store, "P6", today=TODAY)
        assert re.findall(r'id="grade-([a-z-]+)"', page) == ["brow-lift", "snarl"]
        assert ("Not practised, so not estimated: Gentle eye closure, Open-mouth smile, Lip pucker." in page)


def test_patient_without_sessions_and_unknown_patient(tmp_path):
    with Store.open(tmp_path / "c.db", clock=SettableClock(START)) as store:
        store.add_patient("P2")
        page = build_report(store, "P2")
        assert "No sessions recorded yet" in page and "<svg" not in page
        sid = store.start_session("P2")
        store.end_session(sid)
        page = build_report(store, "P2", today=START.date())      # a session with no sets or reps
        assert page.count("<svg") == 1 and "No exercise sets." in page
        with pytest.raises(CoachError, match="No patient with code P3."):
            build_report(store, "P3")


def test_a_plan_that_leaves_hold_and_rest_to_the_exercise_shows_the_exercise_file_values(tmp_path):
    """A plan item may give only the exercise (and reps): the report shows the exercise file's hold
    and rest, as the session uses them, instead of failing."""
    library = load_library()[0]
    with Store.open(tmp_path / "c.db", clock=SettableClock(START - timedelta(days=1))) as store:
        store.add_patient("P9", None, "left")
        store.set_plan("P9", [{"exercise": "gentle-smile", "reps": 6}])
        record_session(store, "P9", START, exercises=("gentle-smile",))
        page = build_report(store, "P9", today=START.date(), library=library)
    smile = library["gentle-smile"]
    cells = re.search(r"<tr><td>Gentle smile</td>(.*?)</tr>", page.replace(smile.name, "Gentle smile"), re.S)
    assert cells, "the plan table has no row for the smile"
    values = re.findall(r"<td[^>]*>([^<]*)</td>", cells.group(1))
    assert values[:3] == ["6", f"{smile.hold_s:g}", f"{smile.rest_s:g}"]


def test_the_report_advances_a_progress_bar_once_per_section(tmp_path):
    import io

    from coach.bars import bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with Store.open(tmp_path / "c.db", clock=SettableClock(START - timedelta(days=1))) as store:
        store.add_patient("P9", None, "left")
        record_session(store, "P9", START, exercises=("gentle-smile",))
        tty = Terminal()
        with bar("Report", unit="section", stream=tty, delay_s=0) as progress:
            page = build_report(store, "P9", today=START.date(), library=load_library()[0], progress=progress)
            assert progress.n == progress.total >= page.count("<section") > 0
    assert re.search(r"Report: +\d+%\|.*\| \d+/\d+ ", tty.getvalue())          # drawn, with its total
