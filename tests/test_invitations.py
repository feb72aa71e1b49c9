"""Per-patient invitations: bundles that prove which invited patient made them, forgeries refused
without changing anything, unsigned bundles imported with a warning or refused when the clinic says so."""
from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import stat
from datetime import timedelta

import pytest

from coach.errors import CoachError
from coach.clinic import bundle
from coach.clinic import keys as clinic_keys
from coach.clinic.merge import collect
from coach.log.store import Store
from test_bundles import WHEN, cli, dump, import_into, make_db, repacked, share, unpacked

pytest_plugins = ("bundle_fixtures",)     # the keys and cli_home fixtures

# ---- invitations: bundles that prove who made them ------------------------------------
UNSIGNED = ("Not signed by an invited patient: check who sent it. (coach clinic invite CODE gives each patient "
            "a token that signs their bundles.)")


def join_invited(code: str) -> None:
    clinic_keys.join_clinic(clinic_keys.invite(code)["token"])


def signed_share(home, out, **kw):
    j = clinic_keys.joined_clinic()
    return bundle.write_bundle(home, out, j["public_key"], invited_code=j["invited_code"], secret=j["secret"], **kw)


@pytest.fixture
def invited(keys, tmp_path):
    """The clinic holds P2's records and invited P1 and P2; this home (P1's token) holds P1 and a newer P2."""
    clinic = tmp_path / "clinic.db"
    import_into(clinic, make_db(tmp_path / "b.db", code="P2"))
    home = make_db(tmp_path / "home.db", code="P1")
    make_db(home, code="P2", n=1, start=WHEN + timedelta(days=30))
    clinic_keys.invite("P2")
    join_invited("P1")
    return home, clinic


def test_an_invited_patient_signs_and_the_clinic_checks(invited, tmp_path):
    (home, clinic), out = invited, tmp_path / "p1.bundle"
    assert signed_share(home, out).patient_codes == ["P1"]          # P2 is here too, but not invited here
    files = unpacked(out)
    assert json.loads(files["manifest.json"])["invited_code"] == "P1"
    assert files["manifest.hmac"].decode() == hmac.new(clinic_keys.invite_secret("P1"), files["manifest.json"],
                                                       hashlib.sha256).hexdigest()
    got = import_into(clinic, out)
    assert (got.signed, got.patient_codes, got.tables["sessions"]) == (True, ["P1"], (2, 0, 0))
    with pytest.raises(CoachError, match="shares only P1's records, not P2's"):
        signed_share(home, tmp_path / "p2.bundle", patient_code="P2")
    assert not clinic_keys.invite("P1")["made"]
    for name in ("invites.json", "joined.json"):
        assert stat.S_IMODE((tmp_path / "xdg" / "coach" / "clinic" / name).stat().st_mode) == 0o600


def sealed_as(code):
    """A spoiler: P2's records in a bundle claiming `code`, signed with this home's (P1's) secret."""
    def spoil(home, out):
        batch, key = collect(sqlite3.connect(home), patient_code="P2"), clinic_keys.clinic_public_key()
        out.write_bytes(bundle.seal(bundle.pack(batch, clinic_keys.fingerprint(key), "2024-05-01", code,
                                                clinic_keys.joined_clinic()["secret"]), key))
    return spoil


def relabelled(home, out):
    """P1's signed bundle with P2's records put in, the hash and counts redone, the signature kept."""
    signed_share(home, out)
    files, batch = unpacked(out), collect(sqlite3.connect(home), patient_code="P2")
    db = bundle.subset_database(batch)
    manifest = {**json.loads(files["manifest.json"]), "invited_code": "P2", "patient_codes": ["P2"],
                "row_counts": bundle.row_counts(batch), "subset_sha256": hashlib.sha256(db).hexdigest()}
    repacked({**files, "manifest.json": manifest, "subset.db": db}, out)


def reissued(home, out):
    clinic_keys.invite("P1", new=True)            # the home still holds the old token
    signed_share(home, out)


def same_uuid(home, out):
    """One of P1's sessions, edited later, carrying the UUID of a session of P2's at the clinic."""
    theirs = collect(sqlite3.connect(home.with_name("b.db")))["sessions"][0]["id"]
    mine = collect(sqlite3.connect(home), patient_code="P1")["sessions"][0]["id"]
    with sqlite3.connect(home) as conn:
        conn.execute("UPDATE sessions SET id = ?, updated = '2030-01-01T00:00:00+00:00' WHERE id = ?", [theirs, mine])
    conn.close()
    signed_share(home, out)


