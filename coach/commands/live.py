"""`coach run` and `coach demo`: the live coaching loop."""
from __future__ import annotations

import os
from pathlib import Path

import click

from coach.errors import CoachError, InputError

VIEW = click.Choice(["mirror", "mesh", "meters"])
# A first plan for someone without a prescription: Sunnybrook's expressions most
# retraining programmes start with, few reps each.
DEMO_STREAM = "demo.landmarks.npz"
DEMO_PLAN = ({"exercise": "gentle-smile", "reps": 3, "rest_s": 3.0},)   # the three smiles of the recording
DEMO_SHOTS = {"welcome": "1-welcome.png", "calibrate": "2-calibrate.png", "instruct": "3-instruct.png",
              "hold": "4-hold.png", "synkinesis": "5-synkinesis.png", "summary": "6-summary.png"}


def headless_env(folder: Path) -> None:
    """SDL's dummy video and disk audio: a whole run with no screen or sound card."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "disk"
    os.environ["SDL_DISKAUDIOFILE"] = str(folder / "audio.raw")


def build_plan(library, plan_ids: str | None, store, patient: str | None):
    """--plan ids, else the patient's prescription, else the default plan."""
    from coach.core.plan import PlanError, resolve_plan

    items = None
    if plan_ids:
        items = [{"exercise": p.strip()} for p in plan_ids.split(",") if p.strip()]
    elif store is not None and patient:
        items = store.get_plan(patient)
    try:
        return resolve_plan(library, items)
    except PlanError as exc:
        raise InputError(f"{'The plan of ' + patient + ': ' if patient and not plan_ids else ''}{exc}") from None


def coach_session(source, plan, *, store=None, view="mirror", fullscreen=False, mute=False, volume=0.8,
                  patient=None, affected_side=None, kind="home", tracker=None, welcome_s=None,
                  shots_dir: Path | None = None, shots=None, save_landmarks=None, display=None):
    """Run one session on `source`, logged to `store` (None: not logged); returns (session, stats).

    Closes the source, tracker, display and store, whatever happens."""
    from coach.app import LoopStats, run_loop
    from coach.io.session_log import SessionLog, previous_rates
    from coach.core.frames import StreamInfo, save_stream
    from coach.core.session import Session

    session_log = None
    previous = targets = None
    try:
        if store is not None and patient:
            info = store.get_patient(patient)
            affected_side = affected_side or info.get("affected_side")
            previous = previous_rates(store, patient)
            targets = store.learned_targets(patient)
    except BaseException:
        _close(source, tracker, None, store)
        raise
    session = Session(plan, affected_side, previous, welcome_s=welcome_s, targets=targets)
    stats = LoopStats()
    frames = [] if save_landmarks else None
    try:
        if display is None:
            from coach.io.display import PygameDisplay
            display = PygameDisplay(fullscreen=fullscreen, view=view, mute=mute, volume=volume)
        if store is not None:
            session_log = SessionLog(store, patient, getattr(source, "name", ""), kind)
        paths = {k: str(shots_dir / v) for k, v in (shots or {}).items()} if shots_dir else None
        run_loop(source, session, display, tracker, session_log, paths, stats, frames_out=frames)
    finally:
        _close(source, tracker, display, store)
    if save_landmarks and frames:
        first = frames[0]
        save_stream(save_landmarks, frames, StreamInfo(getattr(source, "name", ""), getattr(source, "fps", 30.0),
                                                        first.width, first.height))
    return session, stats


def _close(*edges) -> None:
    for edge in edges:
        if edge is not None:
            edge.close()


def _summary(session) -> None:
    click.echo(f"Session {session.status}.")
    for label, text in session.summary_rows():
        click.echo(f"  {label}: {text}")


@click.command()
@click.option("--camera", type=str, default=None, help="Camera index or device (default 0).")
@click.option("--video", type=click.Path(dir_okay=False, exists=True), help="Play a video file instead.")
@click.option("--replay", type=click.Path(dir_okay=False, exists=True), help="Replay a landmark stream (.npz).")
@click.option("--fast", is_flag=True, help="Video/replay as fast as possible instead of real time.")
@click.option("--mirrored-camera", is_flag=True,
              help="The camera (or video) delivers a mirror image: flip it back so sides stay anatomical.")
