"""Generate the cue sounds in sounds/ (16-bit mono 44.1 kHz WAV), reproducibly.

    python scripts/make_sounds.py [OUT_DIR]

Pure numpy synthesis with fixed parameters and no randomness, so running it
again writes byte-identical files (tests/test_sound.py checks this). Every cue
is short, soft and click-free (a raised-cosine attack and release to exact zero),
and every cue is scaled to the same perceived loudness, so none startles and none is missed:
ITU-R BS.1770 integrated loudness (pyloudnorm; `loudness()` below, shared with
scripts/make_voice.py), LOUDNESS_LUFS for every cue and spoken phrase, the
co-movement alert ALERT_LU above them, never the quietest.

Each phase change has its own character, so a patient with closed eyes can tell
them apart: the movement's cues follow its shape (move: a rising glide; hold: a
steady tone; relax: a falling glide; rest: a soft open fifth), the counts are
pings and taps, and the three occasions differ in kind (start: two woody notes;
exercise done: a bell arpeggio; session done: a chord that blooms). The
co-movement cue is gentle: two warm low notes with a slow tremolo, in an
exercise meant to release tension, not a buzz.
"""
from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

RATE = 44100
LOUDNESS_LUFS = -21.0       # every cue's and phrase's BS.1770 loudness (LUFS)
ALERT_LU = 0.5              # the co-movement alert this much louder: never the quietest
GATE_BLOCK_S = 0.4          # BS.1770's gating block; a shorter sound is measured as one block of its own length
ATTACK_S = 0.010
RELEASE_S = 0.030

# Equal-tempered pitches (Hz).
D4, E4, F4, G4, A4 = 293.66, 329.63, 349.23, 392.0, 440.0
C5, D5, E5, G5, A5, C6, E6, A6 = 523.25, 587.33, 659.26, 783.99, 880.0, 1046.5, 1318.51, 1760.0
C4 = 261.63


def _t(dur_s: float) -> np.ndarray:
    return np.arange(int(dur_s * RATE)) / RATE


def _edges(x: np.ndarray, attack_s: float = ATTACK_S) -> np.ndarray:
    """A raised-cosine attack and release: the cue starts and ends at exactly 0 (no clicks)."""
    n = len(x)
    a, r = int(attack_s * RATE), int(RELEASE_S * RATE)
    x = x.copy()
    x[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    x[n - r:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / r)
    x[0] = x[-1] = 0.0
    return x


def _bell(freq: float, dur_s: float, decay_s: float) -> np.ndarray:
    """A soft chime: a sine with a quiet octave partial that dies away faster."""
    t = _t(dur_s)
    tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t) * np.exp(-t / 0.05)
    return _edges(tone * np.exp(-t / decay_s))


def _wood(freq: float, dur_s: float) -> np.ndarray:
    """A marimba-like note: a quick decay, with the bar's fourth partial for a woody knock."""
    t = _t(dur_s)
    tone = np.sin(2 * np.pi * freq * t) + 0.35 * np.sin(2 * np.pi * 3.93 * freq * t) * np.exp(-t / 0.015)
    return _edges(tone * np.exp(-t / 0.07), 0.004)


def _glide(f0: float, f1: float, dur_s: float) -> np.ndarray:
    """A soft tone sliding from f0 to f1, swelling in and out: the shape of a slow movement."""
    t = _t(dur_s)
    freq = f0 * (f1 / f0) ** (t / dur_s)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    swell = np.sin(np.pi * t / dur_s) ** 0.7
    return _edges((np.sin(phase) + 0.15 * np.sin(2 * phase)) * swell)


def _steady(freq: float, dur_s: float) -> np.ndarray:
    """A flute-like steady tone: a slow attack, level, a slow release."""
    t = _t(dur_s)
    tone = np.sin(2 * np.pi * freq * t) + 0.08 * np.sin(4 * np.pi * freq * t)
    env = np.minimum(1.0, np.minimum(t / 0.06, (dur_s - t) / 0.08))
    return _edges(tone * env)


def _tremolo(freq: float, dur_s: float, rate_hz: float = 7.0) -> np.ndarray:
    """A warm low tone with a slow tremolo (its amplitude breathing 7 times a second)."""
    t = _t(dur_s)
    tone = np.sin(2 * np.pi * freq * t) + 0.12 * np.sin(4 * np.pi * freq * t)
    breath = 0.6 + 0.4 * np.cos(2 * np.pi * rate_hz * t)
    env = np.minimum(1.0, np.minimum(t / 0.04, (dur_s - t) / 0.06))
    return _edges(tone * breath * env)


