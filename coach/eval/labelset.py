"""Labelled reps as `coach.eval.labels.Item`s: from the log (with the saved streams at hand), and the
anonymised evaluation set (`coach export --labelled DIR`) that `coach eval DIR` reads.

The evaluation set
    `labels.json` (format `coach-labelled-set`) and `streams/R.landmarks.npz`, one per labelled rep:
    the rep's window of its session's landmark stream, from 1.2 s before its onset to 0.6 s after
    its return. Every id is a fresh random one (a patient is `p-…`, a rep `r-…`): no name, code,
    UUID of the log, date, labeller or source name goes in, and the streams are written anew with an
    empty source name and no session. Kept: the exercise, the affected side, the plan's thresholds,
    the detector's logged verdict and side, the label, side and region, and times within the rep.
    A clinic can pool its own validation sets: `coach eval DIR` reads one.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from coach.core.files import private_folder, write_json
from coach.core.frames import LandmarkFrame, StreamError, StreamInfo, load_stream, save_stream
from coach.errors import InputError
from coach.eval.labels import POST_S, PRE_S, Item

FORMAT = "coach-labelled-set"
MANIFEST = "labels.json"


def plan_thresholds(items: list[dict] | None, exercise: str) -> dict[str, float]:
    for item in items or []:
        if item.get("exercise") == exercise:
            return {k: float(v) for k, v in (item.get("thresholds") or {}).items()}
    return {}


def window(frames: list[LandmarkFrame], start_s: float, end_s: float) -> list[LandmarkFrame]:
    return [f for f in frames if start_s - PRE_S <= f.t <= end_s + POST_S]


def from_log(store, code: str | None, replays) -> list[Item]:
    """The labelled reps of patient `code` (None: everyone) as items; frames from `replays`
    (`coach.screen.labeller.Replays`-like: `.frames(session_id)`), where it has the session's stream."""
    from coach.log.labels import labelled_reps

    out = []
    plans: dict[str, Any] = {}
    for r in labelled_reps(store, code):
        if r["code"] not in plans:
            plans[r["code"]] = (store.get_plan(r["code"]), store.get_patient(r["code"]).get("affected_side"))
        plan, affected = plans[r["code"]]
        lab = r["labelled"]
        has = replays is not None and replays.frames(r["session_id"]) is not None

        def frames(sid=r["session_id"], s=r["start_s"], e=r["end_s"]) -> list:
            return window(replays.frames(sid) or [], s, e)
        out.append(Item(r["code"], r["exercise"] or "?", bool(r["synkinesis"]), r["flagged_side"], bool(lab["label"]),
                        lab["side"], r["start_s"] or 0.0, r["end_s"] or 0.0, affected,
                        plan_thresholds(plan, r["exercise"]), frames if has else None))
    return out


def export_set(store, code: str | None, replays, folder: Path) -> tuple[int, int]:
    """Write the anonymised evaluation set to `folder`; returns (reps written, reps with a stream)."""
    items = from_log(store, code, replays)
    private_folder(folder / "streams")
    ids: dict[str, str] = {}
    reps, streams = [], 0
    for it in items:
        rid = "r-" + secrets.token_hex(8)
        entry = {"rep": rid, "patient": ids.setdefault(it.patient, "p-" + secrets.token_hex(6)),
                 "exercise": it.exercise, "affected_side": it.affected_side, "thresholds": it.thresholds,
                 "flagged": it.flagged, "flagged_side": it.flagged_side, "label": it.label, "side": it.side,
                 "start_s": round(it.start_s, 3), "end_s": round(it.end_s, 3), "stream": None}
        frames = it.frames() if it.frames else []
        if frames:
            first = frames[0]
            save_stream(folder / "streams" / f"{rid}.landmarks.npz", frames,
                        StreamInfo("", 30.0, first.width, first.height))
            entry["stream"] = f"streams/{rid}.landmarks.npz"
            streams += 1
        reps.append(entry)
    write_json(folder / MANIFEST, {"format": FORMAT, "version": 1, "reps": reps})
    return len(reps), streams


def is_set(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def read_set(folder: Path) -> list[Item]:
    """The items of an evaluation set (a bad manifest: InputError in one sentence)."""
    folder = Path(folder)
    try:
        data = json.loads((folder / MANIFEST).read_text())
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a set")
        reps = list(data["reps"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{folder / MANIFEST} is not a coach evaluation set.") from None
    out = []
    for n, r in enumerate(reps, 1):
        try:
            stream = r.get("stream")
            path = (folder / stream).resolve() if stream else None
            if path is not None and folder.resolve() not in path.parents:
                raise ValueError("outside")

            def frames(p=path) -> list:
                try:
                    return load_stream(p)[1]
                except StreamError as exc:
                    raise InputError(str(exc)) from None
            out.append(Item(str(r["patient"]), str(r["exercise"]), bool(r["flagged"]), str(r["flagged_side"]),
                            bool(r["label"]), str(r["side"]), float(r["start_s"]), float(r["end_s"]),
                            r.get("affected_side"), {str(k): float(v) for k, v in (r.get("thresholds") or {}).items()},
                            frames if path is not None else None))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"Rep {n} of {folder / MANIFEST} is not as coach writes it.") from None
    return out
