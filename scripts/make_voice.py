"""Pre-render the spoken guidance into sounds/voice/ (small 16 kHz mono WAVs), with espeak-ng and sox.

    python scripts/make_voice.py [OUT_DIR]        # needs: apt-get install espeak-ng sox

One file per phrase the coach may say (`coach.core.screens.phrases`: each phase,
each prompt, and every watched co-movement's fix in the shipped exercises),
named by `coach.screen.sound.voice_file`. A calm, slow voice; silence trimmed; every
phrase levelled to the same perceived loudness as the cues (ITU-R BS.1770, measured by
scripts/make_sounds.py's `loudness`, to its LOUDNESS_LUFS); IMA ADPCM, which SDL decodes. `phrases.txt` lists file and
phrase. A therapist's own exercise whose fix has no file is simply not spoken
(the banner still shows it); run this script with `--exercises DIR` to add them.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

VOICE = "en-gb"       # espeak-ng voice
SPEED = 135           # words a minute: slow and calm
PITCH = 40
RATE = 16000          # small files; the mixer converts on loading
PEAK = 0.95           # never clip: a phrase that would is an error (lower LOUDNESS_LUFS in make_sounds.py)


def render(phrase: str, out: Path, tmp: Path) -> None:
    """espeak-ng → trimmed 16 kHz → levelled → IMA ADPCM (4 bits a sample: a quarter of the size)."""
    raw = tmp / "raw.wav"
    subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(SPEED), "-p", str(PITCH), "-w", str(raw), phrase],
                   check=True, capture_output=True)
    trimmed = tmp / "trim.wav"
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-b", "16", "-c", "1", str(trimmed),
                    "silence", "1", "0.02", "-45d", "reverse", "silence", "1", "0.02", "-45d", "reverse"],
                   check=True, capture_output=True)
    levelled = tmp / "level.wav"
    level(trimmed, levelled)
    subprocess.run(["sox", str(levelled), "-e", "ima-adpcm", str(out)], check=True, capture_output=True)


def level(src: Path, out: Path) -> None:
    """Scale to the cues' BS.1770 loudness (scripts/make_sounds.py); never clipped."""
    import wave

    import numpy as np

    from make_sounds import LOUDNESS_LUFS, loudness

    with wave.open(str(src)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
    n_in, n_out = int(0.01 * RATE), int(0.03 * RATE)       # click-free ends
    x = x.copy()
    x[:n_in] *= np.linspace(0.0, 1.0, n_in)
    x[-n_out:] *= np.linspace(1.0, 0.0, n_out)
    gain = 10 ** ((LOUDNESS_LUFS - loudness(x, RATE)) / 20)
    if gain * float(np.abs(x).max()) > PEAK:
        raise ValueError(f"{src.name} would clip at {LOUDNESS_LUFS} LUFS: lower LOUDNESS_LUFS in make_sounds.py")
    y = np.round(np.clip(x * gain, -1, 1) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(y.tobytes())


def main(argv: list[str]) -> int:
    from coach.core.exercises import load_library
    from coach.core.screens import phrases
    from coach.screen.sound import VOICE_DIR, voice_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "sounds" / VOICE_DIR)
    ap.add_argument("--exercises", action="append", default=[], help="also a therapist's exercise folder")
    args = ap.parse_args(argv[1:])
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install espeak-ng sox)", file=sys.stderr)
            return 1
    library, errors = load_library(args.exercises)
    for err in errors:
        print(f"skipped: {err}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    listing = []
    with tempfile.TemporaryDirectory() as tmp:
        for phrase in phrases(library):
            name = voice_file(phrase)
            render(phrase, args.out / name, Path(tmp))
            listing.append(f"{name}\t{phrase}")
            print(f"{name}  {phrase}")
    (args.out / "phrases.txt").write_text("\n".join(listing) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
