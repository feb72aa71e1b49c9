"""Patient bundles (encrypted files of records for the clinic) and importing them, or a kiosk's file.

A bundle, on disk
    One cleartext line, `coach-bundle 1 <clinic fingerprint> <length>`, then an age file
    (X25519, authenticated encryption) of that length. The line is there because age hides
    whom a file is for: without it a clinic could only say "not for this key", never for
    which key a bundle was made. It is a hint, checked after decryption against the
    manifest; the length tells a bundle cut short in copying from one altered. (`age -d`
    opens the rest: `tail -n +2 FILE | age -d -i identity.txt`.)

Inside, once decrypted: a zip of
    manifest.json  {format, format_version, coach_version, created, clinic_fingerprint,
                    patient_codes, row_counts, subset_sha256[, invited_code]}
    subset.db      a coach SQLite database, made by `Store.open` (so its schema is exactly this
                   coach's) and filled by `merge.merge`, holding the rows to share.
    manifest.hmac  only from a coach that joined with a join token: the hex HMAC-SHA256 of the
                   exact manifest.json bytes, keyed by the secret the clinic gave that patient.
                   The manifest holds the subset's hash and row counts, so this covers it all.

Who made it
    age encryption is not authentication: every patient holds the clinic's public key, so
    anyone could seal a bundle about someone else. A signed bundle is imported only if the
    clinic invited its `invited_code` (`clinic_keys.invite`), the signature matches that
    patient's secret, the bundle holds that patient alone, and it would change no stored row
    of anyone else (rows are keyed by UUID: a row reusing another patient's id is refused).
    An unsigned bundle (a coach joined with the plain key) is imported and reported as
    unsigned, or refused when the clinic imports signed bundles only.

What a share holds
    The outbox for destination `bundle:<fingerprint>`: every row whose current version that
    clinic has not been sent (`merge.collect`), or everything with `all_rows`; sessions still
    running are never shared. The ledger (`merge.mark_sent`) is written only once the bundle
    file is complete, so a share that fails is simply repeated in full next time. A share with
    nothing new writes no file at all (an empty bundle would only be one more file to carry)
    and says so.

Importing
    `import_file` takes a bundle or a plain coach database (a kiosk's file, opened read-only),
    refuses anything else in one sentence, and merges everything in ONE transaction: all or
    nothing. Importing the same file twice changes nothing. Every refusal changes nothing.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from coach import __version__
from coach.core.files import write_bytes
from coach.errors import CoachError
from coach.clinic import keys as clinic_keys
from coach.log.file import SQLITE_HEADER, check_file, connect_readonly, sql_error
from coach.clinic.merge import ID_CHUNK, REPOINTED, Batch, Counts, collect, mark_sent, merge, row_counts
from coach.log.schema import check_version, migrations
from coach.log.store import BUSY_TIMEOUT_MS, Store, now_iso

FORMAT = "coach-bundle"
FORMAT_VERSION = 1
MAGIC = FORMAT.encode()
MAX_LINE = 200                     # the cleartext line is ~40 bytes; more is not a bundle
TARGET_PREFIX = "bundle:"          # ledger destination of the bundles for one clinic key
MANIFEST, SUBSET, SIGNATURE = "manifest.json", "subset.db", "manifest.hmac"


@dataclass
class Shared:
    """What `write_bundle` wrote (or, with nothing new, would have: `written` is False)."""
    path: Path
    fingerprint: str
    patient_codes: list
    rows: dict                     # {table: rows}
    written: bool = False

    @property
    def sessions(self) -> int:
        return self.rows.get("sessions", 0)


@dataclass
class Imported(Counts):
    """`merge.Counts` of an import, with what came in: the patients, the kind of file, and for a
    bundle whether an invited patient signed it."""
    patient_codes: list = field(default_factory=list)
    kind: str = "bundle"           # bundle or database
    signed: bool = False           # a database (a kiosk's file) is never signed, nor needs to be


@dataclass
class Opened:
    """A bundle decrypted and checked for damage; `signature` is None if it carries none."""
    batch: Batch
    manifest: dict
    manifest_bytes: bytes
    signature: bytes | None


# ---- refusals, one sentence each ----------------------------------------------------
def incomplete(path) -> CoachError:
    return CoachError(f"{path} is not a complete coach bundle (it may have been cut short in copying).")


def altered(path) -> CoachError:
    return CoachError(f"{path} has been altered since it was made; nothing was imported.")


def not_invited(path, code) -> CoachError:
    who = f"as {code}" if isinstance(code, str) and code else "at all"
    return CoachError(f"{path} was not made by a patient this clinic invited {who} (or was altered); "
                      "nothing was imported.")


def not_signed(path) -> CoachError:
    return CoachError(f"{path} is not signed by an invited patient and this clinic imports only signed "
                      "bundles (coach clinic invite CODE gives each patient a token that signs them); "
                      "nothing was imported.")


def not_theirs(path, code: str) -> CoachError:
    return CoachError(f"{path} holds records that are not {code}'s, though only {code} signed it; "
                      "nothing was imported.")


def foreign(path, theirs: str, mine: str) -> CoachError:
    named = f"fingerprint {theirs}" if theirs and theirs != mine else "an unknown fingerprint"
    return CoachError(f"{path} was made for another clinic's key ({named}), not this clinic's ({mine}); "
                      "nothing was imported.")


# ---- writing ------------------------------------------------------------------------
def _plain_database(path: Path) -> bytes:
    """The bytes of a finished database file, in rollback-journal mode so the file alone is
    the whole database (a WAL-mode header would need its -wal beside it to open)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("VACUUM")
    finally:
        conn.close()
    return path.read_bytes()


