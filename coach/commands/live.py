"""`coach run` and `coach demo`: the live coaching loop (coach.app)."""
from __future__ import annotations

from pathlib import Path

import click

from coach.commands.common import refuse_url

VIEW = click.Choice(["mirror", "mesh", "meters"])
TEXT_SIZE = click.Choice(["normal", "large", "largest"])
REMEMBERED = "remembered for the patient"


def _summary(session) -> None:
    click.echo(f"Session {session.status}.")
    for label, text in session.summary_rows():
        click.echo(f"  {label}: {text}")


@click.command()
@click.option("--camera", type=str, default=None, help="Camera index or device (default 0).")
@click.option("--video", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="Play a video file instead (to practise without a camera).")
@click.option("--replay", type=click.Path(dir_okay=False, exists=True), help="Replay a landmark stream (.npz).")
@click.option("--fast", is_flag=True, help="Video/replay as fast as possible instead of real time.")
@click.option("--mirrored-camera", is_flag=True,
              help="The camera (or video) delivers a mirror image: flip it back so sides stay anatomical.")
@click.option("--plan", "plan_ids", help="Comma-separated exercise ids (default: the patient's plan).")
@click.option("--patient", help="Patient code (sessions are logged under it).")
@click.option("--affected-side", type=click.Choice(["left", "right"]), default=None)
@click.option("--view", type=VIEW, default=None, help=f"What the screen shows (default: {REMEMBERED}, else mirror).")
@click.option("--fullscreen", is_flag=True)
@click.option("--mute/--sound", default=None, help=f"Sounds off or on (every sound also shows on screen; default: "
                                                     f"{REMEMBERED}, else on).")
@click.option("--volume", type=click.FloatRange(0, 1), default=None, help=f"0 to 1 (default: {REMEMBERED}, else 0.8).")
@click.option("--voice/--no-voice", default=None,
              help=f"Spoken guidance: short phrases at each step (default: {REMEMBERED}, else off).")
@click.option("--text-size", type=TEXT_SIZE, default=None, help=f"Text size, in three steps; T changes it "
                                                                  f"(default: {REMEMBERED}, else normal).")
@click.option("--db", type=click.Path(dir_okay=False), callback=refuse_url, help="Session log (default: COACH_DB or the user data dir).")
@click.option("--no-log", is_flag=True, help="Do not log this session.")
@click.option("--save-landmarks", type=click.Path(dir_okay=False), help="Keep the landmark stream (.npz) for the therapist.")
@click.option("--record-video", type=click.Path(dir_okay=False), help="Also record the camera video (opt-in).")
@click.option("--exercises", "extra", multiple=True, type=click.Path(file_okay=False))
@click.option("--model", type=click.Path(dir_okay=False))
@click.option("--headless", is_flag=True, help="No screen or sound card (SDL dummy/disk drivers).")
@click.option("--shots", type=click.Path(file_okay=False), help="With --headless: save screenshots here.")
def run(camera, video, replay, fast, mirrored_camera, plan_ids, patient, affected_side, view, fullscreen, mute, volume,
        voice, text_size, db, no_log, save_landmarks, record_video, extra, model, headless, shots):
    """Coach a session from the camera (or a video, or a landmark replay)."""
    from coach.app import live_session
    from coach.commands.analysis import exercise_library

    session, why = live_session(exercise_library(extra), camera=camera, video=video, replay=replay, fast=fast,
                           mirrored=mirrored_camera, plan_ids=plan_ids, patient=patient, db=db, log=not no_log,
                           model=model, record_video=record_video, headless=headless, shots=shots, view=view,
                           fullscreen=fullscreen, mute=mute, volume=volume, voice=voice, text_size=text_size,
                           affected_side=affected_side, save_landmarks=save_landmarks)
    _summary(session)
    if why:
        click.echo(why)


@click.command()
@click.option("--headless", is_flag=True, help="No screen or sound card: SDL dummy video and disk audio; the "
                                                "screens are saved as pictures (also chosen when there is no screen).")
@click.option("--shots", type=click.Path(file_okay=False), default="coach-demo", show_default=True,
              help="Where a headless demo saves its screens and the captured audio.")
@click.option("--view", type=VIEW, default="mesh", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), callback=refuse_url,
              help="Log the demo session (patient DEMO) in this database; without it nothing is written.")
@click.option("--no-log", is_flag=True, help="Do not log, even with --db.")
@click.option("--mute", is_flag=True)
@click.option("--voice", is_flag=True, help="Spoken guidance.")
@click.option("--text-size", type=TEXT_SIZE, default="normal", show_default=True)
def demo(headless, shots, view, db, no_log, mute, voice, text_size):
    """Watch the coach at work on a shipped recording: no camera, no model needed."""
    from coach.app import has_screen, run_demo
    from coach.commands.analysis import exercise_library

    if not headless and not has_screen():
        click.echo(f"No screen here, so the demo runs without one and saves its screens as pictures in "
                   f"{Path(shots)}/ (open them to see what a patient sees).")
        headless = True
    session, stats = run_demo(exercise_library(), headless=headless, shots=shots, view=view, db=db,
                              log=not no_log, mute=mute, voice=voice or None, text_size=text_size)
    _summary(session)
    if headless:
        click.echo(saved_words(stats.screenshots, Path(shots)))


def saved_words(paths, shots: Path) -> str:
    """What a headless demo saved: every screen change, numbered, and the key screens again by name."""
    from coach.app import EVERY_SCREEN

    every = [p for p in paths if Path(p).parent.name == EVERY_SCREEN]
    named = len(paths) - len(every)
    return (f"Saved {len(every)} screens, one per change, in {shots / EVERY_SCREEN}/, and {named} of them again "
            f"by name (1-welcome.png …) in {shots}/, with the captured audio.")


COMMANDS = [run, demo]
