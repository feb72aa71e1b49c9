"""The README's clinic section, tried as a new user would: `bash scripts/clinic_demo.sh` brings up a
local PostgreSQL, syncs the demo data and prints the report's path; its stop line cleans up."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not os.environ.get("COACH_TEST_POSTGRES"),
                                reason="set COACH_TEST_POSTGRES=1 to run against a throwaway PostgreSQL")


@pytest.mark.slow   # starts a process
def test_the_clinic_demo_script_syncs_and_reports():
    done = subprocess.run(["bash", str(REPO / "scripts" / "clinic_demo.sh")], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    stop = out.strip().splitlines()[-1].strip()
    try:
        assert re.search(r"Sent \d+ sessions .* 0 already there\.", out)
        assert "Joined to the patient already registered there: P017." in out      # kiosk and home: one P017
        report = Path(re.search(r"The report, made from the clinic store: (\S+)", out).group(1))
        page = report.read_text()
        assert "P017" in page and "Botulinum toxin" in page
        assert report.stat().st_mode & 0o777 == 0o600
    finally:
        assert "pg_ctl" in stop and "rm -rf" in stop
        subprocess.run(stop, shell=True, check=True, capture_output=True, timeout=120)
    assert not report.parent.exists()
