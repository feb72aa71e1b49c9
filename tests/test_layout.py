"""The house plan: one folder per job, each saying its job in one line, and modules short enough to read."""
from __future__ import annotations

import ast
from pathlib import Path

import coach

PACKAGE = Path(coach.__file__).resolve().parent
ROOMS = ("camera", "screen", "log", "clinic", "report")        # the rooms coach/io was split into
MAX_LINES = 500


def test_every_room_says_its_job_in_one_line():
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text()))
        assert doc and "\n" not in doc.strip(), f"coach/{room}/__init__.py: its job in one line, not {doc!r}"


def test_the_old_catch_all_folder_is_gone():
    assert not (PACKAGE / "io").exists()


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
