"""Clips with truth files → measured cases, once per clip, on all cores.

A case keeps each frame's `Measures` (not the frames): everything the detector
needs, so thresholds can be swept without tracking or measuring again.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

from coach.core.measures import Measures, measure
from coach.errors import InputError

TRUTH_SUFFIX = ".truth.json"
STREAM_SUFFIX = ".landmarks.npz"


@dataclass
class Case:
    name: str
    truth: dict
    measures: list[Measures]

    @property
    def exercise(self) -> str:
        return self.truth["exercise"]

    @property
    def person(self) -> str:
        """Identity for leave-one-face-out: two photos of one person are one face."""
        return self.truth.get("person") or self.truth.get("face_id") or self.name.split("_")[0]

    @property
    def variant(self) -> str:
        if self.truth.get("variant"):
            return self.truth["variant"]
        rest = self.name.split("_")[1:]          # older truth files: FACE_WHAT_[SIDE_...]
        return "_".join(rest[:2]) if rest else self.name

    @property
    def condition(self) -> str:
        """How the face is seen (`Clip.condition`): still, crop_PART, hold_MOTION, drift_MOTION or away."""
        if self.truth.get("condition"):
            return self.truth["condition"]
        motion = self.truth.get("motion", "none")          # older truth files
        return "still" if motion == "none" else "away" if motion == "turn_hold" else f"drift_{motion}"

    @property
    def region(self) -> str:
        """What the clip is about (`Clip.region`): eye, mouth, chin or neck. Older truth files: eye
        for a mouth movement (the eyes watched), mouth for an eye closure or brow lift."""
        if self.truth.get("region"):
            return self.truth["region"]
        return "mouth" if self.exercise in ("gentle-eye-closure", "brow-lift") else "eye"

    @property
    def baseline_s(self) -> float:
        return float(self.truth.get("baseline_s", [0, 1.0])[1])


def truth_files(folder: str | os.PathLike) -> list[Path]:
    return sorted(Path(folder).glob("*" + TRUTH_SUFFIX))


def _load(args) -> Case:
    tpath, use_landmarks, model = args
    from coach.analysis import load_frames

    truth = json.loads(Path(tpath).read_text(encoding="utf-8"))
    name = Path(tpath).name[: -len(TRUTH_SUFFIX)]
    stream = Path(tpath).with_name(name + STREAM_SUFFIX)
    clip = stream if use_landmarks and stream.exists() else Path(tpath).with_name(truth["clip"])
    _, frames = load_frames(clip, model)      # a fresh tracker per clip: no state carries over
    return Case(name, truth, [measure(f) for f in frames])


def load_cases(folder: str | os.PathLike, use_landmarks: bool = False, model: str | None = None,
               jobs: int | None = None, progress=None) -> list[Case]:
    """Every clip in `folder` that has a truth file, measured in parallel."""
    paths = truth_files(folder)
    if not paths:
        raise InputError(f"No *{TRUTH_SUFFIX} files in {folder}.")
    jobs = jobs or os.cpu_count() or 1
    args = [(p, use_landmarks, model) for p in paths]
    with contextlib.ExitStack() as stack:
        pool = None if jobs == 1 else stack.enter_context(mp.get_context("fork").Pool(jobs))
        loaded = map(_load, args) if pool is None else pool.imap(_load, args)
        cases = []
        for case in loaded:
            cases.append(case)
            if progress:
                progress(len(cases), len(args))
    return cases
