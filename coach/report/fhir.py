"""A patient's sessions as a FHIR R4 transaction Bundle (`coach export CODE --fhir FILE.json`).

The Bundle holds, as plain dicts (JSON):

* the Patient, known only by the clinic's identifier (`system` + the patient code); the name
  only when asked for (`with_name`);
* the Device: coach and its version;
* one Observation per session and exercise of the sessions that ended (the rows of
  `coach.core.summary`, the same figures as sessions.csv and the report), its figures as components.

Re-sending never duplicates: every entry is a POST with `ifNoneExist` on its identifier
(conditional create), so a server that already holds it keeps it and points the other
entries' references at the stored one. The output is deterministic: entries are sorted and
their `fullUrl`s are uuid5s of their identifiers, so the same data gives the same file.

The figures have no LOINC codes (they are this program's own measures), so they are coded in a
local CodeSystem, `CODE_SYSTEM`, with the codes in `CODES`, named after `coach.core.progress.FIGURES`.
Units are UCUM: `%`, `s`, `{reps}` and `{events}`. The chin's and the neck's co-movement
(`progress.REGION_FIGURES`) are Observations of their own, with the region's muscle as body site.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import datetime
from urllib.parse import quote

from coach import __version__
from coach.core import progress, summary
from coach.errors import CoachError

# Clearly local identifier systems (URNs, not web addresses nobody owns). A clinic names its own
# patient identifier system with `--system`.
PATIENT_SYSTEM = "urn:coach:patient-code"
DEVICE_SYSTEM = "urn:coach:device"
OBSERVATION_SYSTEM = "urn:coach:session-exercise"      # value: session id / exercise id
EXERCISE_SYSTEM = "urn:coach:exercise"                 # the exercise library's ids
CODE_SYSTEM = "urn:coach:measures"                     # the local CodeSystem of CODES
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORIES = (("therapy", "Therapy"), ("exam", "Exam"))  # a retraining session, measured by camera
# The namespace of every fullUrl (uuid5 of an entry's identifier): fixed, so files are stable.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:coach")

SESSION_CODE = "exercise-session"
PERCENT = ("%", "%")                  # (unit shown, UCUM code)
UNITS = {"%": PERCENT, "reps": ("reps", "{reps}"), "s": ("s", "s"), "events": ("events", "{events}")}


def code_of(figure: progress.Figure) -> str:
    """A figure's code: its one name, hyphenated ("typical co-movement, left" -> typical-co-movement-left)."""
    return re.sub(r"[^a-z0-9]+", "-", figure.name.lower()).strip("-")


def _display(figure: progress.Figure) -> str:
    return f"{figure.name[0].upper()}{figure.name[1:]}" + (f" ({figure.unit_words})" if figure.of else "")


# The local CodeSystem: code -> (display, summary field or None, unit). Components in this order; the
# figures' names, units and definitions are `coach.core.progress.FIGURES`.
CODES = {
    SESSION_CODE: ("Facial retraining exercise in one session", None, None),
    **{code_of(fig): (_display(fig), key, UNITS[fig.unit]) for key, fig in progress.FIGURES.items()},
}
# The co-movement of the chin and of the neck: an Observation of its own per session, exercise and region,
# with the region's muscle as its body site (as text: the figures are local, so no SNOMED code is claimed).
REGION_CODES = {field: (code_of(fig), _display(fig), UNITS[fig.unit]) for field, fig in progress.REGION_FIGURES.items()}
BODY_SITES = {"chin": "Mentalis muscle (chin)", "neck": "Platysma muscle (neck)"}
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def check_system(system: str) -> str:
    """An identifier system must be an absolute URI (e.g. https://clinic.example/patients)."""
    if not _URI.match(system or ""):
        raise CoachError(f"The identifier system {system!r} is not a URI; give one such as "
                         "https://clinic.example/patient-ids.")
    return system


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _entry(resource: dict, system: str, value: str) -> dict:
    """A conditional create of `resource`, identified by (system, value)."""
    resource = {**resource, "identifier": [{"system": system, "value": value}]}
    return {"fullUrl": f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'{system}|{value}')}", "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"],
                        "ifNoneExist": f"identifier={quote(system, safe=':/')}|{quote(value, safe=':/')}"}}


