"""`coach demo --headless`: the README's first command, through real pygame with SDL's
dummy video and disk audio drivers."""
import os
import subprocess
import sys

import numpy as np
import pygame
import pytest


@pytest.mark.slow   # starts a process
def test_demo_headless_shows_banner_meters_and_sounds_the_alert(tmp_path):
    shots = tmp_path / "shots"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk"}
    r = subprocess.run([sys.executable, "-m", "coach", "demo", "--headless", "--shots", str(shots),
                        "--db", str(tmp_path / "c.db")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "CRITICAL" not in r.stdout + r.stderr          # SDL's disk driver announcement is hushed
    assert "2 of 3" in r.stdout            # one smile of three had synkinesis
    for name in ("1-welcome", "2-calibrate", "3-instruct", "4-hold", "5-synkinesis", "6-summary", "countdown"):
        assert (shots / f"{name}.png").stat().st_size > 5000
    # Every screen change is saved too, in order.
    every = sorted(p.name for p in (shots / "screens").glob("*.png"))
    # What it says it saved is what is on disk: the screens, and the key ones again by name (issue 19).
    import re
    said = re.search(r"Saved (\d+) screens, one per change, in (\S+)/, and (\d+) of them again by name", r.stdout)
    assert said, r.stdout
    assert (int(said.group(1)), said.group(2)) == (len(every), str(shots / "screens"))
    assert int(said.group(3)) == len(list(shots.glob("*.png")))
    keys = [n[4:-4] for n in every]
    assert keys[:4] == ["welcome", "calibrate", "instruct", "countdown"] and keys[-1] == "summary"
    # The alert shows only while moving or holding: never right after a rest or a relax screen's start.
    for i, key in enumerate(keys):
        if key == "synkinesis":
            assert keys[i - 1] in ("move", "hold"), keys
    img = pygame.surfarray.array3d(pygame.image.load(str(shots / "5-synkinesis.png"))).swapaxes(0, 1)
    calm = pygame.surfarray.array3d(pygame.image.load(str(shots / "4-hold.png"))).swapaxes(0, 1)
    h, w = img.shape[:2]
    # The banner fills the bottom strip (left of the Pause and Stop buttons) in Okabe–Ito orange during
    # synkinesis, and not before it.
    orange = np.array([230, 159, 0])
    near = lambda a: (np.abs(a.astype(int) - orange).sum(-1) < 60).mean()      # noqa: E731
    assert near(img[int(h * 0.85):, : int(w * 0.6)]) > 0.5
    assert near(calm[int(h * 0.85):, : int(w * 0.6)]) < 0.1
    # Meters: the right half holds bars (many non-background pixels).
    assert (img[: int(h * 0.8), img.shape[1] // 2:].std(-1) > 20).mean() > 0.02
    # The disk audio output holds sound, not silence.
    raw = np.frombuffer((shots / "audio.raw").read_bytes(), dtype=np.int16)
    assert raw.size > 0 and np.abs(raw).max() > 1000
    # Asked to (--db), the demo session was logged.
    from coach.log.store import Store
    store = Store.open(tmp_path / "c.db")
    try:
        sessions = store.sessions("DEMO")
        assert len(sessions) == 1 and sessions[0]["status"] == "completed"
        reps = store.rep_rows("DEMO")
        assert len(reps) == 3 and sum(bool(x["synkinesis"]) for x in reps) == 1
    finally:
        store.close()


@pytest.mark.slow
def test_demo_without_a_screen_says_so_saves_its_screens_and_writes_no_database(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("COACH_DB", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="disk", HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"))
    r = subprocess.run([sys.executable, "-m", "coach", "demo", "--shots", str(tmp_path / "shots")],
                       capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "No screen here" in r.stdout and "screens" in r.stdout
    assert len(list((tmp_path / "shots" / "screens").glob("*.png"))) >= 10
    # Not asked to log: no database anywhere.
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".db", ".sqlite")]
    assert "CRITICAL" not in r.stdout + r.stderr
