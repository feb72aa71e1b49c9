"""The door (coach/clinic/door.py): the attacks of issue 17, each refused whole in one sentence with
nothing stored changed, and the clinic store's readers and sync carrying on past what fails.

Each attack here was tried against the commit before the door (48b5ff5) and succeeded there:
SQL in a column name voided every patient's sessions, bad values crashed the report and blocked sync,
a recursive view hung the import, a zip bomb took gigabytes, one patient's signed bundle wrote into
another's record, and a server column broke the readers.
"""
from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import timedelta

import psycopg
import pytest

from coach.errors import CoachError
from coach.clinic import bundle
from coach.clinic import keys as clinic_keys
from coach.clinic.door import Refused
from coach.log.schema import SHARED_TABLES, check_in
from coach.log.store import Store
from store_fixtures import shared_counts
from test_bundles import WHEN, dump, import_into, make_db, share
from test_invitations import join_invited, signed_share
from cli_runs import coach

pytest_plugins = ("bundle_fixtures", "pg_server")


@pytest.fixture(autouse=True)
def plain_stderr(monkeypatch):
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)   # keep stderr for capsys


def sql(path, *statements, params=()):
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


def first(path, query):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchone()
    finally:
        conn.close()


@pytest.fixture
def clinic(keys, tmp_path):
    """A clinic file holding P018's records (two sessions from a kiosk) and P017's first session."""
    path = tmp_path / "clinic.db"
    import_into(path, make_db(tmp_path / "p018.db", code="P018", kind="kiosk", start=WHEN + timedelta(hours=3)))
    import_into(path, make_db(tmp_path / "p017-first.db", code="P017", n=1, kind="kiosk"))
    return path


def refused(clinic_db, path) -> str:
    """Import `path` into `clinic_db`: it must be refused by the door, in one sentence, with the
    clinic file unchanged; returns the sentence."""
    before = dump(clinic_db)
    with pytest.raises(Refused) as caught:
        import_into(clinic_db, path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message and message.endswith("nothing was imported.")
    assert dump(clinic_db) == before
    return message


# ---- the allowlist is the migrations' -------------------------------------------------------
def test_every_shared_column_has_a_rule_and_every_check_its_values():
    from coach.clinic.rules import RULES, schema
    from coach.log.schema import built

    with built() as db:
        for table, _, _ in SHARED_TABLES:
            create = db.conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
            for column in schema()[table]:
                assert (table, column.name) in RULES, (table, column.name)
                rule = RULES[(table, column.name)]
                if check_in(column.name, rule.values if rule.kind == "choice" else ()) in create:
                    continue
                assert f"CHECK ({column.name} IN" not in create, (table, column.name)


# ---- 1. SQL in a column's name ---------------------------------------------------------------
SQL_FRAGMENT = "voided = ? WHERE ? IS NOT NULL OR ? IS NOT NULL OR ? IS NOT NULL --"


def test_sql_in_a_kiosk_files_column_name_is_refused_and_runs_nothing(clinic, tmp_path, capsys):
    """The reported attack: `sessions.voided` renamed to SQL that turns the newer-version UPDATE into
    one of every session of every patient."""
    kiosk = tmp_path / "p017-first.db"
    sql(kiosk, "UPDATE sessions SET updated = '2099-01-01T00:00:00+00:00', voided = 'hacked'",
        f'ALTER TABLE sessions RENAME COLUMN voided TO "{SQL_FRAGMENT}"')
    message = refused(clinic, kiosk)
    assert "sessions has a column coach does not know" in message
    code, out, err = coach(capsys, "sessions", "--db", clinic)
    assert code == 0 and "hacked" not in out and out.count("P018") == 2


def test_sql_in_a_signed_bundles_column_name_is_refused(clinic, tmp_path):
    home = make_db(tmp_path / "home.db", code="P017", n=1, kind="kiosk")   # the same session as the clinic's
    join_invited("P017")
    out = tmp_path / "p017.bundle"
    signed_share(home, out)
    files = unpack(out)
    files["subset.db"] = mutated(files["subset.db"], tmp_path, [
        "UPDATE sessions SET updated = '2099-01-01T00:00:00+00:00', voided = 'hacked'",
        f'ALTER TABLE sessions RENAME COLUMN voided TO "{SQL_FRAGMENT}"'])
    reseal(files, out, sign_as="P017")
    assert "has a column coach does not know" in refused(clinic, out)


# ---- 2. one bad value ----------------------------------------------------------------------------
BAD_VALUES = [
    ("reps", "peak", "'abc'", "is not a number"),
    ("sessions", "started", "'not-a-date'", "is not an ISO date and time"),
    ("reps", "peak", "9e999", "is not a finite number"),        # inf
    ("reps", "peak_left", "12.5", "is outside the plausible range"),
    ("events", "start_s", "-3", "is outside the plausible range"),
    ("reps", "session_id", "'not-a-uuid'", "is not a UUID"),
    ("sessions", "kind", "'clinic'", "is not one of the values coach allows there"),
    ("calibrations", "baseline", "'{\"eye_opening\": NaN}'", "is not JSON"),
    ("patients", "notes", "'x' || char(0) || 'y'", "holds control characters"),
    ("reps", "set_id", "x'00ff'", "is not text"),
]


@pytest.mark.parametrize("table, column, value, why", BAD_VALUES)
def test_a_kiosk_file_with_one_bad_value_is_refused_naming_it(clinic, tmp_path, capsys, table, column, value, why):
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=2, kind="kiosk", start=WHEN + timedelta(days=5))
    key = "id"
    row = first(kiosk, f"SELECT {key} FROM {table} ORDER BY {key} LIMIT 1")[0]
    conn = sqlite3.connect(kiosk)
    conn.execute("PRAGMA ignore_check_constraints = ON")      # a broken kiosk, or a hand-made file
    conn.execute(f"UPDATE {table} SET {column} = {value} WHERE {key} = ?", [row])
    conn.commit()
    conn.close()
    message = refused(clinic, kiosk)
    assert f"{table} row {row}, field {column} {why}" in message
    if column in ("peak", "started"):          # the reported crash of the report (exit 70)
        assert coach(capsys, "report", "P017", "--db", clinic, "--out", tmp_path / "r.html")[0] == 0


