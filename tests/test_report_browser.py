"""The report as a therapist sees it: rendered by headless Chromium to a screenshot and to PDFs
(A4 and Letter), and checked from the *rendered* text (the DOM's innerText after layout, the
PDF's text) against SQL queries on the same database.

Skipped when `chromium` is not installed; the PDF text checks also need `pdftotext`
(poppler-utils)."""
from __future__ import annotations

import html as htmlmod
import json
import random
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from coach.log.store import Store
from coach.report.build import build_report
from coach.report.plots import CALENDAR_CLASSES, WINDOW_STYLE
from store_fixtures import EXERCISES, SettableClock, record_session

CODE = "P017"
FIRST = datetime(2024, 3, 4, 18, 30)          # a Monday evening
TOXIN_DAY = "2024-04-01"
TODAY = date(2024, 5, 12)                     # 10 weeks after the first session
INTERRUPTED = 9                               # the 10th session is killed after 2 reps
VOIDED = 14                                   # the 15th session is voided (in the last 28 days)
VOID_REASON = "camera pointed at the ceiling"
WRONG_DAY = "2024-04-20"                      # a toxin injection typed for the wrong patient, then removed
PLANNED = EXERCISES[:4]


def correct(store, sids: list[str]) -> None:
    """A therapist's corrections: a session voided, the toxin dose corrected, a wrong treatment
    added and removed, the notes edited."""
    store.clock.set(datetime(2024, 5, 11, 9, 0))
    store.void_session(sids[VOIDED], VOID_REASON)
    toxin = store.list_treatments(CODE)[0]["id"]
    store.edit_treatment(CODE, toxin[:8], units=7.5)
    wrong = store.add_treatment(CODE, WRONG_DAY, "botulinum_toxin", "right zygomaticus", 50, "wrong patient")
    store.remove_treatment(CODE, wrong["id"])
    store.edit_patient(CODE, notes="synthetic; corrected")


def build_patient(path) -> None:
    """18 sessions over 10 weeks, one killed after 2 reps, a Botox injection after 4 weeks; then the
    corrections of `correct` (so 17 sessions count)."""
    rng = random.Random(17)
    clock = SettableClock(FIRST - timedelta(days=7))
    with Store.open(path, clock=clock) as store:
        store.db.execute("PRAGMA synchronous = OFF")   # test data needs no fsync per rep
        store.add_patient(CODE, "Ann Lee", "left", "synthetic")
        store.set_plan(CODE, [{"exercise": ex, "reps": 4, "hold_s": 3, "rest_s": 4} for ex in PLANNED])
        clock.set(datetime.fromisoformat(TOXIN_DAY) + timedelta(hours=12))     # entered on the day
        store.add_treatment(CODE, TOXIN_DAY, "botulinum_toxin", "left orbicularis oculi", 5, "")
        sids = []
        for i in range(18):
            when = FIRST + timedelta(days=4 * i, hours=i % 2)
            level = 0.25 if when < datetime(2024, 4, 1) else 0.09
            if i == INTERRUPTED:
                sid = record_session(store, CODE, when, exercises=EXERCISES[:1], reps=2, rng=rng, level=level,
                                     finish=False)
                store.end_session(sid, status="interrupted")
            else:
                sid = record_session(store, CODE, when, exercises=PLANNED, rng=rng, level=level)
            sids.append(sid)
        correct(store, sids)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


# ---- rendering --------------------------------------------------------------------------------
WIDTH, HEIGHT = 1000, 7000          # CSS pixels of the screenshot (device scale 1)
# Run after layout: the rendered text, the calendar legend's swatches and each figure's box, as JSON.
PROBE = """<script>(function () {
  const box = e => {
    const r = e.getBoundingClientRect();
    return [r.left + scrollX, r.top + scrollY, r.width, r.height];
  };
  const groups = [...document.querySelectorAll('[id="calendar-legend_1"] > g')];
  const legend = [];
  for (let i = 0; i + 1 < groups.length; i += 2) {
    legend.push({label: groups[i + 1].textContent.trim(), box: box(groups[i])});
  }
  const figures = {};
  document.querySelectorAll('figure[id]').forEach(f => { figures[f.id] = box(f.querySelector('svg')); });
  const out = {text: document.body.innerText, legend: legend, figures: figures,
               width: document.documentElement.scrollWidth};
  const pre = document.createElement('pre'); pre.id = 'layout'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();</script>"""


def run_chromium(exe: str, profile: Path, *args: str) -> str:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--force-device-scale-factor=1", f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


