"""Shared fixtures. Tests needing real clips or the model skip only when
COACH_TEST_MEDIA / COACH_FACE_MODEL are unset (an outside user's machine);
.ci/run always sets both."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def media() -> Path:
    folder = os.environ.get("COACH_TEST_MEDIA")
    if not folder:
        pytest.skip("COACH_TEST_MEDIA is not set")
    return Path(folder)


@pytest.fixture(scope="session")
def face_model() -> str:
    path = os.environ.get("COACH_FACE_MODEL")
    if not path:
        pytest.skip("COACH_FACE_MODEL is not set")
    return path


@pytest.fixture(scope="session")
def library():
    from coach.core.exercises import load_library

    lib, errors = load_library()
    assert not errors
    return lib


@pytest.fixture(scope="session")
def single_face_stream() -> Path:
    """The project's own tracker output for media/single_face.mp4 (committed)."""
    return DATA / "single_face.landmarks.npz"


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    """SDL's dummy video and disk audio drivers for a module's pygame screens and sounds.
    SDL reads these when pygame.init() runs, i.e. in each PygameDisplay()."""
    keys = ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "SDL_DISKAUDIOFILE", "PYGAME_HIDE_SUPPORT_PROMPT")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="disk", PYGAME_HIDE_SUPPORT_PROMPT="1",
                      SDL_DISKAUDIOFILE=str(tmp_path_factory.mktemp("audio") / "out.raw"))
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


SPAWNS = ("subprocess", "Popen", "sys.executable", "multiprocessing")


def pytest_collection_modifyitems(items):
    """Slow = runs the tracker on video or spawns processes. Every test that needs the face
    model runs the tracker; a test whose own code starts a process spawns one. Others carry
    `@pytest.mark.slow` themselves."""
    import inspect

    for item in items:
        fn = getattr(item, "function", None)
        try:
            source = inspect.getsource(fn) if fn is not None else ""
        except (OSError, TypeError):
            source = ""
        if "face_model" in getattr(item, "fixturenames", ()) or any(word in source for word in SPAWNS):
            item.add_marker(pytest.mark.slow)
