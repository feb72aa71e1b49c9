"""Scripted UI events (JSON lines), for replays, tests and staff demos.

Each line is one event at a time "t" (seconds, session time): a key ({"t": 1.5, "key": "1"}),
a touch ({"t": 2, "click": [x, y]}), any display action ({"t": 3, "action": "admin"}) or the
camera going away and coming back ({"t": 4, "camera": "lost"|"ok"}). Parsed events are
(t, "action"|"camera", value) tuples: the `events` input of coach.app.run_loop.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from coach.errors import InputError

NAMED_KEYS = {"enter": "key:enter", "return": "key:enter", "ok": "key:enter", "backspace": "key:backspace",
              "delete": "key:backspace", "escape": "quit", "esc": "quit", "admin": "admin"}


def _key(value, where: str) -> str:
    key = str(value).lower()
    if key.isdigit() and len(key) == 1:
        return f"key:{key}"
    if key in NAMED_KEYS:
        return NAMED_KEYS[key]
    raise InputError(f"Bad kiosk event {where}: unknown key {value!r}.")


def _click(value, where: str) -> str:
    try:
        x, y = (int(round(float(v))) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"Bad kiosk event {where}: \"click\" is [x, y].") from None
    return f"click:{x},{y}"


def parse_event(obj: dict, where: str = "") -> tuple[float, str, str]:
    """One scripted event → (t, "action"|"camera", value)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), (int, float)):
        raise InputError(f"Bad kiosk event {where}: each needs a number \"t\".")
    t = float(obj["t"])
    if "action" in obj:
        return t, "action", str(obj["action"])
    if "key" in obj:
        return t, "action", _key(obj["key"], where)
    if "click" in obj:
        return t, "action", _click(obj["click"], where)
    if "camera" in obj and obj["camera"] in ("lost", "ok"):
        return t, "camera", obj["camera"]
    raise InputError(f"Bad kiosk event {where}: give one of action, key, click or camera (lost|ok).")


def script_lines(path: str | os.PathLike, what: str = "kiosk event") -> list[tuple[int, Any]]:
    """A JSON-lines script (the kiosk's events, the labelling tool's keys): [(line number, JSON value)],
    blank lines and # comments skipped; an unreadable file or a line that is not JSON in one sentence."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise InputError(f"Cannot read the events file {path}: {exc.strerror}.") from None
    out: list[tuple[int, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            out.append((n, json.loads(line)))
        except ValueError:
            raise InputError(f"Bad {what} on line {n} of {path}: not JSON.") from None
    return out


def load_events(path: str | os.PathLike) -> list[tuple[float, str, str]]:
    """A JSON-lines events file (blank lines and # comments skipped) → events sorted by time."""
    events = [parse_event(obj, f"on line {n} of {path}") for n, obj in script_lines(path)]
    return sorted(events, key=lambda e: e[0])
