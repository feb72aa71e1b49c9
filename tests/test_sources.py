"""Frame sources: a scripted fake camera (no hardware), real clips, and replays.

Camera tests run the real grabber thread against a fake capture device with short
stall/freeze windows; they wait for conditions with generous deadlines rather than
asserting on timings. Pacing tests use an injected clock.
"""
from __future__ import annotations

import math
import os
import struct
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from coach.core.frames import QUANT, LandmarkFrame, StreamInfo, save_stream
from coach.errors import InputError
from coach.camera import sources
from coach.camera.sources import (CAMERA_LOST, OK, RECONNECTING, CameraSource, ReplaySource, SourceStatus,
                              VideoFrame, VideoSource, open_source)

SHAPE = (24, 32, 3)
PATTERN = np.arange(np.prod(SHAPE)).reshape(SHAPE)  # not uniform, so freeze detection applies


def pattern(k: int) -> np.ndarray:
    """Frame k: BGR pixel [0, 0, 0] is k % 256."""
    return ((PATTERN + k) % 256).astype(np.uint8)


class FakeCamera:
    """A stand-in for cv2.VideoCapture that plays a script of steps:

    ("frames", n)  n new frames       ("fail", n)  n failed reads
    ("freeze", n)  one image n times  ("dark", n)  n all-black frames
    Then it ends in `end`: "frames" (new frames forever) or "idle" (failed reads, slowly).
    """

    def __init__(self, script=(), end="frames", opened=True, period=0.002):
        self.steps = [[kind, arg] for kind, arg in script]
        self.end, self.opened, self.period = end, opened, period
        self.props: dict[int, float] = {}
        self.released = False
        self.reads = 0
        self.sent = 0  # distinct frames delivered
        self._frozen = None

    def isOpened(self):
        return self.opened and not self.released

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True

    def _new_frame(self):
        frame = pattern(self.sent)
        self.sent += 1
        return True, frame

    def read(self):
        self.reads += 1
        while self.steps and self.steps[0][1] <= 0:
            self.steps.pop(0)
        if self.steps:
            kind = self.steps[0][0]
            self.steps[0][1] -= 1
        else:
            kind = self.end
        time.sleep(self.period)
        if kind == "frames":
            return self._new_frame()
        if kind == "freeze":
            if self._frozen is None:
                self._frozen = self._new_frame()[1]
            return True, self._frozen.copy()
        if kind == "dark":
            return True, np.zeros(SHAPE, np.uint8)
        if kind == "idle":
            time.sleep(0.01)
        return False, None


class BlockingCamera(FakeCamera):
    """Delivers `n` frames, then one read hangs `hang_s` seconds (a dead USB camera)."""

    def __init__(self, n, hang_s):
        super().__init__([("frames", n)], end="idle")
        self.n, self.hang_s = n, hang_s

    def read(self):
        if self.sent >= self.n and self.hang_s:
            hang, self.hang_s = self.hang_s, 0
            time.sleep(hang)
            return False, None
        return super().read()


class Devices:
    """capture_factory: hands out the given devices in order, then unopenable ones."""

    def __init__(self, *devices):
        self.queue = list(devices)
        self.opened: list[FakeCamera] = []
        self.apis: list[int] = []

    def __call__(self, index, api):
        self.apis.append(api)
        dev = self.queue.pop(0) if self.queue else FakeCamera(opened=False)
        self.opened.append(dev)
        return dev


def camera(devices, **kw):
    kw = {"stall_s": 0.3, "freeze_s": 0.3, "max_failures": 5, "backoff": (0.02, 0.1)} | kw
    return CameraSource(capture_factory=devices, **kw)


def collect(src, until, deadline_s=3.0):
    """Read items until until(items) holds; fail after deadline_s (a safety net, not a timing check)."""
    items = []
    deadline = time.monotonic() + deadline_s
    while not until(items):
        assert time.monotonic() < deadline, f"gave up waiting; got {summary(items)}"
        items.append(src.read())
    return items


