"""Reading the session log outside coach: Datasette (`coach review`).

Figures are defined once, in `coach.core.progress`; the canned queries that show some
compute the same definitions in SQL, under the same names (checked by tests/test_figures.py).

Health records, served carefully (`serve`)
    * Requests whose Host header is not a loopback name are refused when serving on
      loopback (DNS rebinding); off this computer a password is required anyway.
    * Failed logins are throttled (`LoginThrottle`).
    * The password's hash is never in the metadata Datasette shows (/-/metadata.json):
      the plugin reads it from an environment variable of this process.
    * The temporary metadata file is removed however the server stops (SIGTERM, SIGINT).
    * The second factors (`patient_checks`) are hidden and never exported.
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import signal
import tempfile
import time
import types
import urllib.parse
from pathlib import Path
from typing import Any

from coach.core.files import write_atomic
from coach.core.progress import FIGURES, REP_FIGURES
from coach.errors import CoachError
from coach.log.schema import DESCRIPTIONS
from coach.log.store import open_store

REVIEW_USER = "therapist"
HASH_ENV = "COACH_REVIEW_PASSWORD_HASH"   # read by datasette-auth-passwords through {"$env": ...}
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
LOGIN_FAILS = 5            # failed logins in a row, then logins wait …
LOGIN_LOCK_S = 30.0        # … this long, doubling up to …
LOGIN_LOCK_MAX_S = 900.0

# Queries a therapist wants in Datasette (`coach review`), the common questions first; `:patient`
# may be left empty where it says so. Voided sessions are left out, as everywhere. The figures a query
# shows are those of `coach.core.progress.FIGURES`, under their names, computed the same way (the
# typical co-movement is the median in SQL); tests/test_figures.py checks they equal sessions.csv's.
_F, _R = FIGURES, REP_FIGURES
COUNTED = "s.voided IS NULL AND s.status != 'in-progress'"
CANNED_QUERIES = {
    "sessions_this_week": {
        "title": "Sessions this week",
        "description": "Every session started since Monday (local time), newest first, with its reps.",
        "sql": f"""SELECT p.code AS patient, substr(s.started, 1, 16) AS started, s.kind, s.status,
  (SELECT count(*) FROM reps r WHERE r.session_id = s.id AND r.complete) AS complete_reps,
  (SELECT count(*) FROM reps r WHERE r.session_id = s.id AND r.complete AND r.synkinesis) AS reps_with_synkinesis
FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
WHERE {COUNTED} AND s.kind != 'demo'
  AND date(substr(s.started, 1, 10)) >= date('now', 'localtime', '-6 days', 'weekday 1')
ORDER BY s.started DESC""",
    },
    "not_practised_7_days": {
        "title": "Patients who have not practised in 7 days",
        "description": "Patients with no session in the last 7 days (or none at all), longest gap first.",
        "sql": f"""SELECT p.code AS patient, p.display_name AS name, max(substr(s.started, 1, 10)) AS last_session,
  CAST(julianday(date('now', 'localtime')) - julianday(max(substr(s.started, 1, 10))) AS INTEGER) AS days_since
FROM patients p LEFT JOIN sessions s ON s.patient_id = p.id AND {COUNTED}
GROUP BY p.id
HAVING last_session IS NULL OR last_session < date('now', 'localtime', '-7 days')
ORDER BY last_session IS NOT NULL, last_session""",
    },
    "co_movement_trend": {
        "title": "Figures per session for a patient",
        "description": "Per session and exercise, oldest first: reps done, clean reps, the clean-rep rate, and "
                       "the typical (median) and largest co-movement of the reps' peaks, named and computed as "
                       "in the report and sessions.csv (see the report's glossary). Enter the patient's code.",
        "sql": f"""WITH done AS (
  SELECT s.id AS session_id, s.started, st.exercise, s.status, r.synkinesis,
    abs(r.synkinesis_peak) AS co
  FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
    JOIN patients p ON p.id = s.patient_id
  WHERE r.complete AND p.code = :patient AND {COUNTED}),
ranked AS (
  SELECT session_id, exercise, co,
    row_number() OVER (PARTITION BY session_id, exercise ORDER BY co) AS k,
    count(*) OVER (PARTITION BY session_id, exercise) AS n
  FROM done WHERE co IS NOT NULL),
typical AS (
  SELECT session_id, exercise, avg(co) AS co FROM ranked WHERE k IN ((n + 1) / 2, (n + 2) / 2)
  GROUP BY session_id, exercise)
