"""A throwaway PostgreSQL cluster for the clinic-store tests (and scripts/clinic_demo.sh's twin).

`pg_server` (session scope) runs `initdb` and `pg_ctl start` in a fresh folder: no TCP
(`listen_addresses=''`), its Unix socket in that folder, trust authentication, `fsync=off`. As root
(CI) the cluster runs as the `postgres` user, which owns the folder: PostgreSQL refuses to run as
root. The binaries are on PATH or in the newest /usr/lib/postgresql/*/bin.

The tests skip only when COACH_TEST_POSTGRES is unset; when it is set and the server cannot start,
they fail with the reason (CI sets it, so a broken PostgreSQL fails CI instead of hiding).
`pg_url` gives each test a database of its own.
"""
from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ENV = "COACH_TEST_POSTGRES"
SKIP = f"set {ENV}=1 to run against a throwaway PostgreSQL"
RUN_AS = "postgres"                # the server's user when we are root
SETTINGS = {"listen_addresses": "''", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else the newest installed version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    def version(p: Path) -> tuple:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.name))
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: version(p.parent))
    return installed[-1].parent if installed else None


class Cluster:
    """One running cluster in `folder` (data in folder/data, socket in folder)."""

    def __init__(self, folder: Path, bin_dir: Path):
        self.folder, self.bin = folder, bin_dir
        self.data = folder / "data"
        self.log = folder / "server.log"
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", RUN_AS, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "LC_ALL": "C"})
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {(done.stderr or done.stdout).strip()[-800:]}")

    def start(self) -> "Cluster":
        if self._as_root:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = " ".join(f"-c {k}={v}" for k, v in {**SETTINGS, "unix_socket_directories": f"'{self.folder}'"}.items())
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        except RuntimeError as exc:
            log = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
            raise RuntimeError(f"{exc} {log}".strip()) from None
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.folder}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server():
    if not os.environ.get(ENV):
        pytest.skip(SKIP)
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.fail(f"{ENV} is set but PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql)")
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="coach-pg-", dir="/tmp")), bin_dir)
    try:
        cluster.start()
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(cluster.folder, ignore_errors=True)
        pytest.fail(f"{ENV} is set but the throwaway PostgreSQL did not start: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.new_database()
