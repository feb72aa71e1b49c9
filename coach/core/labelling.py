"""Going through a patient's reps to label them (`coach label`): what each key or button does.

Fast for 50 reps: N (no co-movement) saves and moves on in one key; Y, then the side (L, R, B),
then the region (1 eye, 2 brow, 3 mouth, 4 chin, 5 neck) saves and moves on in three. Enter or → moves on (saving
a complete label), Backspace or ← goes back; a rep already labelled shows its label, and labelling
it again changes it. The detector's verdict is not shown: the therapist labels blind.

Pure: the screen (`coach.screen.labeller`) turns keys and touches into the actions below, and the
caller stores each label `act` returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SIDE_KEYS = {"l": "left", "r": "right", "b": "both"}
REGION_KEYS = {"1": "eye", "2": "brow", "3": "mouth", "4": "chin", "5": "neck"}
KEYS = {"y": "yes", "n": "no", **{k: f"side:{v}" for k, v in SIDE_KEYS.items()},
        **{k: f"region:{v}" for k, v in REGION_KEYS.items()}, "enter": "next", "return": "next", "right": "next",
        "space": "next", "backspace": "back", "left": "back", "escape": "quit", "q": "quit"}


@dataclass
class Draft:
    label: int | None = None
    side: str | None = None
    region: str = ""

    @property
    def complete(self) -> bool:
        return self.label == 0 or (self.label == 1 and self.side is not None)

    def as_label(self) -> dict[str, Any]:
        if self.label == 0:
            return {"label": 0, "side": "none", "region": ""}
        return {"label": 1, "side": self.side, "region": self.region}


@dataclass
class Labelling:
    """The reps in the order shown, the one on screen (`index`) and its draft label."""

    reps: list[dict[str, Any]]
    index: int = 0
    draft: Draft = field(default_factory=Draft)
    done: bool = False
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)   # rep id → the label saved this time

    def __post_init__(self) -> None:
        self._load()

    @property
    def rep(self) -> dict[str, Any] | None:
        return self.reps[self.index] if 0 <= self.index < len(self.reps) else None

    def _load(self) -> None:
        rep = self.rep
        old = (self.saved.get(rep["id"]) or rep.get("labelled")) if rep else None
        self.draft = Draft(old["label"], None if old["side"] == "none" else old["side"], old["region"] or "") \
            if old else Draft()

    def _move(self, step: int) -> None:
        self.index = max(0, self.index + step)
        if self.index >= len(self.reps):
            self.index, self.done = len(self.reps), True
            return
        self._load()

    def act(self, action: str) -> dict[str, Any] | None:
        """Apply one action; returns {rep_id, label, side, region} when a label is to be saved."""
        rep, d = self.rep, self.draft
        if action == "quit" or rep is None:
            self.done = True
            return None
        out = None
        if action == "no":
            d.label, d.side, d.region = 0, None, ""
            out = self._save(rep)
        elif action == "yes":
            d.label = 1
        elif action.startswith("side:"):
            d.label, d.side = 1, action.split(":", 1)[1]
        elif action.startswith("region:"):
            d.label, d.region = 1, action.split(":", 1)[1]
            if d.side is not None:
                out = self._save(rep)
        elif action == "next":
            out = self._save(rep) if d.complete else None
            if out is None:
                self._move(1)
        elif action == "back":
            self._move(-1)
        return out

    def _save(self, rep: dict[str, Any]) -> dict[str, Any]:
        label = {"rep_id": rep["id"], **self.draft.as_label()}
        self.saved[rep["id"]] = label
        self._move(1)
        return label

    def progress(self) -> tuple[int, int]:
        """(reps labelled, reps to label)."""
        return sum(1 for r in self.reps if r["id"] in self.saved or r.get("labelled")), len(self.reps)
