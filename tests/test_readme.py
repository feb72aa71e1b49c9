"""The README is true as written: its pictures are made by a script and current."""
from __future__ import annotations

import pytest


@pytest.mark.slow
def test_readme_pictures_are_made_by_a_script_small_and_current(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

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
