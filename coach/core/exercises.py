"""Exercise definitions: `exercises/*.toml` → frozen dataclasses, validated on load.

A broken file is reported with its file, field and reason, and the other
exercises still load. Thresholds are per exercise and can be overridden per
patient (`Exercise.with_overrides`).

Each watched co-movement has a healthy norm (`norm`, with its `source`) and a rule:

- "side": the patient's other side is the control. Flagged when the co-movement is
  at least `threshold`, exceeds the other side by `min_difference` and is at least
  `min_ratio` times the other side's. For movements whose healthy co-movement is
  large: normal eyes narrow 21.6 % (SD 13.4) in a smile and synkinetic ones 32.7 %,
  so the amount alone overlaps heavily, and healthy faces are 7–9 % asymmetric in
  motion (10 points of difference clears that).
- "absolute": flagged when the co-movement, measured from the patient's neutral
  face, reaches `limit` (set above the healthy norm and the tracker's own coupling).
  For movements whose healthy co-movement is near zero: the eyes narrow 1.7 % in a
  healthy pucker. This also catches bilateral synkinesis, which a side-to-side test
  cannot see.
- "both": either test.
"""
from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from coach.core.calibration import REL

DIRECTIONS = {"increase": 1.0, "decrease": -1.0}
REGIONS = ("eye", "brow", "mouth", "chin", "neck")
SUNNYBROOK = ("brow_lift", "eye_closure", "open_mouth_smile", "snarl", "lip_pucker")
WATCH_DEFAULTS = {"threshold": 0.10, "min_difference": 0.10, "min_ratio": 1.8}
RULES = ("side", "absolute", "both")
MAX_AMOUNT = 2.0          # relative changes above 200 % are not a plausible threshold, target or norm
REP_DEFAULTS = {"count": 5, "hold_s": 3.0, "rest_s": 4.0, "move_s": 2.0, "relax_s": 2.0}


class ExerciseError(ValueError):
    def __init__(self, path: str, field_name: str, reason: str):
        self.path, self.field, self.reason = path, field_name, reason
        super().__init__(f"{path}: field '{field_name}': {reason}")


@dataclass(frozen=True)
class Prime:
    measure: str
    direction: float          # +1 increase, −1 decrease
    target: float             # relative change that counts as a full movement (level 1.0)
    label: str
    fixed: bool = False       # True when a therapist set the target: it is not learned from reps


