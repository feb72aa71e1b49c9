"""Clinic kiosk mode: a locked-down coach that many patients share, one visit at a time.

welcome (patient code on a large keypad) → the patient's plan in the live coach
(coach.core.session.Session, logged as kind="kiosk") → their summary → welcome.

* Only the patient who typed the code sees anything of theirs: no names, no lists,
  and each visit has a fresh Session (the summary and "vs last time" are theirs).
* An idle kiosk (no face and no input for `idle_timeout_s`) returns to welcome; a
  visit left that way is logged `interrupted` with everything done so far.
* Quit keys and window-close do nothing. Staff leave with the admin action
  ("admin", e.g. Ctrl+Alt+A, or `admin_taps` taps in the top-left corner within
  a few seconds) and the staff PIN; wrong PINs lock the keypad out, doubling.
* A lost camera shows "please ask staff" and the visit carries on when it is back.
  A database that can't be written (full or read-only disk) shows a staff-facing
  message; nothing already saved is touched.

`Kiosk` is the state machine (no I/O but the store); `run_kiosk` is its loop over
a source and a display, like coach.app.run_loop. Time comes from the frames (a
replay) or the wall clock (a camera).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from coach.core.feedback import FeedbackView
from coach.core.plan import DEFAULT_PLAN_REPS
from coach.errors import CoachError, InputError
from coach.io import keypad

KEYPAD_SCREENS = ("kiosk_welcome", "kiosk_pin")
DEFAULT_PLAN = ({"exercise": "gentle-smile", "reps": DEFAULT_PLAN_REPS},
                {"exercise": "gentle-eye-closure", "reps": DEFAULT_PLAN_REPS})   # two short sets: a kiosk visit is brief
UNKNOWN_CODE = "We don't recognise that code. Please check it or ask staff."
ASK_STAFF = "Please ask staff for help."
KIOSK_EXTRA = {"hints": ""}   # no "Q quit" key hints on a kiosk (honoured once render.py reads extra["hints"])
MAX_CODE = 12
PIN_DIGITS = (4, 12)
ADMIN_TAP_S = 4.0          # the corner taps must all fall within this
SCRYPT = dict(n=2 ** 14, r=8, p=1)


def default_config_path() -> Path:
    import platformdirs
    return Path(platformdirs.user_config_dir("coach", appauthor=False)) / "kiosk.json"


# ---- configuration and the staff PIN ------------------------------------------------------------
def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(bytes.fromhex(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def check_pin_format(pin: str) -> str:
    pin = (pin or "").strip()
    if not pin.isdigit() or not PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]:
        raise CoachError(f"A staff PIN is {PIN_DIGITS[0]} to {PIN_DIGITS[1]} digits (the kiosk keypad has "
                         "only digits).")
    return pin


@dataclass
class KioskConfig:
    pin_hash: str | None = None
    idle_timeout_s: float = 90.0      # no face and no input this long: back to welcome
    summary_s: float = 20.0           # the summary stays up this long
    intro_s: float = 6.0              # the safety notice before calibration (a tap skips it)
    fullscreen: bool = True
    max_wrong_pins: int = 3           # then the PIN keypad locks …
    lockout_s: float = 30.0           # … for this long, doubling each time
    admin_taps: int = 5               # taps in the top-left corner that open the staff PIN screen
    default_plan: list = field(default_factory=lambda: [dict(i) for i in DEFAULT_PLAN])

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "KioskConfig":
        path = Path(path) if path else default_config_path()
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CoachError(f"Cannot read the kiosk settings {path}: {exc}.") from None
        if not isinstance(data, dict):
            raise CoachError(f"The kiosk settings {path} must be a JSON object.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CoachError(f"Unknown kiosk setting(s) in {path}: {', '.join(unknown)}.")
        cfg = cls(**data)
        for name in ("idle_timeout_s", "summary_s", "intro_s", "lockout_s"):
            if not isinstance(getattr(cfg, name), (int, float)) or getattr(cfg, name) < 0:
                raise CoachError(f"Kiosk setting {name} in {path} must be a number of seconds ≥ 0.")
        return cfg

    def save(self, path: str | os.PathLike | None = None) -> Path:
        path = Path(path) if path else default_config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # the PIN hash: owner only
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        return path

    def set_pin(self, pin: str) -> None:
        self.pin_hash = hash_pin(check_pin_format(pin))


# ---- the state machine --------------------------------------------------------------------------
@dataclass
class Visit:
    code: str
    session_id: str | None
    status: str = "in-progress"
    reps: int = 0
    summary: tuple = ()


class Kiosk:
    """States: welcome | session | pin | error. `step(...)` → the FeedbackView to draw."""

    def __init__(self, store, config: KioskConfig, library: dict | None = None,
                 size: tuple[int, int] = (1280, 720), source_name: str = "kiosk",
                 store_error: str | None = None, model_version: str = ""):
        from coach.core.exercises import load_library

        self.store = store
        self.config = config
        self.library = library if library is not None else load_library()[0]
        self.size = tuple(size)
        self.source_name = source_name
        self.model_version = model_version
        self.state = "welcome"
        self.t = 0.0
        self.entry = ""
        self.message = ""
        self.session = None
        self.log = None
        self.visit: Visit | None = None
        self.visits: list[Visit] = []
        self.summary_since: float | None = None
        self.visit_started = 0.0                      # when the current visit began (its intro countdown)
        self.last_activity = 0.0
        self.camera_lost = False
        self.exit_requested = False
        self.error = ""
        # staff PIN
        self.pin_entry = ""
        self.pin_message = ""
        self.pin_return = "welcome"
        self.wrong_pins = 0
        self.lockouts = 0
        self.locked_until = 0.0
        self._taps: deque[float] = deque()
        if store_error or store is None:
            self._fail(store_error or "No database is open.")

    # -- the one verb --
    def step(self, frame, t: float, actions=(), camera_lost: bool = False,
             brightness: float | None = None) -> FeedbackView:
        self.t = t
        self.camera_lost = camera_lost
        face = frame is not None and getattr(frame, "has_face", False)
        actions = [a for a in actions if a not in ("quit", "fullscreen")]   # lockdown
        if face or actions:
            self.last_activity = t
        acts = []
        for a in actions:
            a = self._admin_gesture(a, t)
            if a == "admin":
                self._open_pin()
            elif a:
                acts.append(a)
        if self.state == "pin":
            self._pin_actions(acts, t)
            acts = []

        if t - self.last_activity >= self.config.idle_timeout_s and self.state != "error" and not (
                self.state == "welcome" and not self.entry and not self.message):
            self._idle(t)

        if self.state == "welcome":
            return self._welcome(acts, t)
        if self.state == "session":
            return self._session_step(frame, t, acts, camera_lost, brightness)
        if self.state == "pin":
            if self.session is not None:       # the visit stays paused behind the staff screen
                self._drive_session(frame, t, [], camera_lost, brightness)
            return self._pin_view(t)
        return self._error_view()

    @property
    def at_rest(self) -> bool:
        """Nothing under way: the welcome screen, empty (or a staff message showing)."""
        return (self.state == "welcome" and not self.entry and self.session is None) or self.state == "error"

    def close(self, status: str = "interrupted") -> None:
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
            return keypad.hit(self.size, x, y, cancel=self.state == "pin") or None
        return "tap"

    # -- welcome: the patient code --
    def _welcome(self, acts, t) -> FeedbackView:
        if self.camera_lost:
            return FeedbackView("camera_lost", "The camera is not working", ASK_STAFF + " We are trying to "
                                "reconnect it; this screen will change by itself.", t=t, extra=dict(KIOSK_EXTRA))
        for a in acts:
            if a.startswith("key:") and a[4:].isdigit():
                if len(self.entry) < MAX_CODE:
                    self.entry += a[4:]
                self.message = ""
            elif a == "key:backspace":
                self.entry = self.entry[:-1]
                self.message = ""
            elif a == "key:enter" and self.entry:
                code, self.entry = self.entry, ""
                self._start_visit(code, t)
                if self.state != "welcome":
                    return self.step_view_after_start(t)
        return self._keypad_view("kiosk_welcome", "Welcome", "Type your patient code, then press OK.",
                                 self.entry, False, self.message, "error", False, False, t)

    def step_view_after_start(self, t) -> FeedbackView:
        if self.state == "session":
            return self._session_step(None, t, [], self.camera_lost, None)
        return self._error_view()

    def _keypad_view(self, screen, title, text, entry, mask, message, tone, cancel, locked, t):
        variant = "message" if message else ""
        return FeedbackView(screen, title, text, t=t,
                            extra={"entry": entry, "mask": mask, "message": message, "tone": tone,
                                   "cancel": cancel, "locked": locked, "variant": variant})

    def _start_visit(self, code: str, t: float) -> None:
        from coach.io.session_log import SessionLog, previous_rates
        from coach.core.session import Session

        try:
            patient = self.store.get_patient(code)
        except CoachError as exc:
            if str(exc).startswith("No patient"):
                self.message = UNKNOWN_CODE
                return
            return self._fail(str(exc))
        try:
            plan = self._plan(code)
            self.session = Session(plan, affected_side=patient.get("affected_side"),
                                   previous=previous_rates(self.store, code),
                                   welcome_s=self.config.intro_s, targets=self.store.learned_targets(code))
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
            return resolve_plan(self.library, self.store.get_plan(code) or self.config.default_plan)
        except PlanError as exc:
            raise CoachError(f"Patient {code}'s plan cannot run here: {exc} Check it with "
                             f"`coach plan show {code}`.") from None

    # -- the visit --
    def _drive_session(self, frame, t, acts, camera_lost, brightness) -> FeedbackView | None:
        try:
            result = self.session.step(frame, t, acts, brightness, camera_lost)
            self.log.write(result.records)
        except CoachError as exc:
            self._fail(str(exc))
            return None
        self._tally()
        if self.session.state == "summary" and self.log is not None and self.log.ended:
            self.visit.status = self.session.status
        return result.view

    def _session_step(self, frame, t, acts, camera_lost, brightness) -> FeedbackView:
        s = self.session
        session_acts = []
        for a in acts:
            if a == "tap":
                if s.state == "welcome":
                    session_acts.append("skip")
                elif s.state == "summary":
                    self._end_visit(t)
                    return self._welcome([], t)
            elif a in ("skip", "pause", "yes", "no", "key:enter", "view", "mute"):
                session_acts.append(a)
        view = self._drive_session(frame, t, session_acts, camera_lost, brightness)
        if view is None:
            return self._error_view()
        if s.state == "summary":
            if self.summary_since is None:
                self.summary_since = t
            left = self.config.summary_s - (t - self.summary_since)
            if left <= 0 or any(a in ("key:enter", "yes") for a in acts):
                self._end_visit(t)
                return self._welcome([], t)
            text = f"Here is how it went today. This screen closes in {max(0, int(left + 0.999))} s."
            return replace(view, text=text, extra={**view.extra, **KIOSK_EXTRA})
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

    def _tally(self) -> None:
        if self.visit is not None and self.session is not None:
            self.visit.reps = sum(len(tl.reps) for tl in self.session.tallies)
            self.visit.summary = self.session.summary_rows()

    def _end_visit(self, t: float, status: str = "interrupted") -> None:
        """Close the visit's log (a visit not finished ends `interrupted`, reps kept)."""
        s, log = self.session, self.log
        self.session, self.log, self.summary_since = None, None, None
        if self.state in ("session",):
            self.state = "welcome"
        if s is None:
            return
        try:
            if s.state != "summary":
                log.write(s.end(t).records)
            log.close(status)
        except CoachError as exc:
            self._fail(str(exc))
        if self.visit is not None:
            self.visit.status = s.status if s.status != "in-progress" else status
            self.visit.reps = sum(len(tl.reps) for tl in s.tallies)
            self.visit = None

    def _idle(self, t: float) -> None:
        self._end_visit(t)
        self.entry, self.message = "", ""
        self.pin_entry, self.pin_message = "", ""
        if self.state in ("session", "pin"):
            self.state = "welcome"
        self.last_activity = t

    # -- staff PIN --
    def _open_pin(self) -> None:
        if self.state == "pin":
            return
        self.pin_return = self.state
        self.pin_entry, self.pin_message = "", ""
        if self.session is not None and self.session.state not in ("welcome", "summary", "paused",
                                                                     "camera_lost", "confirm_quit"):
            self._drive_session(None, self.t, ["pause"], self.camera_lost, None)
        self.state = "pin"

    def _close_pin(self) -> None:
        self.state = self.pin_return if self.pin_return != "pin" else "welcome"
        if self.session is None and self.state == "session":
            self.state = "welcome"
        if self.session is not None and self.session.state == "paused" and self.session._pause_reason == "user":
            self._drive_session(None, self.t, ["pause"], self.camera_lost, None)
        self.pin_entry, self.pin_message = "", ""

    def _pin_actions(self, acts, t) -> None:
        for a in acts:
            if a == "cancel":
                self._close_pin()
                return
            if t < self.locked_until:
                continue
            if a.startswith("key:") and a[4:].isdigit():
                if len(self.pin_entry) < PIN_DIGITS[1]:
                    self.pin_entry += a[4:]
                self.pin_message = ""
            elif a == "key:backspace":
                self.pin_entry = self.pin_entry[:-1]
            elif a == "key:enter" and self.pin_entry:
                pin, self.pin_entry = self.pin_entry, ""
                if verify_pin(pin, self.config.pin_hash):
                    self.wrong_pins = self.lockouts = 0
                    self._end_visit(t)
                    self.exit_requested = True
                    return
                self.wrong_pins += 1
                if self.wrong_pins >= self.config.max_wrong_pins:
                    self.locked_until = t + self.config.lockout_s * 2 ** self.lockouts
                    self.lockouts += 1
                    self.wrong_pins = 0
                else:
                    self.pin_message = "That PIN is not right. Try again."

    def _pin_view(self, t) -> FeedbackView:
        locked = t < self.locked_until
        message = self.pin_message
        if locked:
            message = f"Too many wrong PINs. Try again in {int(self.locked_until - t + 0.999)} s."
        elif not self.config.pin_hash:
            message = "No staff PIN is set: set one with `coach kiosk set-pin`."
        view = self._keypad_view("kiosk_pin", "Staff only", "Enter the staff PIN.",
                                 self.pin_entry, True, message, "error", True, locked, t)
        if locked:
            view.extra["variant"] = "locked"
        return view

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


