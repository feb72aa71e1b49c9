"""The therapist's labels of reps (`coach label`): which reps to show, and each label written with
its audit rows.

Which reps (`reps_to_label`)
    Of a patient's ended, counted (not voided) sessions, every complete rep the detector flagged and
    a random sample of the unflagged ones (by default as many as were flagged, at least 10), mixed
    in a random order so the therapist cannot tell the flagged ones by their place.

One label per rep and labeller (`set_label`)
    A therapist labelling a rep again changes their own label (`updated`, so a merge keeps the newer
    one); a second therapist's label of the same rep is a row of its own (for agreement between
    them). Every changed field leaves an audit row (`coach.log.corrections`), in the same transaction.
    The figures (`coach eval --labels`) use the newest label of each rep.
"""
from __future__ import annotations

import random
from typing import Any

from coach.core.exercises import REGIONS
from coach.errors import CoachError
from coach.log.corrections import actor
from coach.log.patients import iso, new_id
from coach.log.schema import LABEL_SIDES

LABEL_FIELDS = ("label", "side", "region", "note")
MIN_SAMPLE = 10

_REPS = """SELECT r.*, st.exercise, s.started AS session_started, s.patient_id, p.code
           FROM reps r JOIN sessions s ON s.id = r.session_id JOIN patients p ON p.id = s.patient_id
           LEFT JOIN sets st ON st.id = r.set_id
           WHERE s.status IN ('completed', 'interrupted') AND s.voided IS NULL AND r.complete = 1"""


def checked(label: int, side: str, region: str) -> tuple[int, str, str]:
    """(label, side, region) as stored, or CoachError in one sentence."""
    if label not in (0, 1):
        raise CoachError("A label is 1 (co-movement) or 0 (none).")
    if side not in LABEL_SIDES:
        raise CoachError(f"The side of a label is one of {', '.join(LABEL_SIDES)}, not {side!r}.")
    region = region or ""
    if region not in ("",) + REGIONS:
        raise CoachError(f"The region of a label is one of {', '.join(REGIONS)}, not {region!r}.")
    if not label:
        return 0, "none", ""
    if side == "none":
        raise CoachError("Say which side co-moved (left, right or both) for a rep labelled yes.")
    return 1, side, region


def reps_to_label(store, code: str, sample: int | None = None, seed: int | None = None) -> list[dict[str, Any]]:
    """Patient `code`'s flagged reps and a sample of unflagged ones, shuffled, each with the newest
    label it has (`labelled`: the label row, or None)."""
    patient = store.get_patient(code)
    reps = list(store.db.query(_REPS + " AND s.patient_id = ? ORDER BY s.started, r.start_s, r.idx",
                               [patient["id"]]))
    rng = random.Random(seed)
    flagged = [r for r in reps if r["synkinesis"]]
    calm = [r for r in reps if not r["synkinesis"]]
    n = max(len(flagged), MIN_SAMPLE) if sample is None else sample
    chosen = flagged + rng.sample(calm, min(n, len(calm)))
    rng.shuffle(chosen)
    newest = newest_labels(store, [r["id"] for r in chosen])
    return [{**r, "labelled": newest.get(r["id"])} for r in chosen]


def newest_labels(store, rep_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{rep id: its newest label row} of these reps."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(rep_ids), 500):
        part = rep_ids[i:i + 500]
        for row in store.db.query(f"SELECT * FROM labels WHERE rep_id IN ({', '.join('?' * len(part))}) "
                                  "ORDER BY updated, id", part):
            out[row["rep_id"]] = row            # the last one is the newest
    return out


def set_label(store, rep_id: str, label: int, side: str, region: str = "", note: str = "",
              command: str = "label") -> dict[str, Any]:
    """Write this labeller's label of rep `rep_id` (new, or changed), with an audit row per field
    that changed; returns the label row."""
    label, side, region = checked(label, side, region)
    who = actor()
    with store._tx():
        rep = store.db.execute("SELECT r.id, r.session_id, s.patient_id FROM reps r JOIN sessions s "
                               "ON s.id = r.session_id WHERE r.id = ?", [rep_id]).fetchone()
        if rep is None:
            raise CoachError(f"No rep with id {rep_id}.")
        at = iso(store._now())
        new = {"label": label, "side": side, "region": region, "note": note or ""}
        rows = list(store.db.query("SELECT * FROM labels WHERE rep_id = ? AND labeller = ?", [rep_id, who]))
        if rows:
            row = rows[0]
            changes = {k: (row[k], v) for k, v in new.items() if row[k] != v}
            if not changes:
                return row
            store.db.execute(f"UPDATE labels SET {', '.join(f'{k} = ?' for k in changes)}, updated = ? WHERE id = ?",
                             [v for _, v in changes.values()] + [at, row["id"]])
            row = {**row, **new, "updated": at}
        else:
            row = {"id": new_id(), "rep_id": rep_id, "session_id": rep[1], **new, "labeller": who, "at": at,
                   "updated": at}
            store.db.table("labels").insert(row)
            changes = {k: (None, v) for k, v in new.items() if v != ""}       # an empty region or note: nothing
        store._audit(command, rep[2], "labels", row["id"], changes, at)
    return row


def labelled_reps(store, code: str | None = None) -> list[dict[str, Any]]:
    """Every labelled rep (of patient `code`, or everyone's) with its newest label, its exercise,
    the detector's flag and side (from the rep's co-movement events), oldest first."""
    where, params = (" AND p.code = ?", [code]) if code else ("", [])
    reps = list(store.db.query(_REPS + where + " AND r.id IN (SELECT rep_id FROM labels) "
                               "ORDER BY s.started, r.start_s, r.idx", params))
    newest = newest_labels(store, [r["id"] for r in reps])
    out = []
    for r in reps:
        sides = {e[0] for e in store.db.execute(
            "SELECT side FROM events WHERE session_id = ? AND kind = 'synkinesis' AND start_s <= ? AND end_s >= ?",
            [r["session_id"], r["end_s"], r["start_s"]]) if e[0]}
        flagged_side = "none" if not r["synkinesis"] else ("both" if len(sides) > 1 else next(iter(sides), "both"))
        out.append({**r, "labelled": newest[r["id"]], "flagged_side": flagged_side})
    return out