def _seq(parts: list[tuple[float, np.ndarray]], total_s: float) -> np.ndarray:
    """Mix notes starting at given offsets (seconds) into one buffer."""
    out = np.zeros(int(total_s * RATE))
    for start_s, note in parts:
        i = int(start_s * RATE)
        m = min(len(note), len(out) - i)
        out[i:i + m] += note[:m]
    return out


def cues() -> dict[str, np.ndarray]:
    """Every cue as float samples in -1..1 (before levelling)."""
    return {
        # One high, short tick per second of the countdown: "3, 2, 1".
        "countdown": _bell(A6, 0.18, 0.06),
        # Two woody notes rising a fourth: "let's go".
        "start": _seq([(0.0, _wood(G4, 0.2)), (0.14, _wood(C5, 0.3))], 0.44),
        # A soft rising glide: "slowly begin the movement".
        "move": _glide(G4, D5, 0.4),
        # A steady mid tone: "hold it here".
        "hold": _steady(A4, 0.36),
        # A soft falling glide: "slowly let go" (the eyes open, in an eye closure).
        "relax": _glide(D5, G4, 0.45),
        # A soft open fifth, rung together: "rest".
        "rest": _seq([(0.0, _bell(G4, 0.42, 0.18)), (0.0, _bell(D5, 0.42, 0.12))], 0.42),
        # A single bright high ping: "one done".
        "rep_done": _bell(E6, 0.28, 0.08),
        # Two soft taps on one note: "a word about the amount".
        "nudge": _seq([(0.0, _wood(E5, 0.14)), (0.16, _wood(E5, 0.18))], 0.34),
        # Two warm low notes, falling a minor third, with a slow tremolo: "gently, careful".
        "synkinesis": _seq([(0.0, _tremolo(F4, 0.24)), (0.24, _tremolo(D4, 0.26))], 0.5),
        # A rising bell arpeggio: "exercise finished".
        "exercise_done": _seq([(0.0, _bell(C5, 0.2, 0.1)), (0.11, _bell(E5, 0.2, 0.1)),
                               (0.22, _bell(G5, 0.32, 0.14))], 0.54),
        # A chord from a low root, blooming and ringing: "all done for today".
        "session_done": _seq([(0.0, _bell(C4, 0.8, 0.35)), (0.03, _bell(G4, 0.77, 0.3)),
                              (0.06, _bell(C5, 0.74, 0.28)), (0.09, _bell(E5, 0.71, 0.25))], 0.8),
    }


def loudness(samples: np.ndarray, rate: int = RATE) -> float:
    """BS.1770 integrated loudness (LUFS, K-weighted and gated) with pyloudnorm. BS.1770 gates in 400 ms
    blocks; a cue shorter than that is measured as a single block as long as the cue itself (pyloudnorm's
    `block_size`), which is its K-weighted mean square over its own length, not diluted by padding."""
    import pyloudnorm

    block = min(GATE_BLOCK_S, (len(samples) - 1) / rate)
    return float(pyloudnorm.Meter(rate, block_size=block).integrated_loudness(samples))


def target(name: str) -> float:
    return LOUDNESS_LUFS + (ALERT_LU if name == "synkinesis" else 0.0)


def level(samples: np.ndarray, name: str = "") -> np.ndarray:
    """Scale to the cue's loudness target: every cue equally loud by ear, the alert a little louder."""
    return samples * 10 ** ((target(name) - loudness(samples)) / 20)


def to_pcm16(samples: np.ndarray, name: str = "") -> bytes:
    scaled = level(samples, name)
    if np.max(np.abs(scaled)) > 0.95:
        raise ValueError("a cue would clip at this level: shorten its decay or lower LOUDNESS_LUFS")
    return np.round(scaled * 32767).astype("<i2").tobytes()


def write_wav(path: Path, samples: np.ndarray, name: str = "") -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(to_pcm16(samples, name))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "sounds"
    out.mkdir(parents=True, exist_ok=True)
    for name, samples in cues().items():
        write_wav(out / f"{name}.wav", samples, name)
        print(f"{out / (name + '.wav')}  {len(samples) / RATE * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
