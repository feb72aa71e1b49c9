"""One definition per figure (issue 19, item 6): the report, sessions.csv and the review's canned query
show the same figures under the same names, computed the same way; no mean is presented as a peak;
a co-movement has one sign everywhere; every figure is in the report's glossary with its unit; a
voided session is listed with its reason, outside every figure."""
from __future__ import annotations

import csv
import html as htmlmod
import random
import re
import sqlite3
import statistics
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.core import progress
from coach.log.review import CANNED_QUERIES
from coach.log.store import Store
from coach.report.build import build_report
from store_fixtures import SettableClock, record_session

CODE = "F19"
FIRST = datetime(2024, 3, 4, 18, 30)
TODAY = date(2024, 4, 1)
EXERCISES = ("open-mouth-smile", "gentle-eye-closure", "brow-lift")
VOID_REASON = "camera pointed at the wall"


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    """Six sessions of F19 (left side affected), one of them voided; reps with varied holds and steadiness,
    and co-movements whose mean differs from their median (so a mean cannot pass for the typical one)."""
    folder = tmp_path_factory.mktemp("figures")
    rng = random.Random(19)
    with Store.open(folder / "coach.db", clock=SettableClock(FIRST - timedelta(days=1))) as store:
        store.db.execute("PRAGMA synchronous = OFF")
        store.add_patient(CODE, "Fig Ures", "left")
        ids = [record_session(store, CODE, FIRST + timedelta(days=4 * i), exercises=EXERCISES, reps=5, rng=rng,
                              level=0.3) for i in range(6)]
        with store.db.conn:
            for (rep_id,) in store.db.execute("SELECT id FROM reps").fetchall():
                store.db.execute("UPDATE reps SET hold_s = ?, hold_steadiness = ? WHERE id = ?",
                                 [round(rng.uniform(0.5, 3.0), 3), round(rng.uniform(0.8, 1.0), 3), rep_id])
        store.void_session(ids[2], VOID_REASON)
    return folder, ids


@pytest.fixture(scope="module")
def page(patient):
    folder, _ = patient
    with Store.open(folder / "coach.db", readonly=True) as store:
        return build_report(store, CODE, today=TODAY)


