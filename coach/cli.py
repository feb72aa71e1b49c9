"""The `coach` command: a thin client over the library (like sqlite-utils' CLI)."""
from __future__ import annotations

import os
import sys

import click

from coach import __version__
from coach.errors import CoachError

# Quiet MediaPipe/TFLite's C++ logging before anything imports it.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from coach.commands import (analysis, care, clinic, corrections, kiosk, labels, live, model, records,  # noqa: E402
                            store, sync, treatments)                  # (after the logging switches)

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="coach")
def cli() -> None:
    """Facial retraining coach: exercises, synkinesis feedback and session logs."""


# The command modules, named: each is parse → one library call → print.
for _module in (analysis, model, live, records, treatments, corrections, store, kiosk, clinic, sync, care, labels):
    for _cmd in _module.COMMANDS:
        cli.add_command(_cmd)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one sentence and a non-zero exit, never a traceback."""
    from coach.quiet import filter_native_logs

    filter_native_logs()
    try:
        rv = cli.main(args=argv, prog_name="coach", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CoachError as exc:
        click.echo(f"coach: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("coach: stopped.", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as exc:
        # A file that cannot be read or written: say which and why, in one sentence.
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"coach: cannot use{where}: {exc.strerror or exc}.", err=True)
        sys.exit(1)
    except Exception:  # a bug: still one sentence, the traceback only on request
        if os.environ.get("COACH_DEBUG"):
            raise
        click.echo("coach: something went wrong inside coach; nothing already "
                   "saved was lost. Run with COACH_DEBUG=1 to see the details, and please report it.", err=True)
        sys.exit(70)
    sys.exit(rv if isinstance(rv, int) else 0)
