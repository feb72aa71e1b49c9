"""The live loop: source → tracker → session → display + sound + store.

Every edge is swappable: a ReplaySource needs no tracker, a NullDisplay no
screen, and `store=None` logs nothing, so tests run this very loop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from coach.core.frames import LandmarkFrame
from coach.core.session import Session

SUMMARY_S = 4.0          # the summary stays up this long after a replay or video ends
FALLBACK_DT = 1 / 30     # clock step once the source has ended


@dataclass
class LoopStats:
    frames: int = 0
    latency_ms: list = field(default_factory=list)   # frame arrival → its view drawn
    alert_ms: list = field(default_factory=list)     # synkinesis confirmed → its cue handed to the mixer
    screenshots: list = field(default_factory=list)


def read_frame(item, tracker) -> tuple:
    """One source item → (landmark frame, camera image, brightness, arrival time).

    A camera or video frame goes through the tracker; a replayed LandmarkFrame needs
    none. Status notices and the end of the source give (None, None, None, None).
    """
    from coach.io.sources import VideoFrame

    if isinstance(item, VideoFrame):
        rgb = item.rgb
        # Mean luma of a sparse grid: cheap, and enough to tell a dark room.
        return tracker.track(rgb, item.t, item.index), rgb, float(rgb[::16, ::16].mean()), item.arrived
    if isinstance(item, LandmarkFrame):
        return item, None, None, time.monotonic()
    return None, None, None, None


def run_loop(source, session: Session, display, tracker=None, log=None,
             shots: dict | None = None, stats: LoopStats | None = None, should_stop=None,
             summary_s: float = SUMMARY_S, frames_out: list | None = None) -> Session:
    """Run until the session's summary has been shown (or the patient quits).

    `shots` maps screen names (or "synkinesis") to PNG paths: the first time that
    screen (or a synkinesis banner) is drawn, a screenshot is saved.
    """
    from coach.io.sources import SourceStatus

    stats = stats or LoopStats()
    pending_shots = dict(shots or {})
    t = 0.0
    wall0 = time.monotonic()
    ended = False
    summary_since = None
    camera_lost = False
    try:
        while True:
            item = None if ended else source.read()
            frame, rgb, brightness, arrived = read_frame(item, tracker)
            if item is None:                         # the recording or video has ended
                ended = True
                t += FALLBACK_DT
            elif isinstance(item, SourceStatus):
                camera_lost = item.state != "ok"
                t = max(t, time.monotonic() - wall0)
            else:
                camera_lost = False
                t = frame.t
            if frames_out is not None and frame is not None:
                frames_out.append(frame)
            actions = display.poll()
            if ended:
                result = session.end(t)
            else:
                result = session.step(frame, t, actions, brightness, camera_lost)
            if log:
                log.write(result.records)
            view = result.view
            t_cue = time.monotonic()
            display.draw(view, rgb)
            if view.cue == "synkinesis":
                stats.alert_ms.append((time.monotonic() - t_cue) * 1000)
            if arrived is not None:
                stats.latency_ms.append((time.monotonic() - arrived) * 1000)
            stats.frames += 1
            key = "synkinesis" if view.banner else view.screen
            if key in pending_shots:
                path = pending_shots.pop(key)
                display.screenshot(path)
                stats.screenshots.append(path)
            if session.state == "summary":
                summary_since = t if summary_since is None else summary_since
                # Enter or Q closes the summary early.
                if t - summary_since >= summary_s or any(a in ("quit", "yes", "key:enter") for a in actions):
                    break
            if should_stop is not None and should_stop():
                break
    finally:
        if log:
            log.close("completed" if session.status == "completed" else "interrupted")
    return session
