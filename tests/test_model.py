"""Finding the model: --model → $COACH_FACE_MODEL → user cache, always checked by sha256, never downloaded
except by `coach model download`. The "download" is served from a local file URL (no network here).

Most tests use a small stand-in file whose sha256 is patched in as the expected one."""
import functools
import hashlib
import io
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.errors import ModelMissing
from coach import bars
from coach.camera import model as model_io


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv(model_io.ENV_VAR, raising=False)
    monkeypatch.setattr(model_io, "cache_path", lambda: tmp_path / "cache" / model_io.MODEL_NAME)
    return tmp_path / "cache" / model_io.MODEL_NAME


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Path:
    """A stand-in model file, made the expected one."""
    path = tmp_path / "fake.task"
    path.write_bytes(b"a stand-in face model" * 100)
    monkeypatch.setattr(model_io, "MODEL_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    return path


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **kw):
        raise AssertionError("tried to download")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def run(*args, env=None):
    return CliRunner().invoke(cli, ["model", *map(str, args)], env=env)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.slow   # copies and hashes the real face model
def test_download_verifies_and_caches(face_model, cache, monkeypatch, capsys):
    monkeypatch.setattr(model_io, "MODEL_URL", Path(face_model).resolve().as_uri())
    assert model_io.download() == cache and cache.is_file()
    assert capsys.readouterr().err == ""                             # no bar off a terminal
    cache.unlink()
    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(bars, "bar", functools.partial(bars.bar, delay_s=0))   # a local file is quick
    assert model_io.download() == cache
    assert "Downloading face model:   0%" in tty.getvalue() and "/3.58M" in tty.getvalue()   # the bar, in MiB
    assert model_io.resolve() == cache                               # now found in the cache
    assert model_io.sha256_of(cache) == model_io.MODEL_SHA256


def test_a_wrong_download_is_refused_and_not_kept(cache, monkeypatch, tmp_path):
    bogus = tmp_path / "bogus.task"
    bogus.write_bytes(b"not the model" * 1000)
    monkeypatch.setattr(model_io, "MODEL_URL", bogus.as_uri())
    with pytest.raises(ModelMissing, match="not the expected file"):
        model_io.download()
    assert not cache.exists() and not list(cache.parent.glob("*.part"))


def test_offline_download_says_it_failed_and_how_to_install(cache, monkeypatch):
    monkeypatch.setattr(model_io, "MODEL_URL", "http://127.0.0.1:9/face_landmarker.task")
    with pytest.raises(ModelMissing, match="could not be downloaded .*coach model install PATH") as err:
        model_io.download()
    assert err.value.exit_code == 2


def test_resolve_never_downloads_and_says_where_it_looked(cache, no_network):
    with pytest.raises(ModelMissing) as err:
        model_io.resolve()
    msg = str(err.value)
    assert "could not be downloaded" not in msg
    assert f"${model_io.ENV_VAR}: not set" in msg and str(cache) in msg and "no file" in msg
    assert "coach model download" in msg and "coach model install PATH" in msg
    assert not cache.exists()


def test_install_copies_a_verified_model(fake, cache):
    assert model_io.install(fake) == cache
    assert model_io.sha256_of(cache) == model_io.MODEL_SHA256
    assert model_io.resolve() == cache


def test_cli_model_without_one_lists_every_place_and_never_downloads(cache, tmp_path, no_network):
    result = run()
    assert isinstance(result.exception, ModelMissing) and result.exception.exit_code == 2
    msg = str(result.exception)
    assert "could not be downloaded" not in msg and "not installed" in msg
    for place in ("--model: not given", f"${model_io.ENV_VAR}: not set", f"user cache: {cache}: no file"):
        assert place in msg
    assert "coach model download" in msg and "coach model install PATH" in msg
    # A named file that is not there is reported as such, with the other places.
    missing = tmp_path / "nowhere.task"
    msg = str(run(env={model_io.ENV_VAR: str(missing)}).exception)
    assert f"${model_io.ENV_VAR}: {missing}: no file   <- used" in msg and "user cache" in msg


def test_cli_model_reports_where_it_is_and_that_it_verifies(fake, cache, no_network):
    result = run(env={model_io.ENV_VAR: str(fake)})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [str(fake), f"found via: ${model_io.ENV_VAR}",
                                          f"verified: sha256 {model_io.MODEL_SHA256}"]
    model_io.install(fake)
    out = run().output
    assert out.startswith(f"{cache}\nfound via: user cache\nverified")
    assert run("--model", fake).output.startswith(f"{fake}\nfound via: --model\n")


def test_cli_model_names_a_wrong_file(fake, cache, tmp_path):
    wrong = tmp_path / "wrong.task"
    wrong.write_bytes(b"something else")
    result = run("--model", wrong)
    assert isinstance(result.exception, ModelMissing) and result.exception.exit_code == 2
    msg = str(result.exception)
    assert "cannot be used (wrong file (sha256" in msg and f"--model: {wrong}: wrong file" in msg
    with pytest.raises(ModelMissing, match="not the expected file"):
        model_io.resolve(wrong)


def test_cli_download_is_the_command_that_downloads(fake, cache, monkeypatch):
    monkeypatch.setattr(model_io, "MODEL_URL", fake.resolve().as_uri())
    result = run("download")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == str(cache) and cache.read_bytes() == fake.read_bytes()
