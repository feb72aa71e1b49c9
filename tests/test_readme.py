"""The README is true as written: the therapist guide's commands and the kiosk's training visit run, line
by line and in order, on a fresh log, through the `coach` command of the package under test (the installed
console script when there is one, as .ci/run has); and its pictures are made by a script and current."""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from coach.resources import builtin_dir

README = Path(__file__).resolve().parent.parent / "README.md"


def block_after(heading: str) -> list[str]:
    """The commands of the first ```sh block after `heading`: continuation lines joined, comments kept."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    body = re.search(r"^\s*```sh\n(.*?)^\s*```", text[start:], re.S | re.M)
    assert body, f"no ```sh block after {heading!r}"
    lines, pending = [], ""
    for raw in body.group(1).splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


@pytest.fixture
def fresh(tmp_path) -> dict:
    """A new user's shell: HOME and every user folder in tmp_path (so the log starts empty), no COACH_DB,
    and `coach` on PATH: the console script beside this Python if installed, else a shim to `-m coach`."""
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "coach").exists():
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "coach").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m coach "$@"\n')
        (bin_dir / "coach").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COACH_DB", "XDG_"))}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", SDL_VIDEODRIVER="dummy",
               SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(tmp_path / "audio.raw"))
    return {"env": env, "cwd": home / "work", "home": home}


def sh(line: str, fresh: dict, stdin: str = "") -> subprocess.CompletedProcess:
    # A session of its own: no terminal, so a hidden prompt reads its answer from stdin.
    return subprocess.run(["sh", "-c", line], cwd=fresh["cwd"], env=fresh["env"], input=stdin, text=True,
                          capture_output=True, timeout=300, start_new_session=True)


@pytest.mark.slow   # starts processes
def test_the_therapist_guide_runs_line_by_line_on_a_fresh_log(fresh):
    lines = block_after("## Guide for therapists")
    assert lines[0].startswith("coach patient add P017") and len(lines) >= 8
    for line in lines:
        done = sh(line, fresh)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stderr)
    (log,) = fresh["home"].rglob("coach.db")              # one log, in the user data folder
    assert fresh["cwd"] not in log.parents
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    patients = {code for (code,) in conn.execute("SELECT code FROM patients")}
    conn.close()
    assert {"P017", "P018"} <= patients                    # every patient the guide names, it adds
    shown = sh("coach plan show P018", fresh)
    assert shown.returncode == 0 and "gentle-smile" in shown.stdout and "0.04" in shown.stdout, shown.stdout
    assert "<html" in (fresh["cwd"] / "P017.html").read_text(encoding="utf-8").lower()
    assert (fresh["cwd"] / "P017-csv" / "sessions.csv").is_file()


@pytest.mark.slow   # starts processes
def test_the_kiosk_training_visit_runs_headless_as_written(fresh):
    """`coach kiosk --headless` plays the shipped visit: patient 1042 types their code and does two smiles.
    The block names the stream and script by their place in the package (coach/data/); here that folder is
    the installed package's own."""
    (fresh["cwd"] / "coach").mkdir()
    (fresh["cwd"] / "coach" / "data").symlink_to(builtin_dir("data"))
    lines = block_after("- **Training and demo.**")
    assert any("kiosk --headless" in line for line in lines)
    for line in lines:
        done = sh(line, fresh, stdin="2468\n2468\n")       # set-pin asks twice
        assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stderr)
    assert "visit 1042:" in done.stdout and "completed, 2 reps" in done.stdout, done.stdout
    shots = sorted(p.name for p in (fresh["cwd"] / "shots").glob("*.png"))
    assert any("kiosk_welcome" in n for n in shots) and any("summary" in n for n in shots), shots
    conn = sqlite3.connect(f"file:{fresh['cwd'] / 'train.db'}?mode=ro", uri=True)
    assert conn.execute("SELECT kind, status FROM sessions").fetchall() == [("kiosk", "completed")]
    conn.close()


@pytest.mark.slow
def test_readme_pictures_are_made_by_a_script_small_and_current(tmp_path):
    from PIL import Image
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, str(root / "scripts" / "make_screens.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == sorted(p.name for p in (root / "docs" / "patient").glob("*.png")) and len(made) >= 8
    for name in made:
        img = Image.open(tmp_path / name)
        assert img.width == 480 and (tmp_path / name).stat().st_size < 40_000
