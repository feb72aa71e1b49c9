"""Who may use the kiosk: wrong patient codes and PINs lock the keypad out (doubling, and surviving a
restart), a patient's second factor (birth year or PIN, stored hashed), and kiosk settings checked
at start-up in one sentence."""
from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from coach.errors import CoachError
from coach.log.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


KIOSK_PIN = "2468"


@pytest.fixture
def kiosk_store(tmp_path):
    from coach.kiosk import hash_pin

    store = Store.open(tmp_path / "c.db")
    store.add_patient("12")
    store.add_patient("34")
    store.set_patient_check("34", "birth_year", hash_pin("1961"))
    yield store
    store.close()


def kiosk_config(tmp_path, **settings):
    """A kiosk settings file, loaded as `coach kiosk` does (its lockout state goes beside it)."""
    from coach.kiosk import KioskConfig, hash_pin

    path = tmp_path / "kiosk" / "kiosk.json"
    KioskConfig(pin_hash=hash_pin(KIOSK_PIN), idle_timeout_s=60.0, intro_s=1.0, lockout_s=5.0, **settings).save(path)
    return KioskConfig.load(path)


class Keys:
    """Drive a kiosk by hand: one step per key, 0.1 s apart."""

    def __init__(self, kiosk, t: float = 0.0):
        from streams import session_stream

        self.kiosk, self.t, self.frame = kiosk, t, session_stream(0.1)[0]

    def press(self, *actions, dt: float = 0.1):
        self.t += dt
        return self.kiosk.step(self.frame, self.t, list(actions)).view

    def type(self, digits: str):
        for c in digits:
            self.press(f"key:{c}")
        return self.press("key:enter")


def test_wrong_patient_codes_lock_the_welcome_keypad_out_doubling(kiosk_store, tmp_path):
    from coach.kiosk import UNKNOWN_CODE, Kiosk

    kiosk = Kiosk(kiosk_store, kiosk_config(tmp_path))
    keys = Keys(kiosk)
    for _ in range(4):
        view = keys.type("999")
        assert view.extra["message"] == UNKNOWN_CODE and not view.extra["locked"]
    view = keys.type("998")                                   # the fifth: locked for 5 s
    assert view.extra["locked"] and "wait 5 s" in view.extra["message"]
    keys.type("12")                                           # even a right code waits
    assert kiosk.state == "welcome" and kiosk.visits == []
    keys.t += 5.0
    for _ in range(5):
        view = keys.type("997")
    assert view.extra["locked"] and "wait 10 s" in view.extra["message"]     # doubled
    keys.t += 10.0
    keys.type("12")
    assert kiosk.state == "session" and [v.code for v in kiosk.visits] == ["12"]


def test_a_second_factor_is_asked_after_the_code_and_counts_against_the_keypad(kiosk_store, tmp_path):
    from coach.kiosk import Kiosk
    from coach.kiosk.machine import WRONG_CHECK

    kiosk = Kiosk(kiosk_store, kiosk_config(tmp_path))
    keys = Keys(kiosk)
    view = keys.type("34")
    assert view.screen == "kiosk_welcome" and "birth year" in view.text and view.extra["mask"]
    assert view.extra["variant"] == "check" and kiosk.visits == []
    view = keys.type("1962")
    assert view.extra["message"] == WRONG_CHECK and "patient code" in view.text    # back to the code
    assert kiosk.access.patient.failures == 1
    keys.type("34")
    keys.type("1961")
    assert kiosk.state == "session" and [v.code for v in kiosk.visits] == ["34"]
    assert kiosk.access.patient.failures == 0
    row = kiosk_store.db.execute("SELECT kind, hash FROM patient_checks").fetchone()
    assert row[0] == "birth_year" and row[1].startswith("scrypt$") and "1961" not in row[1]


def test_the_second_factor_is_set_from_the_cli_hashed(tmp_path):
    from coach.cli import cli
    from coach.kiosk import verify_pin

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    out = runner.invoke(cli, ["patient", "add", "P7", "--kiosk-check", "pin", "--db", db], input="2580\n2580\n")
    assert out.exit_code == 0 and "kiosk asks their pin" in out.output
    assert runner.invoke(cli, ["patient", "check", "P7", "--kiosk-check", "birth-year", "--check-value", "1890",
                               "--db", db]).exit_code != 0                  # not a birth year
    assert runner.invoke(cli, ["patient", "add", "P8", "--kiosk-check", "pin", "--check-value", "12", "--db",
                               db]).exit_code != 0                          # too short
    with Store.open(db, readonly=True) as store:
        check = store.patient_check("P7")
        assert check["kind"] == "pin" and verify_pin("2580", check["hash"]) and "2580" not in check["hash"]
        assert store.patient_check("P8") is None
    assert runner.invoke(cli, ["patient", "check", "P7", "--kiosk-check", "none", "--db", db]).exit_code == 0
    with Store.open(db, readonly=True) as store:
        assert store.patient_check("P7") is None


def test_lockouts_survive_a_restart(kiosk_store, tmp_path):
    from coach.kiosk import Kiosk

    config = kiosk_config(tmp_path)
    kiosk = Kiosk(kiosk_store, config)
    keys = Keys(kiosk)
    keys.press("admin")
    for _ in range(3):
        view = keys.type("0000")
    assert view.extra["locked"]
    for _ in range(2):
        keys.press("cancel")
        keys.type("999")                         # two wrong codes too
    state = tmp_path / "kiosk" / "kiosk-state.json"
    assert mode(state) == 0o600
    saved = json.loads(state.read_text())
    assert saved["pin"]["lockouts"] == 1 and saved["patient"]["failures"] == 2

    restarted = Kiosk(kiosk_store, kiosk_config(tmp_path))   # the supervisor restarts it
    again = Keys(restarted)
    again.press("admin")
    view = again.type(KIOSK_PIN)
    assert view.extra["locked"] and not restarted.exit_requested            # still locked after a restart
    assert restarted.access.patient.failures == 2
    again.t += 5.0
    again.type(KIOSK_PIN)
    assert restarted.exit_requested
    assert json.loads(state.read_text())["patient"] == {"failures": 0, "lockouts": 0,
                                                        "locked_until": pytest.approx(time.time(), abs=60)}


@pytest.mark.parametrize("setting, value, reason", [
    ("admin_taps", None, "admin_taps in .* must be a whole number from 0 .* not null"),
    ("max_wrong_pins", "3", "max_wrong_pins in .* must be a whole number .* not \"3\""),
    ("lockout_s", -1, "lockout_s in .* must be a number of seconds"),
    ("idle_timeout_s", True, "idle_timeout_s"),
    ("fullscreen", "yes", "fullscreen in .* must be true or false"),
    ("pin_hash", 1234, "pin_hash"),
    ("default_plan", [{"exercise": "gentle-smile", "reps": 0}], "default_plan"),
    ("default_plan", "gentle-smile", "default_plan in .* must be a list"),
])
def test_kiosk_settings_are_checked_at_start_up_in_one_sentence(tmp_path, setting, value, reason):
    from coach.kiosk import KioskConfig

    path = tmp_path / "kiosk.json"
    path.write_text(json.dumps({setting: value}))
    with pytest.raises(CoachError, match=reason) as err:
        KioskConfig.load(path)
    assert "\n" not in str(err.value)


def test_a_corner_tap_with_admin_taps_null_can_not_crash_a_running_kiosk(kiosk_store):
    from coach.kiosk import Kiosk, KioskConfig

    with pytest.raises(CoachError, match="admin_taps"):
        Kiosk(kiosk_store, KioskConfig(admin_taps=None))                  # refused at start-up, not at the tap
