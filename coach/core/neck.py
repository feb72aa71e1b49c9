"""The neck (platysma): vertical cords below the jaw, seen, not seen, or can't tell.

Platysma synkinesis was found in 65.2 % of 69 patients with synkinesis, provoked most by the snarl,
then the open-mouth smile, then the pucker (Laryngoscope 2014;124:2513). It shows as vertical bands
on the neck and the same side's mouth corner pulled down and out. MediaPipe's mesh has no neck, so
the picture is read below the jaw line (`coach.camera.pixels`): the horizontal gradient energy of
each side's neck (vertical ridges raise it) against the patient's own neutral neck.

The answer per side is one of NECK_STATES, and it is never guessed: "can't tell" whenever the neck is
not usable, now or in the neutral face it is compared with:
  - out of the picture: less than MIN_INSIDE of the region below the jaw is in the frame;
  - too dark: its mean grey level is below MIN_LUMA (of 255);
  - covered (a collar, a scarf, a beard): less than MIN_SKIN of its pixels look like the cheeks' skin.
"""
from __future__ import annotations

import numpy as np

NECK_STATES = ("seen", "not seen", "can't tell")
NECK_FEATURES = 5                     # inside, luma, skin, horizontal energy, vertical energy
INSIDE, LUMA, SKIN, EX, EY = range(NECK_FEATURES)
MIN_INSIDE = 0.95
MIN_LUMA = 40.0
MIN_SKIN = 0.5
HINTS = {
    "out": "Lower the camera a little so your neck shows",
    "dark": "Turn on a light in front of you so your neck shows",
    "covered": "Move your collar, scarf or hair away from your neck if you can",
}
NECK_HINT = HINTS["out"]


def unusable(features: np.ndarray | None) -> str:
    """Why one side's neck cannot be read ("out", "dark", "covered"), or "" when it can."""
    if features is None or not np.all(np.isfinite(features)):
        return "out"
    if features[INSIDE] < MIN_INSIDE:
        return "out"
    if features[LUMA] < MIN_LUMA:
        return "dark"
    if features[SKIN] < MIN_SKIN:
        return "covered"
    return ""


def ridges(ref: np.ndarray | None, cur: np.ndarray | None) -> np.ndarray:
    """(2,) per side: the rise of vertical-ridge energy below the jaw over the neutral neck (+0.5 =
    half as much again). The horizontal energy is taken over the vertical one's rise, so a picture
    that merely sharpens or brightens everywhere does not read as cords. NaN where the neck is not
    usable now or was not at rest."""
    out = np.full(2, np.nan)
    if ref is None or cur is None:
        return out
    for s in range(2):
        if unusable(ref[s]) or unusable(cur[s]):
            continue
        ex0, ey0, ex, ey = float(ref[s][EX]), float(ref[s][EY]), float(cur[s][EX]), float(cur[s][EY])
        if ex0 <= 1e-6 or ey0 <= 1e-6:
            continue
        out[s] = ex / ex0 - max(ey / ey0, 1.0)
    return out


def state(value: float, flagged: bool) -> str:
    """One side's answer: "seen" while a neck event is under way, "can't tell" without a usable
    reading, else "not seen"."""
    if flagged:
        return "seen"
    return "can't tell" if not np.isfinite(value) else "not seen"


def hint(ref: np.ndarray | None, cur: np.ndarray | None) -> str:
    """What to tell the patient so the neck can be read, or "" when both sides can be."""
    reasons = [r for s in range(2)
               for r in (unusable(None if cur is None else cur[s]),
                         unusable(None if ref is None else ref[s]))
               if r]
    if not reasons:
        return ""
    for why in ("out", "dark", "covered"):
        if why in reasons:
            return HINTS[why]
    return NECK_HINT
