"""`coach review` as a real process: the Host header checked, failed logins throttled, the
password hash never served, and its temporary files gone after SIGTERM and SIGINT."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from coach.log.review import LoginThrottle, host_name, loopback
from coach.log.store import Store



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Review:
    """A real `coach review` process on a free port, with its own TMPDIR."""

    def __init__(self, db: Path, tmp: Path, password: str | None = None):
        self.port, self.tmp = free_port(), tmp
        tmp.mkdir()
        env = {**os.environ, "TMPDIR": str(tmp)}
        env.pop("COACH_REVIEW_PASSWORD", None)
        if password:
            env["COACH_REVIEW_PASSWORD"] = password
        self.proc = subprocess.Popen([sys.executable, "-m", "coach", "review", "--db", str(db), "--port",
                                      str(self.port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 60
        while self.request("/-/versions.json")[0] in (None, 0):
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "coach review did not start"
            time.sleep(0.2)

    def request(self, path: str, host: str | None = None, data: dict | None = None, cookie: str = ""):
        """(status, body, set-cookie) — status None while the server is not up yet."""
        headers = {"Host": host or f"127.0.0.1:{self.port}", "Cookie": cookie}
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, r.read().decode(), r.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers.get_all("Set-Cookie") or []
        except (urllib.error.URLError, ConnectionError):
            return None, "", []

    def login(self, password: str) -> tuple[int, str]:
        _, page, cookies = self.request("/-/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)
        csrf = "; ".join(c.split(";")[0] for c in cookies)
        status, _, cookies = self.request("/-/login", data={"username": "therapist", "password": password,
                                                            "csrftoken": token}, cookie=csrf)
        return status, "; ".join(c.split(";")[0] for c in cookies)

    def stop(self, sig) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.slow
def test_review_checks_the_host_and_cleans_up_on_sigterm(tmp_path):
    db = tmp_path / "c.db"
    Store.open(db).close()
    server = Review(db, tmp_path / "tmp")
    try:
        assert server.request("/", host=f"localhost:{server.port}")[:2] == (302, "See /c/patients")
        assert server.request("/c/patients", host=f"[::1]:{server.port}")[0] == 200
        assert server.request("/", host=f"attacker.example:{server.port}")[0] == 421     # DNS rebinding
        assert server.request("/c.json", host="attacker.example")[0] == 421
        assert list(server.tmp.iterdir())                                  # its metadata file, while it runs
    finally:
        _, err = server.stop(signal.SIGTERM)
    assert list(server.tmp.iterdir()) == [] and "Traceback" not in err


@pytest.mark.slow
def test_review_throttles_logins_never_serves_the_hash_and_cleans_up_on_sigint(tmp_path):
    db = tmp_path / "c.db"
    Store.open(db).close()
    server = Review(db, tmp_path / "tmp", password="s3cret")
    try:
        assert server.request("/")[:2] == (302, "See /-/login")                 # not logged in yet
        status, actor = server.login("s3cret")
        assert status == 302 and "ds_actor" in actor
        assert server.request("/", cookie=actor)[:2] == (302, "See /c/patients")
        status, body, _ = server.request("/-/metadata.json", cookie=actor)
        assert status == 200 and "coach session log" in body
        assert "pbkdf2" not in body and "s3cret" not in body                    # no hash, no password
        statuses = [server.login("wrong")[0] for _ in range(6)]
        assert statuses[:5] == [200] * 5 and statuses[5] == 429               # 5 failures, then wait
        assert server.login("s3cret")[0] == 429                               # even the right one waits
        assert list(server.tmp.iterdir())
    finally:
        _, err = server.stop(signal.SIGINT)
    assert list(server.tmp.iterdir()) == [] and "Traceback" not in err


def test_host_names_and_the_login_throttle():
    assert [host_name(h) for h in ("localhost:8001", "[::1]:8001", "127.0.0.1", "Example.org:80", "::1")] == \
        ["localhost", "::1", "127.0.0.1", "example.org", "::1"]
    assert loopback("localhost") and loopback("127.0.0.2") and loopback("::1") and not loopback("10.0.0.1")
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(5):
        assert throttle.wait_s() == 0
        throttle.record(False)
    assert throttle.wait_s() == 30
    now[0] += 30
    for _ in range(5):
        throttle.record(False)
    assert throttle.wait_s() == 60                   # doubling
    now[0] += 60
    throttle.record(True)
    assert throttle.wait_s() == 0 and throttle.failures == 0
