"""The live loop: source → tracker → driver → display + sound (+ the driver's log).

One loop, `run_loop`, reads every frame and draws every view, for the home session
(`HomeDriver`) and the clinic kiosk (`coach.kiosk.Kiosk`) alike. Every edge is
swappable: a ReplaySource needs no tracker, a NullDisplay no screen, and a HomeDriver
without a log logs nothing, so tests run this very loop.

A driver has
    step(frame, t, actions, *, camera_lost=False, brightness=None) -> result
    end(t, actions=()) -> result   instead of step, on each tick once the source has run
                                   out and no scripted event is left
    finished                       true: the loop stops (after drawing that tick's view)
    close()                        the loop is over, however it ended
where `result.view` is the FeedbackView to draw (and `result.records`, if any, are the
driver's to log).

Time: a frame (camera, video or replay) keeps its own time; a status notice ("camera
lost") takes `clock()` since the loop started, or with `clock=None` (a replay in
virtual time) one frame interval more; once the source has run out, each tick adds
one frame interval.
"""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Mapping

from coach.core.files import private_folder
from coach.core.exercises import Exercise
from coach.core.feedback import FeedbackView
from coach.core.frames import LandmarkFrame
from coach.core.moment import State
from coach.core.practice import History
from coach.core.session import INSTRUCT_S, Session, StepResult
from coach.screen.headless import headless_env

if TYPE_CHECKING:         # imported where used: the store and the log load SQLite
    from coach.log.recorder import SessionLog
    from coach.log.store import Store

SUMMARY_S = 4.0          # after a replay or video (nobody may be watching), the summary stays up this long;
                         # with a camera it stays until the patient closes it
FALLBACK_DT = 1 / 30     # clock step once the source has ended (a source that gives no fps)
CLOSE_SUMMARY = ("done", "quit", "stop", "yes", "key:enter")    # Done, Enter or Q closes the home summary
# A first plan for someone without a prescription: Sunnybrook's expressions most
# retraining programmes start with, few reps each.
DEMO_STREAM = "demo.landmarks.npz"
DEMO_PLAN = ({"exercise": "gentle-smile", "reps": 3, "rest_s": 3.0},)   # the three smiles of the recording
DEMO_SHOTS = {"welcome": "1-welcome.png", "calibrate": "2-calibrate.png", "instruct": "3-instruct.png",
              "hold": "4-hold.png", "synkinesis": "5-synkinesis.png", "summary": "6-summary.png",
              "countdown": "countdown.png", "rest": "rest.png"}
EVERY_SCREEN = "screens"     # headless runs also save every screen change here, numbered


@dataclass
class LoopStats:
    frames: int = 0
    t: float = 0.0                                   # session time of the last view drawn
    latency_ms: list = field(default_factory=list)   # frame arrival → its view drawn
    alert_ms: list = field(default_factory=list)     # synkinesis confirmed → its cue handed to the mixer
    screenshots: list = field(default_factory=list)
    screens: list = field(default_factory=list)      # each screen change: (t, screen key)


def read_frame(item, tracker) -> tuple:
    """One source item → (landmark frame, camera image, brightness, arrival time).

    A camera or video frame goes through the tracker; a replayed LandmarkFrame needs
    none. Status notices and the end of the source give (None, None, None, None).
    """
    from coach.camera.sources import VideoFrame

    if isinstance(item, VideoFrame):
        rgb = item.rgb
        # Mean luma of a sparse grid: cheap, and enough to tell a dark room.
        return tracker.track(rgb, item.t, item.index), rgb, float(rgb[::16, ::16].mean()), item.arrived
    if isinstance(item, LandmarkFrame):
        return item, None, None, time.monotonic()
    return None, None, None, None


def screen_key(view: FeedbackView) -> str:
    """What a screenshot is named after: the screen (or "synkinesis"), with its variant if any."""
    variant = (view.extra or {}).get("variant")
    key = "synkinesis" if view.banner else view.screen
    return f"{key}-{variant}" if variant else key


# ---- the loop's inputs: ticks from the source and the scripted events --------------------------------
@dataclass
class Tick:
    t: float
    frame: LandmarkFrame | None = None
    rgb: object = None
    brightness: float | None = None
    arrived: float | None = None
    actions: list = field(default_factory=list)     # scripted actions now due
    camera_lost: bool = False
    over: bool = False                              # the source has run out and no scripted event is left


