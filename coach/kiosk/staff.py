"""The kiosk's staff PIN screen: opened by the admin gesture, it pauses the visit, takes the PIN
(locked out after repeated failures, `coach.kiosk.access`), ends the visit and lets staff out; Cancel
goes back to where the kiosk was. Functions of the `Kiosk` (`coach.kiosk.machine`), which calls them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coach.core.feedback import FeedbackView
from coach.kiosk.config import PIN_DIGITS, verify_pin


def open_pin(k: Any) -> None:
    if k.state == "pin":
        return
    k.pin_return = k.state
    k.pin_entry, k.pin_message = "", ""
    if k.session is not None and k.session.state not in ("welcome", "summary", "paused", "camera_lost",
                                                        "confirm_quit"):
        k._drive_session(None, k.t, ["pause"], k.camera_lost, None)
    k.state = "pin"


def close_pin(k: Any) -> None:
    k.state = k.pin_return if k.pin_return != "pin" else "welcome"
    if k.session is None and k.state == "session":
        k.state = "welcome"
    if k.session is not None and k.session.state == "paused" and k.session.pause_reason == "user":
        k._drive_session(None, k.t, ["pause"], k.camera_lost, None)
    k.pin_entry, k.pin_message = "", ""


def pin_actions(k: Any, acts: Sequence[str], t: float) -> None:
    for a in acts:
        if a == "cancel":
            close_pin(k)
            return
        if k.access.pin.locked(t):
            continue
        if a.startswith("key:") and a[4:].isdigit():
            if len(k.pin_entry) < PIN_DIGITS[1]:
                k.pin_entry += a[4:]
            k.pin_message = ""
        elif a == "key:backspace":
            k.pin_entry = k.pin_entry[:-1]
        elif a == "key:enter" and k.pin_entry:
            pin, k.pin_entry = k.pin_entry, ""
            if verify_pin(pin, k.config.pin_hash):
                k.access.staff_in(t)             # staff are here: every lockout is lifted
                k._end_visit(t)
                k.exit_requested = True
                return
            if not k.access.pin.fail(t):
                k.pin_message = "That PIN is not right. Try again."
            k.access.save(t)


def pin_view(k: Any, t: float) -> FeedbackView:
    locked = k.access.pin.locked(t)
    message = k.pin_message
    if locked:
        message = f"Too many wrong PINs. Try again in {k.access.pin.left_s(t)} s."
    elif not k.config.pin_hash:
        message = "No staff PIN is set: set one with `coach kiosk set-pin`."
    view = k._keypad_view("kiosk_pin", "Staff only", "Enter the staff PIN.",
                             k.pin_entry, True, message, "error", True, locked, t)
    if locked:
        view.extra["variant"] = "locked"
    return view
