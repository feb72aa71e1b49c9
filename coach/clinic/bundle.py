"""Patient bundles (encrypted files of records for the clinic) and importing them, or a kiosk's file.

A bundle, on disk
    One cleartext line, `coach-bundle 1 <clinic fingerprint> <length>`, then an age file
    (X25519, authenticated encryption) of that length. The line is there because age hides
    whom a file is for: without it a clinic could only say "not for this key", never for
    which key a bundle was made. A bundle whose line names another key is refused as made for
    that key without trying to open it (no decryption error's wording is ever read); the line is
    checked after decryption against the manifest; the length tells a bundle cut short in
    copying from one altered. (`age -d`
    opens the rest: `tail -n +2 FILE | age -d -i identity.txt`.)

Inside, once decrypted: a zip of
    manifest.json  {format, format_version, coach_version, created, clinic_fingerprint,
                    patient_codes, row_counts, subset_sha256, subset_bytes[, invited_code]}
                   (subset_bytes: from this version on; the expansion is capped by it)
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

Importing: check before you expand
    `import_file` takes a bundle or a plain coach database (a kiosk's file, opened read-only),
    refuses anything else in one sentence, and merges everything in ONE transaction: all or
    nothing. Importing the same file twice changes nothing. Every refusal changes nothing.
    A bundle's size is checked before it is read (COACH_BUNDLE_MAX_MB), its manifest and
    signature before its database is expanded; the database is streamed into a private
    temporary file with a cap (COACH_BUNDLE_MAX_EXPANDED_MB, and 100 times what arrived),
    hashed on the way, and read through the door (`coach.clinic.door`), as a kiosk's file is.
    Whose records they are is checked against the store inside the import's transaction
    (`door.check_parents`): a signed bundle's rows must all be its invited patient's.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from coach import __version__
from coach.core.files import write_bytes
from coach.errors import CoachError
from coach.clinic import door
from coach.clinic import keys as clinic_keys
from coach.log.file import SQLITE_HEADER, sql_error
from coach.clinic.merge import SQLITE, Batch, Counts, collect, mark_sent, merge, remap_patients, row_counts
from coach.log.store import Store, now_iso

FORMAT = "coach-bundle"
FORMAT_VERSION = 1
MAGIC = FORMAT.encode()
MAX_LINE = 200                     # the cleartext line is ~40 bytes; more is not a bundle
TARGET_PREFIX = "bundle:"          # ledger destination of the bundles for one clinic key
MANIFEST, SUBSET, SIGNATURE = "manifest.json", "subset.db", "manifest.hmac"
MAX_MB_ENV, DEFAULT_MAX_MB = "COACH_BUNDLE_MAX_MB", 512                       # the file as it arrives
MAX_EXPANDED_ENV, DEFAULT_MAX_EXPANDED_MB = "COACH_BUNDLE_MAX_EXPANDED_MB", 2048   # its subset database
EXPANSION, EXPANSION_FLOOR = 100, 64 * 1024 * 1024    # expanded: at most 100 x what arrived (or 64 MB)
MAX_MANIFEST, MAX_SIGNATURE = 1024 * 1024, 1024       # bytes, read before anything else is expanded
EXPAND_BLOCK = 1024 * 1024


@dataclass
class Shared:
    """What `write_bundle` wrote (or, with nothing new, would have: `written` is False)."""
    path: Path
    fingerprint: str
    patient_codes: list
    rows: dict                     # {table: rows}
    written: bool = False
    set_aside: list = field(default_factory=list)   # one sentence per session the door would refuse

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
    signer: str | None = None      # the invited code whose secret signed it


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


def too_big(path, what: str) -> CoachError:
    return door.Refused(f"{path} {what}, the most this clinic accepts; nothing was imported.")


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
    manifest["subset_bytes"] = len(db_bytes)
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
    that patient's records, signed. With nothing new, writes nothing (`Shared.written` is False).
    A session the clinic's door would refuse (a value that fails it) stays out, unsent and named in
    `Shared.set_aside`, so one bad value never makes the whole bundle refused."""
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
            batch, set_aside = door.sort_out(collect(conn, target=None if all_rows else target,
                                                     patient_code=patient_code))
            shared = Shared(out_path, fp, [p["code"] for p in batch["patients"]], row_counts(batch),
                            set_aside=set_aside)
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


