"""`coach label CODE`: the therapist goes through a patient's reps, each replayed, and labels them.

Each rep is replayed in a loop, from just before its onset to just after its return, as the calm
mesh drawn from the session's saved landmark stream (`coach run --save-landmarks`; the stream
names its session), as the therapist faces the patient (the patient's left on the right). Where
the patient chose to record a video (a video with the stream's name next to it: `s1.landmarks.npz`
and `s1.mp4`), the video is shown instead. Keys and buttons: `coach.core.labelling`.

Scripted input (tests, demonstrations): JSON lines {"t": 1.5, "key": "y"} or {"t": 2, "click": [x, y]},
posted into pygame's own event queue at their time, so they go the same way as the keyboard and touch.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pygame

from coach.core.frames import StreamError, load_stream, stream_session
from coach.core.labelling import KEYS, Labelling
from coach.errors import InputError
from coach.kiosk.script import script_lines
from coach.screen.drawing import Text
from coach.screen.palette import BG, BODY, HEADING, INK, MUTED, PANEL, SKY, SMALL, TEXT
from coach.screen.widgets import Avatar

SIZE = (1280, 720)
FPS = 30.0
PAD_S = 0.6                      # replay from this long before the onset to this long after the return
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov")
BUTTONS: list[tuple[str, str, str]] = [            # (action, word, key shown)
    ("yes", "Yes", "Y"), ("no", "No", "N"),
    ("side:left", "Left", "L"), ("side:right", "Right", "R"), ("side:both", "Both", "B"),
    ("region:eye", "Eye", "1"), ("region:brow", "Brow", "2"), ("region:mouth", "Mouth", "3"),
    ("region:chin", "Chin", "4"), ("region:neck", "Neck", "5"),
    ("back", "Back", "Bksp"), ("next", "Next", "Enter")]
ROWS = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))      # the regions in two rows: eye, brow, mouth; chin, neck


def button_rects() -> dict[str, pygame.Rect]:
    """Where each button is (the right-hand panel), by action."""
    out: dict[str, pygame.Rect] = {}
    y = 232
    for a, b in ROWS:
        n = b - a
        w = (440 - 16 * (n - 1)) // n
        for i in range(a, b):
            out[BUTTONS[i][0]] = pygame.Rect(810 + (i - a) * (w + 16), y, w, 76)
        y += 90
    return out


# ---- the streams --------------------------------------------------------------------------
class Replays:
    """The saved streams of the folders given, found by the session each names; loaded when needed."""

    def __init__(self, folders: list[Path]) -> None:
        self.paths: dict[str, Path] = {}
        for folder in folders:
            if not Path(folder).is_dir():
                raise InputError(f"{folder} is not a folder of landmark streams.")
            for path in sorted(Path(folder).glob("*.npz")):
                sid = stream_session(path)
                if sid:
                    self.paths[sid] = path
        self._cache: dict[str, Any] = {}

    def frames(self, session_id: str) -> list | None:
        if session_id not in self.paths:
            return None
        if session_id not in self._cache:
            try:
                info, frames = load_stream(self.paths[session_id])
            except StreamError:
                return None
            self._cache = {session_id: (info, frames)}          # one session at a time
        return self._cache[session_id][1]

    def window(self, rep: dict) -> list:
        """The frames of `rep` (onset − PAD_S to return + PAD_S), or [] without a stream."""
        frames = self.frames(rep["session_id"]) or []
        t0, t1 = (rep["start_s"] or 0.0) - PAD_S, (rep["end_s"] or rep["start_s"] or 0.0) + PAD_S
        return [f for f in frames if t0 <= f.t <= t1]

    def video(self, session_id: str) -> Path | None:
        """The video recorded with the session, if the patient chose to record one."""
        path = self.paths.get(session_id)
        if path is None:
            return None
        stem = path.name[:-len(".landmarks.npz")] if path.name.endswith(".landmarks.npz") else path.stem
        return next((path.with_name(stem + ext) for ext in VIDEO_EXTS if path.with_name(stem + ext).exists()), None)


class VideoReplay:
    """A recorded video, read frame by frame from a rep's start (OpenCV)."""

    def __init__(self, path: Path, t0: float) -> None:
        import cv2
        self.cap = cv2.VideoCapture(str(path))
        self.t0 = t0
        self.restart()

    def restart(self) -> None:
        import cv2
        self.cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, self.t0) * 1000.0)

    def frame(self) -> pygame.Surface | None:
        import cv2
        ok, bgr = self.cap.read()
        if not ok:
            return None
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return pygame.image.frombuffer(rgb.tobytes(), (rgb.shape[1], rgb.shape[0]), "RGB")

    def close(self) -> None:
        self.cap.release()


