"""Named MediaPipe face-mesh landmark indices, per *anatomical* side of the patient.

MediaPipe's mesh is anatomical for an unmirrored image: index 263 (outer corner
of the patient's left eye) lies on the image's right. So "left" here is always
the patient's left. A source that delivers mirrored frames must say so, and the
tracker's caller swaps sides (`swap_sides`) — mirroring is for display only.
"""
from __future__ import annotations

from typing import Literal

Side = Literal["left", "right"]     # the patient's anatomical side
SIDES: tuple[Side, Side] = ("left", "right")  # column order of every per-side array in the core

# Eyelid pairs are (upper, lower) points on the same vertical through the fissure.
EYE_OUTER = {"left": 263, "right": 33}
EYE_INNER = {"left": 362, "right": 133}
EYE_LIDS = {
    "left": ((387, 373), (386, 374), (385, 380)),
    "right": ((160, 144), (159, 145), (158, 153)),
}
EYE_CONTOUR: dict[str, tuple[int, ...]] = {
    "left": (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    "right": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
}
BROW: dict[str, tuple[int, ...]] = {  # upper edge of the brow, lateral to medial
    "left": (300, 293, 334, 296, 336),
    "right": (70, 63, 105, 66, 107),
}
IRIS = {  # (centre, then four rim points: two horizontal, two vertical)
    "left": (473, 474, 475, 476, 477),
    "right": (468, 469, 470, 471, 472),
}
MOUTH_CORNER = {"left": 291, "right": 61}
UPPER_LIP_LATERAL = {"left": (269, 270), "right": (39, 40)}  # over the canine: lifts in a snarl
INNER_LIP_TOP, INNER_LIP_BOTTOM = 13, 14
# The lower lip and the chin, per side (the chin's measures; see coach.core.chin).
LOWER_LIP_OUTER = {"left": (314, 405), "right": (84, 181)}      # the red lip's lower border
LOWER_LIP_INNER = {"left": (317, 402), "right": (87, 178)}      # where the lips meet
CHIN_FOLD = {"left": (313, 406), "right": (83, 182)}            # the fold under the lower lip
CHIN_OUTLINE = {"left": (377, 400), "right": (148, 176)}        # the face's outline below the lip
UPPER_LIP_MID, LOWER_LIP_MID = 0, 17
NASION = 168
NOSE_TIP = 1
# Points that expressions barely move; they define the head's own frame.
RIGID_MIDLINE = (168, 6, 197, 195, 5, 4, 1)

# Landmarks the head frame and pose are built from (measures.head_frame): eye corners and nose ridge.
POSE_POINTS = tuple(sorted({*EYE_OUTER.values(), *EYE_INNER.values(), *RIGID_MIDLINE, NASION, NOSE_TIP}))

# The landmarks each relative measure (calibration.REL) reads in a frame, both sides. A frame
# is judged for a measure when these and POSE_POINTS are inside the picture (quality.py).
_LIDS = tuple(p for s in SIDES for pair in EYE_LIDS[s] for p in pair)
_CORNERS = tuple(MOUTH_CORNER[s] for s in SIDES)
MEASURE_POINTS = {
    "eye_opening": _LIDS,
    "brow_height": tuple(p for s in SIDES for p in BROW[s]),
    "commissure_excursion": _CORNERS,
    "commissure_elevation": _CORNERS,
    "upper_lip_elevation": tuple(p for s in SIDES for p in UPPER_LIP_LATERAL[s]),
    "mouth_width": _CORNERS,
    "mouth_open": (INNER_LIP_TOP, INNER_LIP_BOTTOM),
}
_CHIN = tuple(p for s in SIDES for pts in (LOWER_LIP_OUTER, CHIN_FOLD, CHIN_OUTLINE) for p in pts[s])
MEASURE_POINTS.update({name: _CHIN for name in ("lip_chin_height", "lower_lip_red", "chin_pad")})
# Measures read from the picture (`coach.camera.pixels`): their readings say themselves whether the
# part they read is in the picture (NaN when not), so a chin or neck out of the frame never stops the
# eyes and mouth being judged.
PICTURE_MEASURES = ("chin_raise", "neck_bands")

# Landmarks the mirror view draws: what the measures actually use.
MEASURED_POINTS = tuple(sorted(
    {p for s in SIDES for p in EYE_CONTOUR[s]}
    | {p for s in SIDES for p in BROW[s]}
    | set(MOUTH_CORNER.values())
    | {p for s in SIDES for p in UPPER_LIP_LATERAL[s]}
    | {INNER_LIP_TOP, INNER_LIP_BOTTOM, UPPER_LIP_MID, LOWER_LIP_MID}))

# Which facial region a measure belongs to (the view highlights it on an alert).
REGION_POINTS: dict[str, dict[str, tuple[int, ...]]] = {
    "eye": EYE_CONTOUR,
    "brow": BROW,
    "mouth": {"left": (291, 269, 270, 409, 375, 321), "right": (61, 39, 40, 185, 146, 91)},
    # The chin's half on each side, below the lower lip: the lip's lower border from the midline (17) to
    # near the corner, down the chin's outline to its lowest point (152), and back up the midline.
    "chin": {"left": (17, 314, 405, 321, 418, 262, 369, 400, 377, 152, 175, 199, 200, 18),
             "right": (17, 84, 181, 91, 194, 32, 140, 176, 148, 152, 175, 199, 200, 18)},
    # The neck is not in the mesh: these are the jaw line's lower points on each side, from near the chin
    # to near the angle of the jaw; the screen draws the neck's band below them (screen.widgets.neck_band).
    "neck": {"left": (377, 400, 378, 379, 365, 397), "right": (148, 176, 149, 150, 136, 172)},
}


def other(side: str) -> str:
    return "right" if side == "left" else "left"
