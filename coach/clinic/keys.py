"""The clinic's key pair, and on a patient's computer the clinic it shares with.

Bundles of records travel from patients to their clinic encrypted with age (X25519): the
clinic makes a key pair once (`init_clinic`), prints its public key (`clinic_public_key`),
and each patient's coach stores that key (`join_clinic`) to encrypt bundles only the clinic
can open. The private key never leaves the clinic's computer.

Encryption is not authentication: every patient holds the public key, so anyone could make a
bundle about another patient. So the clinic can also invite each patient (`invite`): a secret of
32 random bytes per patient code, given to the patient inside a join token
(`coach-join-1:<public key>:<code>:<secret>`). A coach that joined with a token shares only that
patient's records and signs each bundle's manifest with the secret (HMAC-SHA256, `sign`); the
clinic checks the signature against the secret it keeps for that code.

Files, in `<user data folder>/clinic/` (0700), all 0600:
    identity.txt   the clinic's private key, in age's identity file format
    clinic.json    its name, public key and `signed_only` (refuse bundles without a signature)
    invites.json   on the clinic's computer: {code: {"secret": base64url, "created": iso}}
    joined.json    on a patient's computer: the clinic's public key and name, and with a token
                   the invited code and its secret

A fingerprint (the first 8 hex digits of the SHA-256 of the public key) names a key in
messages, short enough to read out over the phone.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from pathlib import Path

from coach.core.files import write_bytes, write_json
from coach.errors import CoachError
from coach.core.files import PRIVATE_DIR, private_folder
from coach.log.file import data_dir, tighten
from coach.log.patients import patient_code

IDENTITY_FILE = "identity.txt"
CLINIC_FILE = "clinic.json"
JOINED_FILE = "joined.json"
INVITES_FILE = "invites.json"
TOKEN_PREFIX = "coach-join-"
TOKEN_VERSION = 1
SECRET_BYTES = 32
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
    text = (f"# coach clinic key: {name}\n# created: {datetime.now().astimezone().isoformat()}\n"
            f"# public key: {public_key}\n{identity}\n")
    write_bytes(path, text.encode("utf-8"), durable=True)      # 0600, and on disk before it is used


def _save(path: Path, data: dict) -> None:
    try:
        write_json(path, data)          # temp file + rename, 0600
    except OSError as exc:
        raise CoachError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def init_clinic(name: str = "clinic", force: bool = False, signed_only: bool = False) -> dict:
    """Make this computer's clinic key pair; refuse to replace one unless `force` (every bundle
    made for the old key could no longer be opened). `signed_only`: import only bundles signed
    by an invited patient. Returns {name, public_key, fingerprint, path}."""
    folder = key_dir()
    path = folder / IDENTITY_FILE
    if path.exists() and not force:
        raise CoachError(f"This computer already has a clinic key (fingerprint {fingerprint(clinic_public_key())}) "
                         f"in {path}; replacing it would make every bundle made for it unreadable, so it "
                         "was kept (use --force to replace it anyway).")
    identity = _age().x25519.Identity.generate()
    public_key = str(identity.to_public())
    _write_identity(path, identity, public_key, name)
    _save(folder / CLINIC_FILE, {"name": name, "public_key": public_key, "signed_only": bool(signed_only)})
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


def join_clinic(key_or_token: str, name: str | None = None) -> dict:
    """Remember the clinic this computer shares with, from its public key or from a join token
    (`invite`), which also names the one patient shared and the secret that signs their bundles.
    Returns {public_key, name, fingerprint, joined, invited_code (None with a plain key)}."""
    text = (key_or_token or "").strip()
    token = parse_token(text) if text.startswith(TOKEN_PREFIX) else None
    key = token["public_key"] if token else text
    parse_recipient(key)
    info = {"public_key": key, "name": name or "", "fingerprint": fingerprint(key), "joined": _now()}
    if token:
        info.update(invited_code=token["code"], secret=encode(token["secret"]))
    _save(key_dir() / JOINED_FILE, info)
    return {**info, "invited_code": token and token["code"], "secret": token and token["secret"]}


def joined_clinic() -> dict | None:
    """The clinic this computer shares with ({public_key, name, fingerprint, joined, invited_code,
    secret}: the last two None unless it joined with a token), or None."""
    path = key_dir() / JOINED_FILE
    info = _read_json(path)
    if not info:
        return None
    tighten(path)
    parse_recipient(str(info.get("public_key", "")))
    code, secret = info.get("invited_code"), None
    if code is not None:
        secret = decode(info.get("secret"))
        if not isinstance(code, str) or not code or secret is None:
            raise CoachError(f"{path} is damaged; join the clinic again with the token it gave you.")
    return {**info, "fingerprint": fingerprint(info["public_key"]), "invited_code": code, "secret": secret}


# ---- invitations: one secret per patient, to sign their bundles ------------------------
def encode(secret: bytes) -> str:
    """base64url without padding: no characters a token, a URL or a QR code would mangle."""
    return base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii")


def decode(text) -> bytes | None:
    """The secret `encode` wrote, or None if `text` is not one."""
    if not isinstance(text, str):
        return None
    try:
        secret = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    return secret if len(secret) == SECRET_BYTES else None


def join_token(public_key: str, code: str, secret: bytes) -> str:
    return f"{TOKEN_PREFIX}{TOKEN_VERSION}:{public_key}:{code}:{encode(secret)}"


def _is_key(key: str) -> bool:
    try:
        parse_recipient(key)
    except CoachError:
        return False
    return True


def parse_token(text: str) -> dict:
    """{public_key, code, secret} of a join token, or one sentence saying what is wrong."""
    text = (text or "").strip()
    version, _, rest = text[len(TOKEN_PREFIX):].partition(":")
    if version.isdigit() and int(version) > TOKEN_VERSION:
        raise CoachError(f"This join token was made by a newer coach (version {version}); upgrade coach to use it.")
    key, _, rest = rest.partition(":")
    code, _, secret = rest.rpartition(":")       # the secret and the key hold no ':', a code might
    if not (text.startswith(f"{TOKEN_PREFIX}{TOKEN_VERSION}:") and code and code.split() == [code]
            and decode(secret) is not None and _is_key(key)):
        raise CoachError("This is not a whole join token: it should be the one line `coach clinic invite` "
                         "printed (coach-join-1:age1…:CODE:…), copied whole.")
    return {"public_key": key, "code": code, "secret": decode(secret)}


def _invites() -> tuple[Path, dict]:
    path = key_dir() / INVITES_FILE
    invites = _read_json(path) or {}
    tighten(path)
    if not isinstance(invites, dict):
        raise CoachError(f"{path} is damaged; it should hold the clinic's invitations.")
    return path, invites


def invite(code: str, new: bool = False) -> dict:
    """The join token of patient `code`: made (with a new secret) the first time or with `new`
    (bundles signed with the old secret are then refused), else the same one again.
    Returns {code, token, created, made}."""
    code = patient_code(code)
    public_key = clinic_public_key()
    path, invites = _invites()
    entry = invites.get(code)
    made = new or not isinstance(entry, dict) or decode(entry.get("secret")) is None
    if made:
        entry = {"secret": encode(secrets.token_bytes(SECRET_BYTES)), "created": _now()}
        _save(path, {**invites, code: entry})
    assert isinstance(entry, dict)
    secret = decode(entry["secret"])
    assert secret is not None                     # (made above, or checked)
    return {"code": code, "token": join_token(public_key, code, secret),
            "created": entry.get("created", ""), "made": made}


def invite_secret(code) -> bytes | None:
    """The secret this clinic gave patient `code`, or None if it never invited them."""
    entry = _invites()[1].get(code) if isinstance(code, str) else None
    return decode(entry.get("secret")) if isinstance(entry, dict) else None


def sign(secret: bytes, data: bytes) -> str:
    """Hex HMAC-SHA256 of `data` with `secret`."""
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def signed_by(secret: bytes, data: bytes, signature: bytes) -> bool:
    """Whether `signature` (hex, as `sign` wrote it) is `data` signed with `secret`, compared in
    constant time so the answer leaks nothing of the right one."""
    return hmac.compare_digest(sign(secret, data).encode("ascii"), signature.strip())


# ---- the clinic's setting: signed bundles only ---------------------------------------
def signed_only() -> bool:
    """Whether this clinic imports only bundles signed by an invited patient."""
    return (_read_json(key_dir() / CLINIC_FILE) or {}).get("signed_only") is True


def require_signed(on: bool = True) -> None:
    """Import only signed bundles from now on (or, `on` False, unsigned ones too)."""
    public_key = clinic_public_key()           # no clinic key: one sentence saying so
    path = key_dir() / CLINIC_FILE
    info = _read_json(path) or {"name": "clinic", "public_key": public_key}
    _save(path, {**info, "signed_only": bool(on)})