@pytest.fixture(scope="module")
def exported(patient):
    folder, _ = patient
    result = CliRunner().invoke(cli, ["export", CODE, "--csv", str(folder / "csv"), "--db", str(folder / "coach.db")])
    assert result.exit_code == 0, result.output
    with open(folder / "csv" / "sessions.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def review_rows(folder) -> list[dict]:
    """The review's "figures per session" canned query, run as Datasette runs it (named parameter)."""
    conn = sqlite3.connect(folder / "coach.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(CANNED_QUERIES["co_movement_trend"]["sql"], {"patient": CODE})]
    finally:
        conn.close()


def section(page: str, sid: str) -> str:
    start = page.index(f"<section id='{sid}'>")
    return page[start:page.index("</section>", start)]


def table_rows(html: str) -> list[dict]:
    """The first table of `html` as {header: cell text} per row."""
    html = html[html.index("<table"):html.index("</table>")]
    heads = [htmlmod.unescape(h) for h in re.findall(r"<th>(.*?)</th>", html)]
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return [dict(zip(heads, [htmlmod.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)], strict=True))
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def number(text: str) -> float | None:
    """A report cell or a CSV cell as a number ("23.1 %", "1.6 s", "4", "" or "–")."""
    text = str(text).replace("−", "-").removesuffix(" %").removesuffix(" s").strip()
    return None if text in ("", "–", "None") else float(text)


def test_report_csv_and_review_show_the_same_figures_by_name(patient, page, exported):
    """The done-when of item 6: for the latest session, every figure of the report's table equals the
    sessions.csv cell of the same name, and every figure of the review's query equals it too; the
    co-movements are the median and the maximum of the reps' peaks (by SQL), not their mean."""
    folder, ids = patient
    latest = ids[-1]
    csv_rows = {r["exercise"]: r for r in exported if r["date"] == (FIRST + timedelta(days=20)).date().isoformat()}
    report_rows = {r["exercise"]: r for r in table_rows(section(page, "latest"))}
    assert set(report_rows) == set(csv_rows) and len(csv_rows) == len(EXERCISES)
    names = {fig.column for fig in progress.FIGURES.values()}
    compared = 0
    for ex, shown in report_rows.items():
        for name, cell in shown.items():
            if name == "exercise":
                continue
            assert name in exported[0], f"the report's {name!r} is not a sessions.csv column"
            assert number(cell) == number(csv_rows[ex][name]), (ex, name)
            compared += 1
    assert compared == len(EXERCISES) * 9
    assert {"typical co-movement (%)", "largest co-movement (%)", "hold steadiness (%)", "mean hold (s)"} <= \
        set(next(iter(report_rows.values())))

    review = [r for r in review_rows(folder) if r["day"] == (FIRST + timedelta(days=20)).date().isoformat()]
    assert len(review) == len(EXERCISES)
    by_id = {r["exercise id"]: r for r in csv_rows.values()}
    for r in review:
        figures = {k: v for k, v in r.items() if k in names}
        assert set(figures) == {"reps done", "clean reps", "clean-rep rate (%)", "typical co-movement (%)",
                                "largest co-movement (%)"}
        for name, value in figures.items():
            assert number(value) == number(by_id[r["exercise"]][name]), (r["exercise"], name)

    # The oracle: SQL fetches each complete rep's |co-movement|; median and max by Python.
    conn = sqlite3.connect(folder / "coach.db")
    try:
        peaks: dict[str, list[float]] = {}
        for ex, v in conn.execute("SELECT st.exercise, abs(r.synkinesis_peak) FROM reps r JOIN sets st ON "
                                  "st.id = r.set_id WHERE r.session_id = ? AND r.complete", [latest]):
            peaks.setdefault(ex, []).append(v)
    finally:
        conn.close()
    for ex, vs in peaks.items():
        row = by_id[ex]
        assert number(row["typical co-movement (%)"]) == round(100 * statistics.median(vs), 1)
        assert number(row["largest co-movement (%)"]) == round(100 * max(vs), 1)
    assert any(round(100 * statistics.mean(vs), 1) != round(100 * statistics.median(vs), 1) for vs in peaks.values())


PEAK_AS_MEAN = re.compile(r"\bmean\b[^.;:]{0,60}\bpeak|\bpeak\b[^.;:]{0,60}\bmean\b|average[^.;:]{0,60}peak", re.I)


def test_no_mean_is_presented_as_a_peak(patient, page, exported):
    """No heading, column or description calls a mean a peak: not in the report, sessions.csv, FHIR's
    codes or the review's queries."""
    from coach.report import fhir

    text = re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", " ", page, flags=re.S))
    texts = {"report": htmlmod.unescape(text), "sessions.csv": " | ".join(exported[0]),
             "fhir": " | ".join(d for d, _, _ in fhir.CODES.values()),
             "review": " | ".join(f"{q['title']}. {q['description']}. {q['sql']}" for q in CANNED_QUERIES.values())}
    for where, words in texts.items():
        assert not PEAK_AS_MEAN.search(words), (where, PEAK_AS_MEAN.search(words).group(0))
    for column in exported[0]:
        assert "peak" not in column.lower(), column          # per-session figures are typical or largest


def test_a_narrowing_has_one_sign_everywhere(patient, page):
    """The Events table shows a co-movement's size as the latest session's chart draws it (a bar up),
    never as "−48 %"."""
    folder, ids = patient
    conn = sqlite3.connect(folder / "coach.db")
    try:
        events = conn.execute("SELECT peak FROM events WHERE session_id = ? AND kind = 'synkinesis' "
                              "ORDER BY start_s", [ids[-1]]).fetchall()
    finally:
        conn.close()
    assert any(p < 0 for (p,) in events) and any(p > 0 for (p,) in events)
    latest = page[page.index("<section id='latest'>"):]
    shown = [list(r.values())[-1] for r in table_rows(latest[latest.index("<h3>Events</h3>"):])
             if r["kind"] == "synkinesis"]                     # the last column: the event's peak
    assert shown == [f"{100 * abs(p):.0f} %" for (p,) in events]
    assert not any(c.startswith(("−", "-")) for c in shown)


def test_the_report_ends_with_a_glossary_of_every_figure(page):
    glossary = section(page, "glossary")
    assert page.rindex("<section") == page.index("<section id='glossary'>")        # the last section
    rows = {r["figure"]: r for r in table_rows(glossary)}
    for fig in progress.FIGURES.values():
        assert rows[fig.name]["unit"].startswith(fig.unit) and len(rows[fig.name]["how it is computed"]) > 30
    assert "coefficient of variation" in rows["hold steadiness"]["how it is computed"]
    assert "median" in rows["typical co-movement"]["how it is computed"]
    # Every figure column of the latest session's table is in the glossary.
    heads = [htmlmod.unescape(h) for h in re.findall(r"<th>(.*?)</th>", section(page, "latest").split("</table>")[0])]
    by_column = {f.column: f.name for f in progress.FIGURES.values()}
    assert all(by_column[h] in rows for h in heads if h in by_column)
    assert "steadiness" not in " ".join(h for h in heads if h not in by_column)       # never without a unit


def test_a_voided_session_is_listed_with_its_reason_outside_every_figure(patient, page):
    _, ids = patient
    voided = section(page, "voided")
    assert f'<tr id="voided-{ids[2]}"' in voided
    [listed] = table_rows(voided)
    when = FIRST + timedelta(days=8)
    assert listed == {"date": f"{when.day} {when:%b %Y}", "start": f"{when:%H:%M}", "kind": "home",
                      "reason": VOID_REASON}
    assert re.search(r"id='n-sessions'>5<", page)                   # five sessions counted, not six
    sessions = section(page, "sessions")
    assert f"{when.day} {when:%b %Y}" not in sessions
