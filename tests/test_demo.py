"""`coach demo --headless`: the README's first command, through real pygame with SDL's
dummy video and disk audio drivers."""
import os
import subprocess
import sys

import numpy as np
import pygame


def test_demo_headless_shows_banner_meters_and_sounds_the_alert(tmp_path):
    shots = tmp_path / "shots"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk"}
    r = subprocess.run([sys.executable, "-m", "coach", "demo", "--headless", "--shots", str(shots),
                        "--db", str(tmp_path / "c.db")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "2 of 3" in r.stdout            # one smile of three had synkinesis
    for name in ("1-welcome", "2-calibrate", "3-instruct", "4-hold", "5-synkinesis", "6-summary"):
        assert (shots / f"{name}.png").stat().st_size > 5000
    img = pygame.surfarray.array3d(pygame.image.load(str(shots / "5-synkinesis.png"))).swapaxes(0, 1)
    calm = pygame.surfarray.array3d(pygame.image.load(str(shots / "4-hold.png"))).swapaxes(0, 1)
    h = img.shape[0]
    # The banner fills the bottom strip in Okabe–Ito orange during synkinesis, and not before it.
    orange = np.array([230, 159, 0])
    near = lambda a: (np.abs(a.astype(int) - orange).sum(-1) < 60).mean()
    assert near(img[int(h * 0.85):]) > 0.5
    assert near(calm[int(h * 0.85):]) < 0.1
    # Meters: the right half holds bars (many non-background pixels).
    assert (img[: int(h * 0.8), img.shape[1] // 2:].std(-1) > 20).mean() > 0.02
    # The disk audio output holds sound, not silence.
    raw = np.frombuffer((shots / "audio.raw").read_bytes(), dtype=np.int16)
    assert raw.size > 0 and np.abs(raw).max() > 1000
    # The demo session was logged.
    from coach.io.store import Store
    store = Store.open(tmp_path / "c.db")
    try:
        sessions = store.sessions("DEMO")
        assert len(sessions) == 1 and sessions[0]["status"] == "completed"
        reps = store.rep_rows("DEMO")
        assert len(reps) == 3 and sum(bool(x["synkinesis"]) for x in reps) == 1
    finally:
        store.close()
