"""The care calendar: the wearing-off test, what is due, the patient's note, the calendar file."""
from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta

import pytest

from coach.core import care, progress
from coach.eval import care_sim
from coach.log.store import Store
from store_fixtures import SettableClock, record_session
from cli_runs import coach

pytest_plugins = ("pg_server",)          # the pg_server and pg_url fixtures

INJ = date(2025, 10, 2)


def points(values, first_day: int, every: int = 2):
    """(day, figure) points every `every` days from `first_day` after the injection."""
    return [(INJ + timedelta(days=first_day + every * i), v) for i, v in enumerate(values)]


# ---- the wearing-off test ---------------------------------------------------------------------------
def test_a_clear_rise_after_the_plateau_is_flagged_and_dated_from_its_start():
    plateau = points([0.11, 0.13, 0.12, 0.10, 0.12, 0.13, 0.11, 0.12, 0.12, 0.13, 0.11, 0.12, 0.11, 0.12], 14)
    steady = points([0.12, 0.11, 0.13, 0.12, 0.11, 0.12, 0.13, 0.12, 0.11, 0.12, 0.12, 0.11, 0.13, 0.12, 0.11,
                     0.12, 0.12, 0.13, 0.12, 0.11, 0.12], 42)
    rise = points([0.20, 0.22, 0.21, 0.23, 0.22, 0.24, 0.21, 0.23], 84)
    r = care.detect_rise(plateau + steady + rise, INJ, INJ + timedelta(days=110))
    assert r["state"] == "risen"
    assert r["since"] == INJ + timedelta(days=84)               # the first session of the rise
    assert INJ + timedelta(days=84) <= r["flagged"] <= INJ + timedelta(days=94)    # within 6 sessions
    assert 0.11 < r["plateau"] < 0.13 and r["recent"] > 0.19


def test_the_same_log_without_the_rise_stays_steady():
    values = [0.12, 0.11, 0.13, 0.10, 0.12, 0.14, 0.11, 0.12, 0.13]
    pts = points(values * 7, 14)
    r = care.detect_rise(pts, INJ, INJ + timedelta(days=140))
    assert r["state"] == "steady" and r["n_plateau"] == 14


def test_what_it_says_on_a_day_uses_no_later_session():
    plateau = points([0.12] * 14, 14)
    rise = points([0.25] * 10, 42)
    day = INJ + timedelta(days=43)                              # one session after the plateau: too few
    assert care.detect_rise(plateau + rise, INJ, day)["state"] == "too_few"
    flagged = care.detect_rise(plateau + rise, INJ, INJ + timedelta(days=80))["flagged"]
    assert care.detect_rise(plateau + rise, INJ, flagged)["state"] == "risen"
    assert care.detect_rise(plateau + rise, INJ, flagged - timedelta(days=1))["state"] != "risen"


def test_too_few_sessions_is_not_enough_practice_to_tell_never_a_guess():
    pts = points([0.12, 0.11, 0.12], 14, every=7) + points([0.30] * 6, 50)
    r = care.detect_rise(pts, INJ, INJ + timedelta(days=70))
    assert r["state"] == "too_few" and r["plateau"] is None and r["n_plateau"] == 3
    text = care.rise_words(care.Watched("gentle-smile", "Gentle smile", "Eye narrowing"), r, INJ + timedelta(days=70))
    assert "not enough practice to tell" in text and "risen" not in text
    assert care.detect_rise(pts, INJ, INJ + timedelta(days=30))["state"] == "early"


def test_the_therapist_hears_it_with_the_evidence():
    w = care.Watched("gentle-smile", "Gentle smile", "Eye narrowing")
    r = {"state": "risen", "plateau": 0.12, "recent": 0.21, "since": date(2026, 1, 1), "injection": INJ}
    assert care.rise_words(w, r, date(2026, 1, 22)) == (
        "Eye narrowing in the gentle smile (average per session) has risen from 12 % to 21 % over the last 3 weeks, "
        "16 weeks after the injection of 2 Oct.")