def subset_database(batch: Batch) -> bytes:
    """A coach database holding exactly `batch`, made with coach's own schema."""
    with tempfile.TemporaryDirectory(prefix="coach-bundle-") as tmp:   # 0700: health data
        path = Path(tmp) / SUBSET
        with Store.open(path) as subset:
            with subset._tx():
                merge(subset.db.conn, batch)
        return _plain_database(path)


def pack(batch: Batch, fingerprint: str, created: str, invited_code: str | None = None,
         secret: bytes | None = None) -> bytes:
    """The zip (manifest + subset database, and with `secret` the manifest's signature) that is
    encrypted."""
    db_bytes = subset_database(batch)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "coach_version": __version__,
                "created": created, "clinic_fingerprint": fingerprint,
                "patient_codes": [p["code"] for p in batch.get("patients", [])],
                "row_counts": row_counts(batch), "subset_sha256": hashlib.sha256(db_bytes).hexdigest()}
    if secret is not None:
        manifest["invited_code"] = invited_code
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(MANIFEST, manifest_bytes)
        z.writestr(SUBSET, db_bytes)
        if secret is not None:
            z.writestr(SIGNATURE, clinic_keys.sign(secret, manifest_bytes))
    return buf.getvalue()


def seal(payload: bytes, recipient: str) -> bytes:
    """The bundle file's bytes: the cleartext line, then `payload` encrypted to `recipient`."""
    data = clinic_keys._age().encrypt(payload, [clinic_keys.parse_recipient(recipient)])
    line = f"{FORMAT} {FORMAT_VERSION} {clinic_keys.fingerprint(recipient)} {len(data)}\n".encode()
    return line + data


def _write_file(path: Path, data: bytes) -> None:
    try:
        write_bytes(path, data, durable=True)    # on disk before the ledger says it was sent; 0600
    except OSError as exc:
        raise CoachError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _only_invited(patient_code: str | None, invited_code: str | None, secret: bytes | None) -> str | None:
    """The one patient a coach joined with a token may share (the invited one), or `patient_code`."""
    if secret is None:
        return patient_code
    if patient_code and patient_code != invited_code:
        raise CoachError(f"This computer joined the clinic with {invited_code}'s invitation, so it shares only "
                         f"{invited_code}'s records, not {patient_code}'s.")
    return invited_code


