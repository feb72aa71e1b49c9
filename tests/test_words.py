"""Issue 19, item 8: words that left the user stuck now say what to do. An unknown patient code names
the command that adds it; the camera error names `--video FILE`; a toxin's product names are taken as
botulinum_toxin, and the command says so; a recording that ends before the first rep says why nothing
was analysed. (The demo's count of saved screens: tests/test_demo.py.)"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.errors import CoachError, InputError

pytestmark = pytest.mark.usefixtures("headless")   # SDL dummy video and disk audio (conftest)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_an_unknown_patient_code_names_the_command_that_adds_it(tmp_path):
    db = tmp_path / "c.db"
    assert invoke("patient", "add", "P1", "--db", db).exit_code == 0
    for args in (("patient", "show", "V1"), ("report", "V1"), ("treatment", "add", "V1", "--date", "2024-01-02",
                                                                  "--kind", "surgery")):
        result = invoke(*args, "--db", db)
        assert isinstance(result.exception, CoachError) and result.exit_code == 1, (args, result.output)
        assert "No patient with code V1" in str(result.exception)
        assert "`coach patient add V1`" in str(result.exception)
    # And the command it names works.
    assert invoke("patient", "add", "V1", "--db", db).exit_code == 0
    assert invoke("patient", "show", "V1", "--db", db).exit_code == 0


class ClosedCapture:
    """A camera that is not there (cv2.VideoCapture of a missing device)."""

    def __init__(self, *args):
        pass

    def isOpened(self):
        return False

    def release(self):
        pass


def test_the_camera_error_names_the_video_option():
    from coach.camera.sources import CameraSource

    with pytest.raises(InputError) as err:
        CameraSource(7, capture_factory=ClosedCapture)
    assert "--video FILE" in str(err.value) and "camera" in str(err.value).lower()
    assert "\n" not in str(err.value)
    # The option it names is the one `coach run` has.
    assert "--video FILE" in invoke("run", "--help").output


BRANDS = ("botox", "Botox", "BOTOX", "Dysport", "Xeomin", "Bocouture", "Azzalure", "Vistabel", "Letybo", "Daxxify",
          "onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA", "botulinum toxin", "botulinum-toxin")


def test_toxin_product_names_are_taken_as_botulinum_toxin_and_said(tmp_path):
    import sqlite3

    db = tmp_path / "c.db"
    assert invoke("patient", "add", "P1", "--db", db).exit_code == 0
    for i, name in enumerate(BRANDS):
        result = invoke("treatment", "add", "P1", "--date", f"2024-01-{i + 1:02d}", "--kind", name, "--db", db)
        assert result.exit_code == 0, (name, result.output)
        assert f"{name!r} taken as botulinum_toxin" in result.output
    kinds = sqlite3.connect(db).execute("SELECT kind, count(*) FROM treatments GROUP BY kind").fetchall()
    assert kinds == [("botulinum_toxin", len(BRANDS))]
    # The canonical name needs no word; an unknown one is refused, naming the kinds.
    result = invoke("treatment", "add", "P1", "--date", "2024-02-01", "--kind", "botulinum_toxin", "--db", db)
    assert result.exit_code == 0 and "taken as" not in result.output
    result = invoke("treatment", "add", "P1", "--date", "2024-02-02", "--kind", "filler", "--db", db)
    assert result.exit_code == 2 and "botulinum_toxin, surgery, other" in result.output
    # Editing takes them too.
    tid = invoke("treatment", "list", "P1", "--db", db).output.split()[0]
    result = invoke("treatment", "edit", "P1", tid, "--kind", "Dysport", "--db", db)
    assert result.exit_code == 0 and "'Dysport' taken as botulinum_toxin" in result.output


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_a_recording_shorter_than_the_welcome_says_why_nothing_was_analysed(tmp_path):
    from coach.core.frames import StreamInfo, save_stream
    from streams import session_stream

    frames = session_stream(2.4)                               # 2.4 s: the welcome alone is 3 s
    clip = tmp_path / "short.landmarks.npz"
    save_stream(clip, frames, StreamInfo("short", 30.0, frames[0].width, frames[0].height))
    result = invoke("run", "--replay", clip, "--fast", "--headless", "--no-log", "--plan", "gentle-smile",
                    "--shots", tmp_path / "shots")
    assert result.exit_code == 0, (result.output, result.exception)
    line = next(ln for ln in result.output.splitlines() if ln.startswith("Nothing was analysed"))
    last_t = frames[-1].t
    assert f"after {last_t:.1f} s" in line and "during the welcome" in line and "3 s" in line
    # A long enough recording gives reps, and no such line.
    frames = session_stream(30, rep_starts=(12, 19))
    save_stream(clip, frames, StreamInfo("long", 30.0, frames[0].width, frames[0].height))
    result = invoke("run", "--replay", clip, "--fast", "--headless", "--no-log", "--plan", "gentle-smile",
                    "--shots", tmp_path / "shots2")
    assert result.exit_code == 0 and "Nothing was analysed" not in result.output, result.output
