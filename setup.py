"""Only the package list lives here: every package under coach/ is discovered, so a new folder can
never be left out of the wheel; the exercise files and sounds live at the top level of the project
and install as coach.exercises and coach.sounds (mapped in pyproject.toml). Everything else is in
pyproject.toml."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["coach", "coach.*"]) + ["coach.exercises", "coach.sounds", "coach.sounds.voice"])
