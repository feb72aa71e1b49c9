"""User-facing errors: each carries one plain sentence and the process exit code.

The CLI catches `CoachError` and prints only its message, so bad input never
shows a traceback.
"""


class CoachError(Exception):
    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(CoachError):
    """Unreadable video, no face, bad stream, bad exercise file."""

    exit_code = 2


class ModelMissing(CoachError):
    exit_code = 2
