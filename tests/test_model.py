"""Model resolution: explicit path → user cache → download, always checked by sha256.
The "download" is served from a local file URL (no network here)."""
from pathlib import Path

import pytest

from coach.errors import ModelMissing
from coach.io import model as model_io


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv(model_io.ENV_VAR, raising=False)
    monkeypatch.setattr(model_io, "cache_path", lambda: tmp_path / "cache" / model_io.MODEL_NAME)
    return tmp_path / "cache" / model_io.MODEL_NAME


def test_download_verifies_and_caches(face_model, cache, monkeypatch, capsys):
    monkeypatch.setattr(model_io, "MODEL_URL", Path(face_model).resolve().as_uri())
    assert model_io.resolve() == cache and cache.is_file()
    assert "Downloading face model" in capsys.readouterr().err       # the progress bar
    assert model_io.resolve(download=False) == cache                # now found in the cache


def test_a_wrong_download_is_refused_and_not_kept(cache, monkeypatch, tmp_path):
    bogus = tmp_path / "bogus.task"
    bogus.write_bytes(b"not the model" * 1000)
    monkeypatch.setattr(model_io, "MODEL_URL", bogus.as_uri())
    with pytest.raises(ModelMissing, match="not the expected file"):
        model_io.resolve()
    assert not cache.exists() and not list(cache.parent.glob("*.part"))


def test_offline_without_a_model_says_how_to_install(cache, monkeypatch):
    monkeypatch.setattr(model_io, "MODEL_URL", "http://127.0.0.1:9/face_landmarker.task")
    with pytest.raises(ModelMissing, match="coach model install PATH") as err:
        model_io.resolve()
    assert err.value.exit_code == 2


def test_install_copies_a_verified_model(face_model, cache):
    assert model_io.install(face_model) == cache
    assert model_io.sha256_of(cache) == model_io.MODEL_SHA256