# ---- the tool ----------------------------------------------------------------------------
class LabelTool:
    """The labelling screen: draws the rep on show, and turns keys and touches into labels (`save`)."""

    def __init__(self, state: Labelling, replays: Replays, save: Callable[[dict], None]) -> None:
        self.state, self.replays, self.save = state, replays, save
        self.text = Text()
        self.avatar = Avatar()
        self.buttons = button_rects()
        self.shown: str | None = None
        self.window: list = []
        self.since = 0.0
        self.video: VideoReplay | None = None
        self.message = ""

    def handle(self, value: str) -> None:
        """One input: "key:NAME" or "click:X,Y"."""
        kind, _, what = value.partition(":")
        action = None
        if kind == "key":
            action = KEYS.get(what)
        elif kind == "click":
            x, y = (int(v) for v in what.split(","))
            action = next((a for a, r in self.buttons.items() if r.collidepoint(x, y)), None)
        if action is None:
            return
        label = self.state.act(action)
        if label is not None:
            self.save(label)
            self.message = "Saved: " + words(label)

    def _show(self, t: float) -> None:
        rep = self.state.rep
        if rep is None or rep["id"] == self.shown:
            return
        self.shown, self.since = rep["id"], t
        self.window = self.replays.window(rep)
        self.avatar.fit = None
        if self.video:
            self.video.close()
        path = self.replays.video(rep["session_id"])
        self.video = VideoReplay(path, (rep["start_s"] or 0.0) - PAD_S) if path else None

    def draw(self, surf: pygame.Surface, t: float) -> None:
        self._show(t)
        surf.fill(BG)
        self.text.reset()
        rep = self.state.rep
        if rep is None:
            self.text.block(surf, "Every rep is labelled. Close the window.", HEADING, TEXT,
                            surf.get_rect(), valign="center")
            return
        self._replay(surf, pygame.Rect(20, 20, 760, 680), t - self.since)
        self._panel(surf, rep)

    def _replay(self, surf: pygame.Surface, box: pygame.Rect, dt: float) -> None:
        pygame.draw.rect(surf, PANEL, box, border_radius=12)
        if self.video is not None:
            img = self.video.frame()
            if img is None:
                self.video.restart()
                img = self.video.frame()
            if img is not None:
                img = pygame.transform.smoothscale(img, fit(img.get_size(), box.size))
                surf.blit(img, img.get_rect(center=box.center))
                return
        if not self.window:
            self.text.block(surf, "No landmark stream for this session. Give the folder it was saved in "
                            "(coach run --save-landmarks) with --streams.", BODY, MUTED, box.inflate(-60, 0),
                            valign="center")
            return
        span = self.window[-1].t - self.window[0].t + 0.5
        at = self.window[0].t + (dt % span)
        frame = min(self.window, key=lambda f: abs(f.t - at))
        points = None
        if frame.points is not None:
            points = np.array(frame.points, dtype=np.float32)
            points[:, 0] = 1.0 - points[:, 0]           # as the therapist faces the patient
        self.avatar.frame_size = (frame.width, frame.height)
        self.avatar.draw(surf, self.text, points, (), box, steady=True)
        self.text.blit(surf, "Patient's left is on your right", SMALL, MUTED, (box.centerx, box.bottom - 12), "midbottom")

    def _panel(self, surf: pygame.Surface, rep: dict) -> None:
        done, total = self.state.progress()
        self.text.blit(surf, f"Rep {self.state.index + 1} of {total}", HEADING, TEXT, (810, 24))
        self.text.blit(surf, f"{rep.get('exercise') or '?'} · {str(rep.get('session_started', ''))[:10]}",
                       SMALL, MUTED, (810, 84))
        self.text.blit(surf, f"{done} labelled", SMALL, MUTED, (810, 122))
        d = self.state.draft
        chosen = {"yes" if d.label == 1 else "no" if d.label == 0 else "", f"side:{d.side}", f"region:{d.region}"}
        self.text.blit(surf, "Co-movement?  Side?  Where?", SMALL, TEXT, (810, 200))
        for action, word, key in BUTTONS:
            rect = self.buttons[action]
            on = action in chosen
            pygame.draw.rect(surf, SKY if on else PANEL, rect, border_radius=10)
            pygame.draw.rect(surf, SKY, rect, 2, border_radius=10)
            self.text.blit(surf, f"{word} ({key})" if len(word) < 6 else word, SMALL, INK if on else TEXT,
                           rect.center, "center")
        if self.message:
            self.text.blit(surf, self.message, SMALL, MUTED, (810, 714), "bottomleft")


