"""`coach review` as a therapist sees it: a real server, opened in headless Chromium.

It must open on the patients table (codes, not UUIDs), list the common questions first, show
patient codes where other tables point at a patient, and leave voided sessions out of the
canned queries. The screenshot is kept for the README (docs/review-patients.png) when
COACH_UPDATE_DOCS is set.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from coach.log.review import CANNED_QUERIES
from coach.log.store import Store
from store_fixtures import SettableClock, record_session
from test_report_browser import chromium, run_chromium
from test_review import Review

pytestmark = pytest.mark.slow      # a server and Chromium
DOCS = Path(__file__).resolve().parent.parent / "docs"
CODES = ("P017", "P023", "P031")


def build(path: Path) -> dict:
    """Three patients: P017 practised today and 3 days ago, P023 12 days ago, P031 never.
    One of P017's sessions is voided."""
    today = datetime.now().replace(hour=9, minute=0, second=0, microsecond=0)
    clock = SettableClock(today - timedelta(days=30))
    with Store.open(path, clock=clock) as store:
        for code, side in zip(CODES, ("left", "right", "left")):
            store.add_patient(code, None, side, "")
        ids = {day: record_session(store, "P017", today - timedelta(days=day), exercises=("open-mouth-smile",))
               for day in (0, 3)}
        record_session(store, "P023", today - timedelta(days=12), exercises=("lip-pucker",))
        store.db.execute("UPDATE sessions SET voided = 'wrong patient' WHERE id = ?", [ids[3]])
        patient_ids = {r["code"]: r["id"] for r in store.db.query("SELECT id, code FROM patients")}
    return patient_ids


def text_of(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def column(dom: str, name: str) -> list[str]:
    """The cells of one column of Datasette's results table, as text (a foreign key's label only)."""
    return [text_of(re.sub(r"<em>.*?</em>", "", c)).replace("&nbsp;", "").strip()
            for c in re.findall(rf'<td class="col-{name}[ "][^>]*>(.*?)</td>', dom, re.S)]


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    exe = chromium()
    if exe is None or shutil.which("pdftotext") is None:
        pytest.fail("The review test renders in headless Chromium and reads the page with pdftotext: "
                    "install them (Debian: apt-get install chromium poppler-utils).")
    tmp = tmp_path_factory.mktemp("review")
    db = tmp / "clinic.db"
    ids = build(db)
    server = Review(db, tmp / "tmp")
    profile = tmp / "profile"

    def page(path: str, *args: str) -> str:
        return run_chromium(exe, profile, "--window-size=1200,800", *args, f"http://localhost:{server.port}{path}")

    def shown(path: str) -> str:
        """The text as rendered (CSS applied), read back from the printed page."""
        pdf = tmp / "page.pdf"
        page(path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
        return " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
    try:
        yield page, shown, ids, tmp
    finally:
        server.stop(15)


def test_review_opens_on_the_patients_table_with_codes_and_questions_first(review):
    page, shown, ids, tmp = review
    dom = page("/", "--dump-dom")                         # follows the front page's redirect
    assert "<title>clinic: patients" in dom
    assert column(dom, "code") == list(CODES)                        # sorted by code
    text = shown("/")
    assert text.index("Common questions") < text.index("P017")     # the questions come first
    for query in CANNED_QUERIES.values():      # pdftotext joins a word broken at its hyphen
        assert query["title"].replace("-", "") in text.replace("-", "")
    assert text.index("Sessions this week") < text.index("Sessions per week")
    assert not any(i in text for i in ids.values())

    shot = tmp / "review.png"
    page("/", f"--screenshot={shot}")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000       # a rendered page, not a blank one
    if os.environ.get("COACH_UPDATE_DOCS"):
        shutil.copy(shot, DOCS / "review-patients.png")


def test_sessions_show_patient_codes_not_uuids(review):
    page, shown, ids, _ = review
    assert sorted(column(page("/clinic/sessions", "--dump-dom"), "patient_id")) == ["P017", "P017", "P023"]
    text = shown("/clinic/sessions")
    assert "P017" in text and "P023" in text
    assert ids["P017"] not in text and ids["P023"] not in text


def test_canned_questions_answer_and_leave_voided_sessions_out(review):
    page, _, _, _ = review
    idle = page("/clinic/not_practised_7_days", "--dump-dom")
    assert column(idle, "patient") == ["P031", "P023"]                      # never, then the longest gap
    assert column(idle, "days_since")[1] == "12"
    trend = page("/clinic/co_movement_trend?patient=P017", "--dump-dom")
    assert column(trend, "exercise") == ["open-mouth-smile"]               # the voided session is left out
    from datasette.utils import to_css_class

    assert column(trend, to_css_class("reps done")) == ["4"]               # named as in the report (issue 19)
    week = page("/clinic/sessions_this_week", "--dump-dom")
    assert column(week, "patient") == ["P017"]                      # not P023 (12 days ago), not the voided one
