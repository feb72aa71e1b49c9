"""The chin (mentalis): how much shorter the lower-lip-to-chin height is than at rest, per side.

Mentalis synkinesis lifts and turns out the lower lip, dimples the chin and shortens the distance
from the lip to the chin (Facchin et al., Plast Reconstr Surg 2024); it is common in the smile and
in eye closure. MediaPipe's mesh moves the chin as a whole: a one-sided chin raise that shortens
the lip-to-chin height by ~40 % in the image reads as 0-15 % in the landmarks, on both sides nearly
alike, while clean smiles read -4 to +6 %. So the watched measure, `chin_raise`, is read from the
picture: each side's grey profile down the chin (`coach.camera.pixels`, sampled on a grid fixed in
the head's frame) is matched against the same side's neutral profile around the chin's pad and
lower edge. How far the chin moved up relative to the lower lip's border (which the mesh follows
well), over the neutral lip-to-chin height, is the chin raise. The jaw opening (talking, an
open-mouth smile) moves both alike and reads as nothing.

Steps (each a function below):
  1. `edges`: the profile's vertical derivative, so lighting and skin tone drop out;
  2. `shift`: the displacement of the chin window of the neutral profile in today's (normalised
     cross-correlation over whole rows, refined to a fraction of a row by a parabola);
  3. `chin_raise`: (lip shift - chin shift) / neutral height, per side, the chin's shift being the
     median of its strips'; NaN (can't tell) when the window falls outside the picture, fewer than
     half the strips match well (MIN_MATCH) or they disagree (MAX_SPREAD): a beard, a hand, a scarf.
"""
from __future__ import annotations

import numpy as np

CHIN_COLS = 5             # strips per side, from near the midline out …
CHIN_ROWS = 84            # rows of the chin profile …
CHIN_Y0, CHIN_Y1 = 0.35, 2.40   # … from here to here below the nose ridge, in eye distances
ROW = (CHIN_Y1 - CHIN_Y0) / (CHIN_ROWS - 1)
MAX_SHIFT = 0.40          # a window is looked for this far up or down (eye distances)
CHIN_WINDOW = (-0.08, 0.12)    # around the chin's outline: its lower edge against the neck (not the pad, which dimples)
MAX_SPREAD = 0.06         # the strips' shifts may differ by this much (median absolute deviation, eye distances)
MIN_MATCH = 0.75          # normalised correlation below this: the chin does not look like itself


def edges(profile: np.ndarray) -> np.ndarray:
    """The vertical derivative of a grey profile (last axis), lightly smoothed ([1, 2, 1] / 4, zero
    beyond the ends)."""
    p = np.asarray(profile, np.float64)
    padded = np.concatenate([np.zeros(p.shape[:-1] + (1,)), p, np.zeros(p.shape[:-1] + (1,))], axis=-1)
    smooth = 0.25 * padded[..., :-2] + 0.5 * padded[..., 1:-1] + 0.25 * padded[..., 2:]
    return np.diff(smooth, axis=-1)


def shift(ref: np.ndarray, cur: np.ndarray, lo: int, hi: int, n: int | None = None) -> tuple[float, float]:
    """Rows by which the window ref[lo:hi] moved in `cur` (+ = down), and the match (normalised
    correlation, -1..1), searched MAX_SHIFT up and down but only within the first `n` rows (those
    inside the picture; default all). NaN when the window itself leaves them."""
    d, q = shifts(np.asarray(ref)[None, :], np.asarray(cur)[None, :], lo, hi, n)
    return float(d[0]), float(q[0])


