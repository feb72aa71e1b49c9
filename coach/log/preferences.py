"""What carries over from one session to the next for a patient, in the session log.

* Their display settings (view, sound, spoken guidance, volume, text size): read
  before a session, handed to the display, and written back at its end; in
  effect next session, at home and at the kiosk (keyed by the patient; home use
  without a patient code keeps one set for this computer).
* Their history for the "Your progress" screen (`history`).

Stored through the store's sqlite-utils `db` in the `preferences` table (migration
m005_preferences); a database without it (older, or read-only) simply remembers nothing.
(Each rep's evenness and timing, in `rep_evenness` from the same migration, is written with
the rep itself: `Store.add_rep`, through the session log's queue.)
"""
from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date

from coach.core.practice import History
from coach.errors import CoachError
from coach.log.file import sql_error
from coach.log.recorder import database_failure

log = logging.getLogger(__name__)

TABLE = "preferences"
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


def save(store, code: str | None, settings: dict) -> bool:
    """Remember the patient's settings (merged over what was remembered); True if they were.

    Settings are a convenience, written after the session has ended: a database that cannot take
    them (a full disk, another program's lock) leaves them as they were, says so in one sentence
    (a warning on the log) and returns False; nothing the session logged is touched."""
    if store is None or getattr(store, "readonly", False) or TABLE not in store.db.table_names():
        return False
    try:
        merged = {**load(store, code), **clean(settings)}
        row = {"patient_id": _patient_id(store, code), "settings": json.dumps(merged, sort_keys=True),
               "updated": store.clock().isoformat(timespec="seconds")}
        # Plain SQL: sqlite-utils' upsert first probes the database by creating a table in it, and
        # where that fails (a full disk) falls back to an INSERT OR IGNORE that drops a new row unseen.
        with store.db.conn:
            store.db.execute(f"INSERT INTO {TABLE} (patient_id, settings, updated) VALUES (?, ?, ?) "
                             "ON CONFLICT (patient_id) DO UPDATE SET settings = excluded.settings, "
                             "updated = excluded.updated", [row["patient_id"], row["settings"], row["updated"]])
    except (CoachError, sqlite3.Error) as exc:
        if not database_failure(exc):
            raise
        reason = str(sql_error(store.path, exc) if isinstance(exc, sqlite3.Error) else exc).rstrip(".")
        log.warning("coach: the display settings were not remembered for next time (%s).",
                    reason[:1].lower() + reason[1:])
        return False
    return True


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