def test_the_per_session_figure_is_the_reports_co_movement_point():
    reps = [{"exercise": "gentle-smile", "session_started": "2025-10-20T18:00:00.000+02:00", "complete": 1,
             "synkinesis_peak": v, "synkinesis": 0, "peak": 1.0, "hold_s": 3.0, "session_status": "completed"}
            for v in (-0.10, 0.20, -0.30)]
    reps.append({**reps[0], "complete": 0, "synkinesis_peak": -0.9})         # incomplete: not counted
    # the average co-movement of the three complete reps: the mean of 0.10, 0.20 and 0.30 sizes
    assert progress.co_movement_points(reps) == {"gentle-smile": [(date(2025, 10, 20), pytest.approx(0.2))]}
    running = [{**r, "session_status": "in-progress"} for r in reps]
    assert progress.co_movement_points(running) == {}


@pytest.mark.slow
def test_the_wearing_off_test_on_simulated_logs(capsys):
    """The figures in the README: 200 simulated patients with a rise from week 12 and 200 without,
    seeds 0–399 (the parameters were chosen on seeds 1000 on: scripts/tune_care.py)."""
    rising = [care_sim.simulate(seed, rise=True) for seed in range(200)]
    flat = [care_sim.simulate(200 + seed, rise=False) for seed in range(200)]
    in_time = sum(care_sim.in_time(p, care_sim.first_flag(p)) for p in rising)
    flagged = sum(care_sim.first_flag(p) is not None for p in flat)
    with capsys.disabled():
        print(f"\nrise from week 12 flagged within 3 weeks of its start: {in_time} of 200 ({in_time / 2:.1f} %); "
              f"no rise, flagged: {flagged} of 200 ({flagged / 2:.1f} %)")
    assert in_time >= 180
    assert flagged <= 10


# ---- plans keep the care settings ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def plain_stderr(monkeypatch):
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)   # keep stderr for capsys


def stored_plan(db) -> list[dict]:
    conn = sqlite3.connect(db)
    try:
        return json.loads(conn.execute("SELECT items FROM plans ORDER BY created DESC, rowid DESC").fetchone()[0])
    finally:
        conn.close()


def test_practice_times_are_read_as_a_therapist_writes_them():
    assert care.parse_practice("Mon-Fri 18:00") == care.Practice((0, 1, 2, 3, 4), datetime(1, 1, 1, 18).time())
    assert care.parse_practice("sat, sun 9:30").byday() == ["SA", "SU"]
    assert care.parse_practice("Fri-Mon 08:00").days == (0, 4, 5, 6)                # across the weekend
    assert care.parse_practice("daily 19:00").text() == "daily 19:00"
    assert care.parse_practice("Mon,Wed,Fri 7.15").words() == "Monday, Wednesday and Friday at 07:15"
    for bad in ("18:00", "Mon-Fri", "Funday 18:00", "Mon 25:00", "Mon 18:75", ""):
        with pytest.raises(care.CareError):
            care.parse_practice(bad)


