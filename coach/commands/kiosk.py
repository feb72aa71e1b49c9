"""`coach kiosk`: the clinic kiosk (locked-down, many patients), and `coach kiosk set-pin`."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from coach.errors import CoachError


@click.group(invoke_without_command=True)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Database file (default: $COACH_DB, else coach.db in the user data folder).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Kiosk settings file (default: kiosk.json in the user config folder).")
@click.option("--camera", default=None, help="Camera index or device path (default 0).")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False),
              help="Use a recorded landmark stream (*.landmarks.npz) instead of a camera.")
@click.option("--model", type=click.Path(dir_okay=False), help="Face model file (camera only).")
@click.option("--headless", is_flag=True, help="No screen: SDL dummy drivers, for tests and staff demos.")
@click.option("--events", type=click.Path(exists=True, dir_okay=False),
              help="JSON lines of timed UI events to replay, e.g. {\"t\": 1.5, \"key\": \"1\"}.")
@click.option("--shots", type=click.Path(file_okay=False, path_type=Path),
              help="Save a screenshot at each screen change into this folder.")
@click.option("--windowed", is_flag=True, help="Do not go fullscreen (trying the kiosk at a desk).")
@click.pass_context
def kiosk(ctx, db, config_path, camera, replay, model, headless, events, shots, windowed):
    """Run the clinic kiosk: patients type their code, exercise, see their summary.

    Staff close it with Ctrl+Alt+A (or five taps in the top-left corner) and the PIN.
    """
    if ctx.invoked_subcommand:
        return
    from coach import kiosk as K

    if headless and not replay:
        raise click.UsageError("--headless needs --replay (a landmark stream): there is no camera to see.")
    if (events or shots) and not headless and not replay:
        raise click.UsageError("--events and --shots are for replays (use them with --replay/--headless).")
    config = K.KioskConfig.load(config_path)
    if windowed:
        config.fullscreen = False
    if not config.pin_hash and not headless:
        raise CoachError("Set a staff PIN first with `coach kiosk set-pin`: without it staff could not "
                         "close the kiosk.")
    script = K.load_events(events) if events else []
    if headless:
        _headless_env(shots)

    store, store_error = _open_store(db)
    source = tracker = display = None
    try:
        from coach.io.display import PygameDisplay
        from coach.io.sources import ReplaySource

        if replay:
            source = ReplaySource(replay, realtime=not headless)
        else:
            from coach.io.model import resolve
            from coach.io.tracker import Tracker

            tracker = Tracker(resolve(model))
            index = int(camera) if camera and str(camera).isdigit() else (camera or 0)
            source = K.RetryingCamera(index)
        display = PygameDisplay(fullscreen=False, title="coach kiosk")
        k = K.Kiosk(store, config, size=display.size, source_name=getattr(source, "name", "kiosk"),
                    store_error=store_error)
        run = K.run_kiosk(k, source, display, tracker=tracker, events=script,
                          clock="frames" if replay else "wall", dt=1 / (getattr(source, "fps", 30.0) or 30.0),
                          shots_dir=shots, after_end_s=max(120.0, 2 * config.idle_timeout_s))
    finally:
        for thing in (source, tracker, display):
            if thing is not None:
                try:
                    thing.close()
                except Exception:   # closing must not hide the real error
                    pass
        if store is not None:
            try:
                store.close()
            except CoachError as exc:
                click.echo(f"coach: {exc}", err=True)
    for v in k.visits:
        click.echo(f"visit {v.code}: session {v.session_id} {v.status}, {v.reps} reps")
    if k.error:
        click.echo(f"staff message shown: {k.error}", err=True)
    if shots:
        click.echo(f"{len(run.screenshots)} screenshots in {shots}")
    click.echo("closed by staff" if run.exited else f"replay done at t={run.t:.1f} s")


def _headless_env(shots: Path | None) -> None:
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "disk"
    folder = Path(shots) if shots else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["SDL_DISKAUDIOFILE"] = str(folder / "kiosk-audio.raw")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _open_store(db):
    """A database that can't be opened is shown to staff on screen, not a crash loop."""
    from coach.io.store import Store

    try:
        return Store.open(db), None
    except CoachError as exc:
        return None, str(exc)


@kiosk.command("set-pin")
@click.option("--pin", default=None, help="The new PIN (for scripts; otherwise you are asked twice).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Kiosk settings file (default: kiosk.json in the user config folder).")
def set_pin(pin, config_path):
    """Set the staff PIN (4-12 digits) that closes the kiosk. Stored hashed (scrypt)."""
    from coach import kiosk as K

    if pin is None:
        pin = click.prompt("New staff PIN", hide_input=True, confirmation_prompt="Type it again")
    config = K.KioskConfig.load(config_path)
    config.set_pin(pin)
    path = config.save(config_path)
    click.echo(f"Staff PIN set in {path}.")


COMMANDS = [kiosk]
