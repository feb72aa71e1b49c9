"""Treatments: a dose is a number above 0, and a date in the future is confirmed at a terminal or refused."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from coach.errors import CoachError
from coach.log.store import Store


def test_treatment_units_above_zero_and_a_future_date_confirmed_or_refused(tmp_path, monkeypatch):
    from datetime import date, timedelta

    from coach.cli import cli
    from coach.commands import treatments as cmds

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    runner.invoke(cli, ["patient", "add", "P1", "--db", db])
    for units in ("-3", "0", "nan", "inf", "1e9"):
        out = runner.invoke(cli, ["treatment", "add", "P1", "--date", "2024-01-02", "--kind", "botulinum_toxin",
                                  "--units", units, "--db", db])
        assert out.exit_code != 0 and "units must be a number above 0" in str(out.exception), units
    soon = (date.today() + timedelta(days=3)).isoformat()
    args = ["treatment", "add", "P1", "--date", soon, "--kind", "surgery", "--db", db]
    out = runner.invoke(cli, args)                                     # no terminal: refused
    assert out.exit_code != 0 and "in the future" in str(out.exception)
    monkeypatch.setattr(cmds, "interactive", lambda: True)
    assert runner.invoke(cli, args, input="n\n").exit_code != 0          # asked, and declined
    out = runner.invoke(cli, args, input="y\n")                          # asked, and confirmed
    assert out.exit_code == 0 and "in the future" in out.output
    with Store.open(db, readonly=True) as store:
        assert [t["date"] for t in store.list_treatments("P1")] == [soon]
    with Store.open(db) as store:
        with pytest.raises(CoachError, match="in the future"):
            store.add_treatment("P1", soon, "other")
        with pytest.raises(CoachError, match="units"):
            store.add_treatment("P1", "2024-01-01", "other", units=-3)