def patient_entry(patient: dict, system: str, with_name: bool = False) -> dict:
    resource: dict = {"resourceType": "Patient"}
    if with_name and patient.get("display_name"):
        resource["name"] = [{"text": patient["display_name"]}]
    return _entry(resource, system, patient["code"])


def device_entry(version: str = __version__) -> dict:
    return _entry({"resourceType": "Device", "deviceName": [{"name": "coach", "type": "model-name"}],
                   "version": [{"value": version}], "type": {"text": "Facial retraining coach (software)"}},
                  DEVICE_SYSTEM, f"coach {version}")


def effective(started: str) -> str:
    """The session's start as a FHIR dateTime: with its UTC offset, else (an old row) the date only."""
    return started if datetime.fromisoformat(started).tzinfo else started[:10]


def components(row: dict) -> list[dict]:
    """The row's figures, percentages rounded as in sessions.csv. Absent ones are left out, and so are
    those that are not finite numbers (from a damaged row): a FHIR Quantity and JSON hold only finite
    ones, and one bad figure does not keep the session's other figures from the clinic."""
    out = []
    for code, (display, field, unit) in CODES.items():
        value = row.get(field) if field else None
        if value is None or field is None or unit is None or not math.isfinite(value):
            continue
        value = summary.plain_value(field, value)
        out.append({"code": _coding(CODE_SYSTEM, code, display),
                    "valueQuantity": {"value": value, "unit": unit[0], "system": UCUM, "code": unit[1]}})
    return out


def observation_entry(row: dict, subject: str, device: str) -> dict:
    planned = "" if row["planned"] is None else f"; {row['planned']} reps planned"
    resource = {
        "resourceType": "Observation", "status": "final",
        "category": [_coding(CATEGORY_SYSTEM, code, display) for code, display in CATEGORIES],
        "code": _coding(CODE_SYSTEM, SESSION_CODE, CODES[SESSION_CODE][0]),
        "method": _coding(EXERCISE_SYSTEM, row["exercise_id"], row["exercise"]),
        "subject": {"reference": subject}, "device": {"reference": device},
        "effectiveDateTime": effective(row["started"]),
        "note": [{"text": f"{row['kind'].capitalize()} session, {row['status']}{planned}."}],
        "component": components(row),
    }
    return _entry(resource, OBSERVATION_SYSTEM, f"{row['session_id']}/{row['exercise_id']}")


def region_entries(row: dict, subject: str, device: str) -> list[dict]:
    """One Observation per region the row has a co-movement figure for (the exercise watches it), its
    value the count of events, its body site the region's muscle; identified as session/exercise/region."""
    out = []
    for field, (code, display, unit) in REGION_CODES.items():
        value = row.get(field)
        if value is None:
            continue
        region = field.removesuffix("_events")
        resource = {
            "resourceType": "Observation", "status": "final",
            "category": [_coding(CATEGORY_SYSTEM, c, d) for c, d in CATEGORIES],
            "code": _coding(CODE_SYSTEM, code, display),
            "bodySite": {"text": BODY_SITES[region]},
            "method": _coding(EXERCISE_SYSTEM, row["exercise_id"], row["exercise"]),
            "subject": {"reference": subject}, "device": {"reference": device},
            "effectiveDateTime": effective(row["started"]),
            "valueQuantity": {"value": value, "unit": unit[0], "system": UCUM, "code": unit[1]},
        }
        out.append(_entry(resource, OBSERVATION_SYSTEM, f"{row['session_id']}/{row['exercise_id']}/{region}"))
    return out


def bundle(patient: dict, rows: list[dict], *, system: str = PATIENT_SYSTEM, with_name: bool = False,
           version: str = __version__) -> dict:
    """The transaction Bundle of `patient` (a patients row) and its summary rows."""
    who, what = patient_entry(patient, check_system(system), with_name), device_entry(version)
    # A running session's figures still change, and a conditional create keeps the first copy a server
    # gets: only sessions that ended are sent.
    rows = sorted((r for r in rows if r["state"] != "in-progress"),
                  key=lambda r: (r["started"], r["session_id"], r["exercise_id"]))
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [who, what, *(entry for r in rows for entry in (
                observation_entry(r, who["fullUrl"], what["fullUrl"]), *region_entries(r, who["fullUrl"], what["fullUrl"])))]}