@pytest.mark.parametrize("spoil, sentence", [
    (sealed_as("P2"), "was not made by a patient this clinic invited as P2 (or was altered); nothing was imported."),
    (sealed_as("P9"), "invited as P9 (or was altered)"),
    (sealed_as("P1"), "holds records that are not P1's, though only P1 signed it"),
    (relabelled, "invited as P2 (or was altered)"),
    (reissued, "invited as P1 (or was altered)"),
    (same_uuid, "holds records that are not P1's"),
])
def test_a_bundle_not_made_by_its_invited_patient_is_refused(invited, tmp_path, spoil, sentence):
    home, clinic = invited
    before = dump(clinic)
    spoil(home, tmp_path / "bad.bundle")
    with pytest.raises(CoachError) as refused:
        import_into(clinic, tmp_path / "bad.bundle")
    assert sentence in str(refused.value) and str(refused.value).count(". ") == 0 and dump(clinic) == before


def test_an_unsigned_bundle_is_imported_with_a_warning(keys, cli_home, tmp_path, capsys):
    clinic = tmp_path / "clinic.db"
    share(cli_home, tmp_path / "p.bundle")                        # joined with the plain key
    code, text = cli(capsys, "import", tmp_path / "p.bundle", "--db", clinic)
    assert code == 0 and text.startswith("Imported 2 sessions for P1") and text.splitlines()[-1] == UNSIGNED
    assert cli(capsys, "clinic", "require-signed")[0] == 0 and clinic_keys.signed_only()
    code, text = cli(capsys, "import", make_db(tmp_path / "kiosk.db", code="K1", kind="kiosk"), "--db", clinic)
    assert code == 0 and text.startswith("Imported 2 sessions for K1") and "sign" not in text   # not a bundle
    assert cli(capsys, "clinic", "require-signed", "--off")[0] == 0 and not clinic_keys.signed_only()
    assert cli(capsys, "clinic", "init", "--force", "--signed-only")[0] == 0 and clinic_keys.signed_only()


def test_a_clinic_that_imports_signed_bundles_only_refuses_the_rest(keys, cli_home, tmp_path, capsys):
    clinic = tmp_path / "clinic.db"
    share(cli_home, tmp_path / "1.bundle")                        # joined with the plain key
    join_invited("P1")
    signed_share(cli_home, tmp_path / "2.bundle", all_rows=True)  # signed, then its signature taken off
    repacked({k: v for k, v in unpacked(tmp_path / "2.bundle").items() if k != "manifest.hmac"}, tmp_path / "2.bundle")
    clinic_keys.require_signed()
    Store.open(clinic).close()
    before = dump(clinic)
    for name in ("1.bundle", "2.bundle"):
        assert cli(capsys, "import", tmp_path / name, "--db", clinic) == (
            1, f"coach: {tmp_path / name} is not signed by an invited patient and this clinic imports only signed "
               "bundles (coach clinic invite CODE gives each patient a token that signs them); nothing was imported.\n")
    assert dump(clinic) == before
    clinic_keys.require_signed(False)
    assert import_into(clinic, tmp_path / "2.bundle").tables["sessions"] == (2, 0, 0)


def test_the_cli_invites_joins_with_a_token_and_imports_quietly(cli_home, tmp_path, capsys):
    assert cli(capsys, "clinic", "init", "--name", "North")[0] == 0
    code, text = cli(capsys, "clinic", "invite", "P1")
    token = text.splitlines()[-1]
    assert code == 0 and token.startswith("coach-join-1:age1") and ":P1:" in token and len(token) < 140
    assert "coach clinic join TOKEN" in text and cli(capsys, "clinic", "invite", "P1")[1].endswith(token + "\n")
    code, text = cli(capsys, "clinic", "join", token, "--name", "North")
    assert code == 0 and text.startswith("Joined North (fingerprint ") and " as P1; " in text
    code, text = cli(capsys, "share", "--out", tmp_path / "x.bundle", "--db", cli_home, "--patient", "P2")
    assert code == 1 and text == ("coach: This computer joined the clinic with P1's invitation, so it shares only "
                                  "P1's records, not P2's.\n")
    assert cli(capsys, "share", "--out", tmp_path / "p.bundle", "--db", cli_home)[0] == 0
    code, text = cli(capsys, "import", tmp_path / "p.bundle", "--db", tmp_path / "clinic.db")
    assert code == 0 and text.startswith("Imported 2 sessions for P1 (") and "sign" not in text.lower()


def test_a_malformed_token_is_refused_in_one_sentence(cli_home, capsys):
    clinic_keys.init_clinic()
    token = clinic_keys.invite("P1")["token"]
    for bad in (token[:-4], token.replace(":P1:", ":P 1:"), "coach-join-1:", token.replace("age1", "age2", 1)):
        assert cli(capsys, "clinic", "join", bad) == (1, "coach: This is not a whole join token: it should be the "
                                                         "one line `coach clinic invite` printed "
                                                         "(coach-join-1:age1…:CODE:…), copied whole.\n")
    code, text = cli(capsys, "clinic", "join", "coach-join-2:" + token[13:])
    assert code == 1 and text.startswith("coach: This join token was made by a newer coach")
    assert clinic_keys.joined_clinic() is None                     # nothing was joined
