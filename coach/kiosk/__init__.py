"""Clinic kiosk mode: a locked-down coach that many patients share, one visit at a time.

config   the settings file and the staff PIN (hashed)
machine  `Kiosk`, the state machine: a driver of coach.app.run_loop
staff    the staff PIN screen the admin gesture opens
access   lockouts after wrong codes and PINs, kept across restarts
script   scripted UI events (JSON lines) for replays, tests and staff demos
run      `run_kiosk` (the kiosk on coach.app.run_loop) and `serve` (`coach kiosk`)
"""
from __future__ import annotations

from coach.kiosk.config import KioskConfig, hash_pin, verify_pin
from coach.kiosk.machine import UNKNOWN_CODE, Kiosk
from coach.kiosk.run import run_kiosk, serve, show
from coach.kiosk.script import load_events, parse_event

__all__ = ["UNKNOWN_CODE", "Kiosk", "KioskConfig", "hash_pin", "load_events", "parse_event", "run_kiosk", "serve",
           "show", "verify_pin"]