def test_plan_set_keeps_the_review_interval_and_practice_times_in_the_plan(tmp_path, capsys):
    db = tmp_path / "c.db"
    assert coach(capsys, "patient", "add", "P1", "--db", db)[0] == 0
    code, out, err = coach(capsys, "plan", "set", "P1", "--exercise", "gentle-smile", "--review-weeks", 10,
                           "--practice", "mon-fri 18:00", "--db", db)
    assert code == 0, err
    assert "review: 10 weeks after the last botulinum toxin injection" in out
    assert "practice: Monday to Friday at 18:00" in out
    assert stored_plan(db)[0]["care"] == {"review_weeks": 10, "practice": "Mon-Fri 18:00"}
    # A new plan that leaves them out keeps them; changing one keeps the exercises and the other.
    assert coach(capsys, "plan", "set", "P1", "--exercise", "lip-pucker", "--reps", 4, "--db", db)[0] == 0
    assert stored_plan(db)[0] == {"exercise": "lip-pucker", "reps": 4, "hold_s": 3.0, "rest_s": 4.0,
                                  "thresholds": {}, "care": {"review_weeks": 10, "practice": "Mon-Fri 18:00"}}
    assert coach(capsys, "plan", "set", "P1", "--practice", "daily 19:30", "--db", db)[0] == 0
    items = stored_plan(db)
    assert [i["exercise"] for i in items] == ["lip-pucker"] and items[0]["reps"] == 4
    assert items[0]["care"] == {"review_weeks": 10, "practice": "daily 19:30"}
    assert "practice: every day at 19:30" in coach(capsys, "plan", "show", "P1", "--db", db)[1]
    before = stored_plan(db)
    for args, says in ((["--practice", "someday 18:00"], "Practice days must be weekdays"),
                       (["--practice", "Mon-Fri"], "Practice times are days and a time"),
                       (["--review-weeks", 0], "--review-weeks"),
                       (["--reps", 3], "need an --exercise")):
        code, out, err = coach(capsys, "plan", "set", "P1", *args, "--db", db)
        assert code == 2 and says in err and "Traceback" not in err, (args, err)
        assert err.count("\n") == 1 or err.startswith("Usage:")      # one sentence, or click's usage error
    assert stored_plan(db) == before                                # nothing changed
    assert coach(capsys, "patient", "add", "P2", "--db", db)[0] == 0
    code, out, err = coach(capsys, "plan", "set", "P2", "--review-weeks", 8, "--db", db)
    assert code == 2 and "P2 has no plan yet" in err


# ---- coach due -----------------------------------------------------------------------------------
RISING, FLAT = care_sim.simulate(0, rise=True), care_sim.simulate(3, rise=False)


def simulated_db(path):
    """Two simulated patients (one with a rise from week 12, one without) and two written by hand:
    P-LAPSED (a session 10 days before DAY) and P-NEW (no injection, a session the day before)."""
    with Store.open(path, clock=SettableClock(datetime(2025, 1, 1, 9))) as store:
        store.db.execute("PRAGMA synchronous = OFF")
        care_sim.write(store, [RISING, FLAT])
        store.set_plan(FLAT["code"], [{"exercise": "gentle-smile", "care": {"review_weeks": 16}}])
        for code, ago in (("P-LAPSED", 10), ("P-NEW", 1)):
            store.add_patient(code, f"Patient {code[2:].lower()}")
            record_session(store, code, datetime.combine(DAY - timedelta(days=ago), datetime.min.time())
                           + timedelta(hours=18), exercises=("gentle-smile",), reps=3)
    return path


DAY = date(2025, 4, 22)          # week 15 after the simulated injection of 6 Jan 2025


def test_coach_due_lists_reviews_lapsed_practice_and_rises(tmp_path, capsys):
    db = simulated_db(tmp_path / "sim.db")
    flag = care_sim.first_flag(RISING)
    assert care_sim.in_time(RISING, flag) and care_sim.first_flag(FLAT) is None
    code, out, err = coach(capsys, "due", "--db", db, "--on", DAY.isoformat())
    assert code == 0, err
    rising = out[out.index(RISING["code"]):].split("\n")
    # The simulated injection was on 6 Jan: the review came 12 weeks later (31 Mar), before the rise was seen.
    assert rising[1] == "  Review overdue since 31 Mar (12 weeks after the injection of 6 Jan)."
    rises = [line for line in rising[2:4] if "has risen from" in line]
    assert rises and all(line.endswith("15 weeks after the injection of 6 Jan.") for line in rises)
    # The patient with a 16-week review and no rise: due 28 Apr, within the 14 days listed.
    assert "S0003\n  Review due around 28 Apr, in 6 days (16 weeks after the injection of 6 Jan).\n" in out
    assert "P-LAPSED  Patient lapsed\n  Practice lapsed: no session for 10 days (last 12 Apr).\n" in out
    assert "P-NEW" not in out                               # practised yesterday, no injection: nothing due
    # A lapse after 2 days: P-NEW's one day is not one, S0003's last session is; no reviews within 0 days.
    last = max(progress.local_dt(s["started"]).date() for s in FLAT["sessions"] if s["started"] < DAY.isoformat())
    out2 = coach(capsys, "due", "--db", db, "--on", DAY.isoformat(), "--lapsed-days", 2, "--within", 0)[1]
    assert "P-NEW" not in out2 and "P-LAPSED" in out2 and "Review due" not in out2
    assert (f"S0003\n  Practice lapsed: no session for {(DAY - last).days} days (last {last.day} {last:%b}).\n"
            in out2) == ((DAY - last).days >= 2)
    assert coach(capsys, "due", "--db", db, "--on", "22/04/2025")[0] == 2
    code, out, err = coach(capsys, "due", "--db", db, "--on", "2025-01-01", "--patient", "P-NEW")
    assert code == 0 and out.startswith("Nothing due on 2025-01-01")


