"""The clinic's key pair, and on a patient's computer the clinic it shares with.

Bundles of records travel from patients to their clinic encrypted with age (X25519): the
clinic makes a key pair once (`init_clinic`), prints its public key (`clinic_public_key`),
and each patient's coach stores that key (`join_clinic`) to encrypt bundles only the clinic
can open. The private key never leaves the clinic's computer.

Files, in `<user data folder>/clinic/` (0700):
    identity.txt   the clinic's private key, in age's identity file format (0600)
    clinic.json    its name and public key
    joined.json    on a patient's computer: the clinic's public key and name

A fingerprint (the first 8 hex digits of the SHA-256 of the public key) names a key in
messages, short enough to read out over the phone.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from coach.core.files import write_atomic, write_json
from coach.errors import CoachError
from coach.io.dbfile import PRIVATE_DIR, PRIVATE_FILE, data_dir, private_folder, tighten

IDENTITY_FILE = "identity.txt"
CLINIC_FILE = "clinic.json"
JOINED_FILE = "joined.json"
SECRET_PREFIX = "AGE-SECRET-KEY-1"
PUBLIC_PREFIX = "age1"
FINGERPRINT_HEX = 8


def _age():
    try:
        import pyrage
    except ImportError:
        raise CoachError('Clinic keys and bundles need the age library: pip install "coach[clinic]".') from None
    return pyrage


def key_dir() -> Path:
    """The folder of the key files, created owner-only."""
    folder = data_dir() / "clinic"
    private_folder(folder)
    tighten(folder, PRIVATE_DIR)
    return folder


def fingerprint(public_key: str) -> str:
    """A short name for a public key: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(public_key.strip().encode()).hexdigest()[:FINGERPRINT_HEX]


def parse_recipient(public_key: str):
    """The age recipient of a clinic's public key, or one sentence saying what is wrong."""
    key = (public_key or "").strip()
    if key.startswith(PUBLIC_PREFIX):
        try:
            return _age().x25519.Recipient.from_str(key)
        except Exception:  # pyrage.RecipientError: a typo or a cut-off key
            pass
    shown = key if len(key) <= 20 else key[:20] + "…"
    raise CoachError(f"{shown!r} is not a clinic key: it should be the age public key (age1…) that "
                     "the clinic's `coach clinic key` printed, copied whole.")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CoachError(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}.") from None


def _write_identity(path: Path, identity, public_key: str, name: str) -> None:
    def write(tmp: str) -> None:
        # mkstemp made the file 0600 already; said again so no umask or copy can loosen it.
        os.chmod(tmp, PRIVATE_FILE)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"# coach clinic key: {name}\n# created: {datetime.now().astimezone().isoformat()}\n"
                    f"# public key: {public_key}\n{identity}\n")
            f.flush()
            os.fsync(f.fileno())
    write_atomic(path, write)


def init_clinic(name: str = "clinic", force: bool = False) -> dict:
    """Make this computer's clinic key pair; refuse to replace one unless `force` (every bundle
    made for the old key could no longer be opened). Returns {name, public_key, fingerprint, path}."""
    folder = key_dir()
    path = folder / IDENTITY_FILE
    if path.exists() and not force:
        raise CoachError(f"This computer already has a clinic key (fingerprint {fingerprint(clinic_public_key())}) "
                         f"in {path}; replacing it would make every bundle made for it unreadable, so it "
                         "was kept (use --force to replace it anyway).")
    identity = _age().x25519.Identity.generate()
    public_key = str(identity.to_public())
    _write_identity(path, identity, public_key, name)
    write_json(folder / CLINIC_FILE, {"name": name, "public_key": public_key})
    return {"name": name, "public_key": public_key, "fingerprint": fingerprint(public_key), "path": path}


def _identity_text() -> str:
    path = key_dir() / IDENTITY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CoachError("This computer has no clinic key; make one with `coach clinic init`.") from None
    tighten(path)
    for line in text.splitlines():
        if line.strip().startswith(SECRET_PREFIX):
            return line.strip()
    raise CoachError(f"{path} holds no clinic key (no line starts with {SECRET_PREFIX}).")


def load_identity():
    """This clinic's private key, as an age identity."""
    text = _identity_text()
    try:
        return _age().x25519.Identity.from_str(text)
    except Exception:  # pyrage.IdentityError
        raise CoachError(f"The clinic key in {key_dir() / IDENTITY_FILE} is damaged.") from None


def clinic_public_key() -> str:
    """This clinic's public key (age1…), which patients' coaches encrypt bundles to."""
    return str(load_identity().to_public())


def clinic_name() -> str:
    info = _read_json(key_dir() / CLINIC_FILE) or {}
    return str(info.get("name") or "clinic")


def join_clinic(public_key: str, name: str | None = None) -> dict:
    """Remember the clinic this computer shares with. Returns {public_key, name, fingerprint}."""
    key = public_key.strip()
    parse_recipient(key)
    info = {"public_key": key, "name": name or "", "fingerprint": fingerprint(key),
            "joined": datetime.now().astimezone().isoformat(timespec="seconds")}
    write_json(key_dir() / JOINED_FILE, info)
    return info


def joined_clinic() -> dict | None:
    """The clinic this computer shares with ({public_key, name, fingerprint, joined}), or None."""
    info = _read_json(key_dir() / JOINED_FILE)
    if not info:
        return None
    parse_recipient(str(info.get("public_key", "")))
    return {**info, "fingerprint": fingerprint(info["public_key"])}