@pytest.mark.parametrize("table, column, value, why", BAD_VALUES[:3])
def test_a_signed_bundle_with_one_bad_value_is_refused(clinic, tmp_path, table, column, value, why):
    """Signed by the invited patient themself, with the value put in its subset database."""
    home = make_db(tmp_path / "home.db", code="P017", n=2, start=WHEN + timedelta(days=5))
    row = first(home, f"SELECT id FROM {table} ORDER BY id LIMIT 1")[0]
    join_invited("P017")
    out = tmp_path / "p017.bundle"
    signed_share(home, out)
    files = unpack(out)
    files["subset.db"] = mutated(files["subset.db"], tmp_path, [f"UPDATE {table} SET {column} = {value} "
                                                                f"WHERE id = '{row}'"])
    reseal(files, out, sign_as="P017")
    assert f"{table} row {row}, field {column} {why}" in refused(clinic, out)


def test_share_leaves_out_a_session_the_door_would_refuse(clinic, tmp_path, capsys):
    """A home log with one bad value: the share names that session and keeps it; the rest imports."""
    home = make_db(tmp_path / "home.db", code="P017", n=3, start=WHEN + timedelta(days=5))
    bad_session, bad_rep = first(home, "SELECT session_id, id FROM reps ORDER BY session_id, id LIMIT 1")
    sql(home, "UPDATE reps SET peak = 9e999 WHERE id = ?", params=[bad_rep])
    code, out, err = coach(capsys, "share", "--out", tmp_path / "p.bundle", "--db", home)
    assert code == 0 and "2 sessions of P017" in out, err
    assert f"Set aside session {bad_session}: reps row {bad_rep}, field peak is not a finite number." in out
    assert import_into(clinic, tmp_path / "p.bundle").tables["sessions"] == (2, 0, 0)
    sql(home, "UPDATE reps SET peak = 0.7 WHERE id = ?", params=[bad_rep])
    code, out, err = coach(capsys, "share", "--out", tmp_path / "q.bundle", "--db", home)
    assert code == 0 and "1 session of P017" in out and "Set aside" not in out
    assert import_into(clinic, tmp_path / "q.bundle").tables["sessions"] == (1, 0, 0)


