"""The package under test holds everything the source tree has: every module of coach/ imports from it,
and every exercise file, sound and data file is in it. Under .ci/run the package under test is the one
`pip install .` built (conftest refuses the checkout), so a module or file the wheel leaves out fails here,
by name."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
SOURCE = CHECKOUT / "coach"
NOT_IMPORTED = {"coach.__main__"}          # runs the command line when imported


def source_modules() -> list[str]:
    names = []
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(CHECKOUT).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names.append(name)
    return [n for n in names if n not in NOT_IMPORTED]


def data_files() -> list[tuple[str, str]]:
    """(package, file) for every file the project ships beside its code, as the source tree has them."""
    wanted = [("coach.exercises", p.relative_to(CHECKOUT / "exercises")) for p in (CHECKOUT / "exercises").rglob("*")
              if p.is_file() and p.suffix == ".toml"]
    wanted += [("coach.sounds", p.relative_to(CHECKOUT / "sounds")) for p in (CHECKOUT / "sounds").rglob("*")
               if p.is_file() and p.suffix in (".wav", ".txt")]
    wanted += [("coach.data", p.relative_to(SOURCE / "data")) for p in (SOURCE / "data").rglob("*")
               if p.is_file() and p.suffix in (".json", ".jsonl", ".npz")]
    return sorted((pkg, str(rel)) for pkg, rel in wanted)


def test_the_source_tree_is_walked():
    modules = source_modules()
    assert {"coach.cli", "coach.kiosk.machine", "coach.core.session", "coach.log.store"} <= set(modules)
    assert len(modules) > 50
    files = data_files()
    assert ("coach.exercises", "gentle-smile.toml") in files and ("coach.data", "demo.landmarks.npz") in files
    assert any(pkg == "coach.sounds" for pkg, _ in files)


@pytest.mark.parametrize("module", source_modules())
def test_every_module_of_the_source_tree_imports_from_the_package(module):
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        import coach
        pytest.fail(f"{module}, in the source tree, is missing from the package under test "
                    f"({Path(coach.__file__).parent}): {e}")


def test_every_exercise_sound_and_data_file_is_in_the_package():
    """Found as coach finds them (`coach.resources.builtin_dir`: the package's own folders when installed)."""
    from coach.resources import builtin_dir

    missing = [f"{pkg}: {name}" for pkg, name in data_files()
               if not (builtin_dir(pkg.split(".")[1]) / name).is_file()]
    assert not missing, f"missing from the package under test: {', '.join(missing)}"
