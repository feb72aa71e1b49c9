"""`coach model`: where the face model is, verify it, install a copy."""
from __future__ import annotations

import click


@click.group(invoke_without_command=True)
@click.option("--model", type=click.Path(dir_okay=False), help="Check this file instead.")
@click.pass_context
def model(ctx, model):
    """Print where the face model is and verify its checksum."""
    if ctx.invoked_subcommand:
        return
    from coach.io import model as model_io

    path = model_io.resolve(model, download=False)
    click.echo(f"{path}\nverified: sha256 {model_io.MODEL_SHA256}")


@model.command()
@click.argument("path", type=click.Path(dir_okay=False))
def install(path):
    """Verify a copy of face_landmarker.task and put it in the user cache."""
    from coach.io import model as model_io

    dst = model_io.install(path)
    click.echo(f"installed {dst}")


@model.command()
def download():
    """Download the model from MediaPipe's model storage (needs internet)."""
    from coach.io import model as model_io

    click.echo(model_io.resolve(None, download=True))


COMMANDS = [model]
