"""The kiosk's settings file and the staff PIN (stored hashed with scrypt, owner-only).

Every setting's type and range is checked when the file is loaded (start-up), with the
setting and the reason in one sentence: a wrong value never surfaces later, mid-visit.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

from coach.core.files import write_atomic
from coach.core.plan import DEFAULT_PLAN_REPS
from coach.errors import CoachError

DEFAULT_PLAN = ({"exercise": "gentle-smile", "reps": DEFAULT_PLAN_REPS},
                {"exercise": "gentle-eye-closure", "reps": DEFAULT_PLAN_REPS})   # two short sets: a kiosk visit is brief
PIN_DIGITS = (4, 12)
SCRYPT = dict(n=2 ** 14, r=8, p=1)
SECONDS = ("idle_timeout_s", "summary_s", "intro_s", "lockout_s")


def _number(lo: float, hi: float, whole: bool = False):
    def ok(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            return False
        return math.isfinite(value) and lo <= value <= hi
    return ok


# setting: (check, what it must be)
RULES = {
    "pin_hash": (lambda v: v is None or (isinstance(v, str) and v.startswith("scrypt$") and v.count("$") == 5),
                 "a PIN hash written by `coach kiosk set-pin`, or null"),
    "idle_timeout_s": (_number(1, 86400), "a number of seconds from 1 to 86400"),
    "summary_s": (_number(0, 3600), "a number of seconds from 0 to 3600"),
    "intro_s": (_number(0, 600), "a number of seconds from 0 to 600"),
    "fullscreen": (lambda v: isinstance(v, bool), "true or false"),
    "max_wrong_pins": (_number(1, 100, whole=True), "a whole number from 1 to 100"),
    "max_wrong_codes": (_number(1, 100, whole=True), "a whole number from 1 to 100"),
    "lockout_s": (_number(1, 86400), "a number of seconds from 1 to 86400"),
    "admin_taps": (_number(0, 20, whole=True), "a whole number from 0 (corner taps off) to 20"),
    "default_plan": (lambda v: isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v),
                     "a list of plan items such as {\"exercise\": \"gentle-smile\", \"reps\": 3}"),
}


def default_config_path() -> Path:
    import platformdirs
    return Path(platformdirs.user_config_dir("coach", appauthor=False)) / "kiosk.json"


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
    max_wrong_codes: int = 5          # wrong patient codes (or second factors) in a row lock the welcome keypad …
    lockout_s: float = 30.0           # … for this long, doubling each time
    admin_taps: int = 5               # taps in the top-left corner that open the staff PIN screen
    default_plan: list = field(default_factory=lambda: [dict(i) for i in DEFAULT_PLAN])
    # Where `load` read it from (not a setting): the kiosk keeps its lockout state beside it.
    loaded_from: ClassVar[Path | None] = None

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "KioskConfig":
        path = Path(path) if path else default_config_path()
        if not path.exists():
            cfg = cls()
            cfg.loaded_from = path  # type: ignore[misc]   # this instance's, not a setting
            return cfg
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CoachError(f"Cannot read the kiosk settings {path}: {exc}.") from None
        if not isinstance(data, dict):
            raise CoachError(f"The kiosk settings {path} must be a JSON object.")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise CoachError(f"Unknown kiosk setting(s) in {path}: {', '.join(unknown)}.")
        cfg = cls(**data)
        cfg.validate(f" in {path}")
        cfg.loaded_from = path  # type: ignore[misc]   # this instance's, not a setting
        return cfg

    def validate(self, where: str = "") -> None:
        """Every setting of the right type and range, else one sentence naming it and why."""
        from coach.core.plan import PlanError, parse_items

        for name, (ok, wanted) in RULES.items():
            value = getattr(self, name)
            if not ok(value):
                shown = json.dumps(value, default=str)
                shown = shown if len(shown) <= 40 else shown[:37] + "..."
                raise CoachError(f"Kiosk setting {name}{where} must be {wanted}, not {shown}.")
        try:
            parse_items(self.default_plan)
        except PlanError as exc:
            raise CoachError(f"Kiosk setting default_plan{where}: {exc}") from None

    def save(self, path: str | os.PathLike | None = None) -> Path:
        path = Path(path) if path else default_config_path()
        text = json.dumps(asdict(self), indent=2) + "\n"

        def write(tmp: str) -> None:
            os.chmod(tmp, 0o600)                 # the PIN hash: owner only
            Path(tmp).write_text(text)
        write_atomic(path, write)
        return path

    def set_pin(self, pin: str) -> None:
        self.pin_hash = hash_pin(check_pin_format(pin))
