"""Encrypted patient bundles and kiosk files into the clinic's database: round trips, the outbox,
idempotence, newer-wins, refusals that change nothing, and the CLI."""
from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import zipfile
from datetime import datetime, timedelta

import pyrage
import pytest
import sqlite_utils

from coach.cli import main
from coach.errors import CoachError
from coach.clinic import bundle
from coach.clinic import keys as clinic_keys
from coach.clinic.merge import SHARED_TABLES, collect
from coach.log.schema import migrations
from coach.log.store import Store
from store_fixtures import EXERCISES, SettableClock, record_session, running_elsewhere, shared_counts

WHEN = datetime(2024, 3, 4, 18, 30)
pytest_plugins = ("bundle_fixtures",)     # the keys and cli_home fixtures


def make_db(path, code="P1", n=2, start=WHEN, kind="home", running=False):
    """A patient with a plan, a treatment and `n` finished sessions (and one still running elsewhere)."""
    with Store.open(path, clock=SettableClock(start - timedelta(days=1))) as store:
        store.db.execute("PRAGMA synchronous = OFF")
        store.add_patient(code, f"Patient {code}", "left", "first notes")
        store.set_plan(code, [{"exercise": ex, "reps": 3} for ex in EXERCISES[:2]])
        store.add_treatment(code, "2024-03-01", "botulinum_toxin", "left", 5)
        for i in range(n):
            record_session(store, code, start + timedelta(days=2 * i), exercises=EXERCISES[:2], reps=3)
        if running:
            sid = record_session(store, code, start + timedelta(days=2 * n), exercises=EXERCISES[:1], reps=2,
                                 finish=False)
    if running:
        running_elsewhere(path, sid)
    if kind != "home":
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE sessions SET kind = ?", [kind])
        conn.close()
    return path


def add_session(path, code, when):
    with Store.open(path) as store:
        record_session(store, code, when, exercises=EXERCISES[:1], reps=2)


