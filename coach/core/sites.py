"""Treatment sites: a fixed vocabulary of the muscles toxin for synkinesis goes into, each side (pure).

A treatment's `sites` stays free text (a procedure, a site this list lacks), but the muscles below
are named one way: `coach treatment add --site mentalis-left` writes "mentalis left", and the report
draws a toxin into a region's muscle on that region's co-movement trend (mentalis: the chin,
platysma: the neck; `MUSCLES`).
"""
from __future__ import annotations

import re

from coach.core.face import SIDES

MUSCLES = {                      # muscle -> the region of the face its synkinesis shows in
    "orbicularis oculi": "eye",
    "zygomaticus": "mouth",
    "depressor anguli oris": "mouth",
    "mentalis": "chin",
    "platysma": "neck",
}
# The vocabulary's words as a command line takes them: "mentalis-left" -> ("mentalis", "left").
SITE_CHOICES = {f"{muscle.replace(' ', '-')}-{side}": (muscle, side) for muscle in MUSCLES for side in SIDES}


def site_words(choices: list[str] | tuple[str, ...]) -> str:
    """The chosen sites as a treatment's text, in the vocabulary's order: "mentalis left, platysma right"."""
    picked = set(choices)
    return ", ".join(f"{m} {s}" for key, (m, s) in SITE_CHOICES.items() if key in picked)


def with_sites(choices: list[str] | tuple[str, ...], text: str | None) -> str | None:
    """A treatment's sites: the chosen vocabulary sites, then the free text (None: neither given)."""
    if not choices:
        return text
    return ", ".join(part for part in (site_words(choices), (text or "").strip()) if part)


def muscles_in(sites: str | None) -> set[str]:
    """The vocabulary's muscles a sites text names, whatever its case, hyphens or spacing."""
    words = " " + re.sub(r"[^a-z]+", " ", (sites or "").lower()) + " "
    return {m for m in MUSCLES if f" {m} " in words}


def regions_in(sites: str | None) -> set[str]:
    """The face regions whose muscles a sites text names."""
    return {MUSCLES[m] for m in muscles_in(sites)}