# ---- 3. views, triggers, budgets -------------------------------------------------------------------
RECURSIVE_VIEW = ("CREATE VIEW rep_evenness AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
                  "SELECT printf('%08d-0000-4000-8000-000000000000', x) AS rep_id, 1.0 AS onset_lag_ms, "
                  "'' AS late_side, 1.0 AS amplitude_ratio, 1.0 AS smoothness FROM n")


@pytest.mark.parametrize("statements, said", [
    (["DROP TABLE rep_evenness", "CREATE VIEW rep_evenness AS SELECT id AS rep_id, 1.0 AS onset_lag_ms, "
      "'left' AS late_side, 1.0 AS amplitude_ratio, 1.0 AS smoothness FROM reps"], "rep_evenness is a view"),
    (["CREATE TRIGGER t AFTER UPDATE ON patients BEGIN UPDATE sessions SET voided = 'x'; END"],
     "a trigger on patients"),
    (["DROP TABLE rep_evenness", "CREATE VIRTUAL TABLE rep_evenness USING rtree(rep_id, a, b)"],
     "rep_evenness is a virtual table"),
    (["DROP TABLE rep_evenness", RECURSIVE_VIEW], "rep_evenness is a view"),
])
def test_views_triggers_and_virtual_tables_are_never_run(clinic, tmp_path, statements, said):
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=1, kind="kiosk", start=WHEN + timedelta(days=5))
    sql(kiosk, *statements)
    assert said in refused(clinic, kiosk)


@pytest.mark.slow                      # runs `coach import` in a child process, to bound it in time
def test_a_recursive_view_ends_the_import_at_once(clinic, tmp_path):
    """The reported hang, in a process of its own (before the door it spun until killed)."""
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=1, kind="kiosk", start=WHEN + timedelta(days=5))
    sql(kiosk, "DROP TABLE rep_evenness", RECURSIVE_VIEW)
    before = dump(clinic)
    try:
        done = subprocess.run([sys.executable, "-m", "coach", "import", str(kiosk), "--db", str(clinic)],
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("coach import of a file with a recursive view did not end within 120 s")
    assert done.returncode == 1 and "rep_evenness is a view" in done.stderr and "Traceback" not in done.stderr
    assert dump(clinic) == before


def test_the_time_and_row_budgets_refuse_a_file(clinic, tmp_path, monkeypatch):
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=2, kind="kiosk", start=WHEN + timedelta(days=5))
    monkeypatch.setenv("COACH_IMPORT_MAX_ROWS", "20")
    assert "holds more than 20 rows" in refused(clinic, kiosk)
    monkeypatch.delenv("COACH_IMPORT_MAX_ROWS")
    monkeypatch.setenv("COACH_IMPORT_SECONDS", "0.000001")
    assert "reading it took longer than" in refused(clinic, kiosk)


def test_a_renamed_or_missing_table_or_column_is_refused(clinic, tmp_path):
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=1, kind="kiosk", start=WHEN + timedelta(days=5))
    for statements, said in [
            (["ALTER TABLE reps RENAME COLUMN peak TO peak2"], "reps has a column coach does not know (peak2)"),
            (["ALTER TABLE reps DROP COLUMN hold_s"], "reps lacks the column hold_s"),
            (["ALTER TABLE rep_evenness RENAME TO evenness"], "it lacks the table rep_evenness"),
            (["ALTER TABLE reps ADD COLUMN extra TEXT"], "(extra)"),
            (["ALTER TABLE reps ADD COLUMN big GENERATED ALWAYS AS (printf('%.*c', 100000000, 'x')) VIRTUAL"],
             "reps has a generated column (big)")]:
        spoilt = tmp_path / "spoilt.db"
        spoilt.write_bytes(kiosk.read_bytes())
        sql(spoilt, *statements)
        assert said in refused(clinic, spoilt)


# ---- 4. check before you expand ------------------------------------------------------------------
def unpack(path) -> dict[str, bytes]:
    payload = clinic_keys._age().decrypt(bundle.unseal_line(path, path.read_bytes())[1],
                                         [clinic_keys.load_identity()])
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        return {name: z.read(name) for name in z.namelist()}


def mutated(db_bytes: bytes, tmp_path, statements) -> bytes:
    path = tmp_path / "mutating.db"
    path.write_bytes(db_bytes)
    sql(path, *statements)
    data = path.read_bytes()
    path.unlink()
    return data


