"""The merge engine on SQLite: idempotent, newer wins, same person on two machines, the outbox."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from coach.clinic import merge as m
from coach.log.store import Store
from store_fixtures import EXERCISES, SettableClock, record_session, running_elsewhere, shared_counts

WHEN = datetime(2024, 3, 4, 18, 30)


def make_db(path, code="P1", n=3, start=WHEN, name="Pat", interrupted=True):
    """A patient with `n` finished sessions and (optionally) one interrupted and one still running."""
    with Store.open(path, clock=SettableClock(start - timedelta(days=1))) as store:
        store.db.execute("PRAGMA synchronous = OFF")
        store.add_patient(code, name, "left")
        store.set_plan(code, [{"exercise": ex, "reps": 3} for ex in EXERCISES[:2]])
        store.add_treatment(code, "2024-03-01", "botulinum_toxin", "left", 5)
        for i in range(n):
            record_session(store, code, start + timedelta(days=2 * i), exercises=EXERCISES[:2], reps=3)
        if interrupted:
            sid = record_session(store, code, start + timedelta(days=2 * n), exercises=EXERCISES[:1],
                                 reps=2, finish=False)
            store.end_session(sid, status="interrupted")
        running = record_session(store, code, start + timedelta(days=2 * n + 1), exercises=EXERCISES[:1],
                                 reps=2, finish=False)
    running_elsewhere(path, running)          # still running on another computer: never travels
    return path


def merge_file(src, dst, target=None):
    source = sqlite3.connect(src)
    batch = m.collect(source, target=target)
    source.close()
    with Store.open(dst) as store:
        with store._tx():
            return m.merge(store.db.conn, batch)


def test_merging_everything_copies_ended_sessions_once(tmp_path):
    src = make_db(tmp_path / "home.db")
    dst = tmp_path / "clinic.db"
    Store.open(dst).close()
    first = merge_file(src, dst)
    c = shared_counts(dst)
    # 3 completed + 1 interrupted session travel; the running one does not.
    assert c["sessions"] == 4 and c["patients"] == 1 and c["plans"] == 1 and c["treatments"] == 1
    src_conn = sqlite3.connect(src)
    n_reps = src_conn.execute("SELECT count(*) FROM reps r JOIN sessions s ON s.id = r.session_id "
                              "WHERE s.status != 'in-progress'").fetchone()[0]
    assert c["reps"] == n_reps > 0 and first.tables["reps"] == (n_reps, 0, 0)
    assert first.changed == sum(c.values())
    again = merge_file(src, dst)
    assert again.changed == 0 and shared_counts(dst) == c          # idempotent


def test_newer_wins_and_older_never_overwrites(tmp_path):
    src = make_db(tmp_path / "home.db", n=1, interrupted=False)
    dst = tmp_path / "clinic.db"
    Store.open(dst).close()
    merge_file(src, dst)
    old_batch = m.collect(sqlite3.connect(src))
    # The clinic voids the session later than the home copy was made ...
    later = (WHEN + timedelta(days=30)).astimezone().isoformat(timespec="milliseconds")
    conn = sqlite3.connect(dst)
    conn.execute("UPDATE sessions SET voided = 'camera pointed at the ceiling', updated = ?", [later])
    conn.commit()
    conn.close()
    # ... so the older home copy does not undo it.
    with Store.open(dst) as store, store._tx():
        result = m.merge(store.db.conn, old_batch)
    assert result.changed == 0
    assert sqlite3.connect(dst).execute("SELECT voided FROM sessions").fetchone()[0] == "camera pointed at the ceiling"
    # A still newer edit at home does replace it (an hour later, in another UTC offset).
    newest = (WHEN + timedelta(days=30, hours=2)).astimezone(
        __import__("datetime").timezone(timedelta(hours=5))).isoformat(timespec="milliseconds")
    batch = {**old_batch, "sessions": [{**old_batch["sessions"][0], "voided": None, "updated": newest}]}
    with Store.open(dst) as store, store._tx():
        result = m.merge(store.db.conn, batch)
    assert result.tables["sessions"] == (0, 1, 0)
    assert sqlite3.connect(dst).execute("SELECT voided FROM sessions").fetchone()[0] is None


def test_the_same_code_registered_twice_is_one_patient(tmp_path):
    a = make_db(tmp_path / "kiosk1.db", code="P7", n=1, interrupted=False)
    b = make_db(tmp_path / "kiosk2.db", code="P7", n=2, start=WHEN + timedelta(days=10), interrupted=False)
    dst = tmp_path / "clinic.db"
    Store.open(dst).close()
    merge_file(a, dst)
    second = merge_file(b, dst)
    assert second.remapped == ["P7"]
    conn = sqlite3.connect(dst)
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 1
    (pid,) = conn.execute("SELECT id FROM patients").fetchone()
    assert conn.execute("SELECT count(DISTINCT patient_id) FROM sessions").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sessions WHERE patient_id = ?", [pid]).fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM plans WHERE patient_id = ?", [pid]).fetchone()[0] == 2
    with Store.open(dst) as store:
        assert len(store.sessions("P7")) == 3
    assert merge_file(b, dst).changed == 0


def test_the_outbox_holds_only_what_the_destination_lacks(tmp_path):
    src = make_db(tmp_path / "home.db", n=2, interrupted=False)
    conn = sqlite3.connect(src)
    full = m.collect(conn, target="clinic")
    assert len(full["sessions"]) == 2 and len(full["patients"]) == 1
    m.mark_sent(conn, "clinic", full, "2024-03-10T00:00:00.000+00:00")
    conn.commit()
    assert m.row_counts(m.collect(conn, target="clinic")) == {t: 0 for t, _, _ in m.SHARED_TABLES}
    assert len(m.collect(conn, target="another")["sessions"]) == 2      # per destination
    conn.close()
    with Store.open(src, clock=SettableClock(WHEN + timedelta(days=20))) as store:
        record_session(store, "P1", WHEN + timedelta(days=20), exercises=EXERCISES[:1], reps=2)
        store.db.execute("UPDATE patients SET display_name = 'Pat B', updated = ?",
                         [(WHEN + timedelta(days=21)).astimezone().isoformat()])
    conn = sqlite3.connect(src)
    out = m.collect(conn, target="clinic")
    assert len(out["sessions"]) == 1 and out["patients"][0]["display_name"] == "Pat B"
    assert out["plans"] == [] and out["treatments"] == [] and len(out["reps"]) == 2


@pytest.mark.parametrize("per_chunk", [1, 2, 50])
def test_chunks_cover_the_batch_parents_first(tmp_path, per_chunk):
    src = make_db(tmp_path / "home.db", n=3)
    batch = m.collect(sqlite3.connect(src))
    parts = list(m.chunks(batch, per_chunk))
    assert parts[0]["patients"] and not parts[0]["sessions"]
    assert len(parts) == 1 + -(-len(batch["sessions"]) // per_chunk)
    for table, _, _ in m.SHARED_TABLES:
        if table == "patients":     # every part carries its sessions' patients (for the re-pointing)
            assert all({s["patient_id"] for s in p["sessions"]} <= {x["id"] for x in p["patients"]} for p in parts)
            continue
        assert sum(len(p[table]) for p in parts) == len(batch[table])


# ---- chunking: the parts of the linear `chunks` are those of the first, quadratic one (issue 17, item 8) ----
def reference_chunks(batch, sessions_per_chunk):
    """The original `chunks`, kept here as the oracle: every part rescans the whole batch."""
    def having(table, column, values):
        return [r for r in batch.get(table, []) if r[column] in values]

    yield {t: batch.get(t, []) if t in m.PATIENT_TABLES else [] for t, _, _ in m.SHARED_TABLES}
    sessions = batch.get("sessions", [])
    for i in range(0, len(sessions), sessions_per_chunk):
        part = sessions[i:i + sessions_per_chunk]
        sids = {s["id"] for s in part}
        rows = {"sessions": part, "patients": having("patients", "id", {s["patient_id"] for s in part})}
        for table in m.SESSION_TABLES:
            rows[table] = having(table, "session_id", sids)
        rows["rep_evenness"] = having("rep_evenness", "rep_id", {r["id"] for r in rows["reps"]})
        yield {t: rows.get(t, []) for t, _, _ in m.SHARED_TABLES}


def random_batch(rng, n_sessions):
    """A messy batch: shuffled tables, children of sessions that are not in it, a session listed twice,
    patients listed twice or missing, evenness of reps that are not in it, duplicated rows."""
    ids = lambda prefix, n: [f"{prefix}{k}" for k in range(n)]   # noqa: E731
    patients = ids("p", max(1, n_sessions // 7))
    sessions = [{"id": sid, "patient_id": rng.choice(patients + ["p-absent"]), "n": k}
                for k, sid in enumerate(ids("s", n_sessions))]
    sessions += [dict(rng.choice(sessions), n=-1)] if sessions else []    # the same session id twice
    rng.shuffle(sessions)
    sids = [s["id"] for s in sessions] + ["s-absent"]
    batch = {"patients": [{"id": p, "k": k} for k, p in enumerate(patients + rng.sample(patients, 1))],
             "plans": [{"id": "plan", "patient_id": patients[0]}], "treatments": [], "audit": [],
             "sessions": sessions}
    for table in m.SESSION_TABLES:
        batch[table] = [{"id": f"{table}{k}", "session_id": rng.choice(sids)}
                        for k in range(rng.randrange(3 * n_sessions + 1))]
        rng.shuffle(batch[table])
    rep_ids = [r["id"] for r in batch["reps"]] + ["rep-absent"]
    batch["rep_evenness"] = [{"rep_id": rng.choice(rep_ids), "k": k} for k in range(len(rep_ids))]
    batch["reps"].append(dict(batch["reps"][0]) if batch["reps"] else {"id": "r", "session_id": "s0"})
    rng.shuffle(batch["patients"])
    return batch


@pytest.mark.parametrize("seed", range(12))
def test_linear_chunks_give_exactly_the_parts_of_the_original(seed):
    import random

    rng = random.Random(seed)
    batch = random_batch(rng, rng.choice([0, 1, 5, 19, 20, 21, 60, 150]))
    for per_chunk in (1, 3, 20, 1000):
        new, old = list(m.chunks(batch, per_chunk)), list(reference_chunks(batch, per_chunk))
        assert new == old
        # the same row objects, in the same order (not equal copies)
        assert [[id(r) for t in p for r in p[t]] for p in new] == [[id(r) for t in p for r in p[t]] for p in old]


class CountedRow(dict):
    """A row that counts how often it is read by key."""

    reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return super().__getitem__(key)


def test_chunking_reads_each_row_a_fixed_number_of_times_however_many_parts():
    """Linear work, counted rather than timed: cutting a batch into 200 parts reads each row's keys a
    few times in all, not once per part (the original rescanned the whole batch for every part)."""
    import random

    batch = random_batch(random.Random(7), 1000)
    batch = {t: [CountedRow(r) for r in rows] for t, rows in batch.items()}
    parts = list(m.chunks(batch, 5))
    assert len(parts) > 200
    reads = [r.reads for rows in batch.values() for r in rows]
    assert max(reads) <= 3 and sum(reads) <= 3 * len(reads)