# ---- reading: check before you expand -------------------------------------------------
def _setting_mb(name: str, default_mb: int) -> int:
    try:
        value = float(os.environ.get(name, "") or default_mb)
    except ValueError:
        value = default_mb
    return round((value if value > 0 else default_mb) * 1024 * 1024)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def max_bytes() -> int:
    """The largest bundle file read at all (COACH_BUNDLE_MAX_MB, default 512 MB)."""
    return _setting_mb(MAX_MB_ENV, DEFAULT_MAX_MB)


def max_expanded(arrived: int) -> int:
    """The most a bundle's subset database may expand to: COACH_BUNDLE_MAX_EXPANDED_MB (default
    2048 MB), and never more than EXPANSION times the bytes that arrived (at least 64 MB); a real
    subset database compresses a few times, a zip bomb a thousand."""
    return min(_setting_mb(MAX_EXPANDED_ENV, DEFAULT_MAX_EXPANDED_MB), max(EXPANSION_FLOOR, EXPANSION * arrived))


def _read(path: Path, size: int = -1) -> bytes:
    """The file's bytes (the first `size` of them), or one sentence saying why it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except IsADirectoryError:
        raise CoachError(f"{path} is a folder, not a bundle or database file.") from None
    except OSError as exc:
        raise CoachError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def _read_capped(path: Path) -> bytes:
    """The whole file, refused without reading it if it is larger than any bundle coach makes
    (its size is asked first: reading `limit` bytes would make a buffer that large)."""
    limit = max_bytes()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise too_big(path, f"is larger than {_mb(limit)} ({MAX_MB_ENV})")
            data = f.read(size + 1)
    except IsADirectoryError:
        raise CoachError(f"{path} is a folder, not a bundle or database file.") from None
    except OSError as exc:
        raise CoachError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if len(data) > limit:
        raise too_big(path, f"is larger than {_mb(limit)} ({MAX_MB_ENV})")
    return data


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


def _decrypt(path: Path, theirs: str, data: bytes, identity) -> bytes:
    """The payload, decrypted. The cleartext line says whom the bundle is for: a bundle for
    another key is refused as such without trying; one for this key that does not open was altered.
    (No error message is read: pyrage's wording is no interface.)"""
    mine = clinic_keys.fingerprint(str(identity.to_public()))
    if theirs != mine:
        raise foreign(path, theirs, mine)
    age = clinic_keys._age()
    try:
        return age.decrypt(data, [identity])
    except age.DecryptError:
        raise altered(path) from None


def _member(path: Path, z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A small member of the zip, read at most `limit` bytes far (its declared size is not trusted)."""
    with z.open(name) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise altered(path)
    return data


def _zip(path: Path, payload: bytes) -> zipfile.ZipFile:
    """The payload's zip, with exactly the members a bundle has, stored or deflated."""
    try:
        z = zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise altered(path) from None
    infos = z.infolist()
    names = [i.filename for i in infos]
    if (len(infos) > 3 or len(set(names)) != len(names) or not {MANIFEST, SUBSET} <= set(names)
            or not set(names) <= {MANIFEST, SUBSET, SIGNATURE}
            or any(i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos)):
        z.close()
        raise altered(path)
    return z


def _manifest(path: Path, manifest_bytes: bytes, theirs: str) -> dict:
    """The manifest, or a refusal if it is not one or names another clinic than the line."""
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, RecursionError):
        raise altered(path) from None
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT
            or manifest.get("clinic_fingerprint") != theirs or not isinstance(manifest.get("subset_sha256"), str)):
        raise altered(path)
    return manifest


def _maker(path: Path, manifest: dict, manifest_bytes: bytes, signature: bytes | None) -> str | None:
    """The invited code that signed the manifest, None for an unsigned bundle (allowed unless the
    clinic imports signed bundles only); a bad signature is refused. Checked on the manifest's
    bytes alone, before the subset database is expanded."""
    if signature is None:
        if clinic_keys.signed_only():
            raise not_signed(path)
        return None
    code = manifest.get("invited_code")
    secret = clinic_keys.invite_secret(code)
    if secret is None or not clinic_keys.signed_by(secret, manifest_bytes, signature):
        raise not_invited(path, code)
    return code