class Feed:
    """Source items and scripted events → ticks in session time (see the module's docstring).

    `events`: (t, "action"|"camera", value). An action joins the display's actions at
    time t; camera "lost" withholds the frames and reports the camera lost until "ok".
    """

    def __init__(self, source, tracker=None, clock: Callable[[], float] | None = time.monotonic, events=()):
        self.source, self.tracker, self.clock = source, tracker, clock
        self.dt = 1 / (getattr(source, "fps", None) or 1 / FALLBACK_DT)
        self.pending = deque(sorted(events, key=lambda e: e[0]))
        self.t0 = clock() if clock is not None else 0.0
        self.t = 0.0
        self.ended = self.source_lost = self.forced_lost = False

    def next(self) -> Tick:
        item = None if self.ended else self.source.read()
        frame, rgb, brightness, arrived = read_frame(item, self.tracker)
        self._advance(item, frame)
        tick = Tick(self.t, frame, rgb, brightness, arrived, self._due())
        tick.camera_lost = self.source_lost or self.forced_lost
        if self.forced_lost:
            tick.frame = tick.rgb = tick.brightness = None
        tick.over = self.ended and not self.pending
        return tick

    def _advance(self, item, frame) -> None:
        if item is None:                         # the recording or video has ended
            self.ended = True
            self.t += self.dt
        elif frame is not None:
            self.source_lost = False
            self.t = max(self.t, frame.t)
        else:                                    # a status notice: "camera lost", "reconnecting", "ok"
            self.source_lost = getattr(item, "state", "ok") != "ok"
            self.t = self.t + self.dt if self.clock is None else max(self.t, self.clock() - self.t0)

    def _due(self) -> list[str]:
        actions = []
        while self.pending and self.pending[0][0] <= self.t:
            _, kind, value = self.pending.popleft()
            if kind == "camera":
                self.forced_lost = value == "lost"
            else:
                actions.append(value)
        return actions


class Shots:
    """`shots` maps screen keys (or "synkinesis") to PNG paths: saved the first time that
    screen is drawn; or it is a folder: a numbered "NNN-key.png" at every screen change.
    `every`: also that folder, beside a mapping."""

    def __init__(self, shots: Mapping | str | os.PathLike | None, every: str | os.PathLike | None = None):
        self.once = dict(shots) if isinstance(shots, Mapping) else {}
        self.folder = None
        if shots is not None and not isinstance(shots, Mapping):
            every = shots
        if every is not None:
            self.folder = Path(every)
            private_folder(self.folder)           # screenshots show the face: health data, 0700

    def take(self, display, key: str, changed: bool, stats: LoopStats) -> None:
        paths = [self.once.pop(key)] if key in self.once else []
        if changed and self.folder is not None:
            self.n = getattr(self, "n", 0) + 1
            paths.append(os.path.join(os.fspath(self.folder), f"{self.n:03d}-{key}.png"))
        for path in paths:
            display.screenshot(path)
            stats.screenshots.append(path)


# ---- the loop ---------------------------------------------------------------------------------------
def run_loop(source, driver, display, *, clock: Callable[[], float] | None = time.monotonic, tracker=None,
             events=(), shots=None, stats: LoopStats | None = None, should_stop=None,
             frames_out: list | None = None, every_shot=None) -> LoopStats:
    """Run `driver` on `source` until it is finished (or `should_stop()`); returns the stats.

    `driver`: a HomeDriver or a Kiosk. `shots`, `every_shot`: see Shots. `frames_out` collects the
    landmark frames.
    """
    stats = stats if stats is not None else LoopStats()
    feed, shooter = Feed(source, tracker, clock, events), Shots(shots, every_shot)
    try:
        while True:
            tick = feed.next()
            if frames_out is not None and tick.frame is not None:
                frames_out.append(tick.frame)
            actions = list(display.poll()) + tick.actions
            if tick.over:
                result = driver.end(tick.t, actions)
            else:
                result = driver.step(tick.frame, tick.t, actions, camera_lost=tick.camera_lost,
                                     brightness=tick.brightness)
            _draw(display, result.view, tick, stats, shooter)
            if driver.finished or (should_stop is not None and should_stop()):
                break
    finally:
        driver.close()
    return stats


