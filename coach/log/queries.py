"""Reading the session log: the rows the report, the screens and `coach sessions` are built from.

`StoreQueries` is the read half of `coach.log.store.Store` (it needs `self.db`
and `self.path`). Rows only: every figure a person reads (rates, means) is
computed by `coach.core.progress` from these rows, never in SQL.

Voided sessions (`sessions.voided`, set by `coach.log.corrections`) stay in the log but are left
out of every figure: the queries here leave them out unless asked (`include_voided=True`), so the
report, the exports, FHIR and the coach's own screens never count them.
"""
from __future__ import annotations

import json

from coach.core import progress
from coach.errors import CoachError, NoPatient
from coach.log.file import HOST, friendly, lock_dir, lock_is_free
from coach.log.parts import StoreParts
from coach.log.schema import SAMPLE_BASE_COLUMNS

# What `last_session_summary` reports for an exercise whose sets hold no reps.
NO_REPS = {"reps": 0, "complete": 0, "synkinesis_free": 0, "synkinesis_free_rate": None,
           "typical_movement": None, "mean_hold_s": None}


class StoreQueries(StoreParts):
    """Read-only queries of the session log (mixed into `Store`).

    A read-only store shows an `in-progress` session whose process is gone (its lock is
    free) as `interrupted`, as the next store to write will mark it (`_dead`)."""

    _dead: frozenset = frozenset()

    def _dead_sessions(self) -> frozenset:
        rows = self.db.execute("SELECT id, host FROM sessions WHERE status = 'in-progress'").fetchall()
        folder = lock_dir(self.path)
        return frozenset(sid for sid, host in rows
                         if (not host or host == HOST) and lock_is_free(folder / f"{sid}.lock"))

    def _shown(self, row: dict, key: str = "status", id_key: str = "id") -> dict:
        if row.get(id_key) in self._dead and row.get(key) == "in-progress":
            row[key] = "interrupted"
        return row

    # ---- patients, plans, treatments -------------------------------------
    def _patient_row(self, code: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM patients WHERE code = ?", [code]))
        return rows[0] if rows else None

    @friendly
    def get_patient(self, code: str) -> dict:
        row = self._patient_row(code)
        if row is None:
            raise NoPatient(code)
        return row

    @friendly
    def list_patients(self) -> list[dict]:
        return list(self.db.query(
            "SELECT p.*, count(s.id) AS sessions, max(s.started) AS last_session "
            "FROM patients p LEFT JOIN sessions s ON s.patient_id = p.id AND s.voided IS NULL "
            "GROUP BY p.id ORDER BY p.code"))

    @friendly
    def get_plan(self, code: str) -> list[dict] | None:
        patient = self.get_patient(code)
        rows = list(self.db.query(
            "SELECT items FROM plans WHERE patient_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
            [patient["id"]]))
        return json.loads(rows[0]["items"]) if rows else None

    @friendly
    def patient_check(self, code: str) -> dict | None:
        """The patient's second factor at the kiosk ({kind, hash}), or None."""
        rows = list(self.db.query("SELECT c.kind, c.hash FROM patient_checks c JOIN patients p "
                                  "ON p.id = c.patient_id WHERE p.code = ?", [code]))
        return rows[0] if rows else None

    @friendly
    def list_treatments(self, code: str) -> list[dict]:
        patient = self.get_patient(code)
        return list(self.db.query(
            "SELECT * FROM treatments WHERE patient_id = ? AND removed IS NULL ORDER BY date, rowid", [patient["id"]]))

    def learned_targets(self, patient_code: str) -> dict[str, float]:
        """{exercise: target} learned in this patient's latest set of each exercise."""
        rows = self.db.execute(
            """SELECT s.exercise, s.target FROM sets s JOIN sessions se ON se.id = s.session_id
               JOIN patients p ON p.id = se.patient_id
               WHERE p.code = ? AND s.target IS NOT NULL AND s.target_source IN ('learned', 'previous')
               AND se.voided IS NULL
               ORDER BY s.started""", [patient_code]).fetchall()
        return {ex: float(t) for ex, t in rows}

    # ---- sessions and what they hold -----------------------------------------
    @friendly
    def session_rows(self, patient_code: str | None = None, include_voided: bool = False) -> list[dict]:
        """Session rows with their patient's code, oldest first. No figures."""
        where, params = self._scope(patient_code, None, include_voided)
        return [self._shown(r) for r in self.db.query(f"""
            SELECT s.*, p.code AS patient_code FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
            {where} ORDER BY s.started, s.rowid""", params)]

    @friendly
    def sessions(self, patient_code: str | None = None, include_voided: bool = False) -> list[dict]:
        """Session rows, oldest first, with their number of sets (`n_sets`) and the rep
        figures of `progress.session_figures` (n_reps, n_complete, n_synkinesis_free, rate)."""
        where, params = self._scope(patient_code, None, include_voided)
        n_sets = dict(self.db.execute(
            f"SELECT st.session_id, count(*) FROM sets st JOIN sessions s ON s.id = st.session_id "
            f"{where} GROUP BY st.session_id", params).fetchall())
        rows = [{**s, "n_sets": n_sets.get(s["id"], 0)} for s in self.session_rows(patient_code, include_voided)]
        return progress.session_figures(rows, self.rep_rows(patient_code, include_voided=include_voided))

    @friendly
    def get_session(self, session_id: str) -> dict:
        rows = list(self.db.query("SELECT * FROM sessions WHERE id = ?", [session_id]))
        if not rows:
            raise CoachError(f"No session with id {session_id}.")
        return self._shown(rows[0])

    @friendly
    def session_sets(self, session_id: str) -> list[dict]:
        return list(self.db.query(
            "SELECT * FROM sets WHERE session_id = ? ORDER BY started, rowid", [session_id]))

    @friendly
    def rep_rows(self, patient_code: str | None = None, session_id: str | None = None,
                 include_voided: bool = False) -> list[dict]:
        """Reps with their set's exercise and session's start, in time order."""
        where, params = self._scope(patient_code, session_id, include_voided)
        return [self._shown(r, "session_status", "session_id") for r in self.db.query(f"""
            SELECT r.*, st.exercise AS exercise, s.started AS session_started, s.status AS session_status
            FROM reps r JOIN sessions s ON s.id = r.session_id LEFT JOIN sets st ON st.id = r.set_id
            {where} ORDER BY s.started, s.rowid, st.started, r.idx, r.rowid""", params)]

    @friendly
    def event_rows(self, patient_code: str | None = None, session_id: str | None = None,
                   include_voided: bool = False) -> list[dict]:
        where, params = self._scope(patient_code, session_id, include_voided)
        return list(self.db.query(f"""
            SELECT e.*, st.exercise AS exercise, s.started AS session_started
            FROM events e JOIN sessions s ON s.id = e.session_id LEFT JOIN sets st ON st.id = e.set_id
            {where} ORDER BY s.started, e.start_s, e.rowid""", params))

    @friendly
    def calibrations(self, session_id: str) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM calibrations WHERE session_id = ? ORDER BY t",
                                  [session_id]))
        return [{**r, "baseline": json.loads(r["baseline"])} for r in rows]

    @friendly
    def samples(self, session_id: str) -> list[dict]:
        """A session's samples as dicts (NULL measure columns dropped)."""
        out = []
        for row in self.db.query("SELECT * FROM samples WHERE session_id = ? ORDER BY t", [session_id]):
            out.append({k: v for k, v in row.items() if v is not None or k in SAMPLE_BASE_COLUMNS})
        return out

    def _scope(self, patient_code, session_id, include_voided: bool = False) -> tuple[str, list]:
        clauses, params = ([] if include_voided else ["s.voided IS NULL"]), []
        if patient_code:
            clauses.append("s.patient_id = ?")
            params.append(self.get_patient(patient_code)["id"])
        if session_id:
            clauses.append("s.id = ?")
            params.append(session_id)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    @friendly
    def last_session_summary(self, patient_code: str, before_session_id: str | None = None) -> dict | None:
        """The patient's latest finished or interrupted session (not voided) before `before_session_id`
        (or the latest at all), with `progress.exercise_summary` per exercise in set order;
        None if there is none. An exercise whose sets have no reps counts zero reps."""
        patient = self.get_patient(patient_code)
        params: list = [patient["id"]]
        before = ""
        if before_session_id:
            before = "AND started < (SELECT started FROM sessions WHERE id = ?) AND id != ?"
            params += [before_session_id, before_session_id]
        rows = list(self.db.query(
            f"SELECT * FROM sessions WHERE patient_id = ? AND status != 'in-progress' AND voided IS NULL {before} "
            "ORDER BY started DESC, rowid DESC LIMIT 1", params))
        if not rows:
            return None
        session = rows[0]
        reps = [r for r in self.rep_rows(session_id=session["id"]) if r["set_id"] is not None]
        summary = progress.exercise_summary(reps)
        exercises = {st["exercise"]: {**summary.get(st["exercise"], NO_REPS)}
                     for st in self.session_sets(session["id"])}
        return {"session_id": session["id"], "started": session["started"],
                "status": session["status"], "exercises": exercises}
