"""`coach clinic init|key|join`, `coach share` and `coach import`: records from patients to the clinic.

Thin commands over `coach.io.clinic_keys` and `coach.io.bundle`: parse, call, print.
"""
from __future__ import annotations

from pathlib import Path

import click

from coach.commands.store import db_option, open_store
from coach.errors import CoachError


@click.group()
def clinic():
    """The clinic's key, which patients' bundles are encrypted to."""


@clinic.command("init")
@click.option("--name", default="clinic", show_default=True, help="The clinic's name, kept with its key.")
@click.option("--force", is_flag=True, help="Replace an existing key (bundles made for it can no longer be opened).")
def clinic_init(name, force):
    """Make this computer's clinic key pair (the private key stays here, owner-only)."""
    from coach.io import clinic_keys

    made = clinic_keys.init_clinic(name, force=force)
    click.echo(f"Made the key of {made['name']} (fingerprint {made['fingerprint']}) in {made['path']}.")
    click.echo("Give patients this public key for `coach clinic join`:")
    click.echo(made["public_key"])


@clinic.command("key")
def clinic_key():
    """Print this clinic's public key and its fingerprint."""
    from coach.io import clinic_keys

    key = clinic_keys.clinic_public_key()
    click.echo(key)
    click.echo(f"fingerprint {clinic_keys.fingerprint(key)}")


@clinic.command("join")
@click.argument("key")
@click.option("--name", default=None, help="The clinic's name, to recognise it later.")
def clinic_join(key, name):
    """Share this computer's records with the clinic whose public KEY (age1…) it gave you."""
    from coach.io import clinic_keys

    joined = clinic_keys.join_clinic(key, name)
    called = f"{joined['name']} " if joined["name"] else "the clinic "
    click.echo(f"Joined {called}(fingerprint {joined['fingerprint']}); `coach share --out FILE` now "
               "makes bundles only it can open.")


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The bundle file to write (owner-only), e.g. on a USB stick.")
@click.option("--patient", "code", help="Only this patient's records.")
@click.option("--all", "all_rows", is_flag=True, help="Everything, not only what is new since the last share.")
@db_option
def share(out, code, all_rows, db):
    """Write the records not yet shared with your clinic to one encrypted bundle file."""
    from coach.io import bundle, clinic_keys
    from coach.io.dbfile import default_db_path

    joined = clinic_keys.joined_clinic()
    if joined is None:
        raise CoachError("This computer has not joined a clinic; run `coach clinic join KEY` with the "
                         "key your clinic gave you.")
    shared = bundle.write_bundle(db or default_db_path(), out, joined["public_key"], patient_code=code,
                                 all_rows=all_rows)
    if not shared.written:
        click.echo(f"Nothing new to share with clinic {shared.fingerprint} since the last bundle; no file "
                   "was written (--all shares everything).")
        return
    total = sum(shared.rows.values())
    click.echo(f"Wrote {out} for clinic {shared.fingerprint}: {plural(shared.sessions, 'session')} of "
               f"{', '.join(shared.patient_codes)} ({plural(total, 'row')}).")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def import_line(path: Path, imported) -> str:
    """One line: what came in, what was already here."""
    added, updated, kept = (sum(v[i] for v in imported.tables.values()) for i in range(3))
    codes = ", ".join(imported.patient_codes) or "no patient"
    if added + updated == 0:
        return f"Nothing new in {path} for {codes}: all {plural(kept, 'row')} were already here."
    details = plural(added, "new row") + (f", {updated} updated" if updated else "")
    return (f"Imported {plural(imported.tables.get('sessions', (0,))[0], 'session')} for {codes} ({details}); "
            f"{plural(kept, 'row')} {'was' if kept == 1 else 'were'} already here.")


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def import_(file, db):
    """Add the records of a patient's bundle or a kiosk's database FILE to this database (all or nothing)."""
    from coach.io import bundle

    if not file.exists():
        raise CoachError(f"There is no file {file}.")
    with open_store(db, write=True) as store:
        imported = bundle.import_file(store, file)
    click.echo(import_line(file, imported))
    for code in imported.remapped:
        click.echo(f"{code} was already registered here under another id; their records were joined to it.")


COMMANDS = [clinic, share, import_]
