"""Atomic file writes: write to a temp file beside the target, then rename.

A crash or an error part-way never leaves half a file where a reader expects a
whole one (landmark streams, JSON results, reports). Everything coach writes is
health data: files are 0600 and the folders made for them 0700 (`private_folder`).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

PRIVATE_DIR = 0o700


def private_folder(folder: str | os.PathLike[str]) -> None:
    """Create `folder` and its missing parents owner-only (0700), whatever the umask. Folders that
    exist are left as they are (they are the user's)."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(d, PRIVATE_DIR)


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call write(tmp_path), then rename the temp file over `path`.

    The file is private (0600, as mkstemp makes it): everything coach writes is
    health data. An error names `path`, not the temp file."""
    path = Path(path)
    tmp = None
    try:
        private_folder(path.parent)                 # a folder made for it is 0700
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
