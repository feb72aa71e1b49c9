"""`coach clinic init|key|invite|join|require-signed`, `coach share` and `coach import`: records from
patients to the clinic.

Thin commands over `coach.clinic.keys` and `coach.clinic.bundle`: parse, call, print.
"""
from __future__ import annotations

from pathlib import Path

import click

from coach.commands.common import db_option, open_store, plural
from coach.errors import CoachError


@click.group()
def clinic():
    """The clinic's key, which patients' bundles are encrypted to, and its invitations, which let
    each patient sign theirs."""


@clinic.command("init")
@click.option("--name", default="clinic", show_default=True, help="The clinic's name, kept with its key.")
@click.option("--force", is_flag=True, help="Replace an existing key (bundles made for it can no longer be opened).")
@click.option("--signed-only", is_flag=True,
              help="Import only bundles signed by an invited patient (see `coach clinic require-signed`).")
def clinic_init(name, force, signed_only):
    """Make this computer's clinic key pair (the private key stays here, owner-only)."""
    from coach.clinic import keys as clinic_keys

    made = clinic_keys.init_clinic(name, force=force, signed_only=signed_only)
    click.echo(f"Made the key of {made['name']} (fingerprint {made['fingerprint']}) in {made['path']}.")
    click.echo("Give patients this public key for `coach clinic join`, or better, each their own token "
               "from `coach clinic invite CODE`:")
    click.echo(made["public_key"])


@clinic.command("invite")
@click.argument("code")
@click.option("--new", is_flag=True, help="Replace the patient's token; bundles signed with the old one are refused.")
def clinic_invite(code, new):
    """Print patient CODE's join token: it joins their coach to this clinic, and signs their bundles
    so this clinic knows who made them (made once, then printed again unless --new)."""
    from coach.clinic import keys as clinic_keys

    invited = clinic_keys.invite(code, new=new)
    if not invited["made"]:
        click.echo(f"{invited['code']} was invited on {invited['created'][:10]}; here is the same token "
                   "(--new makes another and refuses bundles signed with this one).")
    click.echo(f"Give {invited['code']} this token, privately (it signs their bundles), to run "
               "`coach clinic join TOKEN` on their computer:")
    click.echo(invited["token"])


@clinic.command("require-signed")
@click.option("--off", is_flag=True, help="Import unsigned bundles again (each with a warning).")
def clinic_require_signed(off):
    """Import only bundles signed by a patient this clinic invited (`coach clinic invite CODE`);
    unsigned ones, from coaches that joined with the plain key, are refused. Kiosk files are not
    bundles and are imported as before."""
    from coach.clinic import keys as clinic_keys

    clinic_keys.require_signed(not off)
    click.echo("Unsigned bundles are imported again, each with a warning." if off else
               "Only bundles signed by an invited patient are imported from now on (--off to undo).")


@clinic.command("key")
def clinic_key():
    """Print this clinic's public key and its fingerprint."""
    from coach.clinic import keys as clinic_keys

    key = clinic_keys.clinic_public_key()
    click.echo(key)
    click.echo(f"fingerprint {clinic_keys.fingerprint(key)}")


@clinic.command("join")
@click.argument("token_or_key", metavar="TOKEN_OR_KEY")
@click.option("--name", default=None, help="The clinic's name, to recognise it later.")
def clinic_join(token_or_key, name):
    """Share this computer's records with your clinic: TOKEN_OR_KEY is the join token
    (coach-join-1:…) or the public key (age1…) it gave you. With a token, only the invited
    patient's records are shared, in bundles signed so the clinic knows they came from you."""
    from coach.clinic import keys as clinic_keys

    joined = clinic_keys.join_clinic(token_or_key, name)
    called = f"{joined['name']} " if joined["name"] else "the clinic "
    if joined["invited_code"]:
        click.echo(f"Joined {called}(fingerprint {joined['fingerprint']}) as {joined['invited_code']}; "
                   f"`coach share --out FILE` now makes bundles of {joined['invited_code']}'s records that "
                   "only it can open, signed so it knows they came from you.")
    else:
        click.echo(f"Joined {called}(fingerprint {joined['fingerprint']}); `coach share --out FILE` now "
                   "makes bundles only it can open.")


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The bundle file to write (owner-only), e.g. on a USB stick.")
@click.option("--patient", "code", help="Only this patient's records (joined with a token: only the invited one).")
@click.option("--all", "all_rows", is_flag=True, help="Everything, not only what is new since the last share.")
@db_option
def share(out, code, all_rows, db):
    """Write the records not yet shared with your clinic to one encrypted bundle file."""
    from coach.clinic import bundle
    from coach.clinic import keys as clinic_keys
    from coach.log.file import default_db_path

    joined = clinic_keys.joined_clinic()
    if joined is None:
        raise CoachError("This computer has not joined a clinic; run `coach clinic join KEY` with the "
                         "key your clinic gave you.")
    shared = bundle.write_bundle(db or default_db_path(), out, joined["public_key"], patient_code=code,
                                 all_rows=all_rows, invited_code=joined["invited_code"], secret=joined["secret"])
    for reason in shared.set_aside:          # would fail the clinic's door: kept here, unsent, named
        click.echo(reason)
    if not shared.written:
        click.echo(f"Nothing new to share with clinic {shared.fingerprint} since the last bundle; no file "
                   "was written (--all shares everything).")
        return
    total = sum(shared.rows.values())
    click.echo(f"Wrote {out} for clinic {shared.fingerprint}: {plural(shared.sessions, 'session')} of "
               f"{', '.join(shared.patient_codes)} ({plural(total, 'row')}).")


UNSIGNED = ("Not signed by an invited patient: check who sent it. (coach clinic invite CODE gives each patient "
            "a token that signs their bundles.)")


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
    """Add the records of a patient's bundle or a kiosk's database FILE to this database (all or nothing).

    A bundle signed by an invited patient is checked against their token; an unsigned one is
    imported with a warning, or refused after `coach clinic require-signed`."""
    from coach.clinic import bundle

    if not file.exists():
        raise CoachError(f"There is no file {file}.")
    with open_store(db, write=True) as store:
        imported = bundle.import_file(store, file)
    click.echo(import_line(file, imported))
    for code in imported.remapped:
        click.echo(f"{code} was already registered here under another id; their records were joined to it.")
    if imported.kind == "bundle" and not imported.signed:
        click.echo(UNSIGNED)


COMMANDS = [clinic, share, import_]