def reseal(files: dict, out, sign_as: str | None = None) -> None:
    """The files, with the manifest's hash and size redone (and signed with `sign_as`'s secret:
    the invited patient themself), sealed to this clinic."""
    manifest = json.loads(files["manifest.json"])
    manifest.update(subset_sha256=hashlib.sha256(files["subset.db"]).hexdigest(), subset_bytes=len(files["subset.db"]))
    files = {**files, "manifest.json": json.dumps(manifest).encode()}
    if sign_as:
        files["manifest.hmac"] = clinic_keys.sign(clinic_keys.invite_secret(sign_as), files["manifest.json"]).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    out.write_bytes(bundle.seal(buf.getvalue(), clinic_keys.clinic_public_key()))


def bomb(out, expanded_mb: int) -> None:
    """An unsigned bundle whose subset.db is `expanded_mb` MB of zeros (deflated a thousand times),
    with a manifest whose hash matches them: nothing but the size gives it away."""
    zeros, digest, buf = bytes(1024 * 1024), hashlib.sha256(), io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("subset.db", "w", force_zip64=True) as f:
            for _ in range(expanded_mb):
                f.write(zeros)
                digest.update(zeros)
        key = clinic_keys.clinic_public_key()
        z.writestr("manifest.json", json.dumps({
            "format": "coach-bundle", "format_version": 1, "coach_version": "0", "created": "2024-05-01",
            "clinic_fingerprint": clinic_keys.fingerprint(key), "patient_codes": ["P017"],
            "row_counts": {t: 0 for t, _, _ in SHARED_TABLES}, "subset_sha256": digest.hexdigest()}))
    out.write_bytes(bundle.seal(buf.getvalue(), key))


def peak_python_memory(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_zip_bomb_is_refused_without_being_expanded_in_memory(clinic, tmp_path):
    out = tmp_path / "bomb.bundle"
    bomb(out, 100)
    assert out.stat().st_size < 300_000
    before = dump(clinic)

    caught = []

    def attempt():
        with pytest.raises(CoachError) as refusal:
            import_into(clinic, out)
        caught.append(refusal.value)
    assert peak_python_memory(attempt) < 16 * 1024 * 1024       # before the door: 100 MB and more
    assert isinstance(caught[0], Refused) and "expands beyond 64 MB" in str(caught[0])
    assert dump(clinic) == before


def test_the_signature_is_checked_before_anything_is_expanded(clinic, tmp_path):
    out = tmp_path / "bomb.bundle"
    bomb(out, 100)
    clinic_keys.require_signed()

    caught = []

    def attempt():
        with pytest.raises(CoachError) as refusal:
            import_into(clinic, out)
        caught.append(refusal.value)
    assert peak_python_memory(attempt) < 16 * 1024 * 1024      # before the door: expanded first
    assert "is not signed by an invited patient" in str(caught[0])


def test_the_size_that_arrived_is_checked_first(clinic, tmp_path, monkeypatch):
    home = make_db(tmp_path / "home.db", code="P017", n=2, start=WHEN + timedelta(days=5))
    share(home, tmp_path / "p.bundle")
    monkeypatch.setenv("COACH_BUNDLE_MAX_MB", "0.001")
    assert "is larger than 0.001 MB (COACH_BUNDLE_MAX_MB)" in refused(clinic, tmp_path / "p.bundle")
    monkeypatch.setenv("COACH_BUNDLE_MAX_MB", "100")
    assert import_into(clinic, tmp_path / "p.bundle").tables["sessions"] == (2, 0, 0)


def packed(out, tmp_path, n: int) -> None:
    """An unsigned bundle whose subset database holds `n` reps that differ in their id only (as many
    valid rows as 1 MB of bundle can carry), under one session of P017's."""
    db = tmp_path / "packed.db"
    with Store.open(db):
        pass
    patient, session = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO patients (id, code, created) VALUES (?, 'P017', '2024-01-01T00:00:00+00:00')",
                 [patient])
    conn.execute("INSERT INTO sessions (id, patient_id, started, ended, status, kind) VALUES "
                 "(?, ?, '2024-01-02T00:00:00+00:00', '2024-01-02T00:10:00+00:00', 'completed', 'home')",
                 [session, patient])
    conn.executemany("INSERT INTO reps (id, session_id, idx, peak, synkinesis, complete) VALUES (?, ?, 1, 0.5, 0, 1)",
                     ((f"{i:08d}-0000-4000-8000-000000000000", session) for i in range(n)))
    conn.commit()
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("VACUUM")
    conn.close()
    data = db.read_bytes()
    key = clinic_keys.clinic_public_key()
    counts = {t: {"patients": 1, "sessions": 1, "reps": n}.get(t, 0) for t, _, _ in SHARED_TABLES}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("manifest.json", json.dumps({
            "format": "coach-bundle", "format_version": 1, "coach_version": "0", "created": "2024-05-01",
            "clinic_fingerprint": clinic_keys.fingerprint(key), "patient_codes": ["P017"], "row_counts": counts,
            "subset_sha256": hashlib.sha256(data).hexdigest()}))
        z.writestr("subset.db", data)
    out.write_bytes(bundle.seal(buf.getvalue(), key))