def _draw(display, view, tick: Tick, stats: LoopStats, shooter: Shots) -> None:
    t_cue = time.monotonic()
    display.draw(view, tick.rgb)
    if view.cue == "synkinesis":
        stats.alert_ms.append((time.monotonic() - t_cue) * 1000)
    if tick.arrived is not None:
        stats.latency_ms.append((time.monotonic() - tick.arrived) * 1000)
    stats.frames += 1
    stats.t = tick.t
    key = screen_key(view)
    changed = not stats.screens or stats.screens[-1][1] != key
    if changed:
        stats.screens.append((round(tick.t, 3), key))
    shooter.take(display, key, changed, stats)


class HomeDriver:
    """The home session as a loop driver: writes its records to `log` (a SessionLog, or None),
    keeps the summary up until the patient closes it (Done, Enter or Q), or for `summary_s`
    when that is a number (a replay: nobody may be there), and closes the log `completed` or
    `interrupted` when the loop ends."""

    def __init__(self, session: Session, log: SessionLog | None = None, summary_s: float | None = SUMMARY_S) -> None:
        self.session, self.log, self.summary_s = session, log, summary_s
        self.finished = False
        self._summary_since: float | None = None

    def step(self, frame: LandmarkFrame | None, t: float, actions: Sequence[str] = (), *, camera_lost: bool = False,
             brightness: float | None = None) -> StepResult:
        before = self.session.state
        result = self.session.step(frame, t, actions, camera_lost=camera_lost, brightness=brightness)
        return self._after(result, t, actions, before)

    def end(self, t: float, actions: Sequence[str] = ()) -> StepResult:
        """The recording or video has ended: the session closes and shows its summary."""
        before = self.session.state
        if actions and before in ("summary", "progress"):
            self.session.step(None, t, actions)          # "Your progress" and back: nothing to log
        return self._after(self.session.end(t), t, actions, before)

    def _after(self, result: StepResult, t: float, actions: Sequence[str], before: State) -> StepResult:
        if self.log is not None:
            self.log.write(result.records)          # each rep with its evenness, in one transaction
            if self.log.saving:       # records wait for the database: the screen says "saving…"
                from dataclasses import replace
                result = replace(result, view=replace(result.view, extra={**(result.view.extra or {}),
                                                                          "saving": True}))
        if self.session.state == "summary":
            self._summary_since = t if self._summary_since is None else self._summary_since
            timed_out = self.summary_s is not None and t - self._summary_since >= self.summary_s
            # A key that brought the patient back to the summary (from "Your progress") does not close it.
            closing = before == "summary" and any(a in CLOSE_SUMMARY for a in actions)
            if timed_out or closing:
                self.finished = True
        return result

    def close(self) -> None:
        """Close the log: `completed` only if the session completed and every record was saved."""
        if self.log is not None:
            self.log.close("completed" if self.session.status == "completed" else "interrupted")


# ---- a home session, from its parts -----------------------------------------------------------------
def close_all(*edges) -> None:
    for edge in edges:
        if edge is not None:
            edge.close()


def build_plan(library: Mapping[str, Exercise], plan_ids: str | None, store: Store | None,
               patient: str | None) -> list[Exercise]:
    """--plan ids, else the patient's prescription, else the default plan."""
    from coach.core.plan import PlanError, resolve_plan
    from coach.errors import InputError

    items = None
    if plan_ids:
        items = [{"exercise": p.strip()} for p in plan_ids.split(",") if p.strip()]
    elif store is not None and patient:
        items = store.get_plan(patient)
    try:
        return resolve_plan(library, items)
    except PlanError as exc:
        raise InputError(f"{'The plan of ' + patient + ': ' if patient and not plan_ids else ''}{exc}") from None


def _patient_context(store: Store | None, patient: str | None,
                     affected_side: str | None) -> tuple[str | None, dict[str, float] | None, dict[str, float] | None]:
    """(affected side, last session's rates, learned targets) of a logged patient."""
    if store is None or not patient:
        return affected_side, None, None
    from coach.log.recorder import previous_rates

    info = store.get_patient(patient)
    return (affected_side or info.get("affected_side"), previous_rates(store, patient),
            store.learned_targets(patient))


