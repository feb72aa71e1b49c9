"""Clinic kiosk mode: a locked-down coach that many patients share, one visit at a time.

config   the settings file and the staff PIN (hashed)
machine  `Kiosk`, the state machine: a driver of coach.app.run_loop
script   scripted UI events (JSON lines) for replays, tests and staff demos
run      `run_kiosk` (the kiosk on coach.app.run_loop) and `serve` (`coach kiosk`)
"""
from __future__ import annotations

from coach.app import screen_key
from coach.kiosk.config import (DEFAULT_PLAN, PIN_DIGITS, KioskConfig, check_pin_format, default_config_path,
                                hash_pin, verify_pin)
from coach.kiosk.machine import ASK_STAFF, KEYPAD_SCREENS, KIOSK_EXTRA, UNKNOWN_CODE, Kiosk, Visit
from coach.kiosk.run import KioskRun, LockedDisplay, run_kiosk, serve, show
from coach.kiosk.script import load_events, parse_event

__all__ = ["ASK_STAFF", "DEFAULT_PLAN", "KEYPAD_SCREENS", "KIOSK_EXTRA", "PIN_DIGITS", "UNKNOWN_CODE", "Kiosk",
           "KioskConfig", "KioskRun", "LockedDisplay", "RetryingCamera", "Visit", "check_pin_format",
           "default_config_path", "hash_pin", "load_events", "parse_event", "run_kiosk", "screen_key", "serve",
           "show", "verify_pin"]


def __getattr__(name: str):
    if name == "RetryingCamera":           # it lives with the other sources now (and needs OpenCV)
        from coach.camera.webcam import RetryingCamera
        return RetryingCamera
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