SELECT substr(d.started, 1, 10) AS day, substr(d.started, 12, 5) AS time, d.exercise, d.status,
  count(*) AS "{_F["done"].column}", sum(NOT d.synkinesis) AS "{_F["clean"].column}",
  round(100 * (CAST(sum(NOT d.synkinesis) AS REAL) / count(*)), 1) AS "{_F["clean_rate"].column}",
  round(100 * t.co, 1) AS "{_F["typical_co_movement"].column}",
  round(100 * max(d.co), 1) AS "{_F["largest_co_movement"].column}"
FROM done d LEFT JOIN typical t ON t.session_id = d.session_id AND t.exercise = d.exercise
GROUP BY d.session_id, d.exercise ORDER BY d.started, d.exercise""",
    },
    "sessions_per_week": {
        "title": "Sessions per week",
        "description": "Sessions started per calendar week (local time), with how many were completed. "
                       "Leave the patient empty for everyone.",
        "sql": """SELECT p.code AS patient, strftime('%Y-W%W', substr(s.started, 1, 19)) AS week,
  count(*) AS sessions, sum(s.status = 'completed') AS completed,
  sum(s.status = 'interrupted') AS interrupted
FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
WHERE s.voided IS NULL AND (:patient = '' OR p.code = :patient)
GROUP BY p.code, week ORDER BY p.code, week""",
    },
    "synkinesis_counts": {
        "title": "Complete reps and reps with synkinesis per exercise",
        "description": "Per patient and exercise: complete reps, and how many of them had synkinesis "
                       "detected. Leave the patient empty for everyone. The synkinesis-free rate and "
                       "its trend are in the report (`coach report`).",
        "sql": """SELECT p.code AS patient, st.exercise, count(*) AS complete_reps,
  sum(r.synkinesis) AS reps_with_synkinesis
FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
  LEFT JOIN patients p ON p.id = s.patient_id
WHERE r.complete AND s.voided IS NULL AND (:patient = '' OR p.code = :patient)
GROUP BY p.code, st.exercise ORDER BY p.code, st.exercise""",
    },
    "care_due": {
        "title": "Reviews due and practice lapsed",
        "description": "Patients whose review is due within 14 days or overdue (12 weeks after the last "
                       "botulinum toxin injection, or the plan's review_weeks), or with no session for 7 days. "
                       "`coach due` says the same and more: a review brought forward when co-movement is seen "
                       "rising again after an injection, and that rise itself (a CUSUM test on the per-session "
                       "figures, not computed in SQL).",
        "sql": f"""WITH injected AS (
  SELECT patient_id, max(date) AS day FROM treatments
  WHERE kind = 'botulinum_toxin' AND removed IS NULL AND date <= date('now', 'localtime') GROUP BY patient_id),
plan AS (
  SELECT pl.patient_id, json_extract(pl.items, '$[0].care.review_weeks') AS review_weeks FROM plans pl
  WHERE pl.rowid = (SELECT p2.rowid FROM plans p2 WHERE p2.patient_id = pl.patient_id
                    ORDER BY p2.created DESC, p2.rowid DESC LIMIT 1)),
practised AS (
  SELECT s.patient_id, max(substr(s.started, 1, 10)) AS day FROM sessions s WHERE s.voided IS NULL
  GROUP BY s.patient_id)
SELECT p.code AS patient, p.display_name AS name, i.day AS last_injection,
  date(i.day, '+' || (7 * coalesce(pl.review_weeks, 12)) || ' days') AS review_due,
  pr.day AS last_session,
  CAST(julianday(date('now', 'localtime')) - julianday(coalesce(pr.day, substr(p.created, 1, 10))) AS INTEGER)
    AS days_without_practice
FROM patients p LEFT JOIN injected i ON i.patient_id = p.id LEFT JOIN plan pl ON pl.patient_id = p.id
  LEFT JOIN practised pr ON pr.patient_id = p.id
WHERE date(i.day, '+' || (7 * coalesce(pl.review_weeks, 12)) || ' days') <= date('now', 'localtime', '+14 days')
   OR coalesce(pr.day, substr(p.created, 1, 10)) <= date('now', 'localtime', '-7 days')