def dump(path) -> dict:
    """Every row of every table, to compare a database before and after."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        conn.close()


def figures(path, code) -> list[tuple]:
    with Store.open(path) as store:
        return [(s["id"], s["status"], s["n_reps"], s["synkinesis_free_rate"]) for s in store.sessions(code)]


def import_into(clinic_db, path):
    with Store.open(clinic_db) as store:
        return bundle.import_file(store, path)


def share(home, out, **kw):
    return bundle.write_bundle(home, out, clinic_keys.joined_clinic()["public_key"], **kw)


# ---- round trip, outbox, idempotence, newer wins --------------------------------------
def test_round_trip_home_to_clinic(keys, tmp_path):
    home = make_db(tmp_path / "home.db", n=3, running=True)
    out = tmp_path / "usb" / "P1.bundle"
    shared = share(home, out)
    assert (shared.written, shared.sessions, shared.patient_codes) == (True, 3, ["P1"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = out.read_bytes()
    assert data.startswith(f"coach-bundle 1 {keys['fingerprint']} ".encode())
    assert b"Patient P1" not in data                      # encrypted, not merely zipped
    clinic = tmp_path / "clinic.db"
    got = import_into(clinic, out)
    assert (got.kind, got.patient_codes, got.tables["sessions"]) == ("bundle", ["P1"], (3, 0, 0))
    assert got.changed == sum(shared.rows.values()) == sum(shared_counts(clinic).values())
    home_figures = [f for f in figures(home, "P1") if f[1] != "in-progress"]
    assert figures(clinic, "P1") == home_figures != []


def test_share_twice_holds_only_the_new_session(keys, tmp_path):
    home = make_db(tmp_path / "home.db", n=2)
    first = share(home, tmp_path / "1.bundle")
    again = share(home, tmp_path / "2.bundle")
    assert first.sessions == 2 and not again.written and not (tmp_path / "2.bundle").exists()
    add_session(home, "P1", WHEN + timedelta(days=10))
    third = share(home, tmp_path / "3.bundle")
    assert third.sessions == 1 and third.rows["plans"] == 0 and third.rows["patients"] == 1
    assert share(home, tmp_path / "all.bundle", all_rows=True).sessions == 3
    clinic = tmp_path / "clinic.db"
    import_into(clinic, tmp_path / "1.bundle")
    assert import_into(clinic, tmp_path / "3.bundle").tables["sessions"] == (1, 0, 0)
    assert figures(clinic, "P1") == figures(home, "P1")


def test_importing_twice_changes_nothing(keys, tmp_path):
    home = make_db(tmp_path / "home.db")
    share(home, tmp_path / "p.bundle")
    clinic = tmp_path / "clinic.db"
    import_into(clinic, tmp_path / "p.bundle")
    before = dump(clinic)
    again = import_into(clinic, tmp_path / "p.bundle")
    assert again.changed == 0 and sum(k for _, _, k in again.tables.values()) > 0
    assert dump(clinic) == before


def set_notes(path, notes, when):
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE patients SET notes = ?, updated = ?", [notes, when.astimezone().isoformat()])
    conn.close()


def notes(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT notes FROM patients").fetchone()[0]
    finally:
        conn.close()


def test_a_newer_edit_wins_and_an_older_one_never_overwrites(keys, tmp_path):
    home = make_db(tmp_path / "home.db")
    share(home, tmp_path / "old.bundle")
    set_notes(home, "new notes", WHEN + timedelta(days=20))
    edited = share(home, tmp_path / "new.bundle")
    assert edited.rows["patients"] == 1 and edited.sessions == 0
    in_order, reversed_ = tmp_path / "a.db", tmp_path / "b.db"
    import_into(in_order, tmp_path / "old.bundle")
    assert import_into(in_order, tmp_path / "new.bundle").tables["patients"] == (0, 1, 0)
    import_into(reversed_, tmp_path / "new.bundle")
    older = import_into(reversed_, tmp_path / "old.bundle")
    assert older.tables["patients"] == (0, 0, 1) and older.tables["sessions"] == (2, 0, 0)
    assert notes(in_order) == notes(reversed_) == "new notes"


# ---- refusals ------------------------------------------------------------------------
def tampered(path, out):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(data))


def truncated(path, out):
    data = path.read_bytes()
    out.write_bytes(data[:len(data) // 2])


def foreign(path, out):
    other = str(pyrage.x25519.Identity.generate().to_public())
    out.write_bytes(bundle.seal(bundle.pack(collect(sqlite3.connect(path.with_name("home.db"))),
                                            clinic_keys.fingerprint(other), "2024-01-01"), other))


def random_file(path, out):
    out.write_bytes(os.urandom(5000))


def unpacked(path) -> dict[str, bytes]:
    """The files inside a bundle, decrypted with this clinic's key."""
    payload = pyrage.decrypt(bundle.unseal_line(path, path.read_bytes())[1], [clinic_keys.load_identity()])
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        return {name: z.read(name) for name in z.namelist()}