def write_bundle(store_path, out_path, recipient: str, *, patient_code: str | None = None,
                 all_rows: bool = False, invited_code: str | None = None, secret: bytes | None = None) -> Shared:
    """Write the records of the database at `store_path` not yet sent to this clinic (or all of
    them with `all_rows`; or one patient's) to `out_path`, encrypted to `recipient` (the clinic's
    age public key). With an invitation (`invited_code` and its `secret`, from a join token) only
    that patient's records, signed. With nothing new, writes nothing (`Shared.written` is False)."""
    store_path, out_path = Path(store_path).expanduser(), Path(out_path).expanduser()
    fp = clinic_keys.fingerprint(recipient)
    clinic_keys.parse_recipient(recipient)
    patient_code = _only_invited(patient_code, invited_code, secret)
    if _same_file(store_path, out_path):
        raise CoachError(f"{out_path} is the database itself; choose another file for the bundle.")
    with Store.open(store_path, create=False) as store:
        if patient_code:
            store.get_patient(patient_code)
        conn, target = store.db.conn, TARGET_PREFIX + fp
        try:
            batch = collect(conn, target=None if all_rows else target, patient_code=patient_code)
            shared = Shared(out_path, fp, [p["code"] for p in batch["patients"]], row_counts(batch))
            if not any(shared.rows.values()):
                return shared
            created = now_iso()
            _write_file(out_path, seal(pack(batch, fp, created, invited_code, secret), recipient))
            shared.written = True
            with store._tx():
                mark_sent(conn, target, batch, created)
        except sqlite3.Error as exc:
            raise sql_error(store_path, exc) from exc
    return shared


# ---- reading ------------------------------------------------------------------------
def _read(path: Path, size: int = -1) -> bytes:
    """The file's bytes (the first `size` of them), or one sentence saying why it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except IsADirectoryError:
        raise CoachError(f"{path} is a folder, not a bundle or database file.") from None
    except OSError as exc:
        raise CoachError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def unseal_line(path: Path, raw: bytes) -> tuple[str, bytes]:
    """(the clinic fingerprint the file says it is for, the age data), or a refusal."""
    end = raw.find(b"\n", 0, MAX_LINE)
    parts = raw[:end].decode("ascii", "replace").split() if end > 0 else []
    if len(parts) != 4 or parts[0] != FORMAT or not parts[3].isdigit():
        raise incomplete(path)
    if not parts[1].isdigit() or int(parts[1]) > FORMAT_VERSION:
        raise CoachError(f"{path} was made by a newer coach (bundle format {parts[1]}); upgrade coach to "
                         "import it.")
    data, size = raw[end + 1:], int(parts[3])
    if len(data) < size or not data.startswith(b"age-encryption.org/"):
        raise incomplete(path)
    if len(data) > size:
        raise altered(path)
    return parts[2], data


def _unzip(path: Path, payload: bytes) -> tuple[bytes, bytes, bytes | None]:
    """The manifest's bytes, the subset database's and the signature's (None if unsigned)."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as z:
            signature = z.read(SIGNATURE) if SIGNATURE in z.namelist() else None
            return z.read(MANIFEST), z.read(SUBSET), signature
    except (zipfile.BadZipFile, KeyError, OSError):
        raise altered(path) from None


def _manifest(manifest_bytes: bytes, db_bytes: bytes) -> dict | None:
    """The manifest, or None if it is not one or the subset's hash does not match it."""
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    return manifest if hashlib.sha256(db_bytes).hexdigest() == manifest.get("subset_sha256") else None


def _upgraded(path: Path, conn: sqlite3.Connection) -> sqlite_utils.Database:
    """`conn`'s database, refused if foreign or newer, upgraded if older (conn is a private
    in-memory copy, so upgrading it changes no one's file)."""
    db = sqlite_utils.Database(conn, execute_plugins=False)
    check_version(path, db)
    if migrations.pending(db):
        migrations.apply(db)
    return db


