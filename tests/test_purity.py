"""The pure core imports no cv2, mediapipe, pygame or sqlite — checked in a fresh interpreter."""
import subprocess
import sys
from pathlib import Path

import pytest

CORE = sorted(p.stem for p in (Path(__file__).parent.parent / "coach" / "core").glob("*.py") if p.stem != "__init__")
FORBIDDEN = ("cv2", "mediapipe", "pygame", "sqlite3", "sqlite_utils")


@pytest.mark.slow   # starts a process
def test_core_imports_nothing_heavy():
    assert {"measures", "calibration", "detector", "exercises", "frames", "pipeline"} <= set(CORE)
    code = ("import sys\n"
            + "".join(f"import coach.core.{m}\n" for m in CORE)
            + f"bad = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)\n"
            + "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"
