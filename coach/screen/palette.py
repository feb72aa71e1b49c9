"""The patient screen's palette, type sizes and cue looks.

Okabe–Ito signal colours on a dark, calm slate; everything the patient must
notice is said with a word and a shape as well as a colour, and every
foreground/background pair is checked (tests/test_display.py) against
CONTRAST_PAIRS.
"""
from __future__ import annotations

from typing import Literal

Colour = tuple[int, int, int]
TextSize = Literal["normal", "large", "largest"]
View = Literal["mirror", "mesh", "meters"]   # the exercise screens' three looks: camera, avatar, bars alone

# --- palette --------------------------------------------------------------------------
# Okabe–Ito signal colours on a dark, calm slate (easy on the eyes next to a webcam image).
ORANGE, SKY, GREEN = (230, 159, 0), (86, 180, 233), (0, 158, 115)
YELLOW, BLUE, VERMILLION, PURPLE = (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167)
BG, PANEL = (18, 24, 32), (32, 41, 52)
TEXT, MUTED, INK = (242, 242, 236), (176, 186, 196), (0, 0, 0)
TRACK = (44, 56, 70)                 # empty part of a bar (decorative; the outline is MUTED)
BAND = (120, 138, 158)               # the patient's range on a prime bar's track (named in the legend)
MESH_FILL, MESH_LINE, MESH_FEATURE = (34, 46, 60), (60, 78, 96), (196, 210, 220)

PRIME, REACHED, WATCH, ALERT = SKY, GREEN, PURPLE, VERMILLION
OVER = YELLOW                        # a prime bar above the target band ("gentler")
BANNER, HIGHLIGHT, LANDMARK = ORANGE, ORANGE, SKY
PROMPT, BEHIND = SKY, YELLOW         # the coaching pill; the marker over the side that is behind

# Every foreground/background pair a patient must read or see: all ≥ 4.5:1.
CONTRAST_PAIRS = {
    "text": (TEXT, BG), "text on card": (TEXT, PANEL),
    "hint": (MUTED, BG), "hint on card": (MUTED, PANEL),
    "banner text": (INK, BANNER), "button text": (INK, SKY),
    "prime bar": (PRIME, BG), "goal reached": (REACHED, BG), "watch bar": (WATCH, BG),
    "alert bar": (ALERT, BG), "bar outline": (MUTED, BG), "goal line": (TEXT, BG),
    "landmarks": (LANDMARK, BG), "highlight": (HIGHLIGHT, BG), "mesh features": (MESH_FEATURE, MESH_FILL),
    "cue start": (INK, SKY), "cue rep_done": (INK, GREEN), "cue synkinesis": (INK, ORANGE),
    "prompt text": (INK, PROMPT), "behind marker": (BEHIND, BG), "over band": (OVER, BG),
    "button": (INK, SKY), "second button": (TEXT, PANEL),
}
# A bar's fill, and the goal line, touch these: each pair at least 3:1 (WCAG's non-text contrast).
# Fills are edged in INK, and the goal line is a TEXT core in an INK halo.
EDGE = INK
NON_TEXT_PAIRS = {
    "prime fill / edge": (PRIME, EDGE), "reached fill / edge": (REACHED, EDGE), "over fill / edge": (OVER, EDGE),
    "watch fill / edge": (WATCH, EDGE), "alert fill / edge": (ALERT, EDGE), "goal line / halo": (TEXT, EDGE),
    "halo / prime fill": (EDGE, PRIME), "halo / reached fill": (EDGE, REACHED), "edge / outline": (EDGE, MUTED),
    "goal line / background": (TEXT, BG), "outline / background": (MUTED, BG),
    # The range zone touches the track above and below it, the fill's edge and the goal line's halo (it is
    # inset from the bar's outline), and in the legend the background.
    "range / track": (BAND, TRACK), "range / edge": (BAND, EDGE), "range / legend background": (BAND, BG),
}

TITLE, HEADING, BODY, SMALL = 52, 40, 34, 28     # px at the normal text size; nothing smaller than 28
# the patient's text size, in three steps
TEXT_SIZES: dict[TextSize, float] = {"normal": 1.0, "large": 1.15, "largest": 1.3}
BAR_MAX = 1.2                                    # a bar spans 0..1.2; the goal is 1.0

# cue -> (word, icon, colour): the visual twin of every sound.
CUE_LOOKS = {
    "countdown": ("Get ready", "ring", SKY),
    "start": ("Start", "play", SKY),
    "move": ("Begin", "up", SKY),
    "hold": ("Hold", "ring", SKY),
    "relax": ("Relax", "down", SKY),
    "rest": ("Rest", "pause", SKY),
    "rep_done": ("Rep done", "check", GREEN),
    "nudge": ("Look", "question", SKY),
    "synkinesis": ("Careful", "warn", ORANGE),
    "exercise_done": ("Exercise done", "check", GREEN),
    "session_done": ("Session done", "star", GREEN),
}


def contrast_ratio(a: Colour, b: Colour) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (1..21)."""
    def lum(c: Colour) -> float:
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