def _expand(path: Path, z: zipfile.ZipFile, manifest: dict, limit: int, into: Path) -> None:
    """Stream the subset database into `into` (0600), at most `limit` bytes (or exactly the size a
    signed manifest states), hashing as it goes; refused if larger or not the manifest's."""
    stated = manifest.get("subset_bytes")
    if isinstance(stated, int) and not isinstance(stated, bool):
        if not 0 < stated <= limit:
            raise too_big(path, f"would expand beyond {_mb(limit)} ({MAX_EXPANDED_ENV})")
        limit = stated
    digest, written = hashlib.sha256(), 0
    fd = os.open(into, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        try:
            with z.open(SUBSET) as f:
                while True:
                    block = f.read(EXPAND_BLOCK)
                    if not block:
                        break
                    written += len(block)
                    if written > limit:
                        raise too_big(path, f"expands beyond {_mb(limit)} ({MAX_EXPANDED_ENV})")
                    digest.update(block)
                    out.write(block)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
            raise altered(path) from None
    if digest.hexdigest() != manifest["subset_sha256"] or (isinstance(stated, int) and written != stated):
        raise altered(path)


def open_bundle(path, identity) -> Opened:
    """The bundle at `path`, checked in this order, each step before anything is expanded: its size,
    the clinic it is for, decryption (age authenticates every chunk), the zip's members, the
    manifest and its signature (`_maker`); then the subset database, streamed with a cap into a
    private temporary file, hashed, and read through the door (`coach.clinic.door`). Whose
    records these are against the store is checked at import (`import_file`)."""
    path = Path(path)
    raw = _read_capped(path)
    theirs, data = unseal_line(path, raw)
    del raw
    payload = _decrypt(path, theirs, data, identity)
    del data
    with _zip(path, payload) as z:
        manifest_bytes = _member(path, z, MANIFEST, MAX_MANIFEST)
        signature = _member(path, z, SIGNATURE, MAX_SIGNATURE) if SIGNATURE in z.namelist() else None
        manifest = _manifest(path, manifest_bytes, theirs)
        signer = _maker(path, manifest, manifest_bytes, signature)
        with tempfile.TemporaryDirectory(prefix="coach-import-") as tmp:   # 0700
            subset = Path(tmp) / SUBSET
            _expand(path, z, manifest, max_expanded(len(payload)), subset)
            del payload
            batch = door.read_database(subset, source=path)
    if (row_counts(batch) != manifest.get("row_counts")
            or [p["code"] for p in batch["patients"]] != manifest.get("patient_codes")):
        raise altered(path)
    if signer is not None and [p["code"] for p in batch["patients"]] != [signer]:
        raise not_theirs(path, signer)
    return Opened(batch, manifest, manifest_bytes, signature, signer)


def import_file(store: Store, path) -> Imported:
    """Merge a bundle (decrypted with this clinic's key) or a coach database file into `store`,
    in one transaction. Returns what changed; a second import of the same file changes nothing."""
    path = Path(path).expanduser()
    if _same_file(store.path, path):
        raise CoachError(f"{path} is the database being imported into; nothing was imported.")
    signer = None
    if _read(path, len(SQLITE_HEADER)) == SQLITE_HEADER:
        batch, kind = door.read_database(path), "database"
    else:
        opened, kind = open_bundle(path, clinic_keys.load_identity()), "bundle"
        batch, signer = opened.batch, opened.signer
    try:
        with store._tx():                      # all or nothing; the owners checked inside it
            conn = store.db.conn
            door.check_parents(conn.cursor(), SQLITE.placeholder, batch,
                               remap_patients(conn.cursor(), SQLITE, batch["patients"]), path, signer)
            counts = merge(conn, batch)
    except sqlite3.Error as exc:
        raise sql_error(store.path, exc) from exc
    return Imported(tables=counts.tables, remapped=counts.remapped,
                    patient_codes=[p["code"] for p in batch["patients"]], kind=kind, signed=signer is not None)
