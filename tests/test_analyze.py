"""`coach analyze` end to end: real clips through the real tracker, and recorded streams."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from coach.cli import cli


def coach(*args, env=None):
    """Run the real console entry point (errors must be one sentence, no traceback)."""
    return subprocess.run([sys.executable, "-m", "coach", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.slow   # runs the tracker
def test_single_face_is_one_rep_and_no_synkinesis(media, face_model, tmp_path):
    out, stream = tmp_path / "a.json", tmp_path / "s.npz"
    r = coach("analyze", media / "single_face.mp4", "--exercise", "gentle-smile", "--json", out,
              "--save-landmarks", stream)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["frames"] == data["face_frames"] == 72
    assert len(data["reps"]) == 1 and data["synkinesis"] == []
    assert 0.4 < data["reps"][0]["start_s"] < 0.8      # the smile starts at ~0.6 s
    # The saved stream replays without video or model, to the same answer.
    r2 = coach("analyze", stream, "--exercise", "gentle-smile", "--json", tmp_path / "b.json",
               env={"COACH_FACE_MODEL": "/nonexistent"})
    assert r2.returncode == 0, r2.stderr
    again = json.loads((tmp_path / "b.json").read_text())
    assert len(again["reps"]) == 1 and again["synkinesis"] == []
    assert again["reps"][0]["start_s"] == pytest.approx(data["reps"][0]["start_s"], abs=0.05)


def test_committed_stream_matches(single_face_stream, tmp_path):
    r = CliRunner().invoke(cli, ["analyze", str(single_face_stream), "--exercise", "gentle-smile",
                                 "--json", str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "a.json").read_text())
    assert set(data) >= {"clip", "fps", "frames", "face_frames", "exercise", "reps", "synkinesis"}
    assert len(data["reps"]) == 1 and data["synkinesis"] == []


def test_summary_only_unless_json_to_stdout(single_face_stream, tmp_path):
    """Without `--json -` stdout is the human summary alone; with it, exactly the JSON."""
    saved = tmp_path / "a.json"
    r = CliRunner().invoke(cli, ["analyze", str(single_face_stream), "--exercise", "gentle-smile", "--json", str(saved)])
    plain = CliRunner().invoke(cli, ["analyze", str(single_face_stream), "--exercise", "gentle-smile"])
    piped = CliRunner().invoke(cli, ["analyze", str(single_face_stream), "--exercise", "gentle-smile", "--json", "-"])
    assert r.exit_code == plain.exit_code == piped.exit_code == 0, (plain.output, piped.output)
    assert "1 rep(s), 0 synkinesis event(s)" in plain.output
    assert "{" not in plain.output
    assert json.loads(piped.output) == json.loads(saved.read_text())


@pytest.mark.slow   # runs the tracker
@pytest.mark.parametrize("clip", ["face_noface.mov", "noface_face.mov"])
def test_face_leaving_or_entering(media, face_model, tmp_path, clip):
    out = tmp_path / "a.json"
    r = coach("analyze", media / clip, "--exercise", "gentle-smile", "--json", out)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["frames"] == 169 and 60 < data["face_frames"] < 90
    # Nothing spans the gap: every rep and event lies within the face's time on screen.
    from coach.analysis import load_frames
    _, frames = load_frames(media / clip, face_model)
    seen = [f.t for f in frames if f.has_face]
    for item in data["reps"] + data["synkinesis"]:
        inside = [t for t in seen if item["start_s"] <= t <= item["end_s"]]
        assert len(inside) >= 1
        assert all(f.has_face for f in frames if item["start_s"] <= f.t <= item["end_s"])


@pytest.mark.slow   # runs the tracker
def test_no_face_clip_is_a_clear_error(media, face_model, tmp_path):
    out = tmp_path / "a.json"
    r = coach("analyze", media / "no_face.mp4", "--exercise", "gentle-smile", "--json", out)
    assert r.returncode == 2
    assert "No face" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.slow   # runs the tracker
def test_corrupt_and_truncated_videos(media, face_model, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(50_000))
    r = coach("analyze", corrupt, "--exercise", "gentle-smile", "--json", tmp_path / "c.json")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "corrupt.mp4" in r.stderr
    assert not (tmp_path / "c.json").exists()
    data = (media / "single_face.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    r = coach("analyze", cut, "--exercise", "gentle-smile", "--json", tmp_path / "t.json")
    assert "Traceback" not in r.stderr
    if r.returncode == 0:  # what was readable is analysed
        assert json.loads((tmp_path / "t.json").read_text())["frames"] < 72
    else:
        assert r.returncode == 2 and not (tmp_path / "t.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no half-written files


@pytest.mark.slow   # starts a process
def test_bad_inputs_one_sentence(tmp_path, single_face_stream):
    bad_stream = tmp_path / "x.npz"
    bad_stream.write_bytes(b"not a stream")
    for args in (["analyze", str(bad_stream), "--exercise", "gentle-smile"],
                 ["analyze", str(tmp_path / "missing.mp4"), "--exercise", "gentle-smile"],
                 ["analyze", str(single_face_stream), "--exercise", "no-such-exercise"]):
        r = coach(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("coach: ") and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow   # starts a process
def test_broken_exercise_file_named(tmp_path, single_face_stream):
    (tmp_path / "gentle-smile.toml").write_text('id = "gentle-smile"\nname = 3\n')
    r = coach("analyze", single_face_stream, "--exercise", "gentle-smile", "--exercises", tmp_path)
    # The built-in gentle-smile still loads; the broken override is reported by name.
    assert "gentle-smile.toml" in r.stderr and "name" in r.stderr
    assert r.returncode == 0


@pytest.mark.slow   # starts a process
def test_model_missing_is_exit_2(tmp_path, single_face_stream):
    r = coach("model", env={"COACH_FACE_MODEL": "", "XDG_CACHE_HOME": str(tmp_path)})
    assert r.returncode == 2 and "coach model install" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow   # starts a process
def test_model_verifies(face_model):
    r = coach("model")
    assert r.returncode == 0 and "verified" in r.stdout


def _same_frames(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.index, x.t, x.has_face) == (y.index, y.t, y.has_face)
        assert x.points is None and y.points is None or np.array_equal(x.points, y.points)
        assert x.blendshapes == y.blendshapes
        assert x.matrix is None and y.matrix is None or np.array_equal(x.matrix, y.matrix)


@pytest.mark.slow   # runs the tracker
@pytest.mark.parametrize("clip", ["single_face.mp4", "face_noface.mov"])
def test_two_trackers_find_what_one_finds(media, face_model, clip, monkeypatch):
    """The clip's second half on a second tracker changes nothing, to the bit: where the
    split falls on a face (single_face) and where the face has left (face_noface)."""
    from coach import analysis

    monkeypatch.setattr(analysis, "MIN_SPLIT", 10)
    seen = []
    _, one = analysis.track_video(media / clip, face_model, workers=1)
    _, two = analysis.track_video(media / clip, face_model, workers=2, sink=seen.append)
    _same_frames(one, two)
    assert seen == two                                  # the sink got every frame, in order


@pytest.mark.slow   # runs the tracker
def test_second_tracker_that_disagrees_is_dropped(media, face_model, monkeypatch):
    from coach import analysis

    monkeypatch.setattr(analysis, "MIN_SPLIT", 10)
    monkeypatch.setattr(analysis._SecondHalf, "agrees", lambda self, faces: False)
    _, one = analysis.track_video(media / "single_face.mp4", face_model, workers=1, extras=False)
    _, two = analysis.track_video(media / "single_face.mp4", face_model, workers=2, extras=False)
    _same_frames(one, two)
    assert all(f.matrix is None and not f.blendshapes for f in two)


@pytest.mark.slow   # runs the tracker
def test_analyze_file_streams_the_same_result(media, face_model, single_face_stream, library):
    """Measured while tracked (a thread per stage), with or without a second tracker."""
    from coach.analysis import analyze_file

    ex = library["gentle-smile"]
    a, _ = analyze_file(media / "single_face.mp4", ex, model=face_model, workers=1)
    b, _ = analyze_file(media / "single_face.mp4", ex, model=face_model, workers=2)
    assert a == b and len(a["reps"]) == 1
    c, _ = analyze_file(single_face_stream, ex)
    assert len(c["reps"]) == 1 and c["synkinesis"] == []


def test_bench_builds_a_ping_pong_clip(media, tmp_path):
    import cv2

    from coach.eval.bench import make_clip

    out = make_clip(media / "single_face.mp4", tmp_path / "c.mp4", frames=150)
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 150
    cap.release()
