"""Running the `coach` command inside the test process, for tests that read what it printed."""
from __future__ import annotations

from coach.cli import main


def coach(capsys, *args) -> tuple[int, str, str]:
    """`coach ARGS` in this process: exit code, stdout, stderr."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err