# ---- the loop -----------------------------------------------------------------------------------
@dataclass
class KioskRun:
    steps: int = 0
    t: float = 0.0
    screenshots: list = field(default_factory=list)
    screens: list = field(default_factory=list)       # each screen change: (t, key)
    exited: bool = False                              # staff left with the PIN


def parse_event(obj: dict, where: str = "") -> tuple[float, str, str]:
    """One scripted event → (t, "action"|"camera", value)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), (int, float)):
        raise InputError(f"Bad kiosk event {where}: each needs a number \"t\".")
    t = float(obj["t"])
    if "action" in obj:
        return t, "action", str(obj["action"])
    if "key" in obj:
        key = str(obj["key"]).lower()
        named = {"enter": "key:enter", "return": "key:enter", "ok": "key:enter", "backspace": "key:backspace",
                 "delete": "key:backspace", "escape": "quit", "esc": "quit", "admin": "admin"}
        if key.isdigit() and len(key) == 1:
            return t, "action", f"key:{key}"
        if key in named:
            return t, "action", named[key]
        raise InputError(f"Bad kiosk event {where}: unknown key {obj['key']!r}.")
    if "click" in obj:
        try:
            x, y = (int(round(float(v))) for v in obj["click"])
        except (TypeError, ValueError):
            raise InputError(f"Bad kiosk event {where}: \"click\" is [x, y].") from None
        return t, "action", f"click:{x},{y}"
    if "camera" in obj and obj["camera"] in ("lost", "ok"):
        return t, "camera", obj["camera"]
    raise InputError(f"Bad kiosk event {where}: give one of action, key, click or camera (lost|ok).")


def load_events(path: str | os.PathLike) -> list[tuple[float, str, str]]:
    events = []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise InputError(f"Cannot read the events file {path}: {exc.strerror}.") from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise InputError(f"Bad kiosk event on line {n} of {path}: not JSON.") from None
        events.append(parse_event(obj, f"on line {n} of {path}"))
    return sorted(events, key=lambda e: e[0])


def show(display, view: FeedbackView, rgb=None) -> None:
    """Keypad screens are drawn by coach.io.keypad on a real window; the rest as usual."""
    if view.screen in KEYPAD_SCREENS and hasattr(display, "renderer") and hasattr(display, "screen"):
        keypad.draw(display, view)
    else:
        display.draw(view, rgb)


def screen_key(view: FeedbackView) -> str:
    variant = (view.extra or {}).get("variant")
    key = "synkinesis" if view.banner else view.screen
    return f"{key}-{variant}" if variant else key


def run_kiosk(kiosk: Kiosk, source, display, tracker=None, events=(), clock: str = "frames",
              dt: float = 1 / 30, shots_dir: str | os.PathLike | None = None, after_end_s: float = 600.0,
              should_stop=None, run: KioskRun | None = None) -> KioskRun:
    """Run the kiosk until staff close it, `should_stop()`, or (a replay) the source has ended,
    every scripted event is done and the kiosk is back at an empty welcome screen.

    `clock`: "frames" takes time from the frames (a replay; +dt for anything else),
    "wall" from the wall clock (a camera). `events`: (t, "action"|"camera", value).
    """
    from coach.app import read_frame
    from coach.io.sources import SourceStatus

    run = run or KioskRun()
    pending = deque(sorted(events, key=lambda e: e[0]))
    wall0 = time.monotonic()
    t = 0.0
    ended_at = None
    forced_lost = False
    source_lost = False
    last_key = None
    if kiosk.config.fullscreen and not display.fullscreen:
        display.toggle_fullscreen()
    display.cursor_visible(False)
    if shots_dir:
        Path(shots_dir).mkdir(parents=True, exist_ok=True)
    try:
        while True:
            item = None if ended_at is not None else source.read()
            frame, rgb, brightness, _ = read_frame(item, tracker)
            if clock == "wall":
                t = max(t, time.monotonic() - wall0)
            if item is None:
                if ended_at is None:
                    ended_at = t
                if clock != "wall":
                    t += dt
            elif isinstance(item, SourceStatus):
                source_lost = item.state != "ok"
                if clock != "wall":
                    t += dt
            else:
                source_lost = False
                t = t if clock == "wall" else max(t, frame.t)
            scripted = []
            while pending and pending[0][0] <= t:
                _, kind, value = pending.popleft()
                if kind == "camera":
                    forced_lost = value == "lost"
                else:
                    scripted.append(value)
            lost = source_lost or forced_lost
            if forced_lost:
                frame, rgb, brightness = None, None, None
            actions = list(display.poll()) + scripted
            if kiosk.config.fullscreen and not display.fullscreen and "fullscreen" in actions:
                display.toggle_fullscreen()              # F does not leave fullscreen on a kiosk
            view = kiosk.step(frame, t, actions, lost, brightness)
            show(display, view, rgb)
            run.steps += 1
            run.t = t
            key = screen_key(view)
            if key != last_key:
                last_key = key
                run.screens.append((round(t, 3), key))
                if shots_dir:
                    path = os.path.join(os.fspath(shots_dir), f"{len(run.screenshots) + 1:03d}-{key}.png")
                    display.screenshot(path)
                    run.screenshots.append(path)
            if kiosk.exit_requested:
                run.exited = True
                break
            if ended_at is not None and not pending and (kiosk.at_rest or t - ended_at > after_end_s):
                break
            if should_stop is not None and should_stop():
                break
    finally:
        kiosk.close()
    return run


class RetryingCamera:
    """A CameraSource that may not exist yet: until it opens, report the camera lost
    (so the kiosk asks for staff) and try again every `retry_s`."""

    def __init__(self, index=0, retry_s: float = 5.0, factory=None):
        from coach.io.sources import CameraSource
        self.index, self.retry_s = index, retry_s
        self._factory = factory or (lambda: CameraSource(index))
        self.name = f"camera {index}"
        self.fps = 30.0
        self._cam = None
        self._next_try = 0.0

    def read(self):
        from coach.io.sources import CAMERA_LOST, LOST_MESSAGE, SourceStatus
        if self._cam is None and time.monotonic() >= self._next_try:
            try:
                self._cam = self._factory()
            except InputError:
                self._next_try = time.monotonic() + self.retry_s
        if self._cam is None:
            time.sleep(0.05)                     # keep the screen responsive to touches
            return SourceStatus(CAMERA_LOST, LOST_MESSAGE)
        return self._cam.read()

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()
