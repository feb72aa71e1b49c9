"""The session log's file: where it is, checks before any write, SQLite errors in
one sentence, and the per-session lock files crash recovery relies on.

Opening safely
    Before anything is written, the file is checked read-only (`check_file`):
    SQLite header, `PRAGMA quick_check`, that it is a coach database, and that
    its schema is not newer than this program. A damaged or foreign file is
    never modified.
"""
from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
from pathlib import Path

import platformdirs
import sqlite_utils

from coach.errors import CoachError
from coach.io.schema import check_version

SQLITE_HEADER = b"SQLite format 3\x00"


def default_db_path() -> Path:
    """`$COACH_DB` if set, else `coach.db` in the user data dir. (`--db` beats both.)"""
    env = os.environ.get("COACH_DB", "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("coach", appauthor=False)) / "coach.db"


def sql_error(path: Path, exc: sqlite3.Error) -> CoachError:
    """One plain sentence for an SQLite failure."""
    msg = str(exc)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return CoachError(f"The database {path} is locked by another program; try again in a moment.")
    if "readonly" in low or "read-only" in low:
        return CoachError(f"The database {path} is read-only; coach needs write access to it.")
    if "malformed" in low or "not a database" in low or "disk image" in low:
        return CoachError(f"The database {path} is damaged ({msg}); it was left unchanged.")
    if "full" in low:
        return CoachError(f"The disk holding {path} is full.")
    if "unable to open" in low:
        return CoachError(f"Cannot open the database {path}: check the folder exists and is writable.")
    return CoachError(f"Database error in {path}: {msg}.")


def friendly(method):
    """Turn SQLite errors from a Store method into one-sentence CoachErrors (uses `self.path`)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise sql_error(self.path, exc) from exc
    return wrapper


def connect_readonly(path: Path, timeout_ms: int) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                           timeout=timeout_ms / 1000, check_same_thread=False)


def check_file(path: Path, timeout_ms: int) -> bool:
    """Read-only checks before any write. True if the file holds data already."""
    if path.is_dir():
        raise CoachError(f"{path} is a folder, not a database file.")
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise CoachError(f"Cannot read the database {path}: {exc.strerror}.") from exc
    if header != SQLITE_HEADER:
        raise CoachError(f"{path} is not an SQLite database (bad header); it was left unchanged.")
    try:
        conn = connect_readonly(path, timeout_ms)
    except sqlite3.Error as exc:
        raise sql_error(path, exc) from exc
    try:
        problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise CoachError(f"The database {path} is damaged ({problems[0]}); it was left unchanged.")
        check_version(path, sqlite_utils.Database(conn, execute_plugins=False))
    except sqlite3.Error as exc:
        raise sql_error(path, exc) from exc
    finally:
        conn.close()
    return True


def lock_dir(path: Path) -> Path:
    """The folder of the session lock files of the database at `path`."""
    return path.with_name(path.name + ".locks")


def try_lock(lock_path: Path) -> int | None:
    """An fd holding an exclusive flock on `lock_path`, or None if someone else holds it."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd
