"""Cue sounds: generated reproducibly, short and click-free, distinct, and heard
promptly through pygame's mixer (SDL's disk audio driver stands in for a speaker).

SDL reads its audio driver settings when pygame initialises, so each audio test
runs in its own interpreter with its own environment."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from coach.core.feedback import CUES

ROOT = Path(__file__).resolve().parent.parent
SOUNDS = ROOT / "sounds"
RATE = 44100


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE), path.name
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768


def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_sounds.py"), str(tmp_path)],
                   check=True, capture_output=True)
    made = sorted(p.name for p in tmp_path.glob("*.wav"))
    assert made == sorted(f"{c}.wav" for c in CUES)
    for name in made:
        assert (tmp_path / name).read_bytes() == (SOUNDS / name).read_bytes(), name


@pytest.mark.parametrize("cue", CUES)
def test_cues_are_short_soft_and_click_free(cue):
    x = read(SOUNDS / f"{cue}.wav")
    assert 0.15 <= len(x) / RATE <= 0.6
    assert x[0] == 0 and x[-1] == 0                        # starts and ends in silence
    assert 0.3 < np.abs(x).max() < 0.6                     # audible, with headroom
    assert np.abs(np.diff(x)).max() < 0.15                 # no jumps (clicks)
    attack = np.abs(x[: int(0.002 * RATE)]).max()
    assert attack < 0.5 * np.abs(x).max()                  # a soft attack, not a thump
    assert (SOUNDS / f"{cue}.wav").stat().st_size < 60_000


def dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 16))
    return float(np.argmax(spec) * RATE / (1 << 16))


def test_synkinesis_cue_is_the_one_falling_two_tone_alert():
    pitch = {}
    for cue in CUES:
        x = read(SOUNDS / f"{cue}.wav")
        n = len(x)
        pitch[cue] = (dominant_hz(x[: int(0.4 * n)]), dominant_hz(x[int(0.6 * n):]))
    first, last = pitch["synkinesis"]
    assert first / last > 1.3                              # falls by about a fifth
    assert abs(len(read(SOUNDS / "synkinesis.wav")) / RATE - 0.25) < 0.02
    for cue, (a, b) in pitch.items():
        if cue != "synkinesis":
            assert b >= a * 0.97, cue                      # no other cue falls
    # Its timbre differs too: strong odd harmonics, where the chimes are near-pure tones.
    x = read(SOUNDS / "synkinesis.wav")[: int(0.11 * RATE)]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 16))
    f0 = dominant_hz(x)
    bin_ = lambda f: int(round(f * (1 << 16) / RATE))      # noqa: E731
    third = spec[bin_(3 * f0) - 20: bin_(3 * f0) + 20].max() / spec[bin_(f0) - 20: bin_(f0) + 20].max()
    assert third > 0.05


def test_readme_lists_every_cue():
    text = (SOUNDS / "README.txt").read_text()
    assert all(c in text for c in CUES)


PROBE = r"""
import json, os, sys, time
import numpy as np
raw = os.environ.get("SDL_DISKAUDIOFILE", "")
from coach.io.display import PygameDisplay
from coach.core.feedback import FeedbackView
d = PygameDisplay(mute=False, volume=0.8)
out = {"available": d.sound_available, "problem": d.sound_problem}
if d.sound_available:
    import pygame
    out["mixer"] = list(pygame.mixer.get_init())
    time.sleep(0.3)                       # the driver streams silence meanwhile
    before = os.path.getsize(raw)
    t0 = time.perf_counter()
    d.play("synkinesis")
    seen = None
    while time.perf_counter() - t0 < 1.0:
        tail = np.fromfile(raw, dtype="<i2")[before // 2:]
        if seen is None and np.any(tail):
            seen = time.perf_counter() - t0
        time.sleep(0.002)
    data = np.fromfile(raw, dtype="<i2").astype(np.float64)
    tail = data[before // 2:]
    first = int(np.flatnonzero(tail)[0]) if np.any(tail) else -1
    out.update(before_silent=bool(not np.any(data[: before // 2])), seen_s=seen,
               onset_s=first / 44100 if first >= 0 else None,
               rms=float(np.sqrt(np.mean(tail[first:first + int(0.25 * 44100)] ** 2))) if first >= 0 else 0.0)
    # Muted: nothing more reaches the speaker, but the cue is still recorded (and shown).
    d.set_mute(True)
    time.sleep(0.1)
    after = os.path.getsize(raw)
    d.draw(FeedbackView("move", cue="rep_done", t=1.0))
    time.sleep(0.3)
    out["muted_silent"] = bool(not np.any(np.fromfile(raw, dtype="<i2")[after // 2:]))
    out["played"] = d.played
else:
    d.draw(FeedbackView("hold", cue="synkinesis", banner="Careful", t=2.0))
    d.play("start")
    out["played"] = d.played
d.close()
print(json.dumps(out))
"""


def run_probe(tmp_path, **env) -> dict:
    full = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1",
                PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full.update(env)
    res = subprocess.run([sys.executable, "-c", PROBE], env=full, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_synkinesis_cue_reaches_the_speaker_within_50_ms(tmp_path):
    raw = tmp_path / "speaker.raw"
    out = run_probe(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw))
    assert out["available"], out["problem"]
    assert out["mixer"] == [44100, -16, 1]
    assert out["before_silent"]
    assert out["rms"] > 1500                     # int16 units: clearly audible, not a trickle
    # Position in the audio stream: the cue starts within 50 ms of where the stream was
    # when play() was called (the mixer's 256-sample buffers keep this small)...
    assert 0 <= out["onset_s"] <= 0.050, out
    # (Wall-clock delivery is measured by scripts/bench_display.py, not asserted here.)
    assert out["muted_silent"]
    assert [c for c, _ in out["played"]] == ["synkinesis", "rep_done"]


def test_without_an_audio_device_the_display_still_works(tmp_path):
    out = run_probe(tmp_path, SDL_AUDIODRIVER="no_such_driver")
    assert out["available"] is False
    assert "sound" in out["problem"]
    assert out["played"] == [["synkinesis", 2.0], ["start", 2.0]]


def test_missing_sound_files_are_reported_not_fatal(tmp_path):
    code = ("import os\n"
            "from coach.io.display import PygameDisplay\n"
            f"d = PygameDisplay(sounds_dir={str(tmp_path)!r})\n"
            "d.play('start')\n"
            "print(d.sound_available, '|', d.sound_problem)\n"
            "d.close()\n")
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="disk", PYGAME_HIDE_SUPPORT_PROMPT="1",
               SDL_DISKAUDIOFILE=str(tmp_path / "x.raw"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    available, problem = res.stdout.strip().splitlines()[-1].split(" | ")
    assert available == "False" and "missing cue sounds" in problem and "synkinesis" in problem