def _carried_over(store: Store | None, patient: str | None,
                  settings: dict[str, str | None]) -> tuple[dict[str, str] | None, History | None]:
    """(the display settings for this session, the history for "Your progress"). Settings given
    for this session (None: not given) win over the remembered ones, and are remembered too."""
    from coach.log import preferences

    given = preferences.clean({k: v for k, v in settings.items() if v is not None})
    if store is None:
        return (given or None), None
    return {**preferences.load(store, patient), **given}, preferences.history(store, patient)


def _given(view: str | None, mute: bool | None, volume: float | None, voice: bool | None,
           text_size: str | None) -> dict[str, Any]:
    """Display settings given for a session, as preferences store them (None: not given)."""
    def on_off(flag: bool | None, on: str = "on", off: str = "off") -> str | None:
        return None if flag is None else (on if flag else off)
    return {"view": view, "sound": on_off(mute, "off", "on"), "voice": on_off(voice), "volume": volume,
            "text_size": text_size}


def coach_session(source, plan, *, store=None, view=None, fullscreen=False, mute=None, volume=None, voice=None,
                  text_size=None, patient=None, affected_side=None, kind="home", tracker=None, welcome_s=None,
                  ready_s=None, summary_s=None, shots_dir: Path | None = None, shots=None, every_shot=None,
                  save_landmarks=None, display=None):
    """Run one session on `source`, logged to `store` (None: not logged); returns (session, stats).

    View, sound, voice, volume and text size: given here (None: not given), else the patient's
    remembered ones, else the defaults; what the patient ends the session with is remembered.
    `summary_s`: None keeps the summary until the patient closes it. Closes the source, tracker,
    display and store, whatever happens."""
    from coach.log import preferences
    from coach.log.recorder import SessionLog

    settings = _given(view, mute, volume, voice, text_size)
    try:
        affected_side, previous, targets = _patient_context(store, patient, affected_side)
        prefs, history = _carried_over(store, patient, settings)
    except BaseException:
        close_all(source, tracker, store)
        raise
    session = Session(plan, affected_side, previous, welcome_s=welcome_s, targets=targets, ready_s=ready_s,
                      history=history, prefs=prefs)
    stats = LoopStats()
    frames: list[LandmarkFrame] | None = [] if save_landmarks else None
    try:
        if display is None:
            from coach.screen.display import PygameDisplay
            display = PygameDisplay(fullscreen=fullscreen)
        log = SessionLog(store, patient, getattr(source, "name", ""), kind) if store is not None else None
        paths = {k: str(Path(shots_dir) / v) for k, v in (shots or {}).items()} if shots_dir else None
        run_loop(source, HomeDriver(session, log, summary_s), display, tracker=tracker, shots=paths, stats=stats,
                 frames_out=frames, every_shot=every_shot)
        if store is not None and session.prefs:
            preferences.save(store, patient, session.prefs)
    finally:
        close_all(source, tracker, display, store)
    if save_landmarks and frames:
        from coach.core.frames import StreamInfo, save_stream

        first = frames[0]
        save_stream(save_landmarks, frames, StreamInfo(getattr(source, "name", ""), getattr(source, "fps", 30.0),
                                                        first.width, first.height,
                                                        session=log.session_id if log is not None else ""))
    _unsaved(log)
    return session, stats


def _unsaved(log) -> None:
    """Records (or the end) that could not be saved: the session is logged `interrupted`; say why."""
    if log is not None and log.problem:
        from coach.errors import CoachError
        raise CoachError(log.problem)


