"""The therapist's labels (issue 20, item 3): a session saved with its landmark stream, its reps
labelled through `coach label`'s own screen by scripted keys and touches, `coach eval --labels`
scoring the logged flags against them and suggesting a threshold that `coach plan set` applies,
with the audit rows; labels through a bundle and a PostgreSQL sync; the anonymised evaluation set."""
from __future__ import annotations

import json
import shlex
import sqlite3
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from coach.core.labelling import Labelling
from coach.errors import CoachError
from coach.log.labels import reps_to_label, set_label
from coach.log.store import Store
from store_fixtures import SettableClock
from streams import ListSource, session_stream
from cli_runs import coach

pytest_plugins = ("bundle_fixtures", "pg_server")

STARTS = [10.0 + 7.0 * i for i in range(20)]
STRONG = (1, 4, 7, 10)          # the left eye closes a further 45 % in these smiles
MODERATE = (13, 16, 18)         # and 20 % in these: the therapist judges them the patient's normal


@pytest.fixture(autouse=True)
def plain_stderr(monkeypatch):
    monkeypatch.setattr("coach.quiet.filter_native_logs", lambda: None)   # keep stderr for capsys


def rows(path, query, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """P017 (Ada Lovelace) did 20 gentle smiles in one logged session, saved with its landmark stream."""
    from coach.app import coach_session
    from coach.core.exercises import load_library
    from coach.screen.display import NullDisplay

    folder = tmp_path_factory.mktemp("recorded")
    db, streams = folder / "c.db", folder / "streams"
    with Store.open(db) as store:
        store.add_patient("P017", "Ada Lovelace", "left")
        store.set_plan("P017", [{"exercise": "gentle-smile", "reps": 20}])
    plan = [load_library()[0]["gentle-smile"].with_overrides(reps=20, rest_s=2.0)]
    frames = session_stream(STARTS[-1] + 10, rep_starts=STARTS, synk_side="left", synk_reps=STRONG + MODERATE,
                            rep_closure={i: 0.2 for i in MODERATE})
    streams.mkdir()
    coach_session(ListSource(frames), plan, store=Store.open(db), patient="P017", welcome_s=0.5, ready_s=0.5,
                  summary_s=0.5, display=NullDisplay(), view="mesh", save_landmarks=str(streams / "s1.landmarks.npz"))
    return db, streams


def truth(rep: dict) -> bool:
    """What the therapist sees: co-movement in the strong reps only (rep idx counts from 1)."""
    return rep["idx"] - 1 in STRONG


def script(reps: list[dict], path: Path) -> None:
    """Keys and touches, one rep after the other: Y L 1 for co-movement (left, eye), else N by key
    or by touching the No button."""
    from coach.screen.labeller import button_rects

    no = button_rects()["no"].center
    lines, t = [], 1.5
    for i, rep in enumerate(reps):
        if truth(rep):
            events = [{"key": k} for k in "yl1"]
        else:
            events = [{"click": list(no)}] if i % 2 else [{"key": "n"}]
        for e in events:
            lines.append(json.dumps({"t": round(t, 2), **e}))
            t += 0.2
        t += 1.3
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_twenty_reps_labelled_scored_and_a_suggested_threshold_applied(recorded, tmp_path, capsys):
    db, streams = recorded
    db = Path(db)
    work = tmp_path / "c.db"
    work.write_bytes(db.read_bytes())
    logged = {idx: (flag, left) for idx, flag, left in rows(work, "SELECT idx, synkinesis, synkinesis_left FROM reps")}
    assert len(logged) == 20
    with Store.open(work) as store:        # the order the tool will show them in (same sample, same seed)
        shown = reps_to_label(store, "P017", sample=16, seed=7)
    assert len(shown) == 20 and sorted(r["idx"] for r in shown) == list(range(1, 21))
    script(shown, tmp_path / "events.jsonl")

    code, out, err = coach(capsys, "label", "P017", "--streams", streams, "--sample", 16, "--seed", 7,
                           "--events", tmp_path / "events.jsonl", "--shots", tmp_path / "shots", "--db", work)
    assert code == 0, err
    assert "20 label(s) saved" in out
    labels = {idx: (label, side, region) for idx, label, side, region in rows(
        work, "SELECT r.idx, l.label, l.side, l.region FROM labels l JOIN reps r ON r.id = l.rep_id")}
    assert labels == {i: ((1, "left", "eye") if i - 1 in STRONG else (0, "none", "")) for i in range(1, 21)}
    assert len(list((tmp_path / "shots").glob("label-*.png"))) == 20
    # Every label has its audit rows, under the patient, naming the label row.
    pid = rows(work, "SELECT id FROM patients WHERE code = 'P017'")[0][0]
    audit = rows(work, "SELECT a.field, a.new, a.patient_id FROM audit a JOIN labels l ON l.id = a.row_id "
                       "WHERE a.row_table = 'labels' AND a.command = 'label'")
    assert len(audit) == 4 * 3 + 16 * 2 and {p for _, _, p in audit} == {pid}    # yes: label, side, region
    assert sorted(new for f, new, _ in audit if f == "label") == ["0"] * 16 + ["1"] * 4

    code, out, err = coach(capsys, "eval", "--labels", "P017", "--streams", streams, "--db", work)
    assert code == 0, err
    tp = sum(1 for i, (flag, _) in logged.items() if flag and i - 1 in STRONG)
    fp = sum(1 for i, (flag, _) in logged.items() if flag and i - 1 not in STRONG)
    fn = sum(1 for i, (flag, _) in logged.items() if not flag and i - 1 in STRONG)
    tn = 20 - tp - fp - fn
    assert (tp, fp) == (4, 3)           # the detector flags the strong reps and the moderate ones
    table = out.splitlines()[1:4]
    assert table[0].split() == ["labelled", "yes", "labelled", "no"]
    assert table[1].split() == ["flagged", str(tp), str(fp)]
    assert table[2].split() == ["not", "flagged", str(fn), str(tn)]
    assert f"recall {tp / (tp + fn):.2f} ({tp}/{tp + fn}), precision {tp / (tp + fp):.2f} ({tp}/{tp + fp})" in out
    assert "side accuracy 1.00 (4/4)" in out
    line = next(ln for ln in out.splitlines() if "with threshold" in ln)
    assert "instead of 0.1 (eye_opening): 3 fewer flagged, all labelled no" in line
    apply = next(ln for ln in out.splitlines() if "Apply it:" in ln).split("Apply it:")[1]
    words = shlex.split(apply)
    assert words[:4] == ["coach", "plan", "set", "P017"]
    value = float(next(w for w in words if w.startswith("eye_opening=")).split("=")[1])
    # Between the co-movement the therapist called normal and the one they called synkinesis.
    moderate = max(left for i, (_, left) in logged.items() if i - 1 in MODERATE)
    strong = min(left for i, (_, left) in logged.items() if i - 1 in STRONG)
    assert moderate < value < strong

    code, out, err = coach(capsys, *words[1:], "--db", work)
    assert code == 0, err
    with Store.open(work) as store:
        assert store.get_plan("P017")[0]["thresholds"] == {"eye_opening": value}
    plan_audit = rows(work, "SELECT command, field, old, new FROM audit WHERE row_table = 'plans'")
    assert len(plan_audit) == 1 and plan_audit[0][:2] == ("plan set", "items")
    assert f'"eye_opening":{value}' in plan_audit[0][3] and "eye_opening" not in plan_audit[0][2]


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_the_keys_label_fast_and_a_second_look_changes_the_label_with_its_audit(recorded, tmp_path):
    db, _ = recorded
    work = tmp_path / "c.db"
    work.write_bytes(Path(db).read_bytes())
    clock = SettableClock(datetime(2030, 1, 1, 9, 0))
    with Store.open(work, clock=clock) as store:
        reps = reps_to_label(store, "P017", sample=2, seed=1)
        state = Labelling(reps)
        assert state.act("no") == {"rep_id": reps[0]["id"], "label": 0, "side": "none", "region": ""}
        assert state.index == 1                                   # one key: saved, and on to the next
        assert state.act("yes") is None and state.act("side:right") is None
        assert state.act("region:mouth") == {"rep_id": reps[1]["id"], "label": 1, "side": "right", "region": "mouth"}
        state.act("back")
        assert state.index == 1 and (state.draft.label, state.draft.side, state.draft.region) == (1, "right", "mouth")
        set_label(store, reps[1]["id"], 1, "right", "mouth")
        clock.set(datetime(2030, 1, 2, 9, 0))
        set_label(store, reps[1]["id"], 1, "both", "mouth")       # a second look
        set_label(store, reps[1]["id"], 1, "both", "mouth")       # nothing changes: nothing written
        with pytest.raises(CoachError):
            set_label(store, reps[1]["id"], 1, "none", "eye")     # yes needs a side
    label = rows(work, "SELECT id, side, at, updated FROM labels WHERE rep_id = ?", [reps[1]["id"]])
    assert len(label) == 1 and label[0][1] == "both" and label[0][2] < label[0][3]
    changes = rows(work, "SELECT field, old, new FROM audit WHERE row_id = ? ORDER BY at, rowid", [label[0][0]])
    assert changes == [("label", None, "1"), ("side", None, "right"), ("region", None, "mouth"),
                       ("side", "right", "both")]


def label_some(path, clock, sides=("left", "none")) -> list[str]:
    """Label the first reps of the log at `path`: yes on the patient's `sides[0]`, then no."""
    with Store.open(path, clock=clock) as store:
        reps = [r[0] for r in store.db.execute("SELECT id FROM reps ORDER BY session_id, idx LIMIT 2")]
        set_label(store, reps[0], 1, sides[0], "eye")
        set_label(store, reps[1], 0, "none")
    return reps


def label_rows(path) -> list[tuple]:
    return sorted(rows(path, "SELECT * FROM labels"))


def test_labels_survive_a_bundle_round_trip_and_a_relabel_follows(keys, tmp_path):
    from test_bundles import import_into, make_db, share

    home = make_db(tmp_path / "home.db", n=2)
    clock = SettableClock(datetime(2030, 1, 1, 9, 0))
    reps = label_some(home, clock)
    share(home, tmp_path / "a.bundle")
    clinic = tmp_path / "clinic.db"
    import_into(clinic, tmp_path / "a.bundle")
    assert len(label_rows(home)) == 2 and label_rows(clinic) == label_rows(home)
    clock.set(datetime(2030, 1, 5, 9, 0))
    with Store.open(home, clock=clock) as store:                  # the session was sent: the label still goes
        set_label(store, reps[0], 1, "both", "eye")
    share(home, tmp_path / "b.bundle")
    import_into(clinic, tmp_path / "b.bundle")
    assert label_rows(clinic) == label_rows(home)
    assert rows(clinic, "SELECT side FROM labels WHERE rep_id = ?", [reps[0]]) == [("both",)]
    assert rows(clinic, "SELECT old, new FROM audit WHERE row_table = 'labels' AND field = 'side' AND old IS NOT NULL") \
        == [("left", "both")]


def test_labels_survive_a_postgresql_sync(pg_url, tmp_path, capsys):
    from test_bundles import make_db

    home = make_db(tmp_path / "home.db", code="P31", n=2)
    clock = SettableClock(datetime(2030, 1, 1, 9, 0))
    reps = label_some(home, clock, sides=("right", "none"))
    assert coach(capsys, "sync", "--to", pg_url, "--db", home)[0] == 0

    def server_labels() -> list[tuple]:
        with psycopg.connect(pg_url) as conn:
            return sorted(tuple(r) for r in conn.execute(
                "SELECT l.* FROM labels l JOIN reps r ON r.id = l.rep_id WHERE l.rep_id = ANY(%s)", [reps]))
    assert server_labels() == label_rows(home)
    clock.set(datetime(2030, 1, 6, 9, 0))
    with Store.open(home, clock=clock) as store:
        set_label(store, reps[1], 1, "left", "mouth")
    code, out, err = coach(capsys, "sync", "--to", pg_url, "--db", home)
    assert code == 0, err
    assert server_labels() == label_rows(home)
    back = tmp_path / "pulled.db"                                   # and back from the server
    assert coach(capsys, "sync", "--from", pg_url, "--db", back, "--patient", "P31")[0] == 0
    assert label_rows(back) == label_rows(home)


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_the_evaluation_set_holds_no_code_name_or_log_id_and_eval_reads_it(recorded, tmp_path, capsys):
    db, streams = recorded
    work = tmp_path / "c.db"
    work.write_bytes(Path(db).read_bytes())
    with Store.open(work) as store:
        reps = reps_to_label(store, "P017", sample=3, seed=2)
        for r in reps:
            set_label(store, r["id"], 1 if truth(r) else 0, "left" if truth(r) else "none", "eye" if truth(r) else "")
    out_dir = tmp_path / "set"
    code, out, err = coach(capsys, "export", "--labelled", out_dir, "--streams", streams, "--db", work)
    assert code == 0, err
    assert f"{len(reps)} labelled rep(s), {len(reps)} with their landmark stream" in out
    secrets = ["P017", "Ada", "Lovelace", "s1.landmarks", str(work), "test"]
    secrets += [r[0] for r in rows(work, "SELECT id FROM reps UNION SELECT id FROM sessions UNION SELECT id FROM "
                                         "patients UNION SELECT id FROM labels UNION SELECT labeller FROM labels")]
    secrets += [r[0][:10] for r in rows(work, "SELECT started FROM sessions")]         # the date
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert len(files) == len(reps) + 1
    for path in files:
        texts = [path.name.encode()]
        if path.suffix == ".npz":        # its names and metadata (the rest is numbers: landmarks and times)
            with zipfile.ZipFile(path) as z:
                texts += [name.encode() for name in z.namelist()]
            with np.load(path) as z:
                meta = bytes(z["meta"])
            assert json.loads(meta.decode())["clip"] == "" and "session" not in json.loads(meta.decode())
            texts.append(meta)
        else:
            texts.append(path.read_bytes())
        for text in texts:
            for secret in secrets:
                assert secret.encode() not in text, (path.name, secret)
    code, out, err = coach(capsys, "eval", out_dir)
    assert code == 0, err
    ids = [r[0] for r in rows(work, "SELECT id FROM labels")]
    assert coach(capsys, "export", "P017", "--csv", tmp_path / "csv", "--db", work)[0] == 0   # labels stay out
    exported = b"".join(p.read_bytes() for p in (tmp_path / "csv").iterdir())
    assert len(ids) == len(reps) and not any(i.encode() in exported for i in ids)
    n_yes = sum(truth(r) for r in reps)
    assert f"All labelled reps: {len(reps)} reps, recall 1.00 ({n_yes}/{n_yes})" in out
    assert "P017" not in out


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_a_recorded_video_is_shown_where_there_is_one_else_the_mesh(recorded, tmp_path):
    """A video named like the stream (the patient chose to record one) is replayed instead of the mesh."""
    import cv2
    import pygame

    from coach.screen.labeller import SIZE, LabelTool, Replays

    db, streams = recorded
    folder = tmp_path / "streams"
    folder.mkdir()
    (folder / "s1.landmarks.npz").write_bytes((Path(streams) / "s1.landmarks.npz").read_bytes())
    with Store.open(Path(db)) as store:
        reps = reps_to_label(store, "P017", sample=1, seed=3)
    surf = pygame.Surface(SIZE)
    centre = (20 + 380, 20 + 340)                       # the middle of the replay box

    def shown() -> tuple:
        tool = LabelTool(Labelling(reps), Replays([folder]), lambda label: None)
        tool.draw(surf, 0.0)
        tool.draw(surf, 0.1)
        if tool.video:
            tool.video.close()
        return tuple(surf.get_at(centre))[:3]

    mesh = shown()
    writer = cv2.VideoWriter(str(folder / "s1.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(int((max(r["end_s"] for r in reps) + 2) * 10)):
        writer.write(np.full((48, 64, 3), (40, 200, 40), np.uint8))          # BGR: green
    writer.release()
    video = shown()
    assert mesh != video and video[1] > 180 and video[0] < 80 and video[2] < 80


def test_chin_and_neck_labels_are_keyed_stored_and_travel_by_bundle_and_sync(keys, pg_url, tmp_path, capsys):
    """Issue 21: the two new regions are labels like the others: keys 4 and 5, the door lets them in."""
    from coach.core.labelling import KEYS
    from test_bundles import import_into, make_db, share

    assert (KEYS["4"], KEYS["5"]) == ("region:chin", "region:neck")
    home = make_db(tmp_path / "home.db", code="P41", n=2)
    clock = SettableClock(datetime(2030, 1, 1, 9, 0))
    with Store.open(home, clock=clock) as store:
        reps = [r[0] for r in store.db.execute("SELECT id FROM reps ORDER BY session_id, idx LIMIT 2")]
        set_label(store, reps[0], 1, "left", "chin")
        set_label(store, reps[1], 1, "right", "neck")
        with pytest.raises(CoachError):
            set_label(store, reps[1], 1, "right", "throat")          # still a fixed set
    assert sorted(rows(home, "SELECT region, side FROM labels")) == [("chin", "left"), ("neck", "right")]
    share(home, tmp_path / "a.bundle")
    clinic = tmp_path / "clinic.db"
    import_into(clinic, tmp_path / "a.bundle")
    assert label_rows(clinic) == label_rows(home)
    assert coach(capsys, "sync", "--to", pg_url, "--db", home)[0] == 0
    with psycopg.connect(pg_url) as conn:
        server = sorted(tuple(r) for r in conn.execute(
            "SELECT l.region, l.side FROM labels l WHERE l.rep_id = ANY(%s)", [reps]))
    assert server == [("chin", "left"), ("neck", "right")]
