"""What carries over from one session to the next for a patient, in the session log.

* Their display settings (view, sound, spoken guidance, volume, text size): read
  before a session, handed to the display, and written back at its end; in
  effect next session, at home and at the kiosk (keyed by the patient; home use
  without a patient code keeps one set for this computer).
* Their history for the "Your progress" screen (`history`).
* Each logged rep's evenness and timing (`log_evenness`, beside the session log's rep rows).

Stored through the store's sqlite-utils `db` in the `preferences` table
and `rep_evenness` tables (migration m005_preferences); a database without them
(older, or read-only) simply remembers nothing.
"""
from __future__ import annotations

import json
from datetime import date

from coach.core.progress import History
from coach.errors import CoachError

TABLE, EVENNESS = "preferences", "rep_evenness"
KEYS = ("view", "sound", "voice", "volume", "text_size")
ALLOWED = {"view": ("mirror", "mesh", "meters"), "sound": ("on", "off"), "voice": ("on", "off"),
           "text_size": ("normal", "large", "largest")}
ANONYMOUS = ""          # home use without a patient code
DEFAULTS = {"view": "mirror", "sound": "on", "voice": "off", "volume": "0.80", "text_size": "normal"}


def _patient_id(store, code: str | None) -> str:
    if not code:
        return ANONYMOUS
    return store.get_patient(code)["id"]


def clean(settings: dict) -> dict[str, str]:
    """Only known settings with allowed values (a volume from 0 to 1), as strings."""
    out = {}
    for key in KEYS:
        value = settings.get(key)
        if value is None:
            continue
        value = str(value)
        if key == "volume":
            try:
                v = float(value)
            except ValueError:
                continue
            if 0.0 <= v <= 1.0:
                out[key] = f"{v:.2f}"
        elif value in ALLOWED[key]:
            out[key] = value
    return out


def load(store, code: str | None) -> dict[str, str]:
    """The patient's remembered settings ({} when none, or the log cannot tell)."""
    if store is None or TABLE not in store.db.table_names():
        return {}
    try:
        rows = list(store.db.query(f"SELECT settings FROM {TABLE} WHERE patient_id = ?", [_patient_id(store, code)]))
    except CoachError:
        return {}
    if not rows:
        return {}
    try:
        return clean(json.loads(rows[0]["settings"]))
    except (ValueError, TypeError, AttributeError):
        return {}


def for_visit(store, code: str) -> dict[str, str]:
    """A kiosk visit's settings: the patient's own over the defaults (never the previous patient's)."""
    return {**DEFAULTS, **load(store, code)}


def save(store, code: str | None, settings: dict) -> None:
    """Remember the patient's settings (merged over what was remembered)."""
    if store is None or getattr(store, "readonly", False) or TABLE not in store.db.table_names():
        return
    merged = {**load(store, code), **clean(settings)}
    row = {"patient_id": _patient_id(store, code), "settings": json.dumps(merged, sort_keys=True),
           "updated": store.clock().isoformat(timespec="seconds")}
    with store.db.conn:
        store.db[TABLE].upsert(row, pk="patient_id")


def history(store, code: str | None, today: date | None = None) -> History | None:
    """The patient's logged reps, for the "Your progress" screen (None without a log)."""
    if store is None:
        return None
    rows = store.rep_rows(code) if code else store.rep_rows()
    today = today or store.clock().date()
    if not code:
        return History(rows, today)
    from coach.core import care

    treatments = store.list_treatments(code)
    status = care.status_from_rows(today=today, patient=store.get_patient(code), treatments=treatments, reps=rows,
                                   sessions=store.session_rows(code), plan=store.get_plan(code))
    return History(rows, today, tuple(care.patient_note(status)), care.timeline(treatments, today))


def log_evenness(log, records) -> None:
    """Beside each rep the session log (a SessionLog) has just written, its evenness and timing."""
    if log is None or EVENNESS not in log.store.db.table_names():
        return
    from coach.core.events import RepEnded

    db = log.store.db
    for rec in records:
        if not isinstance(rec, RepEnded):
            continue
        rep = rec.rep
        rows = db.execute("SELECT id FROM reps WHERE session_id = ? AND set_id IS ? AND idx = ? "
                          "ORDER BY rowid DESC LIMIT 1",
                          [log.session_id, log.set_ids.get(rec.exercise), rep.index]).fetchall()
        if rows:
            with db.conn:
                db[EVENNESS].upsert({"rep_id": rows[0][0], "onset_lag_ms": rep.onset_lag_ms,
                                     "late_side": rep.late_side, "amplitude_ratio": rep.amplitude_ratio,
                                     "smoothness": rep.smoothness}, pk="rep_id")