def subset_batch(path: Path, db_bytes: bytes) -> Batch:
    """Everything in a bundle's subset database, read from memory."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(db_bytes)
        if [r[0] for r in conn.execute("PRAGMA quick_check")] != ["ok"]:
            raise altered(path)
        _upgraded(path, conn)
        return collect(conn)
    except sqlite3.Error:
        raise altered(path) from None
    finally:
        conn.close()


def open_bundle(path, identity) -> Opened:
    """The bundle at `path`, decrypted with `identity` (the clinic's age identity) and checked:
    complete, made for this clinic, and unaltered (hash and row counts). Who made it is not
    checked here (`check_maker`)."""
    path = Path(path)
    theirs, data = unseal_line(path, _read(path))
    age = clinic_keys._age()
    mine = clinic_keys.fingerprint(str(identity.to_public()))
    try:
        payload = age.decrypt(data, [identity])
    except age.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise foreign(path, theirs, mine) from None
        raise altered(path) from None
    manifest_bytes, db_bytes, signature = _unzip(path, payload)
    manifest = _manifest(manifest_bytes, db_bytes)
    if manifest is None or manifest.get("clinic_fingerprint") != theirs:
        raise altered(path)
    batch = subset_batch(path, db_bytes)
    if (row_counts(batch) != manifest.get("row_counts")
            or [p["code"] for p in batch["patients"]] != manifest.get("patient_codes")):
        raise altered(path)
    return Opened(batch, manifest, manifest_bytes, signature)


def read_bundle(path, identity) -> Batch:
    """The rows of the bundle at `path` (`open_bundle`)."""
    return open_bundle(path, identity).batch


def _owners(conn: sqlite3.Connection, table: str, ids: list) -> set:
    """The patient ids of the stored rows of `table` with these ids."""
    found: set = set()
    for i in range(0, len(ids), ID_CHUNK):
        part = ids[i:i + ID_CHUNK]
        found.update(r[0] for r in conn.execute(
            f"SELECT patient_id FROM {table} WHERE id IN ({', '.join('?' * len(part))})", part))
    return found


def _only_theirs(conn: sqlite3.Connection, batch: Batch, code: str) -> bool:
    """Whether every row of `batch` already stored here is patient `code`'s: a signed bundle
    may add to and update its own patient's records only, never a row of someone else that
    happens to carry the same UUID."""
    mine = {r[0] for r in conn.execute("SELECT id FROM patients WHERE code = ?", [code])}
    for patient in batch["patients"]:
        stored = conn.execute("SELECT code FROM patients WHERE id = ?", [patient["id"]]).fetchone()
        if stored is not None and stored[0] != code:
            return False
        mine.add(patient["id"])
    return all(_owners(conn, table, [r["id"] for r in batch.get(table, [])]) <= mine for table in REPOINTED)


def check_maker(path: Path, opened: Opened, conn: sqlite3.Connection) -> bool:
    """Whether the bundle is signed (True) or not (False, allowed unless the clinic imports
    signed bundles only); a bad signature, or one for other records than its patient's, is
    refused in one sentence."""
    if opened.signature is None:
        if clinic_keys.signed_only():
            raise not_signed(path)
        return False
    code = opened.manifest.get("invited_code")
    secret = clinic_keys.invite_secret(code)
    if secret is None or not clinic_keys.signed_by(secret, opened.manifest_bytes, opened.signature):
        raise not_invited(path, code)
    assert isinstance(code, str)                  # (a code this clinic invited)
    if [p["code"] for p in opened.batch["patients"]] != [code] or not _only_theirs(conn, opened.batch, code):
        raise not_theirs(path, code)
    return True


def database_batch(path: Path) -> Batch:
    """Everything a coach database (a kiosk's file) gives, opened read-only; a foreign database
    or one written by a newer coach is refused, one of an older coach read through an upgraded
    in-memory copy (the file itself is never written)."""
    if not check_file(path, BUSY_TIMEOUT_MS):
        raise CoachError(f"{path} is empty; nothing was imported.")
    conn = connect_readonly(path, BUSY_TIMEOUT_MS)
    try:
        if migrations.pending(sqlite_utils.Database(conn, execute_plugins=False)):
            copy = sqlite3.connect(":memory:")
            conn.backup(copy)
            conn.close()
            conn = copy
            _upgraded(path, conn)
        return collect(conn)
    except sqlite3.Error as exc:
        raise sql_error(path, exc) from exc
    finally:
        conn.close()


def import_file(store: Store, path) -> Imported:
    """Merge a bundle (decrypted with this clinic's key) or a coach database file into `store`,
    in one transaction. Returns what changed; a second import of the same file changes nothing."""
    path = Path(path).expanduser()
    if _same_file(store.path, path):
        raise CoachError(f"{path} is the database being imported into; nothing was imported.")
    signed = False
    if _read(path, len(SQLITE_HEADER)) == SQLITE_HEADER:
        batch, kind = database_batch(path), "database"
    else:
        opened, kind = open_bundle(path, clinic_keys.load_identity()), "bundle"
        batch = opened.batch
    try:
        with store._tx():                      # all or nothing; the owners checked inside it
            if kind == "bundle":
                signed = check_maker(path, opened, store.db.conn)
            counts = merge(store.db.conn, batch)
    except sqlite3.Error as exc:
        raise sql_error(store.path, exc) from exc
    return Imported(tables=counts.tables, remapped=counts.remapped,
                    patient_codes=[p["code"] for p in batch["patients"]], kind=kind, signed=signed)