def test_coach_due_says_the_same_from_the_clinic_store(pg_url, tmp_path, capsys):
    db = simulated_db(tmp_path / "sim.db")
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", db)
    assert code == 0, err
    for day in ("2025-02-20", DAY.isoformat(), "2025-06-30"):
        local = coach(capsys, "due", "--db", db, "--on", day)
        clinic = coach(capsys, "due", "--db", pg_url, "--on", day)
        assert clinic == local and local[0] == 0 and local[1].count("\n") >= 3, day
    assert coach(capsys, "due", "--db", pg_url, "--on", DAY.isoformat(), "--patient", RISING["code"]) == \
        coach(capsys, "due", "--db", db, "--on", DAY.isoformat(), "--patient", RISING["code"])


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_the_report_opens_with_the_same_lines(tmp_path, capsys):
    from coach.core.exercises import load_library
    from coach.report.build import build_report

    db = simulated_db(tmp_path / "sim.db")
    out = coach(capsys, "due", "--db", db, "--on", DAY.isoformat(), "--patient", RISING["code"])[1]
    lines = [line.strip() for line in out.splitlines()[1:]]
    with Store.open(db, readonly=True) as store:
        html = build_report(store, RISING["code"], today=DAY, library=load_library()[0])
    due = html[html.index("<section id='due'>"):html.index("</section>")]
    assert html.index("<section id='due'>") < html.index("id='overview'")
    assert [li.split("</li>")[0] for li in due.split("<li>")[1:]] == lines and len(lines) >= 2
    with Store.open(db, readonly=True) as store:
        assert "id='due'" not in build_report(store, "P-NEW", today=DAY, library=load_library()[0])


def test_the_review_query_finds_what_coach_due_finds_for_reviews_and_lapses(tmp_path, capsys):
    from coach.log.review import CANNED_QUERIES

    today = date.today()
    db = tmp_path / "today.db"
    with Store.open(db) as store:
        for code in ("A", "B", "C", "D"):
            store.add_patient(code)
        store.add_treatment("A", (today - timedelta(weeks=13)).isoformat(), "botulinum_toxin", "", 5, "")
        store.add_treatment("B", (today - timedelta(weeks=2)).isoformat(), "botulinum_toxin", "", 5, "")
        store.add_treatment("D", (today - timedelta(weeks=5)).isoformat(), "botulinum_toxin", "", 5, "")
        store.set_plan("D", [{"exercise": "gentle-smile", "care": {"review_weeks": 4}}])
        noon = datetime.combine(today, datetime.min.time()) + timedelta(hours=12)
        record_session(store, "B", noon - timedelta(days=1), exercises=("gentle-smile",), reps=2)
        record_session(store, "C", noon - timedelta(days=10), exercises=("gentle-smile",), reps=2)
    conn = sqlite3.connect(db)
    rows = conn.execute(CANNED_QUERIES["care_due"]["sql"]).fetchall()
    conn.close()
    assert {r[0] for r in rows} == {"A", "C", "D"}
    by_code = {r[0]: r for r in rows}
    assert by_code["A"][3] == (today - timedelta(weeks=1)).isoformat()          # 12 weeks after
    assert by_code["D"][3] == (today - timedelta(weeks=1)).isoformat()          # the plan's 4 weeks
    assert by_code["C"][5] == 10
    out = coach(capsys, "due", "--db", db)[1]
    assert {line for line in out.splitlines() if not line.startswith(" ")} == {"A", "C", "D"}
    assert "coach due" in CANNED_QUERIES["care_due"]["description"]


