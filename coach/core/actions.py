"""The patient's actions as a session reads them (pure): the names the display and the kiosk send
("ready", "pause", "key:enter", "set:name=value", …) arrive in a list per frame, Enter's twice.
"""
from __future__ import annotations

from collections.abc import Iterable

ENTER = ("key:enter", "yes")      # Enter gives both: one step handles it once


def once(actions: Iterable[str]) -> list[str]:
    """Enter arrives as two actions ("key:enter" and "yes"): keep the first of them."""
    out: list[str] = []
    entered = False
    for a in actions:
        if a in ENTER:
            if entered:
                continue
            entered = True
        out.append(a)
    return out