@click.option("--plan", "plan_ids", help="Comma-separated exercise ids (default: the patient's plan).")
@click.option("--patient", help="Patient code (sessions are logged under it).")
@click.option("--affected-side", type=click.Choice(["left", "right"]), default=None)
@click.option("--view", type=VIEW, default="mirror", show_default=True)
@click.option("--fullscreen", is_flag=True)
@click.option("--mute", is_flag=True, help="No sounds (every sound also shows on screen).")
@click.option("--volume", type=click.FloatRange(0, 1), default=0.8, show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="Session log (default: COACH_DB or the user data dir).")
@click.option("--no-log", is_flag=True, help="Do not log this session.")
@click.option("--save-landmarks", type=click.Path(dir_okay=False), help="Keep the landmark stream (.npz) for the therapist.")
@click.option("--record-video", type=click.Path(dir_okay=False), help="Also record the camera video (opt-in).")
@click.option("--exercises", "extra", multiple=True, type=click.Path(file_okay=False))
@click.option("--model", type=click.Path(dir_okay=False))
@click.option("--headless", is_flag=True, help="No screen or sound card (SDL dummy/disk drivers).")
@click.option("--shots", type=click.Path(file_okay=False), help="With --headless: save screenshots here.")
def run(camera, video, replay, fast, mirrored_camera, plan_ids, patient, affected_side, view, fullscreen, mute, volume, db, no_log,
        save_landmarks, record_video, extra, model, headless, shots):
    """Coach a session from the camera (or a video, or a landmark replay)."""
    from coach.commands.analysis import exercise_library
    from coach.io.sources import open_source

    if headless:
        headless_env(Path(shots or "coach-shots"))
    library = exercise_library(extra)
    store = None
    if not no_log:
        from coach.io.store import Store
        store = Store.open(db)
    try:
        plan = build_plan(library, plan_ids, store, patient)
        tracker = None
        if replay is None:                    # a missing model fails before the camera opens
            from coach.io.tracker import Tracker
            tracker = Tracker(model)
    except BaseException:
        _close(store)
        raise
    if camera is None and video is None and replay is None:
        camera = "0"
    try:
        source = open_source(camera=camera, video=video, replay=replay, fast=fast, mirrored=mirrored_camera)
    except BaseException:
        _close(tracker, store)
        raise
    if record_video:
        source = _Recording(source, record_video)
    session, _ = coach_session(source, plan, store=store, view=view, fullscreen=fullscreen, mute=mute,
                               volume=volume, patient=patient, affected_side=affected_side, tracker=tracker,
                               welcome_s=None if camera is not None else 3.0,
                               shots_dir=Path(shots) if shots else None, shots=DEMO_SHOTS,
                               save_landmarks=save_landmarks)
    _summary(session)


class _Recording:
    """Opt-in video recording: wraps a source and writes the frames it delivers."""

    def __init__(self, source, path):
        self.source, self.path, self.writer = source, path, None
        self.name, self.fps = getattr(source, "name", ""), getattr(source, "fps", 30.0)

    def read(self):
        import cv2

        from coach.io.sources import VideoFrame
        item = self.source.read()
        if isinstance(item, VideoFrame):
            if self.writer is None:
                h, w = item.rgb.shape[:2]
                self.writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*"mp4v"), self.fps or 30.0, (w, h))
            self.writer.write(cv2.cvtColor(item.rgb, cv2.COLOR_RGB2BGR))
        return item

    def close(self):
        if self.writer is not None:
            self.writer.release()
        self.source.close()


@click.command()
@click.option("--headless", is_flag=True, help="No screen or sound card: SDL dummy video and disk audio.")
@click.option("--shots", type=click.Path(file_okay=False), default="coach-demo", show_default=True,
              help="Where --headless writes screenshots and the captured audio.")
@click.option("--view", type=VIEW, default="mesh", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="Session log (default: COACH_DB or the user data dir).")
@click.option("--no-log", is_flag=True)
@click.option("--mute", is_flag=True)
def demo(headless, shots, view, db, no_log, mute):
    """Watch the coach at work on a shipped recording: no camera, no model needed."""
    from coach.commands.analysis import exercise_library
    from coach.core.plan import resolve_plan
    from coach.io.sources import ReplaySource
    from coach.resources import builtin_dir

    shots_dir = Path(shots)
    if headless:
        headless_env(shots_dir)
    library = exercise_library()
    plan = resolve_plan(library, DEMO_PLAN)
    store = None
    if not no_log:
        from coach.io.store import Store
        store = Store.open(db)
        try:
            store.get_patient("DEMO")
        except CoachError:
            store.add_patient("DEMO", "Demo patient", notes="the shipped demo recording")
    source = ReplaySource(builtin_dir("data") / DEMO_STREAM, realtime=not headless)
    session, stats = coach_session(source, plan, store=store, view=view, mute=mute, patient="DEMO" if store else None,
                                   kind="demo", welcome_s=3.0, shots_dir=shots_dir if headless else None,
                                   shots=DEMO_SHOTS)
    _summary(session)
    if headless:
        click.echo(f"Screenshots and captured audio in {shots_dir}/")


COMMANDS = [run, demo]
