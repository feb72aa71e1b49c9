"""Fixtures of the bundle tests (tests/test_bundles.py, tests/test_invitations.py): a user data folder
with a clinic key this computer has joined, and a home log for the CLI tests."""
from __future__ import annotations

import pytest

from coach.clinic import keys as clinic_keys


@pytest.fixture
def keys(tmp_path, monkeypatch):
    """A private user data folder, a clinic key in it, and this computer joined to that clinic."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COACH_DB", raising=False)
    made = clinic_keys.init_clinic("Test clinic")
    clinic_keys.join_clinic(made["public_key"], "Test clinic")
    return made


@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)   # keep stderr for capsys
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COACH_DB", raising=False)
    from test_bundles import make_db

    return make_db(tmp_path / "home.db")
