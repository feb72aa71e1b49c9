"""The HTML report, checked against SQL queries on the same database (not hard-coded numbers)."""
from __future__ import annotations

import html as htmlmod
import re
import statistics
from datetime import date, datetime, timedelta

import pytest

from coach.core.progress import SYNKINESIS_GRADE_CUTOFFS, TOXIN_AFTER_DAYS, TOXIN_BEFORE_DAYS, per_session
from coach.errors import CoachError
from coach.io.store import Store
from coach.report import build_report, exercise_plot
from store_fixtures import EXERCISES, build_history

TODAY = date(2024, 5, 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = build_history(tmp_path_factory.mktemp("report") / "coach.db")
    store = Store.open(path)
    yield store, build_report(store, "P1", today=TODAY)
    store.close()


def q(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


def cells(page: str, row_id: str) -> list[str]:
    m = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', page)
    assert m, f"no row {row_id}"
    return [htmlmod.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1))]


def span(page: str, span_id: str) -> int:
    return int(re.search(rf"<span id='{span_id}'>(\d+)</span>", page).group(1))


def pct_close(cell: str, value: float) -> bool:
    return abs(float(cell.rstrip("%")) - 100 * value) <= 0.5


PID = "(SELECT id FROM patients WHERE code = 'P1')"
REPS = f"""FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
           WHERE s.patient_id = {PID} AND r.complete"""


def test_summary_numbers_match_sql(built):
    store, page = built
    [(n, done, interrupted)] = q(store, f"SELECT count(*), sum(status = 'completed'), "
                                        f"sum(status = 'interrupted') FROM sessions WHERE patient_id = {PID}")
    assert (span(page, "n-sessions"), span(page, "n-completed"), span(page, "n-interrupted")) == \
        (n, done, interrupted)
    assert span(page, "n-reps") == q(store, f"SELECT count(*) {REPS}")[0][0]
    [(days,)] = q(store, f"SELECT count(DISTINCT substr(started, 1, 10)) FROM sessions WHERE patient_id = {PID} "
                         "AND substr(started, 1, 10) BETWEEN ? AND ?",
                  [(TODAY - timedelta(days=27)).isoformat(), TODAY.isoformat()])
    assert span(page, "days-28") == days


def test_per_exercise_rates_and_amplitudes_match_sql(built):
    store, page = built
    rows = q(store, f"""SELECT st.exercise, count(DISTINCT r.session_id), count(*),
                          1.0 * sum(NOT r.synkinesis) / count(*), avg(abs(r.synkinesis_peak)),
                          avg(abs(r.peak_left)), avg(abs(r.peak_right)) {REPS} GROUP BY st.exercise""")
    assert {r[0] for r in rows} == set(EXERCISES)
    for ex, n_sessions, n_reps, free_rate, co_move, amp_left, amp_right in rows:
        c = cells(page, f"ex-{ex}")
        assert c[0] == ex
        assert (int(c[1]), int(c[2])) == (n_sessions, n_reps)
        assert pct_close(c[3], free_rate)
        # Affected side is left: "affected" = left column, "other" = right.
        for cell, value in zip(c[4:7], (co_move, amp_left, amp_right)):
            assert float(cell) == pytest.approx(value, abs=0.00051)


def test_sunnybrook_estimates_match_sql(built):
    store, page = built
    assert "estimate, not a diagnosis" in page.lower()
    for ex in ("brow-lift", "gentle-eye-closure", "open-mouth-smile", "snarl", "lip-pucker"):
        latest = q(store, f"""SELECT s.id, s.started {REPS} AND st.exercise = ?
                             ORDER BY s.started DESC LIMIT 1""", [ex])[0][0]
        peaks = [abs(v) for (v,) in q(store, f"SELECT r.synkinesis_peak {REPS} AND st.exercise = ? "
                                             "AND s.id = ?", [ex, latest])]
        median = statistics.median(peaks)
        grade = sum(median >= cut for cut in SYNKINESIS_GRADE_CUTOFFS)
        c = cells(page, f"grade-{ex}")
        assert c[1].startswith(f"{grade} (")
        assert float(c[2]) == pytest.approx(median, abs=0.00051)
        assert int(c[3]) == len(peaks)


def test_toxin_before_after_windows_match_sql(built):
    store, page = built
    [(day,)] = q(store, f"SELECT date FROM treatments WHERE patient_id = {PID} AND kind = 'botulinum_toxin'")
    d = date.fromisoformat(day)

    def window(ex, lo, hi):
        return q(store, f"""SELECT count(*), 1.0 * sum(NOT r.synkinesis) / count(*), avg(abs(r.synkinesis_peak))
                           {REPS} AND st.exercise = ? AND substr(s.started, 1, 10) >= ?
                           AND substr(s.started, 1, 10) < ?""",
                 [ex, (d + timedelta(days=lo)).isoformat(), (d + timedelta(days=hi)).isoformat()])[0]

    for ex in EXERCISES:
        c = cells(page, f"toxin-{day}-{ex}")
        for offset, (lo, hi) in ((1, TOXIN_BEFORE_DAYS), (4, TOXIN_AFTER_DAYS)):
            n, rate, co = window(ex, lo, hi)
            assert int(c[offset]) == n and n > 0
            assert pct_close(c[offset + 1], rate)
            assert float(c[offset + 2]) == pytest.approx(co, abs=0.00051)


def test_latest_session_detail_matches_sql(built):
    store, page = built
    [(sid, status)] = q(store, f"SELECT id, status FROM sessions WHERE patient_id = {PID} "
                               "ORDER BY started DESC LIMIT 1")
    assert "Latest session" in page and status in page
    for set_id, ex, planned, n, done in q(store, """SELECT st.id, st.exercise, st.planned_reps, count(r.id),
                                                   sum(r.complete) FROM sets st LEFT JOIN reps r ON r.set_id = st.id
                                                   WHERE st.session_id = ? GROUP BY st.id""", [sid]):
        c = cells(page, f"set-{set_id}")
        assert (c[0], int(c[1]), int(c[2]), int(c[3])) == (ex, planned, n, done)


def test_plots_embedded_and_self_contained(built):
    store, page = built
    n_exercises = q(store, f"SELECT count(DISTINCT st.exercise) FROM reps r JOIN sets st ON st.id = r.set_id "
                           f"JOIN sessions s ON s.id = r.session_id WHERE s.patient_id = {PID}")[0][0]
    images = re.findall(r'<img class="plot" alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == 1 + n_exercises + 1          # calendar, one per exercise, latest session
    assert all(len(i) > 1000 for i in images)
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "@media print" in page


def test_treatments_are_marked_on_every_trend_panel(built):
    store, _ = built
    treatments = store.list_treatments("P1")
    series = per_session(store.rep_rows("P1"))
    fig = exercise_plot("snarl", series["snarl"], treatments, "left")
    wanted = {datetime.fromisoformat(t["date"]) for t in treatments}
    assert len(fig.axes) == 3
    for ax in fig.axes:
        vertical = {line.get_xdata()[0] for line in ax.lines
                    if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]}
        assert wanted <= vertical


def test_patient_without_sessions_and_unknown_patient(tmp_path):
    with Store.open(tmp_path / "c.db") as store:
        store.add_patient("P2")
        page = build_report(store, "P2")
        assert "No sessions recorded yet" in page and "<img" not in page
        sid = store.start_session("P2")
        store.end_session(sid)
        page = build_report(store, "P2")      # a session with no sets or reps
        assert page.count("<img") == 1 and "No exercise sets." in page
        with pytest.raises(CoachError, match="No patient with code P3."):
            build_report(store, "P3")