pytestmark = pytest.mark.slow      # spawns Chromium


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    exe = chromium()
    if exe is None:   # a tool the tests need, like pytest itself: .ci/run installs it
        pytest.fail("The report tests render in headless Chromium: install it (Debian: apt-get install chromium).")
    folder = tmp_path_factory.mktemp("browser")
    build_patient(folder / "coach.db")
    store = Store.open(folder / "coach.db")
    page = build_report(store, CODE, today=TODAY)
    (folder / "probe.html").write_text(page.replace("</body>", PROBE + "</body>"))
    for paper in ("A4", "Letter"):
        paged = page.replace("</head>", f"<style>@page {{ size: {paper}; }}</style></head>")
        (folder / f"{paper}.html").write_text(paged)
    profile, probe = folder / "profile", (folder / "probe.html").as_uri()
    dom = run_chromium(exe, profile, f"--window-size={WIDTH},{HEIGHT}", "--dump-dom", probe)
    layout = json.loads(htmlmod.unescape(re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S).group(1)))
    run_chromium(exe, profile, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={folder / 'page.png'}", probe)
    for paper in ("A4", "Letter"):
        run_chromium(exe, profile, "--no-pdf-header-footer", f"--print-to-pdf={folder / paper}.pdf",
                     (folder / f"{paper}.html").as_uri())
    shot = np.asarray(Image.open(folder / "page.png").convert("RGB"))
    yield SimpleNamespace(store=store, folder=folder, layout=layout, text=layout["text"], shot=shot)
    store.close()


@pytest.fixture(scope="module")
def pdf(rendered):
    """The Letter PDF's text, laid out, and each PDF's words with their boxes."""
    if not shutil.which("pdftotext"):
        pytest.fail("The report tests read the PDF with pdftotext: install it (Debian: apt-get install poppler-utils).")
    words = {}
    for paper in ("A4", "Letter"):
        out = subprocess.run(["pdftotext", "-bbox", rendered.folder / f"{paper}.pdf", "-"], capture_output=True,
                             text=True, check=True).stdout
        page_w = float(re.search(r'<page width="([\d.]+)"', out).group(1))
        words[paper] = (page_w, [(htmlmod.unescape(w), *map(float, box)) for *box, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)])
    text = subprocess.run(["pdftotext", "-layout", rendered.folder / "Letter.pdf", "-"], capture_output=True,
                          text=True, check=True).stdout
    return SimpleNamespace(text=text, words=words)


def q(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


def pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f} %"


PID = f"(SELECT id FROM patients WHERE code = '{CODE}')"
COUNTED = "voided IS NULL"                    # a voided session is in no figure, so in no check either
# A full session: completed, with at least half its planned reps complete (else it is "short").
FULL = """s.status = 'completed' AND (SELECT count(*) FROM reps WHERE session_id = s.id AND complete)
          >= 0.5 * (SELECT coalesce(sum(planned_reps), 0) FROM sets WHERE session_id = s.id)"""
REPS = f"""FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
           WHERE s.patient_id = {PID} AND s.{COUNTED} AND r.complete"""