def summary(items):
    return [(i.state, i.attempt) if isinstance(i, SourceStatus) else ("frame", i.index) for i in items[-20:]]


def statuses(items):
    return [(i.state, i.attempt) for i in items if isinstance(i, SourceStatus)]


def frames_after_ok(n):
    def until(items):
        states = [i.state if isinstance(i, SourceStatus) else None for i in items]
        if OK not in states:
            return False
        return sum(isinstance(i, VideoFrame) for i in items[states.index(OK):]) >= n
    return until


def wait_for(cond, deadline_s=3.0):
    deadline = time.monotonic() + deadline_s
    while not cond():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


def assert_increasing_t(items):
    ts = [i.t for i in items if isinstance(i, VideoFrame)]
    assert ts and all(b > a for a, b in zip(ts, ts[1:]))


# -- CameraSource -------------------------------------------------------------------------


def test_camera_opens_with_v4l2_mjpg_640x480_30fps_and_one_frame_buffer():
    devices = Devices(FakeCamera())
    with camera(devices) as src:
        frame = collect(src, lambda items: any(isinstance(i, VideoFrame) for i in items))[-1]
    props = devices.opened[0].props
    assert props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert (props[cv2.CAP_PROP_FRAME_WIDTH], props[cv2.CAP_PROP_FRAME_HEIGHT]) == (640, 480)
    assert props[cv2.CAP_PROP_FPS] == 30 and props[cv2.CAP_PROP_BUFFERSIZE] == 1
    if sys.platform.startswith("linux"):
        assert devices.apis == [cv2.CAP_V4L2]
    # the fake reports no size or rate, so the requested ones stand
    assert src.size == (640, 480) and src.fps == 30.0 and src.name == "camera 0"
    assert frame.rgb.shape == SHAPE and frame.rgb.dtype == np.uint8
    # RGB for the tracker: BGR channel 0 ends up in channel 2
    assert frame.rgb[0, 0, 2] == pattern(frame.index)[0, 0, 0]


def test_no_camera_is_one_clear_input_error():
    devices = Devices()  # nothing opens
    with pytest.raises(InputError) as err:
        camera(devices)
    assert str(err.value).startswith("No camera found at index 0;")
    assert "\n" not in str(err.value) and err.value.exit_code == 2
    assert devices.opened[0].released


def test_camera_that_stops_delivering_is_lost_then_reconnects_and_frames_resume():
    first = BlockingCamera(5, hang_s=0.8)  # the read hangs longer than stall_s
    devices = Devices(first, FakeCamera(opened=False), FakeCamera())
    with camera(devices) as src:
        items = collect(src, frames_after_ok(5))
    got = statuses(items)
    assert got[0] == (CAMERA_LOST, 0)
    assert (RECONNECTING, 1) in got and (RECONNECTING, 2) in got  # attempt 1 failed to open
    assert got[-1] == (OK, 2)
    lost = next(i for i in items if isinstance(i, SourceStatus))
    assert lost.message == sources.LOST_MESSAGE
    assert src.reconnects == 1 and src.last_loss.startswith("no frames")
    assert_increasing_t(items)
    before = [i for i in items[:items.index(lost)] if isinstance(i, VideoFrame)]
    after = [i for i in items[items.index(lost):] if isinstance(i, VideoFrame)]
    assert before and len(after) >= 5 and after[0].t > before[-1].t
    assert first.released and devices.opened[1].released


def test_repeated_read_failures_mean_lost():
    devices = Devices(FakeCamera([("frames", 3), ("fail", 50)]), FakeCamera())
    with camera(devices, stall_s=10.0) as src:
        items = collect(src, frames_after_ok(3))
    assert statuses(items)[0] == (CAMERA_LOST, 0)
    assert src.last_loss == "5 failed reads in a row"
    assert devices.opened[0].released
    assert_increasing_t(items)


