"""`coach kiosk`: the clinic kiosk (locked-down, many patients), and `coach kiosk set-pin`."""
from __future__ import annotations

from pathlib import Path

import click

from coach.commands.common import refuse_url


@click.group(invoke_without_command=True)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None, callback=refuse_url,
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
    from coach.kiosk import serve

    if headless and not replay:
        raise click.UsageError("--headless needs --replay (a landmark stream): there is no camera to see.")
    if (events or shots) and not headless and not replay:
        raise click.UsageError("--events and --shots are for replays (use them with --replay/--headless).")
    k, run = serve(db=db, config_path=config_path, camera=camera, replay=replay, model=model, headless=headless,
                   events=events, shots=shots, windowed=windowed)
    for problem in run.problems:
        click.echo(f"coach: {problem}", err=True)
    for v in k.visits:
        click.echo(f"visit {v.code}: session {v.session_id} {v.status}, {v.reps} reps")
    if k.error:
        click.echo(f"staff message shown: {k.error}", err=True)
    if shots:
        click.echo(f"{len(run.screenshots)} screenshots in {shots}")
    click.echo("closed by staff" if run.exited else f"replay done at t={run.t:.1f} s")


@kiosk.command("set-pin")
@click.option("--pin", default=None, help="The new PIN (for scripts; otherwise you are asked twice).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Kiosk settings file (default: kiosk.json in the user config folder).")
def set_pin(pin, config_path):
    """Set the staff PIN (4-12 digits) that closes the kiosk. Stored hashed (scrypt)."""
    from coach.kiosk import KioskConfig

    if pin is None:
        pin = click.prompt("New staff PIN", hide_input=True, confirmation_prompt="Type it again")
    config = KioskConfig.load(config_path)
    config.set_pin(pin)
    path = config.save(config_path)
    click.echo(f"Staff PIN set in {path}.")


COMMANDS = [kiosk]