def table_rows(text: str, first_cells: list[str]) -> dict[str, list[str]]:
    """Rendered table rows (innerText: cells split by tabs) whose first cell is one of `first_cells`."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("\t")]
        if cells[0] in first_cells and cells[0] not in rows:
            rows[cells[0]] = cells
    return rows


# ---- the overview --------------------------------------------------------------------------
def test_overview_adherence_matches_sql(rendered):
    store, text = rendered.store, rendered.text
    [(days, first, n, done, interrupted)] = q(store, f"""SELECT count(DISTINCT substr(started, 1, 10)),
        min(substr(started, 1, 10)), count(*), sum(status = 'completed'), sum(status = 'interrupted')
        FROM sessions WHERE patient_id = {PID} AND {COUNTED}""")
    prescribed = (TODAY - date.fromisoformat(first)).days + 1
    assert (days, prescribed, n, interrupted) == (17, 70, 17, 1)                  # 18 recorded, 1 voided
    assert f"Practised on {days} of {prescribed} days ({100 * days / prescribed:.0f} %)" in text
    [(recent,)] = q(store, f"SELECT count(DISTINCT substr(started, 1, 10)) FROM sessions WHERE patient_id = {PID} "
                           f"AND {COUNTED} AND substr(started, 1, 10) BETWEEN ? AND ?",
                    [(TODAY - timedelta(days=27)).isoformat(), TODAY.isoformat()])
    assert f"Last 28 days: {recent} of 28 days. {n} sessions: {done} completed, {interrupted} interrupted." in text
    assert "every day from the first session (4 Mar 2024) to the report date" in text


def _window(store, ex: str, lo: date, hi: date):
    """Clean-rep rate and evenness of the complete reps of full sessions from lo to hi (both included)."""
    return q(store, f"""SELECT 1.0 * sum(NOT r.synkinesis) / count(*),
        avg(min(abs(r.peak_left), abs(r.peak_right)) / max(abs(r.peak_left), abs(r.peak_right)))
        {REPS} AND st.exercise = ? AND {FULL} AND substr(s.started, 1, 10) BETWEEN ? AND ?""",
             [ex, lo.isoformat(), hi.isoformat()])[0]


def test_overview_exercise_rates_and_trends_match_sql(rendered):
    store = rendered.store
    names = {"brow-lift": "Brow lift", "gentle-eye-closure": "Gentle eye closure",
             "open-mouth-smile": "Open-mouth smile", "snarl": "Snarl"}
    rows = table_rows(rendered.text, list(names.values()))
    assert list(rows) == list(names.values())          # names, not ids, in the plan's order
    recent = (TODAY - timedelta(days=27), TODAY)
    before = (recent[0] - timedelta(days=28), recent[0] - timedelta(days=1))
    for ex, name in names.items():
        [(n_sessions, n_reps, rate)] = q(store, f"""SELECT count(DISTINCT s.id), count(*),
            1.0 * sum(NOT r.synkinesis) / count(*) {REPS} AND st.exercise = ?""", [ex])
        rate_recent, even_recent = _window(store, ex, *recent)
        rate_before, _ = _window(store, ex, *before)
        change = rate_recent - rate_before
        word = "▬ steady" if abs(change) < 0.10 else "▲ up" if change > 0 else "▼ down"
        assert rows[name][1:] == [str(n_sessions), str(n_reps), pct(rate), pct(rate_recent), pct(rate_before),
                                  f"{word} {100 * change:+.0f}".replace("-", "−"), pct(even_recent)], name


def test_overview_latest_treatment_effect_matches_sql(rendered):
    store, text = rendered.store, rendered.text
    day = date.fromisoformat(TOXIN_DAY)

    def clean(lo, hi):
        return q(store, f"""SELECT 1.0 * sum(NOT r.synkinesis) / count(*), count(*) {REPS}
                            AND substr(s.started, 1, 10) >= ? AND substr(s.started, 1, 10) < ?""",
                 [(day + timedelta(days=lo)).isoformat(), (day + timedelta(days=hi)).isoformat()])[0]

    (before, n_before), (after, n_after) = clean(-14, 0), clean(14, 42)
    assert "Botulinum toxin on 1 Apr 2024 (left orbicularis oculi, 7.5 units)" in text       # the corrected dose
    assert f"Clean reps: {pct(before)} before → {pct(after)} after ({100 * (after - before):+.0f} points)" in text
    assert f"complete reps: {n_before} in the 2 weeks before, {n_after} in weeks 2–6 after" in text


# ---- what the page shows -------------------------------------------------------------------
def test_interrupted_session_marked(rendered, pdf):
    [(started,)] = q(rendered.store, f"SELECT started FROM sessions WHERE patient_id = {PID} "
                                     "AND status = 'interrupted'")
    when = datetime.fromisoformat(started)
    rows = [line.split("\t") for line in rendered.text.splitlines() if line.startswith(f"{INTERRUPTED + 1}\t")]
    assert len(rows) == 1
    row = [c.strip() for c in rows[0]]
    [(complete, last_end)] = q(rendered.store, "SELECT sum(r.complete), max(r.end_s) FROM reps r JOIN sessions s "
                                               "ON s.id = r.session_id WHERE s.status = 'interrupted'")
    assert row[1:6] == [f"{when.day} {when:%b %Y}", f"{when:%H:%M}", "home", f"≥ {last_end:.0f} s", "interrupted"]
    assert row[6:] == [f"{complete}/2", "–", "–", "–"]            # 2 reps planned for brow lift only
    # The trend plots' legend (SVG text, so in the PDF's text) names the hollow marker.
    trends = [f for f in rendered.layout["figures"] if f.startswith("trend-")]     # each exercise's, the chin's, the neck's
    assert len(trends) == 6 and pdf.text.count("interrupted or short (not in the line)") == len(trends)
    assert re.search(rf"\b{INTERRUPTED + 1}\s+{when.day} {when:%b %Y}\s+{when:%H:%M}\s+home\s+≥\s*{last_end:.0f}\s*s"
                     r"\s+interrupted\s", pdf.text)


def session_list(text: str) -> list[list[str]]:
    """The rendered session list's rows (innerText: cells split by tabs): number, day, time, …"""
    return [[c.strip() for c in line.split("\t")] for line in text.splitlines()
            if re.match(r"\d+\t\d+ [A-Z][a-z]{2} \d{4}\t", line)]