ORDER BY review_due IS NULL, review_due, last_session""",
    },
    "latest_session_reps": {
        "title": "Reps of a patient's latest session",
        "description": "Every rep of the most recent session of the given patient code.",
        "sql": f"""SELECT st.exercise, r.idx, round(100 * r.peak, 1) AS "{_R["rep_movement"].column}", r.peak_left,
  r.peak_right, r.hold_s, round(100 * r.hold_steadiness, 1) AS "{_R["rep_steadiness"].column}",
  round(100 * abs(r.synkinesis_peak), 1) AS "{_R["rep_co_movement"].column}", r.synkinesis, r.complete
FROM reps r JOIN sets st ON st.id = r.set_id
WHERE r.session_id = (SELECT s.id FROM sessions s JOIN patients p ON p.id = s.patient_id
                      WHERE p.code = :patient AND s.voided IS NULL ORDER BY s.started DESC LIMIT 1)
ORDER BY st.started, r.idx""",
    },
}

# How Datasette shows each table: foreign keys to a patient show its code (`label_column`),
# rows sorted the way a therapist reads them, bookkeeping tables out of the way.
TABLE_VIEWS = {
    "patients": {"label_column": "code", "sort": "code"},
    "sessions": {"label_column": "started", "sort_desc": "started"},
    "sets": {"label_column": "exercise", "sort_desc": "started"},
    "reps": {"sort_desc": "start_s"},
    "treatments": {"sort_desc": "date"},
    "audit": {"sort_desc": "at"},
    "plans": {"sort_desc": "created"},
}
HIDDEN = ("patient_checks", "preferences", "synced", "_sqlite_migrations")
LANDING_TABLE = "patients"         # `coach review` opens here, not on the SQL editor
# Datasette prints a foreign key as its label *and* the UUID; the therapist needs only the code.
REVIEW_CSS = "data:text/css," + urllib.parse.quote("td > a + em { display: none; }")


def questions_html(database: str) -> str:
    """Links to the canned queries, shown above the patients table and the database page."""
    links = " · ".join(f'<a href="/{database}/{name}">{q["title"]}</a>' for name, q in CANNED_QUERIES.items())
    return f"<p><strong>Common questions:</strong> {links}</p>"


def datasette_metadata(path: Path, password: str | None = None) -> dict:
    """Datasette metadata: descriptions, labels and sort orders of every table, and the canned queries.

    With a password, only the logged-in therapist (`REVIEW_USER`) sees anything.
    """
    name, questions = path.stem, questions_html(path.stem)
    tables: dict[str, dict[str, Any]] = {table: {**DESCRIPTIONS.get(table, {}), **TABLE_VIEWS.get(table, {})}
              for table in {*DESCRIPTIONS, *TABLE_VIEWS}}
    for table in HIDDEN:
        tables[table] = {**tables.get(table, {}), "hidden": True}
    tables["patient_checks"]["allow"] = False
    landing = tables[LANDING_TABLE] = {**tables[LANDING_TABLE], "columns": {}}   # the table itself in view
    landing["description_html"] = f"<p>{landing['description']}</p>{questions}"
    meta = {
        "title": "coach session log",
        "description": "Exercise sessions, reps and synkinesis events recorded by coach. "
                       "Health records: do not share.",
        "extra_css_urls": [REVIEW_CSS],
        "databases": {name: {"tables": tables, "queries": CANNED_QUERIES, "description_html": questions}},
    }
    if password:
        # The hash itself goes into this process's environment (`serve`), never into the metadata.
        meta["plugins"] = {"datasette-auth-passwords": {f"{REVIEW_USER}_password_hash": {"$env": HASH_ENV}}}
        meta["allow"] = {"id": REVIEW_USER}
    return meta


def password_hash(password: str) -> str:
    try:
        from datasette_auth_passwords.utils import hash_password
    except ImportError:
        raise CoachError("A review password needs datasette-auth-passwords; install it with "
                         "pip install 'coach[review]'.", exit_code=2) from None
    return hash_password(password)


def serve(db: Path | None, host: str, port: int, password: str | None = None, echo=print) -> None:
    """Serve the database read-only in Datasette with the metadata above (blocks until stopped)."""
    try:
        from datasette.cli import cli as datasette_cli
    except ImportError:
        raise CoachError("Datasette is not installed; install the review extra with "
                         "pip install 'coach[review]'.", exit_code=2) from None
    with open_store(db) as store:  # checks the file is a sound coach database first
        path = store.path.resolve()
    meta = datasette_metadata(path, password)
    if password:
        os.environ[HASH_ENV] = password_hash(password)
    try:
        with stop_on_signals(), guarded(host, landing_path(path), bool(password)), tempfile.TemporaryDirectory(prefix="coach-review-") as tmp:
            meta_path = Path(tmp) / "metadata.json"
            write_atomic(meta_path, lambda t: Path(t).write_text(json.dumps(meta)))
            if password:
                echo(f"Log in at http://{host}:{port}/-/login as '{REVIEW_USER}'.")
            datasette_cli.main(["serve", str(path), "--metadata", str(meta_path), "--host", host,
                                "--port", str(port)], prog_name="datasette", standalone_mode=False)
    finally:
        os.environ.pop(HASH_ENV, None)


def landing_path(path: Path) -> str:
    """The patients table's address in Datasette (database names are tilde-encoded in URLs)."""
    from datasette.utils import tilde_encode

    return f"/{tilde_encode(path.stem)}/{LANDING_TABLE}"