@dataclass(frozen=True)
class Watch:
    measure: str
    direction: float
    message: str              # short corrective message, in plain words
    label: str
    region: str
    kind: str                 # "oral-ocular" | "ocular-oral" | other
    threshold: float = WATCH_DEFAULTS["threshold"]
    min_difference: float = WATCH_DEFAULTS["min_difference"]
    min_ratio: float = WATCH_DEFAULTS["min_ratio"]
    rule: str = "side"        # "side" | "absolute" | "both" (see the module docstring)
    limit: float = float("inf")   # the absolute test's level (relative change from neutral)
    norm: float | None = None     # healthy co-movement in this exercise (mean, relative change)
    source: str = ""              # where the norm comes from
    fix: str = ""                 # what to change, in plain words ("Make the smile smaller until your eye
                                  # stays open"): the alert banner says this; empty: `message`

    @property
    def correction(self) -> str:
        """What the alert says: the fix, else the symptom message."""
        return self.fix or self.message

    @property
    def side_test(self) -> bool:
        return self.rule in ("side", "both")

    @property
    def absolute_test(self) -> bool:
        return self.rule in ("absolute", "both")


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    instructions: tuple[str, ...]
    prime: Prime
    watches: tuple[Watch, ...]
    reps: int = int(REP_DEFAULTS["count"])
    hold_s: float = REP_DEFAULTS["hold_s"]
    rest_s: float = REP_DEFAULTS["rest_s"]
    move_s: float = REP_DEFAULTS["move_s"]
    relax_s: float = REP_DEFAULTS["relax_s"]
    sunnybrook: str | None = None
    path: str = ""
    replaces: str | None = None   # a therapist's file that replaces the shipped exercise of this id
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    gentle: bool = True           # small movements at about a quarter of one's strength (retraining);
                                  # false for a deliberately big movement (an open-mouth smile)

    @property
    def closes_eyes(self) -> bool:
        """The prime movement closes the eyes: the patient relies on sound alone."""
        return self.prime.measure == "eye_opening" and self.prime.direction < 0

    def with_overrides(self, thresholds: dict[str, Any] | None = None, reps: int | None = None,
                       hold_s: float | None = None, rest_s: float | None = None,
                       target: float | None = None) -> "Exercise":
        """A patient's plan: the same exercise with their own reps, hold, thresholds and target.

        A threshold override sets the level of whichever test the watch uses (the
        side test's `threshold`, the absolute test's `limit`, or both)."""
        watches = self.watches
        where = self.path or self.id
        if thresholds:
            unknown = set(thresholds) - {w.measure for w in watches}
            if unknown:
                raise ExerciseError(where, "thresholds", f"{', '.join(sorted(unknown))} is not watched in {self.id}")
            watches = tuple(_with_level(w, check_amount(thresholds[w.measure], where, f"thresholds.{w.measure}"))
                            if w.measure in thresholds else w for w in watches)
        prime = self.prime
        if target is not None:
            prime = replace(prime, target=check_amount(target, where, "target"), fixed=True)
        return replace(self, watches=watches, prime=prime,
                       reps=self.reps if reps is None else int(reps),
                       hold_s=self.hold_s if hold_s is None else float(hold_s),
                       rest_s=self.rest_s if rest_s is None else float(rest_s))


