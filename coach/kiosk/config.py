"""The kiosk's settings file and the staff PIN (stored hashed with scrypt, owner-only)."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coach.core.files import write_atomic
from coach.core.plan import DEFAULT_PLAN_REPS
from coach.errors import CoachError

DEFAULT_PLAN = ({"exercise": "gentle-smile", "reps": DEFAULT_PLAN_REPS},
                {"exercise": "gentle-eye-closure", "reps": DEFAULT_PLAN_REPS})   # two short sets: a kiosk visit is brief
PIN_DIGITS = (4, 12)
SCRYPT = dict(n=2 ** 14, r=8, p=1)
SECONDS = ("idle_timeout_s", "summary_s", "intro_s", "lockout_s")


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
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise CoachError(f"Unknown kiosk setting(s) in {path}: {', '.join(unknown)}.")
        cfg = cls(**data)
        for name in SECONDS:
            if not isinstance(getattr(cfg, name), (int, float)) or getattr(cfg, name) < 0:
                raise CoachError(f"Kiosk setting {name} in {path} must be a number of seconds ≥ 0.")
        return cfg

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
