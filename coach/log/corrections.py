"""Corrections that keep their history (mixed into `Store`): edits, removals and voids, each audited.

Nothing is overwritten silently: every changed field leaves one `audit` row (when, who, which
command, old → new), a removed treatment stays as a tombstone (`removed`), and a voided session
stays in the log with its reason (`voided`) but is left out of every figure (`coach.log.queries`).
Each correction is one transaction, and sets the row's `updated` to the store's clock, so a merge
(`coach.clinic.merge`) keeps the newer version. An edit that changes nothing writes nothing.

`Corrections` needs the store's `db`, `_tx()`, `_now()` and `get_patient`.
"""
from __future__ import annotations

import getpass
import re

from coach.errors import CoachError
from coach.log.file import HOST, friendly
from coach.log.parts import StoreParts
from coach.log.patients import checked_side, iso, new_id, treatment_date, treatment_kind, treatment_units

MIN_PREFIX = 6                    # shortest id prefix accepted (the lists show 8 characters)
_ID_TEXT = re.compile(r"^[0-9a-f-]+$")
PATIENT_FIELDS = ("display_name", "affected_side", "notes")
TREATMENT_FIELDS = ("date", "kind", "sites", "units", "notes")


def actor() -> str:
    """Who makes a change: user@computer."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):      # no login name (e.g. a container without a passwd entry)
        user = "unknown"
    return f"{user}@{HOST}"


def audit_text(value) -> str | None:
    """A value as the audit table holds it: text, whole numbers without a trailing .0."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _changes(row: dict, new: dict) -> dict:
    """{field: (old, new)} of the given fields whose value differs from the row's."""
    return {k: (row[k], v) for k, v in new.items() if v is not None and v != row[k]}


class Corrections(StoreParts):
    """Audited corrections of patients, treatments and sessions."""

    def _audit(self, command: str, patient_id: str | None, table: str, row_id: str,
               changes: dict, at: str) -> None:
        """One audit row per changed field (inside the caller's transaction)."""
        who = actor()
        for field, (old, new) in changes.items():
            self.db.table("audit").insert({"id": new_id(), "at": at, "actor": who, "command": command,
                                     "patient_id": patient_id, "row_table": table, "row_id": row_id,
                                     "field": field, "old": audit_text(old), "new": audit_text(new)})

    def _update(self, command: str, patient_id: str | None, table: str, row_id: str, changes: dict) -> None:
        """Write `changes` to the row with `updated` = now, and audit them, in one transaction."""
        if not changes:
            return
        at = iso(self._now())
        sets = ", ".join(f"{field} = ?" for field in changes)
        self.db.execute(f"UPDATE {table} SET {sets}, updated = ? WHERE id = ?",
                        [new for _, new in changes.values()] + [at, row_id])
        self._audit(command, patient_id, table, row_id, changes, at)

    def _find(self, table: str, given: str, what: str, where: str = "", params=()) -> dict:
        """The one row of `table` whose id is `given` or starts with it (at least MIN_PREFIX characters)."""
        key = (given or "").strip().lower()
        if len(key) < MIN_PREFIX or not _ID_TEXT.match(key):
            raise CoachError(f"{given!r} is not a {what} id: give the id or at least its first {MIN_PREFIX} "
                             "characters.")
        rows = list(self.db.query(f"SELECT * FROM {table} WHERE substr(id, 1, ?) = ? {where}",
                                  [len(key), key, *params]))
        if not rows:
            raise CoachError(f"No {what} with id {given}.")
        if len(rows) > 1:
            raise CoachError(f"The id {given} matches {len(rows)} {what}s; give more of it.")
        return rows[0]

    # ---- patients ---------------------------------------------------------------------
    @friendly
    def edit_patient(self, code: str, *, display_name: str | None = None, affected_side: str | None = None,
                     notes: str | None = None, command: str = "patient edit") -> dict:
        """Change the given fields (None: leave as is); returns {field: (old, new)} of what changed."""
        checked_side(affected_side)
        with self._tx():
            row = self.get_patient(code)
            changes = _changes(row, {"display_name": display_name, "affected_side": affected_side,
                                     "notes": notes})
            self._update(command, row["id"], "patients", row["id"], changes)
        return changes

    # ---- treatments -------------------------------------------------------------------
    def _treatment(self, code: str, treatment_id: str) -> dict:
        patient = self.get_patient(code)
        row = self._find("treatments", treatment_id, "treatment", "AND patient_id = ?", [patient["id"]])
        if row["removed"]:
            raise CoachError(f"Treatment {row['id'][:8]} of {code} was removed on {row['removed'][:10]}.")
        return row

    @friendly
    def edit_treatment(self, code: str, treatment_id: str, *, date: str | None = None, kind: str | None = None,
                       sites: str | None = None, units: float | None = None, notes: str | None = None,
                       allow_future: bool = False, command: str = "treatment edit") -> dict:
        """Change the given fields of a treatment (id or id prefix), checked as `add_treatment` checks
        them; returns {field: (old, new)} of what changed."""
        new = {"date": None if date is None else treatment_date(date, self._now().date(), allow_future),
               "kind": None if kind is None else treatment_kind(kind), "sites": sites,
               "units": treatment_units(units), "notes": notes}
        with self._tx():
            row = self._treatment(code, treatment_id)
            changes = _changes(row, new)
            self._update(command, row["patient_id"], "treatments", row["id"], changes)
        return changes

    @friendly
    def remove_treatment(self, code: str, treatment_id: str, command: str = "treatment remove") -> dict:
        """Mark a treatment removed (kept as a tombstone, left off the report); returns its row."""
        with self._tx():
            row = self._treatment(code, treatment_id)
            self._update(command, row["patient_id"], "treatments", row["id"],
                         {"removed": (None, iso(self._now()))})
        return row

    # ---- sessions ---------------------------------------------------------------------
    def _ended_session(self, session_id: str) -> dict:
        row = self._find("sessions", session_id, "session")
        if row["status"] == "in-progress":
            raise CoachError(f"Session {row['id'][:8]} is still running; void it once it has ended.")
        return row

    @friendly
    def void_session(self, session_id: str, reason: str, command: str = "session void") -> dict:
        """Leave a session out of every figure, with the reason why (it stays in the log)."""
        reason = (reason or "").strip()
        if not reason:
            raise CoachError("Say why the session is voided (a reason is required).")
        with self._tx():
            row = self._ended_session(session_id)
            self._update(command, row["patient_id"], "sessions", row["id"], _changes(row, {"voided": reason}))
        return {**row, "voided": reason}

    @friendly
    def unvoid_session(self, session_id: str, command: str = "session void --undo") -> dict:
        """Count a voided session again."""
        with self._tx():
            row = self._ended_session(session_id)
            if row["voided"] is None:
                raise CoachError(f"Session {row['id'][:8]} is not voided, so there is nothing to undo.")
            self._update(command, row["patient_id"], "sessions", row["id"], {"voided": (row["voided"], None)})
        return {**row, "voided": None}

    # ---- history ----------------------------------------------------------------------
    @friendly
    def audit_rows(self, code: str) -> list[dict]:
        """Patient `code`'s audit rows, newest first (one change's fields in the order written)."""
        patient = self.get_patient(code)
        return list(self.db.query("SELECT * FROM audit WHERE patient_id = ? ORDER BY at DESC, rowid",
                                  [patient["id"]]))
