"""The chin and the neck everywhere the other regions are (issue 21, item 4): per session and exercise
in sessions.csv and the workbook, a FHIR Observation each with its muscle as body site, the report's
trends with the treatments into their muscles, the Sunnybrook table, and the treatment sites' fixed
vocabulary. The patient's events are made here (the lead's detector makes them in a session); each
figure is checked against SQL on the same database."""
from __future__ import annotations

import csv
import json
import random
import re
import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.core import progress, summary
from coach.core.exercises import Watch, load_library
from coach.core.regions import region_series, watch_regions
from coach.core.sites import SITE_CHOICES, muscles_in, regions_in, with_sites
from coach.log.store import Store
from coach.report import exports, fhir
from coach.report.build import build_report
from store_fixtures import SettableClock, record_session

CODE = "P021"
FIRST = datetime(2024, 3, 4, 18, 30)
TODAY = date(2024, 4, 20)
PLANNED = ("open-mouth-smile", "gentle-eye-closure")
MENTALIS_DAY, EYE_DAY = "2024-03-17", "2024-03-09"
CHIN_EVENTS = (3, 3, 2, 3, 3, 1, 0, 1)           # the smile's chin events per session: fewer after mentalis
NECK_EVENTS = (2, 0, 1, 3, 0, 2, 1, 0)
CHIN = Watch("chin_raise", 1.0, "Your chin tightened", "Chin tightening", "chin", "mentalis",
             fix="Keep your chin smooth: make the smile smaller")
NECK = Watch("neck_bands", 1.0, "Your neck tightened", "Neck tightening", "neck", "platysma",
             fix="Keep your neck soft: make the movement smaller")


def chin_neck_library() -> dict:
    """The library with the open-mouth smile watching the chin and the neck and the eye closure the chin
    (as the shipped exercise files do; added here where they do not)."""
    library = dict(load_library()[0])
    for ex, extra in (("open-mouth-smile", (CHIN, NECK)), ("gentle-eye-closure", (CHIN,))):
        have = {w.measure for w in library[ex].watches}
        library[ex] = replace(library[ex], watches=library[ex].watches + tuple(w for w in extra if w.measure not in have))
    return library


def without_chin_and_neck() -> dict:
    """The library with no exercise watching the chin or the neck (an older library, or a therapist's)."""
    return {ex_id: replace(ex, watches=tuple(w for w in ex.watches if w.region not in ("chin", "neck")))
            for ex_id, ex in load_library()[0].items()}


def build_patient(path) -> list[str]:
    """Eight sessions every 3 days: chin events in the smile fall after the mentalis injection, neck
    events come and go, and the eye closure has a chin event now and then; the last one interrupted."""
    rng = random.Random(21)
    ids = []
    with Store.open(path, clock=SettableClock(FIRST - timedelta(days=7))) as store:
        store.db.execute("PRAGMA synchronous = OFF")
        store.add_patient(CODE, "Cleo Mentalis", "left")
        store.set_plan(CODE, [{"exercise": ex, "reps": 4} for ex in PLANNED])
        store.add_treatment(CODE, MENTALIS_DAY, "botulinum_toxin", with_sites(["mentalis-left"], "2 points"), 4,
                            allow_future=True)
        store.add_treatment(CODE, EYE_DAY, "botulinum_toxin", "Orbicularis oculi left", 5, allow_future=True)
        for i in range(8):
            when = FIRST + timedelta(days=3 * i)
            sid = record_session(store, CODE, when, exercises=PLANNED, rng=rng, level=0.2, finish=False)
            sets = dict(store.db.execute("SELECT exercise, id FROM sets WHERE session_id = ?", [sid]).fetchall())
            chin, neck = CHIN_EVENTS[i], NECK_EVENTS[i]
            for k in range(chin):
                store.add_event(sid, sets["open-mouth-smile"], "synkinesis", "left", "chin_raise", 4.0 * k + 0.5,
                                4.0 * k + 1.8, round(0.18 + 0.05 * k, 3))
            for k in range(neck):
                store.add_event(sid, sets["open-mouth-smile"], "synkinesis", "right", "neck_bands", 4.0 * k + 0.7,
                                4.0 * k + 1.5, 0.4)
            if i % 3 == 0:
                store.add_event(sid, sets["gentle-eye-closure"], "synkinesis", "left", "chin_raise", 20.5, 21.0, 0.15)
            saved, store.clock = store.clock, SettableClock(when + timedelta(minutes=12))
            store.end_session(sid, status="interrupted" if i == 7 else "completed")
            store.clock = saved
            ids.append(sid)
    return ids


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chin_neck")
    ids = build_patient(folder / "coach.db")
    return folder, ids


