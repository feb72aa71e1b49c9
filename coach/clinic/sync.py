"""Sending a local log's finished records to the clinic store on PostgreSQL (`coach sync`).

What is sent
    The outbox of this server (`coach.clinic.merge.collect` with `target`): every shared row whose
    current version the server has not acknowledged. Sessions still running are never sent.
    `target` names the server by host, port and database only, so the ledger holds no secret.

In parts, each committed alone
    The outbox goes in `chunks`: the patients' rows, then `sessions_per_chunk` sessions at a time
    with their children. Each part is one server transaction that first takes an advisory lock
    (`coach.clinic.store.LOCK_KEY`): two kiosks sending the same patient at once are merged one after
    the other, so the second sees the first's patient and re-points its rows to it instead of
    colliding on the patient code. A clinic's syncs are small; serialising them costs nothing.
    After the server commits, the local ledger (`synced`) records the part. A sync killed between
    the two resends that part next time, and the merge (INSERT … ON CONFLICT DO NOTHING, newer
    versions only) stores it once.

Past a bad row
    The outbox passes the door (`coach.clinic.door.sort_out`) before anything is sent: a session
    with a value that fails it is set aside with its children, named in one sentence
    (`Counts.set_aside`), and not marked sent; everything else goes. `pull` sets aside the
    server's rows the same way, and checks the rest against this log's owners.

`COACH_SYNC_PAUSE_S` (tests only): seconds to wait after each part, so a test can kill a sync
while the server holds some of its sessions but not all.

The other way (`pull`)
    A therapist's machine copies what the server holds (everyone, or one patient) into its own
    log with the same merge, newer versions winning, to correct records there (void a kiosk's
    session, fix a dose) and send the corrections back with `sync`. The pulled rows are entered in
    the ledger as held by the server, so only what changes here travels back.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from coach.errors import CoachError
from coach.clinic import store as pg
from coach.clinic.door import check_parents, sort_out
from coach.clinic.merge import POSTGRES, SQLITE, Counts, chunks, collect, mark_sent, merge, remap_patients
from coach.log.store import Store, iso

PAUSE_ENV = "COACH_SYNC_PAUSE_S"
URL_ENV = "COACH_SYNC_URL"          # the server for `coach sync` without --to (e.g. a systemd timer)

Progress = Callable[[int, int], None]   # (sessions sent so far, sessions in the outbox)


def _pause() -> float:
    try:
        return max(0.0, float(os.environ.get(PAUSE_ENV, "") or 0))
    except ValueError:
        return 0.0


def _send(server, part: dict) -> Counts:
    """One part in one server transaction, behind the advisory lock."""
    with server.transaction():
        server.execute("SELECT pg_advisory_xact_lock(%s)", [pg.LOCK_KEY])
        return merge(server, part, POSTGRES)


def _parts(batch: dict, sessions_per_chunk: int) -> list[dict]:
    return [part for part in chunks(batch, sessions_per_chunk) if any(part.values())]


def sync(store_path: str | os.PathLike | None, url: str, sessions_per_chunk: int = 20,
         progress: Progress | None = None) -> Counts:
    """Send the outbox of the log at `store_path` (default: the usual one) to the server at `url`.
    Returns what the server did with it (empty `tables`: nothing was new)."""
    if sessions_per_chunk < 1:
        raise CoachError("--chunk must be at least 1 session.", exit_code=2)
    place = pg.where(pg.parse(url))
    pause = _pause()
    with Store.open(Path(store_path) if store_path else None, create=False) as store:
        server = pg.connect(url)
        try:
            pg.ensure_schema(server, place)
            target = pg.target(server)
            batch, set_aside = sort_out(collect(store.db.conn, target=target))
            total, done, counts = len(batch["sessions"]), 0, Counts(set_aside=set_aside)
            for part in _parts(batch, sessions_per_chunk):
                with pg.server_errors(place):
                    counts += _send(server, part)
                with store._tx():
                    mark_sent(store.db.conn, target, part, iso(store._now()))
                done += len(part["sessions"])
                if progress:
                    progress(done, total)
                if pause:
                    time.sleep(pause)
        finally:
            server.close()
    return counts


def pull(store_path: str | os.PathLike | None, url: str, patient_code: str | None = None) -> Counts:
    """Merge what the server at `url` holds (or patient `patient_code`'s records) into the log at
    `store_path`, in one local transaction. Returns what the log did with it."""
    server_name, batch = pg.snapshot(url, patient_code)
    if patient_code and not batch["patients"]:
        raise CoachError(f"The clinic database {pg.where(pg.parse(url))} has no patient {patient_code}.")
    batch, set_aside = sort_out(batch)
    with Store.open(Path(store_path) if store_path else None) as store, store._tx():
        conn = store.db.conn
        check_parents(conn.cursor(), SQLITE.placeholder, batch, remap_patients(conn.cursor(), SQLITE,
                                                                               batch["patients"]),
                      f"What {pg.where(pg.parse(url))} holds")
        counts = merge(conn, batch, SQLITE)
        mark_sent(conn, server_name, batch, iso(store._now()))
    counts.set_aside = set_aside
    return counts
