"""`coach export --fhir`: a FHIR R4 transaction Bundle, validated with fhir.resources (its R4B models,
which parse R4's Bundle, Patient, Device and Observation), with the report's figures."""
from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from coach import __version__
from coach.report import fhir
from coach.cli import cli
from coach.core import summary
from coach.core.exercises import load_library
from coach.log.store import Store
from coach.report.data import gather
from coach.report.sections import _trend_rows
from test_exports import CODE, PLANNED, build_patient, q

MODELS = {"Patient": Patient, "Device": Device, "Observation": Observation}
CLINIC = "https://clinic.example/patient-ids"


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fhir")
    return folder, build_patient(folder / "coach.db")


def export(folder, name, *args):
    path = folder / name
    result = CliRunner().invoke(cli, ["export", CODE, "--fhir", str(path), *args, "--db", str(folder / "coach.db")])
    assert result.exit_code == 0, (result.output, result.exception)
    return path


@pytest.fixture(scope="module")
def bundle(patient):
    folder, _ = patient
    return json.loads(export(folder, "P017.json").read_text(encoding="utf-8"))


def observations(bundle) -> list[dict]:
    """The session Observations (one per session and exercise); a region's co-movement has its own."""
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
            and e["resource"]["code"]["coding"][0]["code"] == fhir.SESSION_CODE]


def figures(obs: dict) -> dict:
    return {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in obs["component"]}


def test_bundle_validates_with_fhir_resources(bundle):
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    assert [type(e.resource).__name__ for e in parsed.entry][:2] == ["Patient", "Device"]
    for entry in bundle["entry"]:
        MODELS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
    obs = observations(bundle)[0]                 # the validator is not a rubber stamp:
    for broken in ({k: v for k, v in obs.items() if k != "status"},           # a required element missing
                   {**obs, "effectiveDateTime": "4 March 2024"},               # not a FHIR dateTime
                   {**obs, "subject": "Patient/1"}):                           # not a Reference
        with pytest.raises(ValidationError):
            Observation.model_validate(broken)


def test_entries_are_conditional_creates_with_stable_references(bundle):
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    assert [e["request"] for e in bundle["entry"]] == [
        {"method": "POST", "url": e["resource"]["resourceType"],
         "ifNoneExist": "identifier={system}|{value}".format(**e["resource"]["identifier"][0]).replace(" ", "%20")}
        for e in bundle["entry"]]
    patient_url, device_url = urls[:2]
    for obs in observations(bundle):
        assert obs["subject"] == {"reference": patient_url} and obs["device"] == {"reference": device_url}
        assert obs["status"] == "final"
        assert {c["coding"][0]["code"] for c in obs["category"]} == {"therapy", "exam"}
        assert obs["code"]["coding"][0]["system"] == fhir.CODE_SYSTEM
    device = bundle["entry"][1]["resource"]
    assert device["deviceName"][0]["name"] == "coach" and device["version"] == [{"value": __version__}]


def test_one_observation_per_shown_session_and_exercise(patient, bundle):
    folder, ids = patient
    obs = observations(bundle)
    pairs = q(folder / "coach.db", """SELECT s.id, st.exercise FROM sets st JOIN sessions s ON s.id = st.session_id
                                      WHERE s.voided IS NULL""")
    assert sorted(o["identifier"][0]["value"] for o in obs) == sorted(f"{sid}/{ex}" for sid, ex in pairs)
    assert ids["voided"] not in json.dumps(bundle)
    assert [o["effectiveDateTime"] for o in obs] == sorted(o["effectiveDateTime"] for o in obs)


CODES = {"reps-done": "done", "clean-reps": "clean", "clean-rep-rate": "clean_rate",
         "typical-co-movement": "typical_co_movement", "largest-co-movement": "largest_co_movement",
         "typical-co-movement-left": "co_movement_left", "typical-co-movement-right": "co_movement_right",
         "typical-movement-left": "movement_left", "typical-movement-right": "movement_right",
         "typical-movement": "typical_movement", "evenness": "evenness", "mean-hold": "mean_hold",
         "hold-steadiness": "steadiness", "target": "target"}
PLOTTED = {"clean-rep-rate": "rate", "typical-co-movement": "co", "typical-movement-left": "amp_first",
           "typical-movement-right": "amp_second"}


def report_figures(folder):
    """The summary rows by identifier value, and the report's plotted points by (session id, exercise)."""
    with Store.open(folder / "coach.db", readonly=True) as store:
        data = gather(store, CODE, date(2024, 4, 15), load_library()[0])
    rows = {f"{r['session_id']}/{r['exercise_id']}": r
            for r in summary.session_rows(data.sessions, data.sets, data.reps, data.name)}
    series = data.series()
    plotted = {(point.reps[0]["session_id"], ex): plot for ex in PLANNED
               for point, plot in zip(series[ex], _trend_rows(data, ex, series[ex])[0])}
    return rows, plotted