@pytest.mark.slow
@pytest.mark.parametrize("hostile", ["zip bomb", "packed rows"])
def test_a_hostile_1_mb_bundle_peaks_under_200_mb(clinic, tmp_path, hostile):
    """Measured in a process of its own, which reports its own peak: VmHWM of /proc/self/status, the high
    water mark of its own memory after exec (ru_maxrss is not: Linux carries the forking parent's peak over
    into it, so under a long pytest run it read the test runner's 632 MB). A zip bomb (1 GB of zeros),
    refused, and 70,000 valid rows, imported."""
    out = tmp_path / "hostile.bundle"
    if hostile == "zip bomb":
        bomb(out, 1024)
    else:
        packed(out, tmp_path, 70_000)
    assert 0.9e6 < out.stat().st_size < 1.2e6
    child = ("import re, sys\nfrom coach.cli import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as e:\n    code = e.code\n"
             "hwm = re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
             "print('PEAK', hwm, code, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", child, "import", str(out), "--db", str(clinic)],
                          capture_output=True, text=True, timeout=600)
    peak_kb, code = (int(x) for x in done.stderr.split("PEAK")[1].split())
    if hostile == "zip bomb":
        assert code == 1 and "the most this clinic accepts" in done.stderr
    else:
        assert code == 0 and "Imported 1 session for P017 (70001 new rows)" in done.stdout   # P017 is known
    assert peak_kb < 200 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"


# ---- 5. another patient's record ------------------------------------------------------------------
def theirs(clinic_db, code="P018") -> dict:
    """Every row of patient `code` in the clinic file, through their parents."""
    conn = sqlite3.connect(clinic_db)
    try:
        pid = conn.execute("SELECT id FROM patients WHERE code = ?", [code]).fetchone()[0]
        sids = "SELECT id FROM sessions WHERE patient_id = :p"
        out = {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t} WHERE patient_id = :p", {"p": pid})))
               for t in ("plans", "treatments", "sessions", "audit")}
        for t in ("calibrations", "sets", "reps", "events"):
            out[t] = sorted(map(repr, conn.execute(f"SELECT * FROM {t} WHERE session_id IN ({sids})", {"p": pid})))
        out["rep_evenness"] = sorted(map(repr, conn.execute(
            f"SELECT * FROM rep_evenness WHERE rep_id IN (SELECT id FROM reps WHERE session_id IN ({sids}))",
            {"p": pid})))
        return out
    finally:
        conn.close()


def plant(home, rep) -> None:
    sid, set_id = first(home, "SELECT session_id, id FROM sets LIMIT 1")
    sql(home, "INSERT INTO reps (id, session_id, set_id, idx, synkinesis, complete) VALUES (?, ?, ?, 99, 0, 1)",
        params=[rep, sid, set_id])
    sql(home, "INSERT INTO rep_evenness (rep_id, onset_lag_ms, late_side, amplitude_ratio, smoothness) "
              "VALUES (?, 250.0, 'left', 0.5, 0.9)", params=[rep])


def p018_rep(clinic_db) -> str:
    return first(clinic_db, "SELECT r.id FROM reps r JOIN sessions s ON s.id = r.session_id "
                            "JOIN patients p ON p.id = s.patient_id WHERE p.code = 'P018' ORDER BY r.id LIMIT 1")[0]


