"""Keep MediaPipe's native log lines off the patient's terminal.

MediaPipe and TensorFlow Lite log from C++ threads straight to file descriptor 2
("W0000 00:00:… inference_feedback_manager.cc …"), around start-up and the first
frames, and no environment variable silences absl's logging. The CLI therefore
routes fd 2 through a small filter thread that drops those lines and passes
everything else on, while Python's own sys.stderr writes directly to the real
stderr, so coach's messages are never delayed or lost at exit.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

# absl/TFLite lines, and FFmpeg's own "[mov,mp4,... @ 0x55...] moov atom not found" (coach says it in one sentence).
NATIVE_NOISE = re.compile(rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: Logging before InitGoogle|INFO: Created TensorFlow Lite"
                          rb"|\[[\w,]+ @ 0x[0-9a-f]+\])")
_installed = False


def filter_native_logs() -> None:
    global _installed
    if _installed:
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:
        return
    _installed = True
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                           errors="backslashreplace")

    def pump() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as src:
            pending = b""
            while chunk := src.read(4096):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not NATIVE_NOISE.match(line):
                        os.write(real, line + b"\n")
            if pending and not NATIVE_NOISE.match(pending):
                os.write(real, pending)

    threading.Thread(target=pump, name="native-log-filter", daemon=True).start()


_hush_lock = threading.Lock()   # fd 2 is the whole process's: two callers take turns


@contextlib.contextmanager
def hushed_stderr():
    """Silence file descriptor 2 for a moment (native libraries write there, not to sys.stderr)."""
    with _hush_lock:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