def repacked(files: dict, out) -> None:
    """Re-sealed to this clinic's key: anyone may, the key is public."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data if isinstance(data, bytes) else json.dumps(data))
    out.write_bytes(bundle.seal(buf.getvalue(), clinic_keys.clinic_public_key()))


def recounted(path, out):
    """Re-sealed with a manifest that lies."""
    files = unpacked(path)
    manifest = json.loads(files["manifest.json"])
    manifest["row_counts"]["reps"] += 1
    repacked({**files, "manifest.json": manifest}, out)


@pytest.mark.parametrize("spoil, sentence", [
    (tampered, "has been altered since it was made; nothing was imported."),
    (truncated, "is not a complete coach bundle (it may have been cut short in copying)."),
    (foreign, "was made for another clinic's key (fingerprint "),
    (random_file, "is not a complete coach bundle"),
    (recounted, "has been altered since it was made"),
])
def test_a_spoilt_bundle_is_refused_and_changes_nothing(keys, tmp_path, spoil, sentence):
    home = make_db(tmp_path / "home.db")
    share(home, tmp_path / "first.bundle")
    clinic = tmp_path / "clinic.db"
    import_into(clinic, tmp_path / "first.bundle")
    add_session(home, "P1", WHEN + timedelta(days=10))
    share(home, tmp_path / "good.bundle")
    spoil(tmp_path / "good.bundle", tmp_path / "bad.bundle")
    before = dump(clinic)
    with pytest.raises(CoachError) as refused:
        import_into(clinic, tmp_path / "bad.bundle")
    message = str(refused.value)
    assert sentence in message and message.count(". ") == 0 and "\n" not in message
    if spoil is foreign:
        assert f"not this clinic's ({keys['fingerprint']})" in message
    assert dump(clinic) == before


def test_foreign_and_newer_databases_are_refused(keys, tmp_path):
    clinic = tmp_path / "clinic.db"
    make_db(tmp_path / "home.db")
    import_into(clinic, tmp_path / "home.db")
    before = dump(clinic)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    conn.close()
    with pytest.raises(CoachError, match="not a coach database"):
        import_into(clinic, other)
    newer = make_db(tmp_path / "newer.db", code="P9")
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('coach', 'm999_from_the_future', '2030-01-01')")
    conn.close()
    with pytest.raises(CoachError, match="newer version of coach"):
        import_into(clinic, newer)
    assert dump(clinic) == before


# ---- kiosk files ---------------------------------------------------------------------
def test_a_kiosk_database_is_imported_directly_and_left_as_it_was(keys, tmp_path):
    kiosk = make_db(tmp_path / "kiosk.db", code="K1", n=2, kind="kiosk", running=True)
    before = dump(kiosk)
    clinic = tmp_path / "clinic.db"
    got = import_into(clinic, kiosk)
    assert got.kind == "database" and got.tables["sessions"] == (2, 0, 0)      # not the running one
    assert dump(kiosk) == before
    assert [f for f in figures(kiosk, "K1") if f[1] != "in-progress"] == figures(clinic, "K1")
    assert import_into(clinic, kiosk).changed == 0


OLD_P, OLD_S = "0c0ffee0-0000-4000-8000-000000000001", "0c0ffee0-0000-4000-8000-000000000002"   # ids are UUIDs


def test_a_kiosk_file_of_an_older_coach_is_read_without_being_changed(keys, tmp_path):
    old = tmp_path / "old-kiosk.db"
    conn = sqlite3.connect(old)
    migrations.apply(sqlite_utils.Database(conn), stop_before="m006_corrections_and_sharing")
    conn.execute("INSERT INTO patients (id, code, created) VALUES (?, 'K2', '2024-03-01T10:00:00+01:00')", [OLD_P])
    conn.execute("INSERT INTO sessions (id, patient_id, started, ended, status, kind) VALUES "
                 "(?, ?, '2024-03-02T10:00:00+01:00', '2024-03-02T10:10:00+01:00', 'completed', 'kiosk')",
                 [OLD_S, OLD_P])
    conn.commit()
    conn.close()
    before = dump(old)
    clinic = tmp_path / "clinic.db"
    got = import_into(clinic, old)
    assert (got.patient_codes, got.tables["sessions"]) == (["K2"], (1, 0, 0))
    assert dump(old) == before
    assert [f[:2] for f in figures(clinic, "K2")] == [(OLD_S, "completed")]


def test_two_homes_and_two_kiosks_make_one_clinic_file(keys, tmp_path):
    homes = [make_db(tmp_path / "home1.db", code="P1"),
             make_db(tmp_path / "home2.db", code="P2", n=3, start=WHEN + timedelta(days=1))]
    kiosks = [make_db(tmp_path / "kiosk1.db", code="P1", n=1, kind="kiosk", start=WHEN + timedelta(hours=5)),
              make_db(tmp_path / "kiosk2.db", code="P3", n=2, kind="kiosk", running=True)]
    bundles = []
    for i, home in enumerate(homes):
        share(home, tmp_path / f"home{i}.bundle")
        bundles.append(tmp_path / f"home{i}.bundle")
    clinic = tmp_path / "clinic.db"
    remapped = []
    for path in bundles + kiosks:
        remapped += import_into(clinic, path).remapped
    assert remapped == ["P1"]                    # the kiosk's P1 is the home's P1
    parts = [collect(sqlite3.connect(p)) for p in homes + kiosks]
    expected = {t: sum(len(b[t]) for b in parts) for t, _, _ in SHARED_TABLES}
    expected["patients"] -= 1
    assert shared_counts(clinic) == expected
    with Store.open(clinic) as store:
        assert [p["code"] for p in store.list_patients()] == ["P1", "P2", "P3"]
        assert len(store.sessions("P1")) == 3 and len(store.sessions("P3")) == 2


# ---- keys ----------------------------------------------------------------------------
def test_key_files_are_private_and_kept(keys, tmp_path):
    folder = tmp_path / "xdg" / "coach" / "clinic"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("identity.txt", "clinic.json", "joined.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert clinic_keys.clinic_public_key() == keys["public_key"]
    with pytest.raises(CoachError, match="already has a clinic key"):
        clinic_keys.init_clinic("again")
    assert clinic_keys.clinic_public_key() == keys["public_key"]
    for bad in ("age1notakey", "AGE-SECRET-KEY-1ABC", "", keys["public_key"][:-3]):
        with pytest.raises(CoachError, match="is not a clinic key"):
            clinic_keys.join_clinic(bad)
    assert clinic_keys.joined_clinic()["fingerprint"] == keys["fingerprint"] == \
        clinic_keys.fingerprint(keys["public_key"])
    replaced = clinic_keys.init_clinic("new", force=True)
    assert replaced["fingerprint"] != keys["fingerprint"]


# ---- the CLI -------------------------------------------------------------------------
def cli(capsys, *argv) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return done.value.code, out.out + out.err


def test_the_cli_makes_and_shares_the_clinic_key(cli_home, tmp_path, capsys):
    out = tmp_path / "p.bundle"
    code, text = cli(capsys, "share", "--out", out, "--db", cli_home)
    assert code == 1 and "has not joined a clinic" in text
    assert cli(capsys, "clinic", "init", "--name", "North")[0] == 0
    code, text = cli(capsys, "clinic", "key")
    key, fp = text.split()[0], clinic_keys.fingerprint(text.split()[0])
    assert code == 0 and key.startswith("age1") and f"fingerprint {fp}" in text
    assert cli(capsys, "clinic", "init")[0] == 1                               # kept, not replaced
    assert cli(capsys, "clinic", "join", "age1typo")[0] == 1
    assert cli(capsys, "clinic", "join", key, "--name", "North") == (0, f"Joined North (fingerprint {fp}); "
                                                                      "`coach share --out FILE` now makes "
                                                                      "bundles only it can open.\n")
    code, text = cli(capsys, "share", "--out", out, "--db", cli_home, "--patient", "P1")
    assert code == 0 and text.startswith(f"Wrote {out} for clinic {fp}: 2 sessions of P1 (")
    code, text = cli(capsys, "share", "--out", tmp_path / "again.bundle", "--db", cli_home)
    assert code == 0 and "Nothing new to share" in text and not (tmp_path / "again.bundle").exists()
    assert cli(capsys, "share", "--out", out, "--db", cli_home, "--patient", "NOPE")[0] == 1


def test_the_cli_imports_once_and_refuses_a_cut_bundle(cli_home, tmp_path, capsys):
    clinic_keys.join_clinic(clinic_keys.init_clinic()["public_key"])
    clinic, out = tmp_path / "clinic.db", tmp_path / "p.bundle"
    share(cli_home, out)
    code, text = cli(capsys, "import", out, "--db", clinic)
    assert code == 0 and text.startswith("Imported 2 sessions for P1 (") and "0 rows were already here" in text
    code, text = cli(capsys, "import", out, "--db", clinic)
    assert code == 0 and text.startswith(f"Nothing new in {out} for P1: all ")
    truncated(out, tmp_path / "cut.bundle")
    code, text = cli(capsys, "import", tmp_path / "cut.bundle", "--db", clinic)
    assert code == 1 and text == f"coach: {tmp_path / 'cut.bundle'} is not a complete coach bundle " \
                                 "(it may have been cut short in copying).\n"
    assert cli(capsys, "import", tmp_path / "missing.bundle", "--db", clinic)[0] == 1