def _get(d: dict[str, Any], key: str, kind: type, path: str, where: str, default: Any = ...) -> Any:
    if key not in d:
        if default is ...:
            raise ExerciseError(path, where + key, "is missing")
        return default
    value = d[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ExerciseError(path, where + key, f"must be {kind.__name__}, not {type(value).__name__}")
    return value


def _positive(value: float, path: str, name: str) -> float:
    if not math.isfinite(value) or not value > 0:
        raise ExerciseError(path, name, "must be a finite number greater than 0")
    return value


def check_amount(given: object, path: str, name: str) -> float:
    """A threshold, target or norm: a finite relative change in (0, MAX_AMOUNT]."""
    try:
        value = float(given)  # type: ignore[arg-type]   # anything: what float() refuses is reported
    except (TypeError, ValueError):
        raise ExerciseError(path, name, f"must be a number, not {given!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_AMOUNT:
        raise ExerciseError(path, name, f"must be a finite number above 0 and at most {MAX_AMOUNT:g} "
                                        f"(a fraction: 0.08 = 8 %), not {value:g}")
    return value


def _with_level(w: Watch, level: float) -> Watch:
    """A per-patient threshold: the level of each test the watch uses."""
    return replace(w, threshold=level if w.side_test else w.threshold,
                   limit=level if w.absolute_test else w.limit)


def _measure(d: dict[str, Any], path: str, where: str) -> tuple[str, float]:
    measure = _get(d, "measure", str, path, where)
    if measure not in REL:
        raise ExerciseError(path, where + "measure", f"unknown measure {measure!r} (known: {', '.join(REL)})")
    direction = _get(d, "direction", str, path, where)
    if direction not in DIRECTIONS:
        raise ExerciseError(path, where + "direction", "must be 'increase' or 'decrease'")
    return measure, DIRECTIONS[direction]


KEYS = {
    "": ("id", "name", "instructions", "prime", "watch", "reps", "sunnybrook", "replaces", "gentle"),
    "prime.": ("measure", "direction", "target", "label"),
    "watch.": ("measure", "direction", "kind", "region", "label", "message", "fix", "threshold",
               "min_difference", "min_ratio", "rule", "limit", "norm", "source"),
    "reps.": ("count", "hold_s", "rest_s", "move_s", "relax_s"),
}
MAX_REPS = 100             # a set longer than this is a typing mistake, not a prescription
MAX_SECONDS = 120.0        # likewise for a hold, a rest or a phase
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _check_keys(d: dict[str, Any], path: str, where: str, kind: str) -> None:
    """Unknown fields are mistakes (a typo silently ignored would switch a setting off)."""
    for key in d:
        if key not in KEYS[kind]:
            close = difflib.get_close_matches(str(key), KEYS[kind], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(KEYS[kind])})"
            raise ExerciseError(path, where + str(key), f"unknown field '{key}'{hint}")


def _parse_prime(data: dict[str, Any], path: str) -> Prime:
    p = _get(data, "prime", dict, path, "")
    _check_keys(p, path, "prime.", "prime.")
    measure, direction = _measure(p, path, "prime.")
    return Prime(measure, direction, check_amount(_get(p, "target", float, path, "prime."), path, "prime.target"),
                 _get(p, "label", str, path, "prime.", measure.replace("_", " ")))


def _parse_rule(w: dict[str, Any], path: str, where: str) -> dict[str, Any]:
    rule = _get(w, "rule", str, path, where, "side")
    if rule not in RULES:
        raise ExerciseError(path, where + "rule", f"must be one of {', '.join(RULES)}")
    limit = float("inf")
    if rule != "side":
        limit = check_amount(_get(w, "limit", float, path, where), path, where + "limit")
    norm = _get(w, "norm", float, path, where, None)
    if norm is not None:
        if not math.isfinite(norm) or not 0 <= norm <= MAX_AMOUNT:
            raise ExerciseError(path, where + "norm", f"must be a finite number from 0 to {MAX_AMOUNT:g}")
        if rule != "side" and limit <= norm:
            raise ExerciseError(path, where + "limit", f"must be above the healthy norm ({norm:g})")
    return {"rule": rule, "limit": limit, "norm": norm, "source": _get(w, "source", str, path, where, "")}


def _parse_watch(w: object, i: int, path: str) -> Watch:
    where = f"watch[{i}]."
    if not isinstance(w, dict):
        raise ExerciseError(path, f"watch[{i}]", "must be a table")
    _check_keys(w, path, where, "watch.")
    wm, wd = _measure(w, path, where)
    region = _get(w, "region", str, path, where)
    if region not in REGIONS:
        raise ExerciseError(path, where + "region", f"must be one of {', '.join(REGIONS)}")
    nums = {k: _positive(_get(w, k, float, path, where, v), path, where + k) for k, v in WATCH_DEFAULTS.items()}
    if not 1 <= nums["min_ratio"] <= 10:
        raise ExerciseError(path, where + "min_ratio", "must be from 1 to 10")
    for k in ("threshold", "min_difference"):
        check_amount(nums[k], path, where + k)
    rule = _parse_rule(w, path, where)
    return Watch(wm, wd, _text(w, "message", path, where), _get(w, "label", str, path, where, wm),
                 region, _get(w, "kind", str, path, where, ""), nums["threshold"], nums["min_difference"],
                 nums["min_ratio"], rule["rule"], rule["limit"], rule["norm"], rule["source"],
                 fix=_text(w, "fix", path, where, ""))


MAX_MESSAGE = 90          # a message must fit the alert banner in two lines, and be quick to hear


def _text(w: dict[str, Any], key: str, path: str, where: str, default: str | Any = ...) -> str:
    """A message for the patient: plain, non-empty words, short enough for the banner."""
    value = str(_get(w, key, str, path, where, default)).strip()
    if key in w and not value:
        raise ExerciseError(path, where + key, "must not be empty")
    if len(value) > MAX_MESSAGE:
        raise ExerciseError(path, where + key, f"must be at most {MAX_MESSAGE} characters (it is read during "
                                               f"a movement), not {len(value)}")
    return value


def _parse_reps(data: dict[str, Any], path: str) -> dict[str, Any]:
    reps = _get(data, "reps", dict, path, "", {})
    _check_keys(reps, path, "reps.", "reps.")
    count = _get(reps, "count", int, path, "reps.", REP_DEFAULTS["count"])
    if not 1 <= count <= MAX_REPS:
        raise ExerciseError(path, "reps.count", f"must be from 1 to {MAX_REPS}")
    out = {"reps": count}
    for k in ("hold_s", "rest_s", "move_s", "relax_s"):
        out[k] = _positive(_get(reps, k, float, path, "reps.", REP_DEFAULTS[k]), path, "reps." + k)
        if out[k] > MAX_SECONDS:
            raise ExerciseError(path, "reps." + k, f"must be at most {MAX_SECONDS:g} seconds")
    return out


def parse_exercise(data: dict[str, Any], path: str) -> Exercise:
    _check_keys(data, path, "", "")
    ex_id = _get(data, "id", str, path, "")
    if not _ID.fullmatch(ex_id):
        raise ExerciseError(path, "id", "must be lower-case words (a-z, 0-9) joined by '-'")
    instructions = _get(data, "instructions", list, path, "")
    if not instructions or not all(isinstance(s, str) and s.strip() for s in instructions):
        raise ExerciseError(path, "instructions", "must be a non-empty list of sentences")
    watches = tuple(_parse_watch(w, i, path) for i, w in enumerate(_get(data, "watch", list, path, "", [])))
    sb = _get(data, "sunnybrook", str, path, "", None)
    if sb is not None and sb not in SUNNYBROOK:
        raise ExerciseError(path, "sunnybrook", f"must be one of {', '.join(SUNNYBROOK)}")
    replaces = _get(data, "replaces", str, path, "", None)
    if replaces is not None and replaces != ex_id:
        raise ExerciseError(path, "replaces", f"must be this file's own id ({ex_id!r}): a file replaces "
                                              "the shipped exercise with the same id")
    return Exercise(ex_id, _get(data, "name", str, path, ""), tuple(s.strip() for s in instructions),
                    _parse_prime(data, path), watches, sunnybrook=sb, path=path, replaces=replaces,
                    gentle=_get(data, "gentle", bool, path, "", True), **_parse_reps(data, path))


def load_exercise(path: str | Path) -> Exercise:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExerciseError(str(path), "-", f"cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExerciseError(str(path), "-", f"is not valid TOML ({exc})") from None
    except RecursionError:
        raise ExerciseError(str(path), "-", "is nested too deeply to be an exercise file") from None
    try:
        return parse_exercise(data, str(path))
    except RecursionError:
        raise ExerciseError(str(path), "-", "is nested too deeply to be an exercise file") from None


def load_library(extra_dirs: Iterable[str | Path] = ()) -> tuple[dict[str, Exercise], list[ExerciseError]]:
    """Built-in exercises plus a therapist's folders.

    An id defined twice is refused (the second file is reported), unless a therapist's
    file says `replaces = "<id>"` for a shipped exercise: then it replaces it."""
    from coach.resources import builtin_dir  # the one place that knows where data lives

    builtin = builtin_dir("exercises")
    library: dict[str, Exercise] = {}
    errors: list[ExerciseError] = []
    for folder in (builtin, *map(Path, extra_dirs)):
        if not folder.is_dir():
            errors.append(ExerciseError(str(folder), "-", "is not a folder"))
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                ex = load_exercise(path)
                _check_unique(ex, library.get(ex.id), builtin)
            except ExerciseError as exc:
                errors.append(exc)
                continue
            library[ex.id] = ex
    return library, errors


def _check_unique(ex: Exercise, there: Exercise | None, builtin: Path) -> None:
    if there is None:
        return
    shipped = Path(there.path).parent == builtin
    if shipped and ex.replaces == ex.id:
        return
    hint = f' (to replace the shipped one, add replaces = "{ex.id}")' if shipped else ""
    raise ExerciseError(ex.path, "id", f"'{ex.id}' is already defined in {there.path}{hint}")