def sql(path, query, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def counted(path, measure: str) -> dict[tuple[str, str], int]:
    """(session date, exercise id) -> its events of `measure`, by SQL."""
    return {(day, ex): n for day, ex, n in sql(path, """
        SELECT substr(s.started, 1, 10), st.exercise, count(*) FROM events e JOIN sessions s ON s.id = e.session_id
        JOIN sets st ON st.id = e.set_id WHERE e.kind = 'synkinesis' AND e.measure = ? GROUP BY 1, 2""", [measure])}


@pytest.fixture(scope="module")
def csv_rows(patient):
    folder, _ = patient
    with Store.open(folder / "coach.db", readonly=True) as store:
        exports.export_csv(store, CODE, folder / "csv", library=chin_neck_library())
        exports.export_xlsx(store, CODE, folder / "P021.xlsx", library=chin_neck_library())
    with open(folder / "csv" / "sessions.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_sessions_csv_counts_each_sessions_chin_and_neck_events_blank_where_not_watched(patient, csv_rows):
    folder, _ = patient
    chin, neck = counted(folder / "coach.db", "chin_raise"), counted(folder / "coach.db", "neck_bands")
    assert len(csv_rows) == 16
    by_name = {ex.name: ex_id for ex_id, ex in chin_neck_library().items()}
    for r in csv_rows:
        key = (r["date"], by_name[r["exercise"]])
        assert int(r["chin co-movement events"]) == chin.get(key, 0)
        if key[1] == "open-mouth-smile":
            assert int(r["neck co-movement events"]) == neck.get(key, 0)
        else:
            assert r["neck co-movement events"] == ""               # the eye closure does not watch the neck
    assert sum(int(r["chin co-movement events"]) for r in csv_rows) == sum(chin.values()) > 10
    assert any(r["neck co-movement events"] == "0" for r in csv_rows)   # watched, none: 0, not blank


def test_without_the_watches_a_region_is_blank_unless_it_has_events(patient):
    """No exercise watches the chin or the neck: a region is blank, but events logged there still count."""
    folder, _ = patient
    library = without_chin_and_neck()
    with Store.open(folder / "coach.db", readonly=True) as store:
        _, rows = exports.summary_rows(store, CODE, library)
    smile = [r for r in rows if r["exercise_id"] == "open-mouth-smile"]
    assert [r["chin_events"] for r in smile] == [n or None for n in CHIN_EVENTS]
    assert [r["neck_events"] for r in smile] == [n or None for n in NECK_EVENTS]
    closure = [r for r in rows if r["exercise_id"] == "gentle-eye-closure"]
    assert [r["chin_events"] for r in closure] == [1 if i % 3 == 0 else None for i in range(8)]


def test_the_workbook_has_the_same_chin_and_neck_columns(patient, csv_rows):
    from openpyxl import load_workbook

    folder, _ = patient
    sheet = load_workbook(folder / "P021.xlsx")["Sessions"]
    head, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    for column in ("chin co-movement events", "neck co-movement events"):
        i = head.index(column)
        assert [r[i] for r in rows] == [None if c[column] == "" else int(c[column]) for c in csv_rows]


def test_fhir_has_a_chin_and_a_neck_observation_with_its_muscle_as_body_site(patient, csv_rows):
    from fhir.resources.R4B.observation import Observation

    folder, ids = patient
    with Store.open(folder / "coach.db", readonly=True) as store:
        path, n = exports.export_fhir(store, CODE, folder / "P021.json", library=chin_neck_library())
    bundle = json.loads(path.read_text(encoding="utf-8"))
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    regional = [o for o in obs if o["code"]["coding"][0]["code"] != fhir.SESSION_CODE]
    ended = [r for r in csv_rows]                          # every session ended (one interrupted)
    assert len(obs) - len(regional) == len(ended) and n == len(obs)
    assert len(regional) == sum(r["chin co-movement events"] != "" for r in ended) + \
        sum(r["neck co-movement events"] != "" for r in ended)
    chin, neck = counted(folder / "coach.db", "chin_raise"), counted(folder / "coach.db", "neck_bands")
    starts = dict(sql(folder / "coach.db", "SELECT id, substr(started, 1, 10) FROM sessions"))
    for o in regional:
        Observation.model_validate(o)
        session_id, exercise, region = o["identifier"][0]["value"].split("/")
        assert session_id in ids and region in ("chin", "neck")
        expected = (chin if region == "chin" else neck).get((starts[session_id], exercise), 0)
        assert o["valueQuantity"] == {"value": expected, "unit": "events", "system": fhir.UCUM, "code": "{events}"}
        assert o["bodySite"]["text"].startswith({"chin": "Mentalis", "neck": "Platysma"}[region])
        assert o["code"]["coding"][0]["code"] == f"{region}-co-movement-events"


@pytest.fixture(scope="module")
def page(patient):
    folder, _ = patient
    with Store.open(folder / "coach.db", readonly=True) as store:
        return build_report(store, CODE, today=TODAY, library=chin_neck_library())


def figure(page: str, fid: str) -> str:
    start = page.index(f"<figure id='{fid}'>")
    return page[start:page.index("</figure>", start)]


def svg_text(svg: str) -> str:
    return " ".join(re.findall(r">([^<>]+)</text>", svg))


def test_the_report_draws_the_chin_and_neck_trends_with_the_toxin_into_their_muscle(page):
    chin, neck = figure(page, "trend-region-chin"), figure(page, "trend-region-neck")
    assert "chin co-movement events per session" in svg_text(chin).lower()
    assert "toxin 17 Mar" in svg_text(chin) and "toxin 9 Mar" not in svg_text(chin)   # mentalis, not orbicularis
    assert "toxin" not in svg_text(neck) and "Treatments" not in svg_text(neck)   # nothing into platysma
    assert page.index("id='trend-region-chin'") < page.index("id='sunnybrook'")


def test_the_chin_trend_plots_each_sessions_events(patient):
    """The plotted points are the per-session sums of SQL's counts (all exercises that watch the chin)."""
    from coach.report.data import gather

    folder, _ = patient
    with Store.open(folder / "coach.db", readonly=True) as store:
        data = gather(store, CODE, TODAY, chin_neck_library())
    chin = counted(folder / "coach.db", "chin_raise")
    series = region_series(data.sessions, data.sets, data.events, data.library, "chin")
    assert [n for _, _, n in series] == [sum(v for (d, _), v in chin.items() if d == s["started"][:10])
                                         for s in data.sessions]
    assert [state for _, state, _ in series][-1] == "interrupted"
    neck = region_series(data.sessions, data.sets, data.events, data.library, "neck")
    assert [n for _, _, n in neck] == list(NECK_EVENTS)


def test_the_sunnybrook_table_names_the_chin_and_neck_of_the_latest_smile(patient, page):
    folder, ids = patient
    smile = page[page.index("id=\"grade-open-mouth-smile\""):]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", smile[:smile.index("</tr>")])
    latest = sql(folder / "coach.db", """SELECT e.measure, count(*) FROM events e JOIN sets st ON st.id = e.set_id
        WHERE e.session_id = ? AND st.exercise = 'open-mouth-smile' AND e.kind = 'synkinesis' GROUP BY 1""",
                 [ids[-1]])
    words = {"eye_opening": "eye", "chin_raise": "chin", "neck_bands": "neck"}
    expected = ", ".join(f"{words[m]} ({n})" for m, n in sorted(latest, key=lambda x: list(words).index(x[0])))
    assert cells[4] == (expected or "–")


def test_sunnybrook_grades_a_rep_whose_co_movement_is_the_chin_like_any_other():
    """The grade is from the reps' peaks, whichever region moved; the regions come from the events."""
    library = chin_neck_library()
    reps = [{"complete": 1, "synkinesis_peak": p, "session_id": "s1", "exercise": "open-mouth-smile",
             "session_started": "2024-03-04T18:30:00+00:00"} for p in (0.22, 0.25, 0.3)]
    events = [{"session_id": "s1", "exercise": "open-mouth-smile", "kind": "synkinesis", "measure": m}
              for m in ("chin_raise", "chin_raise", "neck_bands")] + \
             [{"session_id": "s1", "exercise": "open-mouth-smile", "kind": "face_lost", "measure": None},
              {"session_id": "s0", "exercise": "open-mouth-smile", "kind": "synkinesis", "measure": "chin_raise"}]
    [row] = [g for g in progress.sunnybrook_estimates(progress.per_session(reps), library, events)
             if g["exercise"] == "open-mouth-smile"]
    assert row["grade"] == progress.synkinesis_grade(0.25) == 2
    assert row["regions"] == {"chin": 2, "neck": 1}


def test_region_figures_count_only_co_movement_in_that_region():
    regions = watch_regions(chin_neck_library())
    assert (regions["chin_raise"], regions["neck_bands"], regions["eye_opening"]) == ("chin", "neck", "eye")
    events = [{"kind": "synkinesis", "measure": "chin_raise"}, {"kind": "synkinesis", "measure": "eye_opening"},
              {"kind": "face_lost", "measure": None}, {"kind": "synkinesis", "measure": "neck_bands"},
              {"kind": "synkinesis", "measure": "chin_raise"}]
    assert progress.region_figures(events, {"chin", "neck"}, regions) == {"chin_events": 2, "neck_events": 1}
    assert progress.region_figures([], {"chin"}, regions) == {"chin_events": 0, "neck_events": None}
    assert progress.region_figures(events[:1], set(), regions) == {"chin_events": 1, "neck_events": None}
    assert set(summary.COLUMNS) >= {"chin_events", "neck_events"}
    assert summary.COLUMNS["chin_events"] == progress.REGION_FIGURES["chin_events"].column == "chin co-movement events"


# ---- treatment sites -------------------------------------------------------------------------------
def test_sites_have_a_fixed_vocabulary_and_free_text_stays():
    assert len(SITE_CHOICES) == 10 and SITE_CHOICES["depressor-anguli-oris-right"] == ("depressor anguli oris", "right")
    assert with_sites(["platysma-right", "mentalis-left"], " lower band ") == "mentalis left, platysma right, lower band"
    assert with_sites([], "as before") == "as before" and with_sites([], None) is None
    assert muscles_in("L Mentalis 2u; platysma-right x3") == {"mentalis", "platysma"}
    assert regions_in("Orbicularis  Oculi, left") == {"eye"} and regions_in("mentalisplasty") == set()


def test_treatment_add_takes_sites_from_the_list_and_refuses_one_not_on_it(tmp_path):
    db = tmp_path / "c.db"
    with Store.open(db) as store:
        store.add_patient("P9", "Test", "left")
    run = CliRunner().invoke
    ok = run(cli, ["treatment", "add", "P9", "--date", "2024-03-01", "--kind", "botox", "--site", "mentalis-left",
                   "--site", "platysma-left", "--sites", "=2 points", "--units", "6", "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    assert "mentalis left, platysma left, =2 points" in ok.output
    bad = run(cli, ["treatment", "add", "P9", "--date", "2024-03-02", "--kind", "botox", "--site", "chin-left",
                    "--db", str(db)])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "chin-left" in bad.output
    assert sql(db, "SELECT sites FROM treatments") == [("mentalis left, platysma left, =2 points",)]
    edit_id = sql(db, "SELECT id FROM treatments")[0][0][:8]
    assert run(cli, ["treatment", "edit", "P9", edit_id, "--site", "platysma-right", "--db", str(db)]).exit_code == 0
    assert sql(db, "SELECT sites FROM treatments") == [("platysma right",)]
    assert run(cli, ["treatment", "edit", "P9", edit_id, "--sites", "=SUM(1)", "--db", str(db)]).exit_code == 0
    with Store.open(db, readonly=True) as store:                 # free text like a formula stays text in the CSV
        exports.export_csv(store, "P9", tmp_path / "csv")
    with open(tmp_path / "csv" / "raw-treatments.csv", newline="", encoding="utf-8") as f:
        assert [r["sites"] for r in csv.DictReader(f)] == ["'=SUM(1)"]
