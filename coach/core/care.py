"""The care calendar: when a botulinum toxin injection wears off, when a review is due, whether
practice has lapsed, and the dates a patient's calendar holds (pure: no sqlite, no files).

The toxin's cycle (onabotulinumtoxinA label; Cooper, Lui & Nduka 2017): an effect in 2–3 days,
the full effect in 1–2 weeks, wearing off over about four months. The therapist's review comes
`REVIEW_WEEKS` after the last injection (per patient: the plan's `care.review_weeks`), or sooner
when the effect is seen wearing off.

Seeing it wear off (`detect_rise`)
    Per watched co-movement (each exercise watches one), on the per-session peak co-movement x
    (`coach.core.progress.co_movement_points`): a one-sided upper CUSUM (Page 1954), self-starting
    (Hawkins 1987), on the log scale (the noise is proportional to the level). The sessions of
    weeks 2–6 after the injection (`progress.TOXIN_AFTER_DAYS`, the full effect) are the first
    reference; each later session, in time order, gives

        z = clip((log x − m) / s, ±clip);   S = max(0, S + z − k);   a rise when S > h

    where m and s are the mean and standard deviation (at least `sd_floor`) of log x over the
    reference. Whenever S falls back to 0 the sessions since the last 0 join the reference (so it
    sharpens as practice goes on, and follows a slow drift). A rise must also be `min_rise` above
    the reference (absolute), and is dated from the first session after S was last 0 (the CUSUM's
    change-point estimate). Fewer than `min_plateau` sessions in weeks 2–6, or fewer than
    `min_after` since, gives "not enough practice to tell", never a guess. `CUSUM` holds the
    parameters, chosen on simulated logs (scripts/tune_care.py, seeds 1000 on) that are not the
    ones the slow test reports (seeds 0–399; `coach.eval.care_sim` describes the noise).
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta

from coach.core import progress
from coach.core.exercises import Exercise
from coach.core.practice import practice_days
from coach.core.progress import Row

REVIEW_WEEKS = 12                # default: the review comes 12 weeks after the last injection
LAPSED_DAYS = 7                  # default: no session in 7 days is lapsed practice
REVIEW_SOON_DAYS = 14            # `coach due` lists reviews due within this many days
ONSET_DAYS = (2, 3)              # the effect shows 2–3 days after the injection …
FULL_EFFECT_DAYS = (7, 14)       # … is full at 1–2 weeks …
WEAR_OFF_DAYS = 120              # … and wears off at about four months
WATCH_DAYS = 183                 # the wearing-off test watches an injection for six months at most
PRACTICE_MINUTES = 15            # a practice session in the calendar
RECENT_DAYS = 7                  # "You practised 5 of the last 7 days"
MAX_REVIEW_WEEKS = 52
LOG_FLOOR = 0.01                 # co-movement below 1 % counts as 1 % on the log scale


class CareError(ValueError):
    """A care setting that cannot be used; the message is one plain sentence."""


@dataclass(frozen=True)
class Cusum:
    """The wearing-off test's parameters (see the module docstring)."""
    k: float = 0.9               # reference value, in standard deviations of the log figure
    h: float = 4.5               # decision interval
    clip: float = 3.0            # each standardised value is winsorised to ±clip
    sd_floor: float = 0.30       # the spread of the log figure is taken as at least 0.30 (±30 %)
    min_rise: float = 0.02       # and a rise is at least 2 points above the reference
    min_plateau: int = 5         # sessions in weeks 2–6 needed for a plateau
    min_after: int = 3           # sessions after the plateau needed before anything is said


CUSUM = Cusum()


# ---- practice times: "Mon-Fri 18:00" --------------------------------------------------------------
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Practice:
    """When the plan asks the patient to practise: weekdays (0 = Monday) and a time of day."""
    days: tuple[int, ...]
    at: time

    def text(self) -> str:
        """The canonical spelling, e.g. "Mon-Fri 18:00", "Mon,Wed,Fri 08:30", "daily 19:00"."""
        return f"{days_text(self.days)} {self.at:%H:%M}"

    def words(self) -> str:
        """For people: "Monday to Friday at 18:00"."""
        full = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        if len(self.days) == 7:
            when = "every day"
        elif _run(self.days) and len(self.days) > 2:
            when = f"{full[self.days[0]]} to {full[self.days[-1]]}"
        else:
            when = ", ".join(full[d] for d in self.days[:-1]) + (" and " if len(self.days) > 1 else "") + \
                full[self.days[-1]]
        return f"{when} at {self.at:%H:%M}"

    def byday(self) -> list[str]:
        return [ICAL_DAYS[d] for d in self.days]

    def first_on_or_after(self, day: date) -> date:
        return next(day + timedelta(days=i) for i in range(7) if (day + timedelta(days=i)).weekday() in self.days)


