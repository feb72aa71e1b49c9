"""Writing patients, plans, treatments and the kiosk's second factors (mixed into `Store`).

`PatientWrites` needs the store's `db`, `_tx()`, `_now()`, the patient queries of
`StoreQueries` and `_audit` of `coach.log.corrections.Corrections` (a replaced plan is audited).
Every value is checked here, at the door, in one sentence.
"""
from __future__ import annotations

import json
import math
import uuid
from datetime import date as Date, datetime

from coach.core.plan import PlanError, parse_items
from coach.errors import CoachError, PatientExists
from coach.log.file import friendly
from coach.log.parts import StoreParts
from coach.log.schema import AFFECTED_SIDES, CHECK_KINDS, TREATMENT_KINDS

MAX_UNITS = 10_000.0          # a dose above this is a typo (botulinum toxin doses are hundreds at most)


def iso(moment: datetime) -> str:
    """How the store writes a time: ISO 8601 with milliseconds and the UTC offset."""
    return (moment if moment.tzinfo else moment.astimezone()).isoformat(timespec="milliseconds")


def new_id() -> str:
    return str(uuid.uuid4())


def compact_json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def patient_code(code) -> str:
    """A patient code as stored: one word, e.g. P001 (what the therapist and the kiosk type)."""
    code = (code or "").strip()
    if not code or any(c.isspace() for c in code):
        raise CoachError("A patient code must be one word, e.g. P001.")
    return code


def checked_side(side: str | None) -> str | None:
    """None (not recorded), or the patient's anatomical side with the palsy."""
    if side is not None and side not in AFFECTED_SIDES:
        raise CoachError(f"Affected side must be left or right, not {side!r}.")
    return side


# Names people use for a botulinum toxin injection: the product names (EU, UK and US) and their
# generic names, with "botox" for any of them. Matched without case, spaces or hyphens.
TOXIN_NAMES = ("botox", "botulinum", "toxin", "bont", "bonta", "btx", "dysport", "xeomin", "bocouture", "azzalure",
               "vistabel", "letybo", "daxxify", "jeuveau", "nuceiva", "alluzience", "relfydess",
               "onabotulinumtoxina", "abobotulinumtoxina", "incobotulinumtoxina", "letibotulinumtoxina",
               "daxibotulinumtoxina", "prabotulinumtoxina", "relabotulinumtoxina")
TREATMENT_ALIASES = {name: "botulinum_toxin" for name in TOXIN_NAMES} | {"operation": "surgery"}


def _plain_word(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def treatment_alias(value: str) -> str | None:
    """The treatment kind `value` names (a kind, a product or generic name), or None."""
    word = _plain_word(value)
    for kind in TREATMENT_KINDS:
        if word == _plain_word(kind):
            return kind
    return TREATMENT_ALIASES.get(word)


def treatment_kind(kind: str) -> str:
    if kind not in TREATMENT_KINDS:
        raise CoachError(f"Treatment kind must be one of {', '.join(TREATMENT_KINDS)}, not {kind!r}.")
    return kind


def treatment_date(value: str, today: Date, allow_future: bool = False) -> str:
    """A treatment's date as stored (YYYY-MM-DD); a date after `today` only with `allow_future`
    (a treatment is recorded once given; the CLI asks first)."""
    day = treatment_day(value)
    if day > today and not allow_future:
        raise CoachError(f"The treatment date {day.isoformat()} is in the future; a treatment is "
                         "recorded once given.")
    return day.isoformat()


def treatment_day(value: str) -> Date:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").date()
    except ValueError:
        raise CoachError(f"Treatment date must be YYYY-MM-DD, not {value!r}.") from None


def treatment_units(units) -> float | None:
    """None, or a dose that is a finite number above 0."""
    if units is None:
        return None
    try:
        value = float(units)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(units, bool) or not math.isfinite(value) or not 0 < value <= MAX_UNITS:
        raise CoachError(f"Treatment units must be a number above 0 and at most {MAX_UNITS:g}, not {units!r}.")
    return value


class PatientWrites(StoreParts):
    """Patients, plans, treatments and second factors: the writes (reads are in `StoreQueries`)."""

    @friendly
    def add_patient(self, code: str, display_name: str | None = None,
                    affected_side: str | None = None, notes: str = "") -> dict:
        code = patient_code(code)
        row = {"id": new_id(), "code": code, "display_name": display_name,
               "affected_side": checked_side(affected_side), "notes": notes or "", "created": iso(self._now())}
        row["updated"] = row["created"]
        with self._tx():
            if self._patient_row(code):
                raise PatientExists(code)
            self.db.table("patients").insert(row)
        return row

    @friendly
    def set_plan(self, code: str, items: list[dict], command: str = "plan set") -> dict:
        """Store a new plan; it becomes the active one. Items are validated and normalised.
        Replacing a different plan leaves an audit row (the old and new items as compact JSON)."""
        patient = self.get_patient(code)
        try:
            clean = [item.to_dict() for item in parse_items(items)]
        except PlanError as exc:
            raise CoachError(str(exc)) from None
        row = {"id": new_id(), "patient_id": patient["id"], "created": iso(self._now()),
               "items": json.dumps(clean)}
        with self._tx():
            previous = self.get_plan(code)
            self.db.table("plans").insert(row)
            if previous is not None and previous != clean:
                self._audit(command, patient["id"], "plans", row["id"],
                            {"items": (compact_json(previous), compact_json(clean))}, row["created"])
        return {**row, "items": clean}

    @friendly
    def add_treatment(self, code: str, date: str, kind: str, sites: str = "",
                      units: float | None = None, notes: str = "", allow_future: bool = False) -> dict:
        """A treatment of patient `code`. Units are above 0; a date after today (the store's
        clock) is refused unless `allow_future` (the CLI asks first)."""
        patient = self.get_patient(code)
        row = {"id": new_id(), "patient_id": patient["id"],
               "date": treatment_date(date, self._now().date(), allow_future), "kind": treatment_kind(kind),
               "sites": sites or "", "units": treatment_units(units), "notes": notes or "",
               "updated": iso(self._now())}
        with self._tx():
            self.db.table("treatments").insert(row)
        return row

    @friendly
    def set_patient_check(self, code: str, kind: str | None, hashed: str | None = None) -> None:
        """The patient's second factor at the kiosk: `kind` (pin | birth_year) and the answer's
        hash (the caller hashes it); `kind=None` removes it."""
        patient = self.get_patient(code)
        if kind is not None and (kind not in CHECK_KINDS or not hashed):
            raise CoachError(f"A kiosk check is one of {', '.join(CHECK_KINDS)}, with its answer.")
        with self._tx():
            self.db.execute("DELETE FROM patient_checks WHERE patient_id = ?", [patient["id"]])
            if kind is not None:
                self.db.table("patient_checks").insert({"patient_id": patient["id"], "kind": kind, "hash": hashed,
                                                  "created": iso(self._now())})