def live_session(library, *, camera=None, video=None, replay=None, fast=False, mirrored=False, plan_ids=None,
                 patient=None, db=None, log=True, model=None, record_video=None, headless=False, shots=None,
                 **options) -> tuple[Session, str | None]:
    """`coach run`: coach a session from the camera (or a video, or a landmark replay).

    Opens the store, the plan, the tracker and the source in that order (a missing model
    fails before the camera opens), closing what was opened if a later one fails.
    `options`: view, fullscreen, mute, volume, voice, text_size, affected_side, save_landmarks."""
    from coach.camera.webcam import Recording
    from coach.camera.sources import open_source

    if headless:
        headless_env(shots or "coach-shots")
    store = _open_store(db) if log else None
    tracker = None
    try:
        plan = build_plan(library, plan_ids, store, patient)
        if replay is None:
            from coach.camera.tracker import Tracker
            tracker = Tracker(model)
        if camera is None and video is None and replay is None:
            camera = "0"
        source = open_source(camera=camera, video=video, replay=replay, fast=fast, mirrored=mirrored)
    except BaseException:
        close_all(tracker, store)
        raise
    if record_video:
        source = Recording(source, record_video)  # type: ignore[assignment]   # a Source too, recording what it reads
    shots_dir = Path(shots) if shots else None
    pacing = _pacing(camera is not None)
    session, stats = coach_session(source, plan, store=store, patient=patient, tracker=tracker, shots_dir=shots_dir,
                                   shots=DEMO_SHOTS,
                                   every_shot=shots_dir / EVERY_SCREEN if headless and shots_dir else None,
                                   **pacing, **options)
    return session, (None if camera is not None else nothing_analysed(stats, pacing["welcome_s"]))


# The screens before the first rep, as said when a recording ends on one of them.
BEFORE_REPS = {"welcome": "the welcome", "calibrate": "the calibration", "instruct": "the instructions",
               "countdown": "the countdown"}


def nothing_analysed(stats: LoopStats, welcome_s: float | None) -> str | None:
    """Why a recording gave no rep, when it ended before the exercises began (else None)."""
    keys = [key.split("-", 1)[0] for _, key in stats.screens]
    if not keys or any(k not in BEFORE_REPS and k not in ("summary", "progress") for k in keys):
        return None
    last = next((k for k in reversed(keys) if k in BEFORE_REPS), "welcome")
    ended = next((t for t, key in stats.screens if key.startswith("summary")), stats.t)   # the summary follows the end
    from coach.core.calibrator import CALIBRATE_S
    from coach.core.session import INSTRUCT_S

    return (f"Nothing was analysed: the recording ended after {ended:.1f} s, during {BEFORE_REPS[last]} (a "
            f"recording first shows the welcome for {welcome_s or 0:g} s, then {CALIBRATE_S:g} s of calibration "
            f"and {INSTRUCT_S:g} s of instructions); give a longer one.")


def _pacing(live: bool) -> dict:
    """A patient at the camera paces the session; a recording cannot (its screens move on by themselves)."""
    if live:
        return {"welcome_s": None, "ready_s": None, "summary_s": None}
    return {"welcome_s": 3.0, "ready_s": INSTRUCT_S, "summary_s": SUMMARY_S}


def has_screen() -> bool:
    """Whether a window can be shown here: not with SDL's dummy or offscreen video driver, nor on a
    Linux or BSD machine without an X or Wayland display."""
    import sys

    if os.environ.get("SDL_VIDEODRIVER", "") in ("dummy", "offscreen"):
        return False
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run_demo(library, *, headless=False, shots="coach-demo", view="mesh", db=None, log=True, mute=False,
             voice=None, text_size=None):
    """`coach demo`: the coach at work on the shipped recording (no camera, no model); returns
    (session, stats). Logged under patient DEMO only when asked, with `db`: it never writes the
    user's own log otherwise. Headless, it saves every screen in `shots`."""
    from coach.core.plan import resolve_plan
    from coach.camera.sources import ReplaySource
    from coach.resources import builtin_dir

    shots_dir = Path(shots)
    if headless:
        headless_env(shots_dir)
    plan = resolve_plan(library, DEMO_PLAN)
    store = _demo_store(db) if log and db else None
    try:
        source = ReplaySource(builtin_dir("data") / DEMO_STREAM, realtime=not headless)
    except BaseException:
        close_all(store)
        raise
    return coach_session(source, plan, store=store, view=view, mute=mute, voice=voice, text_size=text_size,
                         patient="DEMO" if store else None, kind="demo", welcome_s=3.0, ready_s=INSTRUCT_S,
                         summary_s=SUMMARY_S if headless else None, shots_dir=shots_dir if headless else None,
                         shots=DEMO_SHOTS, every_shot=shots_dir / EVERY_SCREEN if headless else None)


def _open_store(db):
    from coach.log.store import Store
    return Store.open(db)


def _demo_store(db):
    from coach.errors import CoachError

    store = _open_store(db)
    try:
        store.get_patient("DEMO")
    except CoachError:
        store.add_patient("DEMO", "Demo patient", notes="the shipped demo recording")
    return store