class stop_on_signals:
    """SIGTERM and SIGINT end the server by an exception, so every `finally` and `with` runs
    (the temporary files go). The web server catches them while it runs, shuts down, and
    raises them again once it has: they arrive here then."""

    def __enter__(self):
        self.saved = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.saved[sig] = signal.signal(sig, self._stop)
            except ValueError:          # not the main thread: leave signals alone
                pass
        return self

    @staticmethod
    def _stop(signum, frame):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        return False


# ---- the guard in front of Datasette ---------------------------------------------------------------
def host_name(value: str) -> str:
    """The name in a Host header, without the port: "[::1]:8001" → "::1"."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LoginThrottle:
    """LOGIN_FAILS failed logins in a row make logins wait LOGIN_LOCK_S, doubling; a good one resets."""

    def __init__(self, clock=time.monotonic):
        self.clock, self.failures, self.lockouts, self.until = clock, 0, 0, 0.0

    def wait_s(self) -> int:
        return max(0, math.ceil(self.until - self.clock()))

    def record(self, ok: bool) -> None:
        if ok:
            self.failures = self.lockouts = 0
            return
        self.failures += 1
        if self.failures >= LOGIN_FAILS:
            self.until = self.clock() + min(LOGIN_LOCK_MAX_S, LOGIN_LOCK_S * 2 ** self.lockouts)
            self.failures, self.lockouts = 0, self.lockouts + 1


class Guard:
    """ASGI middleware before Datasette: a Host header that is not a loopback name is refused
    when serving on loopback (`any_host` false); POSTs to /-/login are throttled; the front page
    leads to `landing` (the patients table), or to the login page until the therapist has logged in."""

    def __init__(self, app, any_host: bool, throttle: LoginThrottle, landing: str = "", login: bool = False):
        self.app, self.any_host, self.throttle = app, any_host, throttle
        self.landing, self.login = landing, login

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")
        if not self.any_host and not loopback(host_name(host)):
            return await _plain(send, 421, "This server answers only to localhost.")
        if scope["path"] == "/" and scope["method"] == "GET" and self.landing:
            cookies = dict(scope.get("headers") or ()).get(b"cookie", b"")
            to = "/-/login" if self.login and b"ds_actor=" not in cookies else self.landing
            return await _plain(send, 302, f"See {to}", [(b"location", to.encode())])
        if scope["path"] != "/-/login" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        wait = self.throttle.wait_s()
        if wait:
            return await _plain(send, 429, f"Too many failed logins; try again in {wait} s.",
                                [(b"retry-after", str(wait).encode())])
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)
        await self.app(scope, receive, watch)
        self.throttle.record(status.get("code") == 302)     # Datasette answers a good login with a redirect


async def _plain(send, status: int, text: str, headers=()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers]})
    await send({"type": "http.response.body", "body": text.encode()})


@contextlib.contextmanager
def guarded(host: str, landing: str = "", login: bool = False):
    """Datasette served with `Guard` in front (registered as a plugin while the block runs)."""
    from datasette import hookimpl
    from datasette.plugins import pm

    any_host, throttle = not loopback(host_name(host)), LoginThrottle()

    @hookimpl
    def asgi_wrapper(datasette):
        return lambda app: Guard(app, any_host, throttle, landing, login)

    plugin = types.ModuleType("coach_review_guard")        # Datasette lists plugins as modules
    setattr(plugin, "asgi_wrapper", asgi_wrapper)
    pm.register(plugin, name="coach-review-guard")
    try:
        yield throttle
    finally:
        pm.unregister(name="coach-review-guard")