def test_frozen_identical_frame_means_lost():
    devices = Devices(FakeCamera([("frames", 3), ("freeze", 10_000)]), FakeCamera())
    with camera(devices, stall_s=10.0, max_failures=1000) as src:
        items = collect(src, frames_after_ok(3))
    assert statuses(items)[0] == (CAMERA_LOST, 0)
    assert src.last_loss.startswith("the same image")
    assert_increasing_t(items)


def test_a_dark_uniform_image_is_not_a_frozen_camera():
    dev = FakeCamera([("dark", 10_000)])
    with camera(Devices(dev), stall_s=10.0) as src:
        time.sleep(0.6)  # twice freeze_s of identical dark frames
        items = collect(src, lambda items: len(items) >= 3)
    assert not statuses(items) and src.last_loss is None


def test_grabber_keeps_only_the_newest_frame():
    dev = FakeCamera([("frames", 20)], end="idle")
    with camera(Devices(dev), stall_s=10.0, max_failures=10**9) as src:
        wait_for(lambda: dev.reads >= 22)  # the 20th frame has been stored
        frame = src.read()
        assert isinstance(frame, VideoFrame)
        assert frame.index == 19 and frame.rgb[0, 0, 2] == 19  # the newest, not the oldest
        assert src.dropped == 19


def test_slow_consumer_gets_recent_frames_and_drops_are_counted():
    dev = FakeCamera(period=0.001)
    with camera(Devices(dev), stall_s=10.0) as src:
        seen = []
        for _ in range(5):
            produced = dev.sent
            item = src.read()
            # frame produced-2 was stored before frame produced-1 was even read from the device
            assert item.index >= produced - 2
            seen.append(item.index)
            time.sleep(0.03)  # a slow tracker
    assert all(b > a for a, b in zip(seen, seen[1:]))
    assert src.dropped >= seen[-1] + 1 - len(seen) > 0


class StuckCamera(FakeCamera):
    """Delivers `n` frames, then one read blocks until the test lets it return (a dead USB camera)."""

    def __init__(self, n):
        super().__init__([("frames", n)], end="idle")
        self.n = n
        self.stuck, self.unstick = threading.Event(), threading.Event()

    def read(self):
        if self.sent >= self.n and not self.unstick.is_set():
            self.stuck.set()
            self.unstick.wait(30)
            return False, None
        return super().read()


def test_close_never_hangs_and_the_device_is_released():
    dev = StuckCamera(2)
    src = camera(Devices(dev), stall_s=10.0)
    src.join_s = 0.2
    assert isinstance(src.read(), VideoFrame)
    assert dev.stuck.wait(10)  # the grabber is inside a read that will not return
    src.close()  # returns although the read has not (else the test hangs here)
    assert src._thread.is_alive() and not dev.released  # the read is still stuck: close did not wait it out
    assert src.read() is None
    dev.unstick.set()
    wait_for(lambda: dev.released)  # released by the grabber once the read returns


def test_close_releases_a_working_camera_at_once_and_twice_is_harmless():
    dev = FakeCamera()
    src = camera(Devices(dev))
    src.read()
    src.close()
    src.close()
    assert dev.released and not src._thread.is_alive()


def test_lost_camera_keeps_reporting_so_the_session_can_redraw():
    devices = Devices(FakeCamera([("frames", 1)], end="idle"))  # never comes back
    with camera(devices, stall_s=0.2, backoff=(5.0, 5.0)) as src:
        src.heartbeat_s = 0.05
        items = collect(src, lambda items: len(statuses(items)) >= 3)
    assert statuses(items)[:3] == [(CAMERA_LOST, 0)] * 3


# -- VideoSource ------------------------------------------------------------------------


