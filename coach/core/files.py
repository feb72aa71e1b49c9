"""Atomic file writes: write to a temp file beside the target, then rename.

A crash or an error part-way never leaves half a file where a reader expects a
whole one (landmark streams, JSON results, reports).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call write(tmp_path), then rename the temp file over `path`.

    The file is private (0600, as mkstemp makes it): everything coach writes is
    health data. An error names `path`, not the temp file."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
        os.close(fd)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
    write_atomic(path, write)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_bytes(path: str | os.PathLike[str], data: bytes, durable: bool = False) -> None:
    """`durable`: on disk (fsync) before the rename, for files whose loss costs more than a rewrite
    (a clinic's private key; a bundle the ledger will count as sent)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
    write_atomic(path, write)
