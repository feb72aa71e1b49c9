"""Bad input of every kind gets one sentence and a non-zero exit, never a traceback.

The CLI's own entry point (`coach.cli.main`) runs in-process over a corpus of bad
inputs, each found by trying the tool as a hostile or unlucky user would."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from coach.cli import main

DATA = Path(__file__).parent / "data"
STREAM = str(DATA / "single_face.landmarks.npz")
GOOD = (Path(__file__).parent.parent / "exercises" / "gentle-smile.toml").read_text()


def run(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return done.value.code, out.out + out.err


def exercise_dir(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "ex"
    folder.mkdir(exist_ok=True)
    (folder / "mine.toml").write_text(text)
    return folder


NESTED = "id = \"deep\"\nx = " + "[" * 5000 + "]" * 5000 + "\n"
# An exception's class name in what the user reads ("(ValueError)", "BadZipFile").
CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception|Warning)\b|BadZipFile")


def kiosk_config(tmp: Path, **settings) -> Path:
    path = tmp / f"kiosk-{len(list(tmp.glob('kiosk-*.json')))}.json"
    path.write_text(json.dumps(settings))
    return path


def corpus(tmp: Path) -> list[tuple[str, list]]:
    db = tmp / "c.db"
    img = tmp / "face.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    fake_stream = tmp / "fake.landmarks.npz"
    fake_stream.write_bytes(b"PK\x03\x04 not a zip at all")
    future = (date.today() + timedelta(days=30)).isoformat()
    kiosk = ["kiosk", "--headless", "--replay", STREAM, "--db", db, "--config"]
    listed = tmp / "kiosk-list.json"
    listed.write_text("[1, 2]")
    return [
        ("analyze: nested exercise file", ["analyze", STREAM, "--exercise", "deep", "--exercises",
                                            exercise_dir(tmp, NESTED)]),
        ("exercises: nested exercise file", ["exercises", "--exercises", exercise_dir(tmp, NESTED)]),
        ("exercises: typo in a field", ["exercises", "--exercises",
                                         exercise_dir(tmp, GOOD.replace('id = "gentle-smile"', 'id = "mine"')
                                                      .replace("[reps]", "[reps]\ntreshold = 0.5"))]),
        ("exercises: infinite threshold", ["exercises", "--exercises",
                                            exercise_dir(tmp, GOOD.replace('id = "gentle-smile"', 'id = "mine"')
                                                         .replace('rule = "side"', 'rule = "side"\nthreshold = inf'))]),
        ("exercises: shadows a shipped exercise", ["exercises", "--exercises", exercise_dir(tmp, GOOD)]),
        ("analyze: json into /proc", ["analyze", STREAM, "--exercise", "gentle-smile", "--json", "/proc/x.json"]),
        ("analyze: landmarks into /proc", ["analyze", STREAM, "--exercise", "gentle-smile", "--save-landmarks",
                                           "/proc/x.npz"]),
        ("analyze: not a video", ["analyze", img, "--exercise", "gentle-smile"]),
        ("analyze: missing file", ["analyze", tmp / "nothing.mp4", "--exercise", "gentle-smile"]),
        ("analyze: unknown exercise", ["analyze", STREAM, "--exercise", "smile-harder"]),
        ("analyze: baseline nan", ["analyze", STREAM, "--exercise", "gentle-smile", "--baseline-s", "nan"]),
        ("analyze: baseline longer than the clip", ["analyze", STREAM, "--exercise", "gentle-smile",
                                                    "--baseline-s", "20"]),
        ("plan: nan threshold", ["plan", "set", "P1", "--exercise", "gentle-smile", "--threshold",
                                 "eye_opening=nan", "--db", db]),
        ("plan: 500 % threshold", ["plan", "set", "P1", "--exercise", "gentle-smile", "--threshold",
                                   "eye_opening=5", "--db", db]),
        ("plan: zero target", ["plan", "set", "P1", "--exercise", "gentle-smile", "--target", "0", "--db", db]),
        ("plan: huge count", ["plan", "set", "P1", "--exercise", "gentle-smile", "--reps", "9223372036854775807",
                              "--db", db]),
        ("plan: unknown patient", ["plan", "show", "NOPE", "--db", db]),
        ("report: code with a path", ["report", "../x", "--db", db]),
        ("sessions: not a database", ["sessions", "--db", img]),
        ("analyze: a landmark stream that is not one", ["analyze", fake_stream, "--exercise", "gentle-smile"]),
        ("treatment: negative units", ["treatment", "add", "P1", "--date", "2024-01-01", "--kind", "botulinum_toxin",
                                       "--units", "-3", "--db", db]),
        ("treatment: nan units", ["treatment", "add", "P1", "--date", "2024-01-01", "--kind", "other", "--units",
                                  "nan", "--db", db]),
        ("treatment: a date in the future, no terminal", ["treatment", "add", "P1", "--date", future, "--kind",
                                                          "surgery", "--db", db]),
        ("patient: a kiosk PIN of letters", ["patient", "check", "P1", "--kiosk-check", "pin", "--check-value",
                                             "abcd", "--db", db]),
        ("kiosk: admin_taps null", kiosk + [kiosk_config(tmp, admin_taps=None)]),
        ("kiosk: max_wrong_pins text", kiosk + [kiosk_config(tmp, max_wrong_pins="3")]),
        ("kiosk: lockout nan", kiosk + [kiosk_config(tmp, lockout_s="NaN")]),
        ("kiosk: default plan of a string", kiosk + [kiosk_config(tmp, default_plan="gentle-smile")]),
        ("kiosk: settings not an object", kiosk + [listed]),
        ("kiosk: a server URL as its log", ["kiosk", "--headless", "--replay", STREAM, "--db", "postgresql://a@b/c"]),
        ("run: a server URL as its log", ["run", "--headless", "--db", "postgres://a@b/c"]),
        ("sync: a password in the URL", ["sync", "--to", "postgresql://u:secret@b/c", "--db", db]),
        ("sync: not a server URL", ["sync", "--to", "mysql://u@b/c", "--db", db]),
        ("import: not a bundle", ["import", img, "--db", db]),
        ("share: no clinic joined", ["share", "--out", tmp / "x.bundle", "--db", db]),
        ("session void: no reason", ["session", "void", "abcdef12", "--db", db]),
        ("treatment edit: unknown id", ["treatment", "edit", "P1", "zzzzzz", "--units", "3", "--db", db]),
        ("treatment edit: negative dose", ["treatment", "edit", "P1", "abcdef12", "--units", "-3", "--db", db]),
        ("patient edit: unknown patient", ["patient", "edit", "NOPE", "--notes", "x", "--db", db]),
    ]


def test_every_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, capsys, monkeypatch):
    # main() filters MediaPipe's native log lines on file descriptor 2; here we read Python's streams.
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))      # no clinic joined, no keys of this user
    run(["patient", "add", "P1", "--db", tmp_path / "c.db"], capsys)
    failures = []
    for name, argv in corpus(tmp_path):
        try:
            code, out = run(argv, capsys)
        except BaseException as exc:     # anything but a clean exit is a traceback waiting to happen
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
            continue
        if code == 0 or "Traceback" in out or not out.strip() or CLASS_NAME.search(out):
            failures.append(f"{name}: exit {code}, output {out!r}")
    assert not failures, "\n".join(failures)