def test_a_signed_bundle_cannot_add_evenness_to_another_patients_rep(clinic, tmp_path):
    """The reported attack: P017's signed bundle added a rep_evenness row to one of P018's reps."""
    home = make_db(tmp_path / "home.db", code="P017", n=1, start=WHEN + timedelta(days=5))
    rep = p018_rep(clinic)
    plant(home, rep)
    join_invited("P017")
    signed_share(home, tmp_path / "p017.bundle")
    before = theirs(clinic)
    message = refused(clinic, tmp_path / "p017.bundle")
    assert f"holds records that are not P017's, though only P017 signed it (reps row {rep}, field session_id" in message
    assert theirs(clinic) == before


@pytest.mark.parametrize("carrier", ["kiosk", "unsigned"])
def test_a_kiosk_file_or_unsigned_bundle_cannot_either(clinic, tmp_path, carrier):
    home = make_db(tmp_path / "home.db", code="P017", n=1, kind="kiosk", start=WHEN + timedelta(days=5))
    rep = p018_rep(clinic)
    plant(home, rep)
    path = home
    if carrier == "unsigned":
        share(home, tmp_path / "p017.bundle")
        path = tmp_path / "p017.bundle"
    assert f"reps row {rep}, field session_id, is stored under another session" in refused(clinic, path)


def test_a_rep_naming_a_set_of_another_session_is_refused(clinic, tmp_path):
    home = make_db(tmp_path / "home.db", code="P017", n=2, kind="kiosk", start=WHEN + timedelta(days=5))
    sets = [r[0] for r in sqlite3.connect(home).execute("SELECT id FROM sets ORDER BY session_id")]
    sql(home, "UPDATE reps SET set_id = ? WHERE session_id = (SELECT session_id FROM sets WHERE id = ?)",
        params=[sets[0], sets[-1]])
    assert "field set_id, names a set of another session" in refused(clinic, home)


# ---- 6. the server's own columns, and sync past a bad row ----------------------------------------------
def server_dump(url) -> dict:
    with psycopg.connect(url) as conn:
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t, _, _ in SHARED_TABLES}


def test_a_column_the_clinic_added_on_the_server_breaks_no_reader(pg_url, keys, tmp_path, capsys):
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=2, kind="kiosk")
    assert coach(capsys, "sync", "--to", pg_url, "--db", kiosk)[0] == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE patients ADD COLUMN clinic_ref text")
        conn.execute("ALTER TABLE reps ADD COLUMN reviewed boolean DEFAULT true")
        conn.execute("UPDATE patients SET clinic_ref = 'ward 3'")
    code, out, err = coach(capsys, "sessions", "--db", pg_url)
    assert code == 0 and out.count("P017") == 2, err
    assert coach(capsys, "report", "P017", "--db", pg_url, "--out", tmp_path / "r.html")[0] == 0
    code, out, err = coach(capsys, "sync", "--from", pg_url, "--db", tmp_path / "therapist.db")
    assert code == 0 and out.startswith("Copied 2 sessions"), err
    with Store.open(tmp_path / "therapist.db") as store:
        assert len(store.sessions("P017")) == 2


def test_sync_keeps_flowing_past_a_bad_row(pg_url, keys, tmp_path, capsys):
    """One rep of one session holds 'abc': the other sessions (another patient's too) reach the server,
    the bad one is named, stays unsent, and goes once it is fixed."""
    log = make_db(tmp_path / "log.db", code="P017", n=3)
    make_db(log, code="P018", n=2, start=WHEN + timedelta(days=20))
    bad_session, bad_rep = first(log, "SELECT session_id, id FROM reps ORDER BY session_id, id LIMIT 1")
    sql(log, "UPDATE reps SET peak = 'abc' WHERE id = ?", params=[bad_rep])
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", log, "--chunk", 1)
    assert code == 0, err
    assert out.startswith("Sent 4 sessions")
    assert f"Set aside session {bad_session}: reps row {bad_rep}, field peak is not a number." in out
    assert "Pipeline" not in err + out
    with psycopg.connect(pg_url) as conn:
        sent = {r[0] for r in conn.execute("SELECT id FROM sessions")}
    assert len(sent) == 4 and bad_session not in sent
    assert first(log, f"SELECT count(*) FROM synced WHERE row_id = '{bad_session}'")[0] == 0
    sql(log, "UPDATE reps SET peak = 0.5 WHERE id = ?", params=[bad_rep])
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", log)
    assert code == 0 and out.startswith("Sent 1 session") and "Set aside" not in out
    assert shared_counts(log) == shared_counts(psycopg.connect(pg_url))


