"""The session log's file: where it is, checks before any write, SQLite errors in
one sentence, and the per-session lock files crash recovery relies on.

Opening safely
    Before anything is written, the file is checked read-only (`check_file`):
    SQLite header, `PRAGMA quick_check`, that it is a coach database, and that
    its schema is not newer than this program. A damaged or foreign file is
    never modified.

Private by default
    Health data: the folders coach creates are 0700, the database 0600 whatever
    the umask (SQLite gives its -wal and -shm files the database's mode), lock
    files 0600.

Reading only
    Readers open the file `mode=ro`; in a folder they cannot write (where SQLite
    could not create the -shm file) `immutable=1`.
"""
from __future__ import annotations

import fcntl
import functools
import os
import socket
import sqlite3
from pathlib import Path

import platformdirs
import sqlite_utils

from coach.errors import CoachError, DiskFull, LogDamaged, LogError, LogLocked, LogReadOnly
from coach.log.schema import check_version

SQLITE_HEADER = b"SQLite format 3\x00"
PRIVATE_FILE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")
HOST = socket.gethostname()


def data_dir() -> Path:
    """Coach's own folder in the user data dir (made private even if it existed before)."""
    return Path(platformdirs.user_data_dir("coach", appauthor=False))


def default_db_path() -> Path:
    """`$COACH_DB` if set, else `coach.db` in the user data dir. (`--db` beats both.)"""
    env = os.environ.get("COACH_DB", "").strip()
    if env:
        return Path(env).expanduser()
    return data_dir() / "coach.db"


LOCKED_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
DAMAGED_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of an error (its extended code's low byte), or None."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_locked(exc: BaseException) -> bool:
    """Another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED), told by SQLite's code or our
    class, not by the message."""
    if isinstance(exc, LogLocked):
        return True
    cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
    return cause is not None and sqlite_code(cause) in LOCKED_CODES


def sql_error(path: Path, exc: sqlite3.Error) -> LogError:
    """One plain sentence for an SQLite failure, as the class that says what happened (by SQLite's code)."""
    code = sqlite_code(exc)
    if code in LOCKED_CODES:
        return LogLocked(f"The database {path} is locked by another program; try again in a moment.")
    if code == sqlite3.SQLITE_READONLY:
        return LogReadOnly(f"The database {path} is read-only; coach needs write access to it.")
    if code in DAMAGED_CODES:
        return LogDamaged(f"The database {path} is damaged ({exc}); it was left unchanged.")
    if code == sqlite3.SQLITE_FULL:
        return DiskFull(f"The disk holding {path} is full.")
    if code == sqlite3.SQLITE_CANTOPEN:
        return LogError(f"Cannot open the database {path}: check the folder exists and is writable.")
    return LogError(f"Database error in {path}: {exc}.")


def friendly(method):
    """Turn SQLite errors from a Store method into one-sentence CoachErrors (uses `self.path`)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise sql_error(self.path, exc) from exc
    return wrapper


def tighten(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Take group and other access away from a file or folder of ours (best effort)."""
    try:
        st = os.stat(path)
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(path, mode)
    except OSError:
        pass


def private_database(path: Path) -> None:
    """The database file created empty and 0600 before SQLite opens it (its -wal and -shm take
    its mode); an existing one, and its side files, tightened to 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        os.chmod(path, PRIVATE_FILE)
    except FileExistsError:
        for p in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
            tighten(p)


def connect_readonly(path: Path, timeout_ms: int) -> sqlite3.Connection:
    """A read-only connection: `mode=ro`, else `immutable=1` where SQLite cannot make its
    -shm file (a WAL database in a folder this user cannot write)."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout_ms / 1000, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(path.parent, os.W_OK):
            raise
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=timeout_ms / 1000, check_same_thread=False)


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
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def lock_is_free(lock_path: Path) -> bool:
    """True if no process holds the session lock at `lock_path` (a missing file: none does).
    Read-only: the file is neither created nor changed; a file we cannot read counts as held."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