def test_voided_session_is_in_no_list_and_no_figure(rendered, pdf):
    store, text = rendered.store, rendered.text
    # It stays in the log, with its reason and its reps …
    [(sid, started, reason)] = q(store, f"SELECT id, started, voided FROM sessions WHERE patient_id = {PID} "
                                        "AND voided IS NOT NULL")
    [(n_recorded,)] = q(store, f"SELECT count(*) FROM sessions WHERE patient_id = {PID}")
    [(n_reps,)] = q(store, "SELECT count(*) FROM reps WHERE session_id = ?", [sid])
    assert (reason, n_recorded, n_reps) == (VOID_REASON, 18, 16)
    # … but the report lists 17 sessions, none on its day, and counts it in no exercise.
    when = datetime.fromisoformat(started)
    shown = f"{when.day} {when:%b %Y}"
    listed = session_list(text)
    assert [r[0] for r in listed] == [str(i) for i in range(1, 18)]
    assert shown not in {r[1] for r in listed}
    # Only the list of voided sessions, after every figure, names it, with its reason (issue 19).
    figures, voided = text.split("Voided sessions", 1)
    assert shown not in figures and shown not in pdf.text.split("Voided sessions", 1)[0]
    assert shown in voided and VOID_REASON in voided and voided.index("Glossary") > voided.index(VOID_REASON)
    [(with_voided,)] = q(store, f"SELECT count(DISTINCT s.id) FROM sets st JOIN sessions s ON s.id = st.session_id "
                                f"WHERE s.patient_id = {PID} AND st.exercise = 'brow-lift'")
    assert (with_voided, table_rows(text, ["Brow lift"])["Brow lift"][1]) == (18, "17")


def test_corrected_dose_shows_and_removed_treatment_does_not(rendered, pdf):
    text = rendered.text
    assert table_rows(text, ["1 Apr 2024"])["1 Apr 2024"][:4] == ["1 Apr 2024", "botulinum toxin",
                                                                   "left orbicularis oculi", "7.5"]
    assert re.search(r"\(left orbicularis\s+oculi,\s+7\.5\s+units\)", pdf.text)
    assert not re.search(r"(?<![\d.])5 units", text)                          # the old dose is gone
    # The removed injection: not in the table, not the latest treatment, no marker on the trends.
    wrong = date.fromisoformat(WRONG_DAY)
    assert sum("\tbotulinum toxin\t" in line for line in text.splitlines()) == 1
    for gone in (f"{wrong.day} {wrong:%b}", "zygomaticus", "wrong patient", "50 units"):
        assert gone not in text, gone
        assert gone not in pdf.text, gone


def test_each_correction_left_its_audit_row(rendered):
    rows = q(rendered.store, f"SELECT row_table, field, old, new, command FROM audit WHERE patient_id = {PID} "
                             "ORDER BY rowid")
    removed = datetime(2024, 5, 11, 9, 0).astimezone().isoformat(timespec="milliseconds")
    assert rows == [("sessions", "voided", None, VOID_REASON, "session void"),
                    ("treatments", "units", "5", "7.5", "treatment edit"),
                    ("treatments", "removed", None, removed, "treatment remove"),
                    ("patients", "notes", "synthetic", "synthetic; corrected", "patient edit")]


def test_treatment_windows_shaded_and_labelled(rendered, pdf):
    # Labels in the rendered page: the strip above each plot names the windows and the injection.
    assert pdf.text.count("toxin 1 Apr") == 4
    for label in ("before", "after"):
        assert len(re.findall(rf"^\s+{label}\s+{'after' if label == 'before' else ''}", pdf.text, re.M)) >= 4 \
            or pdf.text.count(label) >= 8
    assert pdf.text.count("2 weeks before toxin") == 4 and pdf.text.count("weeks 2–6 after toxin") == 4
    # Pixels of each shade colour (alpha 0.45 over white) inside every trend plot of the screenshot.
    # The chin's and the neck's trends show only toxin into their muscles: none here (orbicularis oculi).
    for fig_id, (x, y, w, h) in rendered.layout["figures"].items():
        crop = rendered.shot[int(y):int(y + h), int(x):int(x + w)].astype(int)
        for colour, _ in WINDOW_STYLE.values():
            rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
            shade = np.round(255 * 0.55 + rgb * 0.45)
            hits = (np.abs(crop - shade).max(axis=2) <= 4).sum()
            if fig_id.startswith("trend-region-"):
                assert hits == 0, (fig_id, colour, hits)
            else:
                assert hits > 0.02 * w * h, (fig_id, colour, hits)


def test_units_on_the_axes(pdf):
    text = pdf.text
    assert text.count("Clean reps (without synkinesis), % of complete reps") == 4
    assert text.count("mouth-corner pull, % of mouth width") == 1            # brow lift
    # eye closure (mouth corner and chin), open-mouth smile (eye, chin, neck), snarl (eye, neck): sizes of
    # different measures, so the title names none
    assert text.count("Typical co-movement, % of the watched measure's neutral size") == 3
    for what in ("brow height, each side, % of neutral brow height", "eye opening, each side, % of neutral eye opening",
                 "commissure excursion, each side, % of mouth width",
                 "upper lip elevation, each side, % of mouth width"):
        assert what in text
    assert text.count("Each rep's peak movement, % of the patient's target") == 1
    assert len(re.findall(r"^\s+date\s*$", text, re.M)) == 4 + 2              # the trend plots' x axis (+ chin, neck)
    assert text.count("events per session (all exercises that watch it)") == 2   # the chin's and the neck's trends
    assert not re.search(r"\b\d{4}-[A-Z][a-z]{2}\b", text)                    # no "2026-Nov" offset label


def test_sunnybrook_shows_only_practised_expressions(rendered):
    text = rendered.text
    rows = table_rows(text, ["Brow lift", "Gentle eye closure", "Open-mouth smile", "Snarl", "Lip pucker"])
    assert "Not practised, so not estimated: Lip pucker." in text
    assert "not practised" not in text.split("Sunnybrook synkinesis: estimate")[1].split("Not practised")[0]
    assert "Lip pucker" not in rows


# ---- print -----------------------------------------------------------------------------------
def test_print_text_at_least_8pt_nothing_cut_on_a4_and_letter(pdf):
    for paper, (page_w, words) in pdf.words.items():
        heights = {}
        for w, x0, y0, x1, y1 in words:
            heights.setdefault(w, []).append(y1 - y0)
        # DejaVu Sans: a word's box is 1.164 × its size. The title is 15 pt: printed at 100 %, not shrunk.
        scale = heights["Facial"][0] / 15
        assert scale == pytest.approx(1.164, abs=0.02), paper
        smallest = min(y1 - y0 for _, x0, y0, x1, y1 in words) / 1.164
        assert smallest >= 7.95, (paper, smallest)
        assert max(x1 for _, x0, y0, x1, y1 in words) < page_w - 28, paper       # inside a 10 mm margin
        assert min(x0 for _, x0, y0, x1, y1 in words) > 28, paper
    assert {paper: round(page_w) for paper, (page_w, _) in pdf.words.items()} == {"A4": 595, "Letter": 612}


# ---- colour vision ---------------------------------------------------------------------------
# Machado, Oliveira & Fernandes 2009, deuteranopia at severity 1, applied in linear RGB.
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                         [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])


def deuteranopia(rgb: np.ndarray) -> np.ndarray:
    lin = np.where(rgb / 255 <= 0.04045, rgb / 255 / 12.92, ((rgb / 255 + 0.055) / 1.055) ** 2.4)
    out = np.clip(lin @ DEUTERANOPIA.T, 0, 1)
    return 255 * np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055)


def lightness(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def swatch(rgb: np.ndarray) -> tuple[float, float]:
    """(mean lightness, its spread): a hatched swatch has a large spread."""
    light = lightness(rgb)
    return float(light.mean()), float(light.std())


def test_calendar_legend_survives_deuteranopia(rendered):
    # The complaint: under deuteranopia the old "1 completed" and "interrupted only" fills look alike.
    old = deuteranopia(np.array([[0x91, 0xcf, 0x60], [0xfd, 0xae, 0x61]], float))
    assert abs(lightness(old[0]) - lightness(old[1])) < 10 and np.abs(old[0] - old[1]).max() < 25
    sim = deuteranopia(rendered.shot.astype(float))
    Image.fromarray(sim[:1400].astype(np.uint8)).save(rendered.folder / "deuteranopia-top.png")
    labels = [c[1] for c in CALENDAR_CLASSES]
    found = {}
    for item in rendered.layout["legend"]:
        if item["label"] in labels:
            x, y, w, h = (int(round(v)) for v in item["box"])
            found[item["label"]] = swatch(sim[y + 2:y + h - 2, x + 2:x + w - 2])
    assert set(found) == set(labels)
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            (la, sa), (lb, sb) = found[a], found[b]
            assert abs(la - lb) >= 20 or abs(sa - sb) >= 15, (a, found[a], b, found[b])
