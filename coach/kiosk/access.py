"""Who may use the kiosk: wrong patient codes and wrong PINs throttled, lockouts that survive
a restart, and each patient's second factor.

Throttles
    `limit` failures in a row lock the keypad for `lockout_s`, doubling with each lockout
    (at most MAX_LOCKOUT_S); a success resets the count. The staff PIN has its throttle,
    the welcome keypad (patient codes and second factors together) another. Both are kept
    in a state file beside the kiosk settings (0600 JSON, written atomically), so a restart
    (the supervisor restarts a kiosk that crashed) resets nothing. Times in the file are
    wall-clock; the kiosk's own times are its session time.

Second factor
    The therapist may give a patient a short PIN or their birth year (`coach patient check`),
    asked after the code; it is stored hashed with scrypt, as the staff PIN is.
"""
from __future__ import annotations

import json
import math
import os
import time
from datetime import date
from pathlib import Path

from coach.core.files import write_json
from coach.errors import CoachError

MAX_LOCKOUT_S = 900.0
STATE_NAME = "kiosk-state.json"
CHECK_PIN_DIGITS = (4, 8)
CHECK_LABELS = {"pin": "PIN", "birth_year": "birth year"}


def state_path(config_path: str | os.PathLike) -> Path:
    """The lockout state file beside the kiosk settings file."""
    return Path(config_path).with_name(STATE_NAME)


def check_answer(kind: str, answer: str) -> str:
    """A second factor's answer as the keypad types it, or a CoachError saying what it must be."""
    answer = str(answer or "").strip()
    if kind == "pin":
        lo, hi = CHECK_PIN_DIGITS
        if not answer.isdigit() or not lo <= len(answer) <= hi:
            raise CoachError(f"A patient's kiosk PIN is {lo} to {hi} digits.")
    elif kind == "birth_year":
        if not (answer.isdigit() and len(answer) == 4 and 1900 <= int(answer) <= date.today().year):
            raise CoachError(f"A birth year is four digits, from 1900 to {date.today().year}.")
    else:
        raise CoachError(f"A kiosk check is a pin or a birth_year, not {kind!r}.")
    return answer


class Throttle:
    """Failures in a row → a lockout, doubling; times are the kiosk's session time."""

    def __init__(self, limit: int, lockout_s: float):
        self.limit, self.lockout_s = int(limit), float(lockout_s)
        self.failures = self.lockouts = 0
        self.locked_until = 0.0

    def locked(self, t: float) -> bool:
        return t < self.locked_until

    def left_s(self, t: float) -> int:
        return max(0, math.ceil(self.locked_until - t))

    def fail(self, t: float) -> bool:
        """One more failure; True if it locked the keypad."""
        self.failures += 1
        if self.failures < self.limit:
            return False
        self.locked_until = t + min(MAX_LOCKOUT_S, self.lockout_s * 2 ** self.lockouts)
        self.lockouts += 1
        self.failures = 0
        return True

    def succeed(self) -> None:
        self.failures = self.lockouts = 0

    def reset(self) -> None:
        self.succeed()
        self.locked_until = 0.0

    def to_dict(self, t: float, wall: float) -> dict:
        return {"failures": self.failures, "lockouts": self.lockouts,
                "locked_until": wall + max(0.0, self.locked_until - t)}

    def restore(self, data: dict, t: float, wall: float) -> None:
        """From `to_dict`; values that are not sensible are ignored (the state file is ours,
        but a damaged one must not unlock anything or crash the kiosk)."""
        try:
            failures, lockouts = int(data["failures"]), int(data["lockouts"])
            until = float(data["locked_until"])
        except (KeyError, TypeError, ValueError):
            return
        self.failures = min(max(failures, 0), self.limit)
        self.lockouts = min(max(lockouts, 0), 32)
        if math.isfinite(until):
            self.locked_until = t + min(max(0.0, until - wall), MAX_LOCKOUT_S)


class AccessState:
    """The kiosk's two throttles (`pin`: the staff PIN; `patient`: codes and second factors),
    kept in `path` (None: in memory only). `wall`: the wall clock (tests move it)."""

    def __init__(self, config, path: str | os.PathLike | None = None, wall=time.time):
        self.pin = Throttle(config.max_wrong_pins, config.lockout_s)
        self.patient = Throttle(config.max_wrong_codes, config.lockout_s)
        self.path = Path(path) if path else None
        self.wall = wall
        self.problem = ""             # the state file could not be written (the lockouts still hold here)

    def staff_in(self, t: float) -> None:
        """The right staff PIN: both keypads are open again."""
        self.pin.reset()
        self.patient.reset()
        self.save(t)

    def load(self, t: float = 0.0) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        now = self.wall()
        for name in ("pin", "patient"):
            if isinstance(data.get(name), dict):
                getattr(self, name).restore(data[name], t, now)

    def save(self, t: float) -> None:
        if self.path is None:
            return
        now = self.wall()
        try:
            write_json(self.path, {"pin": self.pin.to_dict(t, now), "patient": self.patient.to_dict(t, now)})
            self.problem = ""
        except OSError as exc:
            self.problem = f"Cannot save the kiosk's lockout state in {self.path}: {exc.strerror}."