def test_sync_from_sets_aside_what_fails_the_door(pg_url, keys, tmp_path, capsys):
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=3, kind="kiosk")
    assert coach(capsys, "sync", "--to", pg_url, "--db", kiosk)[0] == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        bad = conn.execute("SELECT session_id FROM reps ORDER BY session_id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE reps SET peak = 'Infinity' WHERE session_id = %s", [bad])
    code, out, err = coach(capsys, "sync", "--from", pg_url, "--db", tmp_path / "therapist.db")
    assert code == 0 and out.startswith("Copied 2 sessions"), err
    assert f"Set aside session {bad}: reps row " in out and "field peak is not a finite number" in out
    code, out, err = coach(capsys, "export", "P017", "--fhir", tmp_path / "p.json", "--db", pg_url)
    assert code == 0 and "Infinity" not in (tmp_path / "p.json").read_text() and f"Set aside session {bad}" in err


@pytest.mark.parametrize("attack", ["sql_column", "bad_value", "view", "other_patient"])
def test_a_refused_file_leaves_the_clinic_store_unchanged(pg_url, clinic, tmp_path, capsys, attack):
    """Table-driven through `coach sync --to`: the clinic file is synced, a hostile file is refused,
    and the next sync leaves the server exactly as it was."""
    assert coach(capsys, "sync", "--to", pg_url, "--db", clinic)[0] == 0
    before = server_dump(pg_url)
    kiosk = make_db(tmp_path / "kiosk.db", code="P017", n=1, kind="kiosk", start=WHEN + timedelta(days=5))
    if attack == "sql_column":
        kiosk = tmp_path / "p017-first.db"
        sql(kiosk, "UPDATE sessions SET updated = '2099-01-01T00:00:00+00:00', voided = 'hacked'",
            f'ALTER TABLE sessions RENAME COLUMN voided TO "{SQL_FRAGMENT}"')
    elif attack == "bad_value":
        sql(kiosk, "UPDATE reps SET peak = 'abc'")
    elif attack == "view":
        sql(kiosk, "DROP TABLE rep_evenness", RECURSIVE_VIEW)
    else:
        plant(kiosk, p018_rep(clinic))
    refused(clinic, kiosk)
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", clinic)
    assert code == 0 and out == "Nothing new to send.\n"
    assert server_dump(pg_url) == before


@pytest.mark.parametrize("carrier", ["kiosk", "signed"])
def test_a_label_pointing_at_another_patients_rep_is_refused(clinic, tmp_path, carrier):
    """P017's file carries a label of one of P018's reps (under P017's own session): refused whole."""
    home = make_db(tmp_path / "home.db", code="P017", n=1, kind="kiosk" if carrier == "kiosk" else "home",
                   start=WHEN + timedelta(days=5))
    rep = p018_rep(clinic)
    sid = first(home, "SELECT id FROM sessions LIMIT 1")[0]
    label = "5a1b0c2d-0000-4000-8000-000000000017"
    plant = ("INSERT INTO labels (id, rep_id, session_id, label, side, region, labeller, at, updated, note) "
             f"VALUES ('{label}', '{rep}', '{sid}', 1, 'left', 'eye', 'pat@home', '2024-03-20T10:00:00+00:00', "
             "'2024-03-20T10:00:00+00:00', '')")
    path = home
    if carrier == "kiosk":
        sql(home, plant)
    else:                                   # coach would never write it: the bundle is made by hand
        join_invited("P017")
        path = tmp_path / "p017.bundle"
        signed_share(home, path)
        files = unpack(path)
        files["subset.db"] = mutated(files["subset.db"], tmp_path, [plant])
        manifest = json.loads(files["manifest.json"])
        manifest["row_counts"]["labels"] = 1
        files["manifest.json"] = json.dumps(manifest).encode()
        reseal(files, path, sign_as="P017")
    before = theirs(clinic)
    message = refused(clinic, path)
    assert f"labels row {label}, field rep_id, names a rep that is not one of its session's" in message
    assert theirs(clinic) == before and first(clinic, "SELECT count(*) FROM labels")[0] == 0