class FakeVideo:
    """A stand-in for cv2.VideoCapture(path): n frames at `fps`, positions from `msec`."""

    def __init__(self, n=30, fps=30.0, msec=None):
        self.n, self.fps, self.msec = n, fps, msec
        self.i = 0
        self.released = False

    def isOpened(self):
        return True

    def read(self):
        if self.i >= self.n:
            return False, None
        self.i += 1
        return True, pattern(self.i - 1)

    def get(self, prop):
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return self.n
        if prop == cv2.CAP_PROP_POS_MSEC:
            return self.msec(self.i - 1) if self.msec else 0.0
        return 0.0

    def release(self):
        self.released = True


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        assert s > 0
        self.slept += s
        self.now += s


def fake_video(tmp_path, clock=None, realtime=True, **kw):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x")  # only has to exist; the fake does the decoding
    clock = clock or FakeClock()
    return VideoSource(path, realtime=realtime, clock=clock, sleep=clock.sleep,
                       capture_factory=lambda p: FakeVideo(**kw))


def media(name):
    root = os.environ.get("COACH_TEST_MEDIA")
    if not root:
        pytest.skip("set COACH_TEST_MEDIA to the folder with the real test clips")
    return os.path.join(root, name)


def test_realtime_video_keeps_pace_with_a_prompt_consumer(tmp_path):
    clock = FakeClock()
    src = fake_video(tmp_path, clock, n=30)
    start = clock.now
    frames = list(iter(src.read, None))
    assert [f.index for f in frames] == list(range(30)) and src.dropped == 0
    for f in frames:
        assert f.arrived == pytest.approx(start + f.t)  # delivered when due, not before
    assert clock.slept == pytest.approx(29 / 30)


def test_realtime_video_drops_frames_for_a_late_consumer(tmp_path):
    clock = FakeClock()
    src = fake_video(tmp_path, clock, n=60)
    start = clock.now
    frames = []
    while (f := src.read()) is not None:
        # the newest frame already due when the consumer asked
        expected = max(f.index, min(59, math.floor((clock.now - start) * 30 + 1e-9)))
        assert f.index == expected
        frames.append(f)
        clock.now += 0.087  # the consumer needs ~2.6 frame periods per frame (never a tie)
    indices = [f.index for f in frames]
    assert all(b > a for a, b in zip(indices, indices[1:]))
    assert max(b - a for a, b in zip(indices, indices[1:])) >= 2
    assert src.dropped == 60 - len(frames) and src.dropped > 20
    assert indices[-1] == 59 and not src.truncated


def test_fast_video_delivers_every_frame_without_waiting(tmp_path):
    clock = FakeClock()
    src = fake_video(tmp_path, clock, realtime=False, n=40)
    frames = list(iter(src.read, None))
    assert [f.index for f in frames] == list(range(40))
    assert clock.slept == 0 and src.dropped == 0
    assert [f.t for f in frames] == pytest.approx([i / 30 for i in range(40)])


@pytest.mark.parametrize("fps", [0.0, float("nan"), 90000.0])
def test_video_without_a_sane_fps_uses_positions_or_30_fps(tmp_path, fps):
    src = fake_video(tmp_path, realtime=False, n=5, fps=fps, msec=lambda i: 40.0 * i)
    assert [f.t for f in iter(src.read, None)] == pytest.approx([0, 0.04, 0.08, 0.12, 0.16])
    src = fake_video(tmp_path, realtime=False, n=5, fps=fps)  # no positions either
    assert [f.t for f in iter(src.read, None)] == pytest.approx([i / 30 for i in range(5)])
    assert src.fps == 30.0


def test_real_clip_yields_72_frames_at_30_fps():
    with VideoSource(media("single_face.mp4"), realtime=False) as src:
        assert src.fps == 30.0 and src.size == (640, 360) and src.frames_expected == 72
        frames = list(iter(src.read, None))
    assert len(frames) == 72 and src.frames_read == 72 and not src.truncated
    assert [f.index for f in frames] == list(range(72))
    assert [f.t for f in frames] == pytest.approx([i / 30 for i in range(72)])
    assert all(f.rgb.shape == (360, 640, 3) and f.rgb.dtype == np.uint8 for f in frames)


