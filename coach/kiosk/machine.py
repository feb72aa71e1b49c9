"""The kiosk's state machine: one visit at a time, no I/O but the store.

welcome (patient code on a large keypad) → the patient's plan in the live coach
(a coach.core.session.Session driven through its public API, logged as kind="kiosk")
→ their summary → welcome.

* Only the patient who typed the code sees anything of theirs: no names, no lists,
  and each visit has a fresh Session (the summary and "vs last time" are theirs).
* An idle kiosk (no face and no input for `idle_timeout_s`) returns to welcome; a
  visit left that way is logged `interrupted` with everything done so far.
* Quit keys and window-close do nothing. Staff leave with the admin action
  ("admin", e.g. Ctrl+Alt+A, or `admin_taps` taps in the top-left corner within
  a few seconds) and the staff PIN; wrong PINs lock the keypad out, doubling.
* Wrong patient codes lock the welcome keypad out the same way; a patient the therapist
  gave a second factor (a short PIN or their birth year) types it after the code. The
  lockouts outlive a restart (`coach.kiosk.access`).
* A lost camera shows "please ask staff" and the visit carries on when it is back.
  A database that can't be written (full or read-only disk) shows a staff-facing
  message; nothing already saved is touched.

`Kiosk` is a driver of coach.app.run_loop, like the home session's HomeDriver:
`step(frame, t, actions, *, camera_lost, brightness)` and, once the source has run out,
`end(t, actions)` return a StepResult; `finished` says when the loop may stop.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from coach.core.feedback import FeedbackView, KioskScreen
from coach.core.session import StepResult
from coach.errors import CoachError, NoPatient
from coach.screen import keypad
from coach.log import preferences
from coach.kiosk import staff
from coach.kiosk.access import CHECK_LABELS, AccessState, state_path
from coach.kiosk.config import KioskConfig, verify_pin

if TYPE_CHECKING:       # imported where they are used: a kiosk at rest needs neither
    from coach.core.exercises import Exercise
    from coach.core.frames import LandmarkFrame
    from coach.core.session import Session
    from coach.log.recorder import SessionLog
    from coach.log.store import Store

KioskState = Literal["welcome", "session", "pin", "error"]   # the code keypad, a visit, the staff PIN, out of order

KEYPAD_SCREENS = ("kiosk_welcome", "kiosk_pin")
UNKNOWN_CODE = "We don't recognise that code. Please check it or ask staff."
WRONG_CHECK = "That is not right. Please type your code again, or ask staff."
ASK_STAFF = "Please ask staff for help."
# What a patient may do during a visit (touch targets and the display's own settings).
SESSION_ACTIONS = ("skip", "pause", "space", "yes", "no", "key:enter", "view", "mute", "voice", "text_size",
                   "ready", "stop", "resume", "progress", "back", "done")
KIOSK_EXTRA = {"hints": ""}   # no "Q quit" key hints on a kiosk (honoured once render.py reads extra["hints"])
MAX_CODE = 12
ADMIN_TAP_S = 4.0          # the corner taps must all fall within this
AFTER_END_S = 600.0        # a replay that has run out stops at rest, or after this long at the latest


@dataclass
class Visit:
    code: str
    session_id: str | None
    status: Literal["in-progress", "completed", "interrupted"] = "in-progress"
    reps: int = 0
    summary: tuple = ()


class Kiosk:
    """States: welcome | session | pin | error. `step(...)` → a StepResult with the view to draw."""

    def __init__(self, store: Store | None, config: KioskConfig, library: dict[str, Exercise] | None = None,
                 size: tuple[int, int] = (1280, 720), source_name: str = "kiosk",
                 store_error: str | None = None, model_version: str = "", after_end_s: float = AFTER_END_S,
                 access: AccessState | None = None):
        from coach.core.exercises import load_library

        config.validate()                             # a wrong setting fails here, at start-up
        self.store = store
        self.config = config
        self.library = library if library is not None else load_library()[0]
        self.size = (int(size[0]), int(size[1]))
        self.source_name = source_name
        self.model_version = model_version
        self.state: KioskState = "welcome"
        self.t = 0.0
        self.entry = ""
        self.message = ""
        self.session: Session | None = None
        self.log: SessionLog | None = None
        self.visit: Visit | None = None
        self.visits: list[Visit] = []
        self.summary_since: float | None = None
        self.visit_started = 0.0                      # when the current visit began (its intro countdown)
        self.last_activity = 0.0
        self.camera_lost = False
        self.exit_requested = False
        self.error = ""
        self.after_end_s = after_end_s
        self.ended_at: float | None = None            # when the source ran out (a replay)
        # staff PIN
        self.pin_entry = ""
        self.pin_message = ""
        self.pin_return: KioskState = "welcome"
        # wrong codes and PINs (kept across restarts when `access` has a state file)
        self.access = access or AccessState(config, config.loaded_from and state_path(config.loaded_from))
        self.access.load(0.0)
        self.checking: dict | None = None             # the code typed and its second factor, while asked
        self._taps: deque[float] = deque()
        if store_error or store is None:
            self._fail(store_error or "No database is open.")

    # -- the driver protocol (coach.app.run_loop) --
    def step(self, frame: LandmarkFrame | None, t: float, actions: Sequence[str] = (), *, camera_lost: bool = False,
             brightness: float | None = None) -> StepResult:
        self.t = t
        self.camera_lost = camera_lost
        acts = self._inputs(frame, t, actions)
        if self.state == "pin":
            staff.pin_actions(self, acts, t)
            acts = []
        if t - self.last_activity >= self.config.idle_timeout_s and not self._resting():
            self._idle(t)
        view = self._screen(frame, t, acts, camera_lost, brightness)
        if self.log is not None and self.log.saving:        # records wait for the database
            view = replace(view, extra={**view.extra, "saving": True})
        return StepResult(view)

    def end(self, t: float, actions: Sequence[str] = ()) -> StepResult:
        """The source has run out (a replay): carry on with no face until at rest."""
        if self.ended_at is None:
            self.ended_at = t
        return self.step(None, t, actions, camera_lost=self.camera_lost)

    @property
    def finished(self) -> bool:
        """Staff closed the kiosk, or the replay has run out and the kiosk is at rest (or waited long enough)."""
        return self.exit_requested or (self.ended_at is not None and (
            self.at_rest or self.t - self.ended_at > self.after_end_s))

    def _inputs(self, frame: LandmarkFrame | None, t: float, actions: Sequence[str]) -> list[str]:
        """The actions the kiosk takes (lockdown: no quit, no leaving fullscreen); the admin gesture opens the PIN screen."""
        face = frame is not None and getattr(frame, "has_face", False)
        actions = [a for a in actions if a not in ("quit", "fullscreen")]   # lockdown
        if face or actions:
            self.last_activity = t
        acts = []
        for given in actions:
            a = self._admin_gesture(given, t)
            if a == "admin":
                staff.open_pin(self)
            elif a:
                acts.append(a)
        return acts

    def _resting(self) -> bool:
        """Nothing for the idle timeout to clear: a staff message, or an empty welcome screen."""
        return self.state == "error" or (self.state == "welcome" and not self.entry and not self.message
                                         and self.checking is None)

    def _screen(self, frame: LandmarkFrame | None, t: float, acts: list[str], camera_lost: bool,
                brightness: float | None) -> FeedbackView:
        if self.state == "welcome":
            return self._welcome(acts, t)
        if self.state == "session":
            return self._session_step(frame, t, acts, camera_lost, brightness)
        if self.state == "pin":
            if self.session is not None:       # the visit stays paused behind the staff screen
                self._drive_session(frame, t, [], camera_lost, brightness)
            return staff.pin_view(self, t)
        return self._error_view()

    @property
    def _db(self) -> Store:
        assert self.store is not None, "no session log"    # (without one the kiosk shows only its error)
        return self.store

    @property
    def at_rest(self) -> bool:
        """Nothing under way: the welcome screen, empty (or a staff message showing)."""
        return (self.state == "welcome" and not self.entry and self.session is None) or self.state == "error"

    def close(self, status: Literal["completed", "interrupted"] = "interrupted") -> None:
        """End a visit still under way (as `interrupted`); the store stays open."""
        self._end_visit(self.t, status)

    # -- admin gesture --
    def _admin_gesture(self, action: str, t: float) -> str | None:
        if not action.startswith("click:"):
            return action
        try:
            x, y = (float(v) for v in action[6:].split(","))
        except ValueError:
            return None
        if keypad.in_admin_corner(x, y) and self.config.admin_taps > 0:
            self._taps.append(t)
            while self._taps and t - self._taps[0] > ADMIN_TAP_S:
                self._taps.popleft()
            if len(self._taps) >= self.config.admin_taps:
                self._taps.clear()
                return "admin"
            return None
        if self.state in ("welcome", "pin") and not self.camera_lost:
            return keypad.hit(self.size, x, y, cancel=self.state == "pin" or self.checking is not None) or None
        return "tap"

    # -- welcome: the patient code --
    def _welcome(self, acts: Sequence[str], t: float) -> FeedbackView:
        if self.camera_lost:
            return FeedbackView("camera_lost", "The camera is not working", ASK_STAFF + " We are trying to "
                                "reconnect it; this screen will change by itself.", t=t, extra=dict(KIOSK_EXTRA))
        for a in acts:
            if self.access.patient.locked(t):
                break                                   # too many wrong tries: the keypad waits
            if a.startswith("key:") and a[4:].isdigit():
                if len(self.entry) < MAX_CODE:
                    self.entry += a[4:]
                self.message = ""
            elif a == "key:backspace":
                self.entry = self.entry[:-1]
                self.message = ""
            elif a == "cancel":
                self.checking, self.entry, self.message = None, "", ""
            elif a == "key:enter" and self.entry:
                typed, self.entry = self.entry, ""
                self._submit(typed, t)
                if self.state != "welcome":
                    return self.step_view_after_start(t)
        return self._welcome_view(t)

    def _welcome_view(self, t: float) -> FeedbackView:
        throttle, check = self.access.patient, self.checking
        locked = throttle.locked(t)
        message = f"Too many tries. Please wait {throttle.left_s(t)} s, or ask staff." if locked else self.message
        text = (f"Now type your {CHECK_LABELS[check['kind']]}, then press OK." if check
                else "Type your patient code, then press OK.")
        view = self._keypad_view("kiosk_welcome", "Welcome", text, self.entry, check is not None, message, "error",
                                 check is not None, locked, t)
        if locked or (check and not message):
            view.extra["variant"] = "locked" if locked else "check"
        return view

    def _submit(self, typed: str, t: float) -> None:
        """A code typed, or (when asked) its second factor: the visit starts, or the try counts
        against the keypad. A wrong second factor goes back to the code."""
        check, self.checking = self.checking, None
        if check is None:
            try:
                self._db.get_patient(typed)
                check = self._db.patient_check(typed)
            except NoPatient:
                return self._wrong(UNKNOWN_CODE, t)
            except CoachError as exc:
                return self._fail(str(exc))
            if check is not None:
                self.checking, self.message = {"code": typed, **check}, ""
                return None
            code = typed
        else:
            code = check["code"]
            if not verify_pin(typed, check["hash"]):
                return self._wrong(WRONG_CHECK, t)
        if self.access.patient.failures or self.access.patient.lockouts:
            self.access.patient.succeed()
            self.access.save(t)
        return self._start_visit(code, t)

    def _wrong(self, message: str, t: float) -> None:
        self.message = message
        self.access.patient.fail(t)
        self.access.save(t)

    def step_view_after_start(self, t: float) -> FeedbackView:
        if self.state == "session":
            return self._session_step(None, t, [], self.camera_lost, None)
        return self._error_view()

    def _keypad_view(self, screen: KioskScreen, title: str, text: str, entry: str, mask: bool, message: str, tone: str,
                     cancel: bool, locked: bool, t: float) -> FeedbackView:
        variant = "message" if message else ""
        return FeedbackView(screen, title, text, t=t,
                            extra={"entry": entry, "mask": mask, "message": message, "tone": tone,
                                   "cancel": cancel, "locked": locked, "variant": variant})

    def _start_visit(self, code: str, t: float) -> None:
        from coach.log.recorder import SessionLog, previous_rates
        from coach.core.session import Session

        try:
            patient = self._db.get_patient(code)
        except NoPatient:
            self.message = UNKNOWN_CODE
            return None
        except CoachError as exc:
            return self._fail(str(exc))
        try:
            plan = self._plan(code)
            self.session = Session(plan, affected_side=patient.get("affected_side"),
                                   previous=previous_rates(self.store, code),
                                   welcome_s=self.config.intro_s, targets=self._db.learned_targets(code),
                                   prefs=preferences.for_visit(self.store, code),
                                   history=preferences.history(self.store, code))
            self.log = SessionLog(self.store, code, self.source_name, kind="kiosk",
                                  model_version=self.model_version)
        except CoachError as exc:
            self.session = None
            return self._fail(str(exc))
        self.visit = Visit(code, self.log.session_id)
        self.visits.append(self.visit)
        self.summary_since = None
        self.message = ""
        self.state = "session"
        self.last_activity = t
        self.visit_started = t

    def _plan(self, code: str) -> list:
        """The patient's plan, else the kiosk's default; a plan this kiosk cannot run is refused, not trimmed."""
        from coach.core.plan import PlanError, resolve_plan

        try:
            return resolve_plan(self.library, self._db.get_plan(code) or self.config.default_plan)
        except PlanError as exc:
            raise CoachError(f"Patient {code}'s plan cannot run here: {exc} Check it with "
                             f"`coach plan show {code}`.") from None

    # -- the visit --
    def _drive_session(self, frame: LandmarkFrame | None, t: float, acts: Sequence[str], camera_lost: bool,
                       brightness: float | None) -> FeedbackView | None:
        session, log = self.session, self.log
        assert session is not None and log is not None, "no visit under way"
        try:
            result = session.step(frame, t, acts, camera_lost=camera_lost, brightness=brightness)
            log.write(result.records)
        except CoachError as exc:
            self._fail(str(exc))
            return None
        self._tally()
        if session.state == "summary" and log.ended and self.visit is not None:
            self.visit.status = session.status
        return result.view

    def _session_step(self, frame: LandmarkFrame | None, t: float, acts: Sequence[str], camera_lost: bool,
                      brightness: float | None) -> FeedbackView:
        s = self.session
        assert s is not None, "no visit under way"
        session_acts = []
        for a in acts:
            if a == "tap":
                if s.state == "welcome":
                    session_acts.append("skip")
                elif s.state == "summary":
                    self._end_visit(t)
                    return self._welcome([], t)
            elif a in SESSION_ACTIONS or a.startswith("set:"):
                session_acts.append(a)
        view = self._drive_session(frame, t, session_acts, camera_lost, brightness)
        if view is None:
            return self._error_view()
        if s.state == "progress":
            self.summary_since = None          # back on the summary, its countdown starts again
        if s.state == "summary":
            return self._summary(view, t, acts)
        if s.state == "welcome":
            # The session's welcome carries the safety notice (view.extra["notice"]); keep it.
            left = max(0.0, self.config.intro_s - (t - self.visit_started))
            return replace(view, title="Hello! Sit facing the camera", text="Touch the screen to start now.",
                           countdown_s=left, extra={**view.extra, **KIOSK_EXTRA})
        if s.state == "camera_lost":
            return replace(view, title="The camera is not working",
                           text=ASK_STAFF + " We are trying to reconnect it; your exercises carry on "
                                "when it is back.", extra=dict(KIOSK_EXTRA))
        return replace(view, extra={**view.extra, **KIOSK_EXTRA})

    def _summary(self, view: FeedbackView, t: float, acts: Sequence[str]) -> FeedbackView:
        """The visit's summary counts down, then the kiosk is ready for the next patient."""
        if self.summary_since is None:
            self.summary_since = t
        left = self.config.summary_s - (t - self.summary_since)
        # Closed by a touch only once it shows (the "Yes, stop" that led here does not close it too).
        closing = self.summary_since < t and any(a in ("key:enter", "yes", "done") for a in acts)
        if left <= 0 or closing:
            self._end_visit(t)
            return self._welcome([], t)
        text = f"Here is how it went today. This screen closes in {max(0, int(left + 0.999))} s."
        return replace(view, text=text, extra={**view.extra, **KIOSK_EXTRA})

    def _tally(self) -> None:
        if self.visit is not None and self.session is not None:
            self.visit.reps = sum(len(tl.reps) for tl in self.session.tallies)
            self.visit.summary = self.session.summary_rows()

    def _end_visit(self, t: float, status: Literal["completed", "interrupted"] = "interrupted") -> None:
        """Close the visit's log (a visit not finished ends `interrupted`, reps kept)."""
        s, log = self.session, self.log
        self.session, self.log, self.summary_since = None, None, None
        if self.state in ("session",):
            self.state = "welcome"
        if s is None:
            return
        assert log is not None                    # (a visit has both)
        try:
            if s.state != "summary":
                log.write(s.end(t).records)
            log.close(status)
            if log.problem:               # logged `interrupted`, with why: staff must see it
                raise CoachError(log.problem)
            if self.visit is not None:
                preferences.save(self.store, self.visit.code, s.prefs)
        except CoachError as exc:
            self._fail(str(exc))
        if self.visit is not None:
            self.visit.status = s.status if s.status != "in-progress" else status
            self.visit.reps = sum(len(tl.reps) for tl in s.tallies)
            self.visit = None

    def _idle(self, t: float) -> None:
        self._end_visit(t)
        self.entry, self.message, self.checking = "", "", None
        self.pin_entry, self.pin_message = "", ""
        if self.state in ("session", "pin"):
            self.state = "welcome"
        self.last_activity = t

    # -- faults --
    def _fail(self, detail: str) -> None:
        self.error = detail
        s, log = self.session, self.log
        self.session, self.log = None, None
        if log is not None:
            try:                       # one quiet try: nothing already saved is touched
                log.close("interrupted")
            except CoachError:
                pass
        if self.visit is not None:
            self.visit.status = "interrupted"
            if s is not None:
                self.visit.reps = sum(len(tl.reps) for tl in s.tallies)
            self.visit = None
        self.entry, self.message = "", ""
        if self.state == "pin":
            self.pin_return = "error"
        else:
            self.state = "error"

    def _error_view(self) -> FeedbackView:
        return FeedbackView("kiosk_error", "Please ask staff for help",
                            "This kiosk cannot save exercise sessions right now. "
                            f"For staff: {self.error} Everything saved before is kept. Fix it, then close "
                            "the kiosk (staff key and PIN) so it restarts.", t=self.t,
                            extra=dict(KIOSK_EXTRA))