def shifts(ref: np.ndarray, cur: np.ndarray, lo: int, hi: int, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`shift` for several strips at once: ref, cur (strips, rows) -> (shifts, matches)."""
    k_strips = ref.shape[0]
    nan = (np.full(k_strips, np.nan), np.zeros(k_strips))
    n = ref.shape[1] if n is None else min(int(n), ref.shape[1])
    m = int(round(MAX_SHIFT / ROW))
    if lo < 0 or hi > n or hi - lo < 4:
        return nan
    a = ref[:, lo:hi] - ref[:, lo:hi].mean(axis=1, keepdims=True)              # (S, W)
    na = np.sqrt((a * a).sum(axis=1))                                         # (S,)
    offsets = np.arange(max(-m, -lo), min(m, n - hi) + 1)
    idx = np.arange(lo, hi)[None, :] + offsets[:, None]                       # (O, W)
    b = cur[:, idx]                                                           # (S, O, W)
    b = b - b.mean(axis=2, keepdims=True)
    nb = np.sqrt((b * b).sum(axis=2))                                         # (S, O)
    c = np.einsum("sow,sw->so", b, a) / np.maximum(nb * na[:, None], 1e-9)
    k = np.argmax(c, axis=1)
    rows = np.arange(k_strips)
    best = c[rows, k]
    inner = (k > 0) & (k < len(offsets) - 1)
    lo_c, hi_c = c[rows, np.maximum(k - 1, 0)], c[rows, np.minimum(k + 1, len(offsets) - 1)]
    den = lo_c - 2 * best + hi_c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(inner & (den < 0), np.clip(0.5 * (lo_c - hi_c) / den, -0.5, 0.5), 0.0)
    d = offsets[k] + off
    # The best match where the picture ends may lie beyond it; a flat window matches nothing.
    at_edge = ~inner & (offsets[k] != -m) & (offsets[k] != m)
    bad = at_edge | (na <= 1e-9)
    return np.where(bad, np.nan, d), np.where(bad, 0.0, best)


def row_of(y: float) -> float:
    """The profile row at head-frame height y (eye distances)."""
    return (y - CHIN_Y0) / ROW


def chin_raise(ref: np.ndarray, cur: np.ndarray, lip_y: np.ndarray, chin_y: np.ndarray,
               lip_now: np.ndarray, rows_in: np.ndarray | None = None) -> np.ndarray:
    """(2,) per side: how much shorter the lip-to-chin height is than at rest (fraction; + = shorter).

    `ref`, `cur`: (2, CHIN_COLS, CHIN_ROWS) neutral and current profiles (the chin's outline curves,
    so each strip is matched on its own, and the side's chin moved by the median of its strips that
    match); `lip_y`, `chin_y`: (2,) the neutral
    lower lip border and chin outline per side, `lip_now` the lip border now (head frame, eye
    distances). The lip itself is followed by the mesh, which tracks lips well (an opening mouth
    changes the picture around the lip too much to match it); the chin by the picture. `rows_in`:
    (2,) how many rows from the top were inside the picture (now and at rest); a side whose search
    reaches beyond them is not read (the chin is cut off by the frame)."""
    out = np.full(2, np.nan)
    er, ec = edges(ref), edges(cur)
    for s in range(2):
        height = float(chin_y[s] - lip_y[s])
        if not np.isfinite(height) or height <= 0.1 or not np.all(np.isfinite(cur[s])):
            continue
        cr = row_of(float(chin_y[s]))
        lo, hi = int(round(cr + CHIN_WINDOW[0] / ROW)), int(round(cr + CHIN_WINDOW[1] / ROW))
        n_in = None if rows_in is None else int(rows_in[s]) - 1      # edges: one row fewer than the profile
        d, q = shifts(er[s], ec[s], lo, hi, n_in)
        found = d[(q >= MIN_MATCH) & np.isfinite(d)]
        # Most strips must match, and agree: a beard or a shadow matches each strip somewhere else.
        if len(found) * 2 <= er.shape[1] or np.median(np.abs(found - np.median(found))) * ROW > MAX_SPREAD:
            continue
        out[s] = (float(lip_now[s] - lip_y[s]) - float(np.median(found)) * ROW) / height
    return out