def test_missing_and_corrupt_videos_are_one_sentence_input_errors(tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(50_000))
    for path in (tmp_path / "nope.mp4", corrupt, tmp_path):
        with pytest.raises(InputError) as err:
            VideoSource(path)
        message = str(err.value)
        assert message.startswith(f"Cannot read video {path}: ") and message.count(". ") == 0
        assert err.value.exit_code == 2


def test_video_cut_short_before_its_index_cannot_be_opened(tmp_path):
    # The real clips keep their index (the moov box) at the end, so a copy cut short,
    # like a recording that crashed, has none and OpenCV cannot open it at all.
    data = open(media("single_face.mp4"), "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(InputError, match="corrupt, incomplete or not a video"):
        VideoSource(cut)


def test_truncated_video_ends_cleanly_at_the_last_readable_frame(tmp_path):
    # With the index moved to the front (as `ffmpeg -movflags faststart` and many
    # exporters write it), a truncated copy opens and decodes up to where it was cut.
    data = faststart(open(media("single_face.mp4"), "rb").read())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with VideoSource(cut, realtime=False) as src:
        frames = list(iter(src.read, None))
    assert 0 < len(frames) < 72 and src.frames_read == len(frames)
    assert src.frames_expected == 72 and src.truncated
    assert all(b.t > a.t for a, b in zip(frames, frames[1:]))
    assert src.read() is None


def faststart(mp4: bytes) -> bytes:
    """Move the moov box in front of the media data, shifting the chunk offsets."""
    def boxes(buf, start, end):
        while start < end:
            size, kind = struct.unpack(">I4s", buf[start:start + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", buf[start + 8:start + 16])[0], 16
            elif size == 0:
                size = end - start
            yield kind, start, header, size
            start += size

    top = list(boxes(mp4, 0, len(mp4)))
    _, at, _, size = next(b for b in top if b[0] == b"moov")
    moov = bytearray(mp4[at:at + size])

    def shift(start, end):
        for kind, pos, header, size in boxes(moov, start, end):
            if kind in (b"trak", b"mdia", b"minf", b"stbl"):
                shift(pos + header, pos + size)
            elif kind in (b"stco", b"co64"):
                fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
                count = struct.unpack(">I", moov[pos + 12:pos + 16])[0]
                for k in range(count):
                    o = pos + 16 + width * k
                    moov[o:o + width] = struct.pack(fmt, struct.unpack(fmt, moov[o:o + width])[0] + len(moov))

    shift(8, len(moov))
    head = b"".join(mp4[p:p + s] for kind, p, _, s in top if kind == b"ftyp")
    rest = b"".join(mp4[p:p + s] for kind, p, _, s in top if kind not in (b"ftyp", b"moov"))
    return head + bytes(moov) + rest


# -- ReplaySource and open_source -------------------------------------------------------


def write_stream(path, n=10, fps=30.0):
    rng = np.random.default_rng(1)
    frames = []
    for i in range(n):
        if i == 3:
            frames.append(LandmarkFrame(i / fps, 640, 360, None, {}, None, i))
        else:
            pts = rng.uniform(0.2, 0.8, (478, 3)).astype(np.float32)
            frames.append(LandmarkFrame(i / fps, 640, 360, pts, {"smile": 0.5}, np.eye(4, dtype=np.float32), i))
    save_stream(path, frames, StreamInfo("clip.mp4", fps, 640, 360, ("smile",)))
    return frames


def test_replay_round_trip(tmp_path):
    path = tmp_path / "s.landmarks.npz"
    written = write_stream(path)
    with ReplaySource(path) as src:
        assert src.fps == 30.0 and src.size == (640, 360) and src.name == "s.landmarks.npz"
        got = list(iter(src.read, None))
    assert [f.index for f in got] == list(range(10))
    assert [f.t for f in got] == pytest.approx([f.t for f in written])
    assert [f.has_face for f in got] == [f.has_face for f in written]
    # stored to the stream's quantum (coach.core.frames.QUANT steps per pixel)
    for a, b in zip(got, written):
        if b.has_face:
            np.testing.assert_allclose(a.pixels(), b.pixels(), atol=1 / QUANT)
            assert a.blendshapes["smile"] == pytest.approx(0.5, abs=1e-3)


def test_realtime_replay_paces_without_dropping(tmp_path):
    path = tmp_path / "s.landmarks.npz"
    write_stream(path, n=10)
    clock = FakeClock()
    src = ReplaySource(path, realtime=True, clock=clock, sleep=clock.sleep)
    got = list(iter(src.read, None))
    assert len(got) == 10 and clock.slept == pytest.approx(9 / 30)
    clock = FakeClock()
    src = ReplaySource(path, realtime=True, clock=clock, sleep=clock.sleep)
    late = []
    while (f := src.read()) is not None:
        late.append(f)
        clock.now += 0.1  # a slow consumer still gets every frame
    assert len(late) == 10


def test_bad_replay_files_are_input_errors(tmp_path):
    junk = tmp_path / "junk.landmarks.npz"
    junk.write_bytes(b"not a zip")
    empty = tmp_path / "empty.landmarks.npz"
    save_stream(empty, [], StreamInfo("clip.mp4", 30.0, 640, 360))
    odd = tmp_path / "odd.landmarks.npz"
    np.savez(odd, meta=np.frombuffer(b'{"format": "coach-landmarks/1"}', np.uint8),
             t=np.zeros(1), face=np.zeros(1, bool), dq=np.zeros((1, 478, 3), np.int32),
             blend=np.zeros((1, 0)), matrix=np.zeros((1, 4, 4)))
    for path in (tmp_path / "missing.landmarks.npz", junk, empty, odd):
        with pytest.raises(InputError) as err:
            ReplaySource(path)
        assert str(err.value).startswith("Cannot replay") and "\n" not in str(err.value)


def test_open_source_picks_the_source(tmp_path, monkeypatch):
    path = tmp_path / "s.landmarks.npz"
    write_stream(path)
    replay = open_source(replay=path)
    assert isinstance(replay, ReplaySource) and replay.realtime
    assert not open_source(replay=path, fast=True).realtime
    with pytest.raises(InputError, match="Choose one source"):
        open_source(camera=0, replay=path)
    with pytest.raises(InputError, match="Cannot read video"):
        open_source(video=tmp_path / "missing.mp4")
    opened = []

    class Cam:
        def __init__(self, index):
            opened.append(index)

    monkeypatch.setattr(sources, "CameraSource", Cam)
    open_source()
    open_source(camera="1")
    open_source(camera="/dev/video2")
    assert opened == [0, 1, "/dev/video2"]


def test_unmirrored_flips_camera_frames_back(tmp_path):
    """A mirroring webcam: frames are flipped back before tracking, so sides stay anatomical."""
    from coach.camera.sources import Unmirrored

    class Mirror:
        fps, size, name = 30.0, (4, 2), "mirror"

        def __init__(self):
            self.closed = False
            self.items = [VideoFrame(0, 0.0, np.arange(24, dtype=np.uint8).reshape(2, 4, 3), 0.0), None]

        def read(self):
            return self.items.pop(0)

        def close(self):
            self.closed = True

    src = Mirror()
    original = src.items[0].rgb.copy()
    with Unmirrored(src) as un:
        frame = un.read()
        assert np.array_equal(frame.rgb, original[:, ::-1]) and frame.rgb.flags.c_contiguous
        assert un.read() is None
    assert src.closed