def expected_quantity(code: str, value) -> dict:
    unit = {"reps-done": ("reps", "{reps}"), "clean-reps": ("reps", "{reps}"), "mean-hold": ("s", "s")}.get(code, ("%", "%"))
    value = value if unit[1] == "{reps}" else round(value, 1) if unit[1] == "s" else summary.percent(value)
    return {"value": value, "unit": unit[0], "system": fhir.UCUM, "code": unit[1]}


def test_figures_equal_the_summary_rows_and_the_report(patient, bundle):
    rows, plotted = report_figures(patient[0])
    for obs in observations(bundle):
        row, got = rows[obs["identifier"][0]["value"]], figures(obs)
        assert got == {code: expected_quantity(code, row[field]) for code, field in CODES.items()
                       if row[field] is not None}                  # absent figures are left out, not null
        plot = plotted[(row["session_id"], row["exercise_id"])]
        assert {code: got[code]["value"] for code in PLOTTED} == \
            {code: round(plot[key], 1) for code, key in PLOTTED.items()}    # the report's points (left affected)
        assert obs["method"]["coding"][0] == {"system": fhir.EXERCISE_SYSTEM, "code": row["exercise_id"],
                                              "display": row["exercise"]}
    assert any("target" in figures(o) for o in observations(bundle))
    assert any("target" not in figures(o) for o in observations(bundle))
    assert "null" not in json.dumps(bundle)


def test_complete_reps_match_sql(patient, bundle):
    folder, _ = patient
    done = dict(q(folder / "coach.db", """SELECT st.session_id || '/' || st.exercise, count(r.id) FROM sets st
                                         LEFT JOIN reps r ON r.set_id = st.id AND r.complete GROUP BY st.id"""))
    for obs in observations(bundle):
        assert figures(obs)["reps-done"]["value"] == done[obs["identifier"][0]["value"]]


def test_no_name_unless_asked(patient, bundle):
    folder, _ = patient
    text = json.dumps(bundle)
    patient_res = bundle["entry"][0]["resource"]
    assert "name" not in patient_res and "Ann Lee" not in text
    assert patient_res["identifier"] == [{"system": fhir.PATIENT_SYSTEM, "value": CODE}]
    named = json.loads(export(folder, "named.json", "--with-name", "--system", CLINIC).read_text())
    who = named["entry"][0]
    assert who["resource"]["name"] == [{"text": "Ann Lee"}]
    assert who["resource"]["identifier"] == [{"system": CLINIC, "value": CODE}]
    assert who["request"]["ifNoneExist"] == f"identifier={CLINIC}|{CODE}"
    Bundle.model_validate(named)


def test_re_export_is_byte_identical_and_owner_only(patient):
    folder, _ = patient
    first, second = export(folder, "a.json"), export(folder, "b.json")
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_mode & 0o777 == 0o600


def test_a_bad_identifier_system_is_refused(patient):
    folder, _ = patient
    result = CliRunner().invoke(cli, ["export", CODE, "--fhir", str(folder / "x.json"), "--system", "clinic ids",
                                      "--db", str(folder / "coach.db")])
    assert result.exit_code == 1 and "is not a URI" in str(result.exception)
    assert not (folder / "x.json").exists()


def test_a_running_session_is_not_sent(patient):
    """Its figures still change, and a conditional create would keep the first copy."""
    rows, _ = report_figures(patient[0])
    ended = list(rows.values())
    running = {**ended[0], "session_id": "still-running", "state": "in-progress", "status": "in progress"}
    sent = fhir.bundle({"code": CODE, "display_name": "Ann Lee"}, [running, *ended])
    values = [e["resource"]["identifier"][0]["value"] for e in sent["entry"][2:]]
    assert len(values) == len(ended) and not any(v.startswith("still-running") for v in values)


def strict_json(text: str):
    """JSON as the standard has it: NaN and Infinity are not numbers there."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_figures_that_are_not_finite_numbers_are_left_out_and_the_file_is_json(tmp_path):
    """Damaged reps (infinite peaks on one side, in every rep of one session, so that even its typical
    figures, medians, are infinite or NaN): those figures are left out of its Observation, its other
    figures and every other session's are sent."""
    import math
    import sqlite3

    ids = build_patient(tmp_path / "coach.db")
    conn = sqlite3.connect(tmp_path / "coach.db")
    with conn:
        conn.execute("UPDATE reps SET peak_left = ?, synkinesis_left = ? WHERE session_id = ? AND complete",
                     [float("inf"), float("-inf"), ids["all"][0]])
    conn.close()
    rows, _ = report_figures(tmp_path)
    bad = {value: [code for code, field in CODES.items() if row[field] is not None and not math.isfinite(row[field])]
           for value, row in rows.items()}
    assert any(bad.values())                           # the damage reached the figures
    bundle = strict_json(export(tmp_path, "P017.json").read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    for obs in observations(bundle):
        value = obs["identifier"][0]["value"]
        row = rows[value]
        assert figures(obs) == {code: expected_quantity(code, row[field]) for code, field in CODES.items()
                                if row[field] is not None and code not in bad[value]}
    assert len(observations(bundle)) == len(rows)

