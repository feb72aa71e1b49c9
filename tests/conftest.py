"""Shared fixtures. Tests needing real clips or the model skip only when
COACH_TEST_MEDIA / COACH_FACE_MODEL are unset (an outside user's machine);
.ci/run always sets both."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
CHECKOUT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def media() -> Path:
    folder = os.environ.get("COACH_TEST_MEDIA")
    if not folder:
        pytest.skip("COACH_TEST_MEDIA is not set")
    return Path(folder)


@pytest.fixture
def face_model(request) -> str:
    """The face model's path; a test that asks for it runs the tracker, so it must be marked slow."""
    assert request.node.get_closest_marker("slow"), f"{request.node.nodeid} runs the tracker: mark it @pytest.mark.slow"
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


@pytest.fixture(scope="module")
def calm():
    """A real calm face: the first frame of the committed landmark stream (tests/streams.py)."""
    from streams import session_stream

    return session_stream(0.2)[0]


@pytest.fixture
def window(headless):
    """A muted pygame window on SDL's dummy driver, its renderer's text, buttons and pixels to check."""
    from coach.screen.display import PygameDisplay

    d = PygameDisplay(mute=True)
    yield d
    d.close()


def pytest_configure(config):
    """Every child process imports the same coach as this one. From the checkout (a worktree with
    PYTHONPATH, or an editable install) the children get the checkout on PYTHONPATH; from an installed
    package, PYTHONSAFEPATH keeps a child's working folder (`python -m coach` in the checkout) from
    shadowing it. Under COACH_TEST_INSTALLED=1 (.ci/run), or when a non-editable coach is installed,
    importing the checkout's coach/ is an error: the tests would pass on files the wheel may lack."""
    import coach

    origin = Path(coach.__file__).resolve().parent
    if origin == CHECKOUT / "coach":
        installed = _installed_copy()
        if os.environ.get("COACH_TEST_INSTALLED") == "1" or installed:
            raise pytest.UsageError(
                f"coach was imported from the checkout ({origin}), not from the installed package"
                f"{f' ({installed})' if installed else ''}: run `pytest` (not `python -m pytest`, which puts "
                "the current folder first on sys.path) with no PYTHONPATH, or `pip install -e .` to test the checkout")
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(CHECKOUT) not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([str(CHECKOUT), *paths])
    else:
        os.environ["PYTHONSAFEPATH"] = "1"


def _installed_copy() -> str | None:
    """Where a non-editable `coach` distribution is installed, if one is (not the checkout's egg-info)."""
    import json
    from importlib import metadata

    for dist in metadata.distributions(name="coach"):
        where = Path(str(dist.locate_file(""))).resolve()
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        if where != CHECKOUT and not direct.get("dir_info", {}).get("editable"):
            return str(where)
    return None


@pytest.fixture(autouse=True)
def _fast_means_no_processes(request, monkeypatch):
    """The fast loop (`-m "not slow"`) starts no process: a test that does, itself or through coach's
    code, must say so where it is written, with `@pytest.mark.slow` (or the module's `pytestmark`).
    Fixtures set up before this one (a shared PostgreSQL server) may, and so may a library's own
    housekeeping (matplotlib asking fontconfig for fonts once)."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    import multiprocessing.process
    import subprocess
    import sys
    import sysconfig

    import coach

    ours = (Path(coach.__file__).resolve().parent, CHECKOUT / "tests")
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()

    def caller() -> Path | None:
        """The first file up the stack outside the standard library (subprocess.run, a process pool …)."""
        frame = sys._getframe(2)
        while frame:
            path = Path(frame.f_code.co_filename).resolve()
            if not path.is_relative_to(stdlib) or "site-packages" in path.parts:
                return path
            frame = frame.f_back
        return None

    def guarded(original):
        def start(*args, **kwargs):
            where = caller()
            if where and any(where.is_relative_to(folder) for folder in ours):
                raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow")
            return original(*args, **kwargs)
        return start

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded(subprocess.Popen.__init__))
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", guarded(multiprocessing.process.BaseProcess.start))
    yield
