"""`coach model`: where the face model is and whether it verifies; install or download a copy.

`coach model download` is the only command that goes to the internet.
"""
from __future__ import annotations

import click


@click.group(invoke_without_command=True)
@click.option("--model", type=click.Path(dir_okay=False), help="Check this file instead.")
@click.pass_context
def model(ctx, model):
    """Print where the face model is and verify its checksum (never downloads).

    Without a model, list every place coach looked and how to install one."""
    if ctx.invoked_subcommand:
        return
    from coach.errors import ModelMissing
    from coach.camera import model as model_io

    places = model_io.search(model)
    place = model_io.chosen(places)
    if place is not None and place.ok:
        click.echo(f"{place.path}\nfound via: {place.where}\nverified: sha256 {model_io.MODEL_SHA256}")
        return
    lines = "\n".join(f"  {p.describe()}" + ("   <- used" if p is place else "") for p in places)
    if place is None:
        head = "The face model is not installed. Coach looked in:"
    else:
        head = f"The face model named by {place.where} cannot be used ({place.state}). Coach looked in:"
    raise ModelMissing(f"{head}\n{lines}\nTo install it: {model_io.HOW_TO_INSTALL}.")


@model.command()
@click.argument("path", type=click.Path(dir_okay=False))
def install(path):
    """Verify a copy of face_landmarker.task and put it in the user cache."""
    from coach.camera import model as model_io

    dst = model_io.install(path)
    click.echo(f"installed {dst}")


@model.command()
def download():
    """Download the model from MediaPipe's model storage into the user cache (needs internet)."""
    from coach.camera import model as model_io

    path = model_io.download()
    click.echo(f"{path}\nverified: sha256 {model_io.MODEL_SHA256}")


COMMANDS = [model]
