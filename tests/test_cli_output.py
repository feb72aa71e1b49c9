"""What the command line writes and says: the report's default file stays in the current folder
whatever the patient code, and an error sentence names no exception class."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner


def test_the_default_report_name_stays_in_this_folder(tmp_path, monkeypatch):
    from coach.cli import cli
    from coach.commands.store import report_name

    db = str(tmp_path / "c.db")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    runner = CliRunner()
    assert runner.invoke(cli, ["patient", "add", "../x", "--db", db]).exit_code == 0
    out = runner.invoke(cli, ["report", "../x", "--db", db])
    assert out.exit_code == 0, out.output
    assert [p.name for p in here.iterdir()] == ["report-x.html"] and not (tmp_path / "report-x.html").exists()
    assert report_name("P001") == "report-P001.html" and report_name("/etc/passwd") == "report-etc_passwd.html"
    assert report_name("..") == "report-patient.html"


def test_error_text_names_no_exception_class(tmp_path):
    from coach.core.frames import StreamError, load_stream

    fake = tmp_path / "fake.landmarks.npz"
    fake.write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(StreamError) as err:
        load_stream(fake)
    assert "BadZipFile" not in str(err.value) and "damaged" in str(err.value)
    from coach import cli
    assert "__name__" not in Path(cli.__file__).read_text()          # the catch-all names no class either