def _run(days: tuple[int, ...]) -> bool:
    return list(days) == list(range(days[0], days[-1] + 1))


def days_text(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return "daily"
    if _run(days) and len(days) > 2:
        return f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
    return ",".join(DAY_NAMES[d] for d in days)


def _day(name: str, spec: str) -> int:
    key = name.strip()[:3].capitalize()
    if key not in DAY_NAMES or len(name.strip()) < 2:
        raise CareError(f"Practice days must be weekdays such as Mon-Fri or Mon,Wed,Fri; {name.strip()!r} in "
                        f"{spec!r} is not one.")
    return DAY_NAMES.index(key)


def parse_practice(spec: str) -> Practice:
    """"Mon-Fri 18:00", "Mon,Wed,Fri 8:30", "daily 19:00" → Practice; anything else is refused in one sentence."""
    text = " ".join(str(spec or "").split())
    m = re.fullmatch(r"(.+?)\s+(\d{1,2})[:.h](\d{2})", text)
    if not m:
        raise CareError(f"Practice times are days and a time, e.g. \"Mon-Fri 18:00\", not {spec!r}.")
    hour, minute = int(m.group(2)), int(m.group(3))
    if hour > 23 or minute > 59:
        raise CareError(f"The practice time in {spec!r} is not a time of day (00:00 to 23:59).")
    days: set[int] = set()
    for part in m.group(1).split(","):
        part = part.strip()
        if part.lower() in ("daily", "every day", "everyday"):
            days.update(range(7))
        elif "-" in part:
            a, b = (_day(x, spec) for x in part.split("-", 1))
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            days.add(_day(part, spec))
    return Practice(tuple(sorted(days)), time(hour, minute))


def care_settings(raw: object) -> Row:
    """A plan's care settings as stored ({review_weeks, practice}), checked; unknown keys are refused."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CareError(f"A plan's care settings must be a table, not {raw!r}.")
    unknown = set(raw) - {"review_weeks", "practice"}
    if unknown:
        raise CareError(f"Unknown care setting {sorted(unknown)[0]!r}; known: review_weeks, practice.")
    out: Row = {}
    if raw.get("review_weeks") is not None:
        weeks = raw["review_weeks"]
        if isinstance(weeks, bool) or not isinstance(weeks, (int, float)) or weeks != int(weeks) \
                or not 1 <= weeks <= MAX_REVIEW_WEEKS:
            raise CareError(f"The review interval must be a whole number of weeks from 1 to {MAX_REVIEW_WEEKS}, "
                            f"not {weeks!r}.")
        out["review_weeks"] = int(weeks)
    if raw.get("practice") is not None:
        out["practice"] = parse_practice(raw["practice"]).text()
    return out


def plan_care(items: Iterable[object] | None) -> Row:
    """The care settings of a plan (its items, as stored): the first item that carries them."""
    for item in items or []:
        if isinstance(item, dict) and item.get("care"):
            return dict(item["care"])
    return {}


# ---- the injections ---------------------------------------------------------------------------
def injections(treatments: list[Row], today: date | None = None) -> list[Row]:
    """The botulinum toxin injections up to `today` (all when None), oldest first."""
    return [t for t in sorted(treatments, key=lambda t: t["date"]) if t["kind"] == "botulinum_toxin"
            and (today is None or date.fromisoformat(t["date"]) <= today)]


def expected_dates(injection: date) -> dict[str, tuple[date, date]]:
    """{onset, full_effect, wearing_off}: first and last day (both included) the effect is expected."""
    return {"onset": (injection + timedelta(days=ONSET_DAYS[0]), injection + timedelta(days=ONSET_DAYS[1])),
            "full_effect": (injection + timedelta(days=FULL_EFFECT_DAYS[0]),
                            injection + timedelta(days=FULL_EFFECT_DAYS[1])),
            "wearing_off": (injection + timedelta(days=WEAR_OFF_DAYS),) * 2}


def short_day(d: date) -> str:
    """"2 Oct"."""
    return f"{d.day} {d:%b}"


# ---- the wearing-off test -----------------------------------------------------------------------
def _log(value: float) -> float:
    return math.log(max(value, LOG_FLOOR))


def _spread(values: list[float], floor: float) -> float:
    if len(values) < 2:
        return floor
    m = sum(values) / len(values)
    return max(floor, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)))


def detect_rise(points: list[tuple[date, float]], injection: date, today: date,
                params: Cusum = CUSUM) -> Row:
    """Whether co-movement has risen again after an injection's full effect, from per-session
    (day, figure) points. `state`: "early" (weeks 2–6 not over), "too_few", "steady" or "risen";
    with the plateau (`plateau`: mean co-movement of the in-control sessions), the sessions in
    weeks 2–6 and after them, and for "risen" the day the rise began (`since`), the day the test
    flagged it (`flagged`) and the mean since (`recent`). The test reads each session once, in
    time order, as `coach due` run every day would: what it says on `today` uses no later session."""
    lo, hi = (injection + timedelta(days=d) for d in progress.TOXIN_AFTER_DAYS)
    end = min(today, injection + timedelta(days=WATCH_DAYS))
    plateau = [v for d, v in points if lo <= d < hi]
    after = [(d, v) for d, v in points if hi <= d <= end]
    out = {"injection": injection, "n_plateau": len(plateau), "n_after": len(after), "plateau": None}
    if today < hi:
        return {**out, "state": "early"}
    if len(plateau) < params.min_plateau or len(after) < params.min_after:
        return {**out, "state": "too_few"}
    base = list(plateau)                      # the in-control sessions (self-starting: it grows)
    logs = [_log(v) for v in base]
    mean, sd = sum(logs) / len(logs), _spread(logs, params.sd_floor)
    run: list[int]
    s, run = 0.0, []
    for i, (d, v) in enumerate(after):
        z = max(-params.clip, min(params.clip, (_log(v) - mean) / sd))
        s = max(0.0, s + z - params.k)
        if s == 0.0:                          # back in control: the run and this session join the reference
            base += [after[j][1] for j in run] + [v]
            logs = [_log(x) for x in base]
            mean, sd = sum(logs) / len(logs), _spread(logs, params.sd_floor)
            run = []
            continue
        run.append(i)
        level, ref = sum(after[j][1] for j in run) / len(run), sum(base) / len(base)
        if s > params.h and level - ref >= params.min_rise:
            since = [v for _, v in after[run[0]:]]        # the level since the rise began, up to today
            return {**out, "state": "risen", "plateau": ref, "since": after[run[0]][0], "flagged": d,
                    "recent": sum(since) / len(since)}
    return {**out, "state": "steady", "plateau": sum(base) / len(base)}


# ---- what is due ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Watched:
    """A co-movement the wearing-off test watches: the exercise and the watch's label, for words."""
    exercise: str
    name: str                    # "Gentle smile"
    label: str                   # "Eye narrowing"

    def words(self) -> str:
        return f"{self.label} in the {self.name[:1].lower() + self.name[1:]}"


def watched(exercise: str, library: Mapping[str, Exercise]) -> Watched:
    ex = library.get(exercise)
    if ex is None:
        return Watched(exercise, exercise.replace("-", " ").capitalize(), "Co-movement")
    return Watched(exercise, ex.name, " / ".join(w.label for w in ex.watches) or "Co-movement")


def weeks(days: int) -> str:
    n = max(1, round(days / 7))
    return f"{n} week{'s' if n != 1 else ''}"


def rise_words(w: Watched, r: Row, today: date) -> str:
    """The therapist's sentence, with the evidence."""
    inj = short_day(r["injection"])
    if r["state"] == "risen":
        return (f"{w.words()} (average per session) has risen from {100 * r['plateau']:.0f} % to {100 * r['recent']:.0f} % over the last "
                f"{weeks((today - r['since']).days)}, {weeks((today - r['injection']).days)} after the injection of "
                f"{inj}.")
    if r["state"] == "too_few":
        return (f"{w.words()}: not enough practice to tell whether the injection of {inj} is wearing off "
                f"({r['n_plateau']} sessions in weeks 2–6 after it, {CUSUM.min_plateau} needed; "
                f"{r['n_after']} since, {CUSUM.min_after} needed).")
    if r["state"] == "steady":
        return f"{w.words()} (average per session) is steady at about {100 * r['plateau']:.0f} % since the injection of {inj}."
    return f"{w.words()}: the full effect of the injection of {inj} is still being measured (weeks 2–6)."


def care_status(*, today: date, treatments: list[Row], reps: list[Row], session_days: list[date],
                care: Row | None = None, library: Mapping[str, Exercise] | None = None, created: date | None = None,
                lapsed_days: int = LAPSED_DAYS, soon_days: int = REVIEW_SOON_DAYS,
                params: Cusum = CUSUM) -> Row:
    """One patient's care status on `today`: the review, the practice, each watched co-movement.

    {"review": {"due", "regular", "injection", "sooner", "state": "overdue"|"due"|"later"} or None,
     "practice": {"last", "days_since", "lapsed", "recent", "recent_days"},
     "rises": [(Watched, detect_rise result)], "lines": [what `coach due` and the report say]}"""
    care, library = care or {}, library or {}
    shots = injections(treatments, today)
    last = shots[-1] if shots else None
    rises = []
    if last is not None and (today - date.fromisoformat(last["date"])).days <= WATCH_DAYS:
        inj = date.fromisoformat(last["date"])           # watched for six months after the injection
        for ex, pts in progress.co_movement_points(reps).items():
            rises.append((watched(ex, library), detect_rise(pts, inj, today, params)))
    review = None
    if last is not None:
        inj = date.fromisoformat(last["date"])
        regular = inj + timedelta(weeks=care.get("review_weeks", REVIEW_WEEKS))
        flagged = [r["flagged"] for _, r in rises if r["state"] == "risen"]
        due = min([regular, *flagged])
        state = "overdue" if due < today else "due" if due <= today + timedelta(days=soon_days) else "later"
        review = {"due": due, "regular": regular, "injection": inj, "sooner": due < regular, "state": state}
    days = sorted({d for d in session_days if d <= today})
    last_day = days[-1] if days else None
    since = (today - (last_day or created or today)).days
    recent = practice_days(days, today, RECENT_DAYS)
    practice = {"last": last_day, "days_since": since if last_day else None,
                "lapsed": since >= lapsed_days, "lapsed_days": lapsed_days,
                "recent": sum(p for _, p in recent), "recent_days": RECENT_DAYS}
    status: Row = {"review": review, "practice": practice, "rises": rises, "today": today}
    status["lines"] = due_lines(status, care)
    return status


def status_from_rows(*, today: date, patient: Row, treatments: list[Row], reps: list[Row],
                     sessions: list[Row], plan: Iterable[object] | None,
                     library: Mapping[str, Exercise] | None = None, lapsed_days: int = LAPSED_DAYS,
                     soon_days: int = REVIEW_SOON_DAYS) -> Row:
    """`care_status` of one patient's rows as the store gives them (sessions: the non-voided ones;
    plan: its items)."""
    created = patient.get("created")
    return care_status(today=today, treatments=treatments, reps=reps,
                       session_days=[progress.local_dt(s["started"]).date() for s in sessions],
                       care=plan_care(plan), library=library,
                       created=progress.local_dt(created).date() if created else None,
                       lapsed_days=lapsed_days, soon_days=soon_days)


def due_lines(status: Row, care: Row | None = None) -> list[str]:
    """What is due, in the therapist's words (empty: nothing needs doing)."""
    lines, today = [], status["today"]
    review = status["review"]
    if review is not None and review["state"] != "later":
        weeks_set = (care or {}).get("review_weeks", REVIEW_WEEKS)
        why = ("sooner than planned, as the effect is seen wearing off" if review["sooner"] else
               f"{weeks_set} weeks after the injection of {short_day(review['injection'])}")
        if review["state"] == "overdue":
            lines.append(f"Review overdue since {short_day(review['due'])} ({why}).")
        else:
            when = "today" if review["due"] == today else f"in {(review['due'] - today).days} days"
            lines.append(f"Review due around {short_day(review['due'])}, {when} ({why}).")
    p = status["practice"]
    if p["lapsed"]:
        lines.append(f"Practice lapsed: no session for {p['days_since']} days (last {short_day(p['last'])})."
                     if p["last"] else f"Practice lapsed: no session yet.")
    for w, r in status["rises"]:
        if r["state"] in ("risen", "too_few"):
            lines.append(rise_words(w, r, today))
    return lines


def patient_note(status: Row) -> list[str]:
    """What the patient reads on the welcome screen: gentle, no advice beyond "talk to your therapist"."""
    out = []
    review = status["review"]
    if review is not None:
        if review["due"] < status["today"]:
            out.append(f"Your clinic review was due around {short_day(review['due'])}. "
                       "If it is not booked yet, talk to your therapist.")
        else:
            out.append(f"Your clinic review is due around {short_day(review['due'])}.")
    p = status["practice"]
    if p["last"] is not None:
        out.append(f"You practised {p['recent']} of the last {p['recent_days']} days.")
    return out


# ---- the patient's own timeline ("Your progress") -------------------------------------------------
def timeline(treatments: list[Row], today: date) -> Row | None:
    """The latest injection's cycle in plain words, for "Your progress": None without one (or when
    it is more than `WATCH_DAYS` ago). {"injection", "week" (today's week since it), "marks": [(week,
    words)], "end_week"}."""
    shots = injections(treatments, today)
    if not shots:
        return None
    inj = date.fromisoformat(shots[-1]["date"])
    if (today - inj).days > WATCH_DAYS:
        return None
    exp = expected_dates(inj)
    full_week = FULL_EFFECT_DAYS[1] // 7
    off_week = WEAR_OFF_DAYS // 7
    marks = [(0.0, f"Injection {short_day(inj)}"),
             (full_week, f"Full effect by week {full_week} ({short_day(exp['full_effect'][1])})"),
             (off_week, f"May wear off from about week {off_week} ({short_day(exp['wearing_off'][0])})")]
    return {"injection": inj, "week": (today - inj).days / 7, "marks": marks, "end_week": WATCH_DAYS // 7}


# ---- calendar events (the icalendar file is written in coach.report.calendar) ----------------------
UID_NAMESPACE = uuid.UUID("6f1c2d4e-9a57-4b8e-8d2a-5c0e3b7a1f90")


def uid(patient_id: str, kind: str, treatment_id: str = "") -> str:
    """A stable UID: the same patient, event kind and treatment give the same UID on every run, so a
    calendar imported again updates its events instead of adding copies. Ids only, no names."""
    return f"{uuid.uuid5(UID_NAMESPACE, f'{patient_id}/{kind}/{treatment_id}')}@coach"


def calendar_events(patient_id: str, treatments: list[Row], care: Row, today: date,
                    review: Row | None) -> list[Row]:
    """The events of a patient's care calendar, as plain data: {uid, kind, summary, description, start
    (date, or date and time), end, rrule, alarm (minutes before, or None)}. No patient name or code."""
    events = []
    if care.get("practice"):
        p = parse_practice(care["practice"])
        first = p.first_on_or_after(today)
        events.append({"uid": uid(patient_id, "practice"), "kind": "practice", "summary": "Face exercises",
                       "description": "Time for your face exercises: slow, gentle and even.",
                       "start": (first, p.at), "minutes": PRACTICE_MINUTES,
                       "rrule": {"FREQ": "WEEKLY", "BYDAY": p.byday()}, "alarm": 0})
    if review is not None:
        events.append({"uid": uid(patient_id, "review"), "kind": "review", "summary": "Clinic review due",
                       "description": "Your clinic review is due around this day. If it is not booked yet, "
                                      "talk to your therapist.",
                       "start": review["due"], "end": review["due"], "alarm": 7 * 24 * 60})
    words = {"onset": ("Injection: the effect starts", "The injection usually starts to work 2–3 days after it."),
             "full_effect": ("Injection: full effect", "The injection is usually at its full effect 1–2 weeks "
                                                       "after it."),
             "wearing_off": ("Injection: may wear off", "The injection usually wears off at about four months. "
                                                        "Talk to your therapist about what comes next.")}
    for t in injections(treatments):
        for kind, (lo, hi) in expected_dates(date.fromisoformat(t["date"])).items():
            events.append({"uid": uid(patient_id, kind, t["id"]), "kind": kind, "summary": words[kind][0],
                           "description": words[kind][1], "start": lo, "end": hi, "alarm": None})
    return events