# ---- the calendar --------------------------------------------------------------------------------
def calendar_db(path):
    with Store.open(path, clock=SettableClock(datetime(2025, 10, 20, 9))) as store:
        store.add_patient("P5", "Calendar Patient")
        store.set_plan("P5", [{"exercise": "gentle-smile", "care": {"practice": "Mon-Fri 18:00"}}])
        store.add_treatment("P5", "2025-10-02", "botulinum_toxin", "orbicularis oculi", 5, "")
    return path


def events_of(path):
    import icalendar

    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["categories"].cats[0]): e for e in cal.walk("VEVENT")}


def test_the_calendar_parses_back_with_its_events_and_alarms(tmp_path, capsys):
    db = calendar_db(tmp_path / "c.db")
    out = tmp_path / "care.ics"
    code, text, err = coach(capsys, "calendar", "P5", "--out", out, "--db", db, "--on", "2025-10-22")
    assert code == 0, err
    assert text == f"Wrote {out}: 1 practice time, the review, 1 injection.\n"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    events = events_of(out)
    assert set(events) == {"coach-practice", "coach-review", "coach-onset", "coach-full_effect", "coach-wearing_off"}
    practice = events["coach-practice"]
    assert practice.decoded("dtstart") == datetime(2025, 10, 22, 18, 0)         # the next weekday at 18:00
    assert practice.decoded("dtend") - practice.decoded("dtstart") == timedelta(minutes=15)
    assert practice["rrule"]["FREQ"] == ["WEEKLY"] and practice["rrule"]["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    [alarm] = practice.walk("VALARM")
    assert alarm["action"] == "DISPLAY" and alarm.decoded("trigger") == timedelta(0)
    injected = date(2025, 10, 2)
    expect = {"coach-review": (injected + timedelta(weeks=12), injected + timedelta(weeks=12, days=1)),
              "coach-onset": (date(2025, 10, 4), date(2025, 10, 6)),         # days 2–3 (DTEND: the day after)
              "coach-full_effect": (date(2025, 10, 9), date(2025, 10, 17)),  # days 7–14
              "coach-wearing_off": (injected + timedelta(days=120), injected + timedelta(days=121))}
    for kind, (start, end) in expect.items():
        assert (events[kind].decoded("dtstart"), events[kind].decoded("dtend")) == (start, end), kind
    assert events["coach-review"].walk("VALARM")[0].decoded("trigger") == -timedelta(days=7)
    raw = out.read_text()
    assert "P5" not in raw and "Calendar Patient" not in raw                  # ids only, no name or code


def test_importing_again_updates_rather_than_duplicates(tmp_path, capsys):
    db = calendar_db(tmp_path / "c.db")
    first, second, third = tmp_path / "a.ics", tmp_path / "b.ics", tmp_path / "c.ics"
    assert coach(capsys, "calendar", "P5", "--out", first, "--db", db, "--on", "2025-10-22")[0] == 0
    assert coach(capsys, "calendar", "P5", "--out", second, "--db", db, "--on", "2025-11-03")[0] == 0
    uids = {k: str(e["uid"]) for k, e in events_of(first).items()}
    assert uids == {k: str(e["uid"]) for k, e in events_of(second).items()}
    assert len(set(uids.values())) == 5
    with Store.open(db, clock=SettableClock(datetime(2026, 2, 1, 9))) as store:
        store.add_treatment("P5", "2026-01-29", "botulinum_toxin", "", 5, "")
    assert coach(capsys, "calendar", "P5", "--out", third, "--db", db, "--on", "2026-02-01")[0] == 0
    import icalendar

    later = [str(e["uid"]) for e in icalendar.Calendar.from_ical(third.read_bytes()).walk("VEVENT")]
    assert len(later) == len(set(later)) == 8 and set(uids.values()) <= set(later)
    assert events_of(third)["coach-review"].decoded("dtstart") == date(2026, 1, 29) + timedelta(weeks=12)


# ---- the patient's screens -----------------------------------------------------------------------
def test_the_welcome_note_is_gentle_and_the_progress_screen_shows_the_injection(tmp_path):
    from coach.core.exercises import load_library
    from coach.core.plan import resolve_plan
    from coach.core.screens import compose
    from coach.core.session import Session
    from coach.log.preferences import history
    from coach.screen.display import PygameDisplay

    db = simulated_db(tmp_path / "sim.db")
    today = date(2025, 3, 17)                   # week 10 after the injection of 6 Jan
    days = {progress.local_dt(s["started"]).date() for s in FLAT["sessions"]}
    practised = sum(today - timedelta(days=i) in days for i in range(7))
    with Store.open(db, readonly=True) as store:
        h = history(store, FLAT["code"], today)
        rising = history(store, RISING["code"], date(2025, 4, 22))
    assert h.note == ("Your clinic review is due around 28 Apr.", f"You practised {practised} of the last 7 days.")
    # Overdue, with co-movement rising: still calm, and nothing beyond "talk to your therapist".
    assert rising.note[0] == "Your clinic review was due around 31 Mar. If it is not booked yet, talk to your therapist."
    for line in h.note + rising.note:
        assert not any(w in line.lower() for w in ("risen", "rise", "worse", "warning", "wear", "%", "urgent"))
    library = load_library()[0]
    session = Session(resolve_plan(library, None), history=h)
    welcome = compose(session.moment(0.0), None)
    assert welcome.extra["care"] == h.note and welcome.extra["notice"]
    session.state = "progress"
    shown = compose(session.moment(0.0), None)
    assert [w for _, w in shown.progress["timeline"]["marks"]] == [
        "Injection 6 Jan", "Full effect by week 2 (20 Jan)", "May wear off from about week 17 (6 May)"]
    assert shown.progress["timeline"]["week"] == pytest.approx(10.0)
    display = PygameDisplay(mute=True)
    try:
        for size in ("normal", "large", "largest"):
            display.set_text_size(size)
            for view in (welcome, shown):
                display.draw(view)
                drawn = display.renderer.text.drawn
                texts = [t for _, t in drawn]
                screen = display.screen.get_rect()
                for i, (a, ta) in enumerate(drawn):
                    assert screen.contains(a), (size, view.screen, ta)
                    assert not any(a.colliderect(b) for b, _ in drawn[i + 1:]), (size, view.screen, ta)
                if view is welcome:                  # the note gives way to the safety notice, never the reverse
                    assert "stroke." in " ".join(texts)
                    assert "Your clinic review is due around 28 Apr." in " ".join(texts)
                    assert ("of the last 7 days." in " ".join(texts)) == (size != "largest")   # given way
                else:
                    assert {"Injection 6 Jan", "Today: week 10"} <= set(texts)
    finally:
        display.close()


def test_an_injection_is_watched_for_six_months_only():
    reps = [{"exercise": "gentle-smile", "session_started": f"{INJ + timedelta(days=d)}T18:00:00", "complete": 1,
             "synkinesis_peak": 0.1, "synkinesis": 0, "peak": 1.0, "hold_s": 3.0, "session_status": "completed"}
            for d in (20, 50) for _ in range(3)]
    treatments = [{"id": "t1", "date": INJ.isoformat(), "kind": "botulinum_toxin"}]
    within = care.care_status(today=INJ + timedelta(days=100), treatments=treatments, reps=reps, session_days=[])
    assert [r["state"] for _, r in within["rises"]] == ["too_few"]
    later = care.care_status(today=INJ + timedelta(days=care.WATCH_DAYS + 1), treatments=treatments, reps=reps,
                             session_days=[])
    assert later["rises"] == [] and not any("not enough practice" in line for line in later["lines"])
    assert later["lines"][0].startswith("Review overdue since 25 Dec")        # 12 weeks after 2 Oct