def words(label: dict) -> str:
    if not label["label"]:
        return "no co-movement"
    return f"co-movement, {label['side']}" + (f", {label['region']}" if label["region"] else "")


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    s = min(box[0] / size[0], box[1] / size[1])
    return max(1, int(size[0] * s)), max(1, int(size[1] * s))


# ---- scripted input ------------------------------------------------------------------------
def load_script(path: str | os.PathLike) -> list[tuple[float, str]]:
    """A JSON-lines script (read as the kiosk's are, `script_lines`) → [(t, "key:NAME" | "click:X,Y")],
    sorted by time."""
    out = []
    for n, obj in script_lines(path, "labelling event"):
        try:
            t = float(obj["t"])
            value = f"key:{str(obj['key']).lower()}" if "key" in obj else \
                "click:{},{}".format(*(int(round(float(v))) for v in obj["click"]))
        except (ValueError, KeyError, TypeError, IndexError):
            raise InputError(f"Bad event on line {n} of {path}: give {{\"t\": seconds, \"key\": \"y\"}} "
                             "or {\"t\": seconds, \"click\": [x, y]}.") from None
        out.append((t, value))
    return sorted(out, key=lambda e: e[0])


PYGAME_KEYS = {"enter": pygame.K_RETURN, "return": pygame.K_RETURN, "right": pygame.K_RIGHT, "left": pygame.K_LEFT,
               "space": pygame.K_SPACE, "backspace": pygame.K_BACKSPACE, "escape": pygame.K_ESCAPE}
KEY_NAMES = {v: k for k, v in PYGAME_KEYS.items() if k != "return"}


def post(value: str) -> None:
    """A scripted input, posted as the pygame event a keyboard or touch screen would give."""
    kind, _, what = value.partition(":")
    if kind == "key":
        code = PYGAME_KEYS.get(what) or pygame.key.key_code(what)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode=what if len(what) == 1 else ""))
    else:
        x, y = (int(v) for v in what.split(","))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1))


def translate(event: pygame.event.Event, size: tuple[int, int]) -> str | None:
    """A pygame event → "key:NAME" | "click:X,Y" | "quit" (None: not an input)."""
    if event.type == pygame.QUIT:
        return "key:escape"
    if event.type == pygame.KEYDOWN:
        name = KEY_NAMES.get(event.key) or pygame.key.name(event.key)
        return f"key:{name}"
    if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
        return f"click:{event.pos[0]},{event.pos[1]}"
    if event.type == pygame.FINGERDOWN:
        return f"click:{int(event.x * size[0])},{int(event.y * size[1])}"
    return None


def run(tool: LabelTool, script: list[tuple[float, str]] | None = None, shots: Path | None = None,
        fullscreen: bool = False) -> None:
    """The loop: draw, take the inputs (the keyboard and touch, or a script posted into pygame's
    queue), until every rep is labelled or the therapist quits. With a script, time is the script's
    (no waiting) and the loop ends 2 s after its last event; `shots` saves a picture of each rep."""
    pygame.display.init()
    try:
        surf = pygame.display.set_mode(SIZE, pygame.FULLSCREEN if fullscreen else 0)
        pygame.display.set_caption("coach label")
        clock = pygame.time.Clock()
        pending = list(script or [])
        end = (pending[-1][0] + 2.0) if pending else None
        t, n, pictured = 0.0, 0, set()
        while not tool.state.done and (end is None or t <= end):
            while pending and pending[0][0] <= t:
                post(pending.pop(0)[1])
            for event in pygame.event.get():
                value = translate(event, SIZE)
                if value:
                    tool.handle(value)
            tool.draw(surf, t)
            rep = tool.state.rep
            if shots is not None and rep is not None and rep["id"] not in pictured and t - tool.since >= 1.2:
                pictured.add(rep["id"])
                n += 1
                shots.mkdir(parents=True, exist_ok=True)
                pygame.image.save(surf, str(shots / f"label-{n:02d}.png"))
            pygame.display.flip()
            t += 1.0 / FPS if script is not None else clock.tick(FPS) / 1000.0
    finally:
        if tool.video:
            tool.video.close()
        pygame.display.quit()
