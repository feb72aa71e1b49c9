"""Generate the cue sounds in sounds/ (16-bit mono 44.1 kHz WAV), reproducibly.

    python scripts/make_sounds.py [OUT_DIR]

Pure numpy synthesis with fixed parameters and no randomness, so running it
again writes byte-identical files (tests/test_sound.py checks this). Every cue
is short, soft and click-free: a raised-cosine attack, an exponential decay and
a raised-cosine release to exact zero. The synkinesis cue is the only one that
falls in pitch and the only one with a buzzy (odd-harmonic) timbre, so it can't
be mistaken for the friendly chimes.
"""
from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

RATE = 44100
PEAK = 0.45   # -7 dBFS: gentle, and headroom if two cues overlap in the mixer
ATTACK_S = 0.008
RELEASE_S = 0.030

# Equal-tempered pitches (Hz).
A4, C5, E5, G5, A5, C6, E6 = 440.0, 523.25, 659.26, 783.99, 880.0, 1046.5, 1318.51
D5 = 587.33


def _env(n: int, decay_s: float) -> np.ndarray:
    """Attack, exponential decay, release: starts and ends at exactly 0 (no clicks)."""
    t = np.arange(n) / RATE
    env = np.exp(-t / decay_s)
    a = int(ATTACK_S * RATE)
    r = int(RELEASE_S * RATE)
    env[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    env[n - r:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / r)
    env[0] = env[-1] = 0.0
    return env


def _bell(freq: float, dur_s: float, decay_s: float) -> np.ndarray:
    """A soft chime: a sine with a quiet octave partial that dies away faster."""
    n = int(dur_s * RATE)
    t = np.arange(n) / RATE
    tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t) * np.exp(-t / 0.05)
    return tone * _env(n, decay_s)


def _buzz(freq: float, dur_s: float) -> np.ndarray:
    """A mellow square-ish tone (odd harmonics 1/k^2): alerting but not harsh."""
    n = int(dur_s * RATE)
    t = np.arange(n) / RATE
    tone = sum(np.sin(2 * np.pi * k * freq * t) / k**2 for k in (1, 3, 5, 7))
    return tone * _env(n, 0.5)


def _seq(parts: list[tuple[float, np.ndarray]], total_s: float) -> np.ndarray:
    """Mix notes starting at given offsets (seconds) into one buffer."""
    out = np.zeros(int(total_s * RATE))
    for start_s, note in parts:
        i = int(start_s * RATE)
        m = min(len(note), len(out) - i)
        out[i:i + m] += note[:m]
    return out


def cues() -> dict[str, np.ndarray]:
    """Every cue as float samples in -1..1."""
    return {
        # Two rising notes: "let's go".
        "start": _seq([(0.0, _bell(C5, 0.16, 0.10)), (0.12, _bell(G5, 0.26, 0.12))], 0.38),
        # One short mid-pitch tone: "hold it here".
        "hold": _bell(A4, 0.22, 0.09),
        # A single bright high ping: "one done".
        "rep_done": _bell(E6, 0.28, 0.08),
        # Two buzzy tones falling a fifth, 250 ms in all: "careful".
        "synkinesis": _seq([(0.0, _buzz(A5, 0.115)), (0.125, _buzz(D5, 0.125))], 0.25),
        # A rising major triad: "exercise finished".
        "exercise_done": _seq([(0.0, _bell(C5, 0.2, 0.1)), (0.1, _bell(E5, 0.2, 0.1)),
                               (0.2, _bell(G5, 0.3, 0.14))], 0.5),
        # The triad plus the octave, ringing longer: "all done for today".
        "session_done": _seq([(0.0, _bell(C5, 0.2, 0.1)), (0.09, _bell(E5, 0.2, 0.1)),
                              (0.18, _bell(G5, 0.2, 0.1)), (0.27, _bell(C6, 0.33, 0.16))], 0.6),
    }


def to_pcm16(samples: np.ndarray) -> bytes:
    scaled = samples * (PEAK / np.max(np.abs(samples)))
    return np.round(scaled * 32767).astype("<i2").tobytes()


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(to_pcm16(samples))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "sounds"
    out.mkdir(parents=True, exist_ok=True)
    for name, samples in cues().items():
        write_wav(out / f"{name}.wav", samples)
        print(f"{out / (name + '.wav')}  {len(samples) / RATE * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
