"""Corrections with history: patient and treatment edits, removed treatments, voided sessions, the
audit table, and `plan set`'s option order, through the library and through the CLI."""
from __future__ import annotations

import getpass
import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from coach.cli import cli, main
from coach.errors import CoachError
from coach.log.file import HOST
from coach.log.store import Store
from store_fixtures import SettableClock, record_session

NOW = datetime(2024, 5, 1, 10, 0)
FIRST = datetime(2024, 4, 1, 18, 30)
ME = f"{getpass.getuser()}@{HOST}"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "coach.db"


@pytest.fixture
def store(db):
    """P1 (left side) with a toxin injection and three short sessions, the clock at NOW."""
    clock = SettableClock(NOW)
    with Store.open(db, clock=clock) as s:
        s.add_patient("P1", "Ann Lee", "left", "first visit")
        s.add_treatment("P1", "2024-04-10", "botulinum_toxin", "orbicularis oculi L", 5)
        s.sids = [record_session(s, "P1", FIRST + timedelta(days=3 * i), exercises=("snarl",), reps=2)
                  for i in range(3)]
        yield s


def audit(store, **where) -> list[dict]:
    rows = list(store.db.query("SELECT * FROM audit ORDER BY rowid"))
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def snapshot(store) -> tuple:
    """Everything a refused correction must leave as it was."""
    return tuple(store.db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                 for t in ("patients", "treatments", "sessions", "audit", "plans"))


def without_updated(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "updated"} for r in rows]


def treatment_id(store) -> str:
    return store.list_treatments("P1")[0]["id"]


# ---- patients ------------------------------------------------------------------------------------
def test_edit_patient_audits_each_changed_field_and_sets_updated(store):
    store.clock.set(NOW + timedelta(hours=1))
    changes = store.edit_patient("P1", display_name="Ann Leigh", notes="second visit", affected_side="left")
    assert changes == {"display_name": ("Ann Lee", "Ann Leigh"), "notes": ("first visit", "second visit")}
    row = store.get_patient("P1")
    assert (row["display_name"], row["notes"], row["affected_side"]) == ("Ann Leigh", "second visit", "left")
    assert datetime.fromisoformat(row["updated"]) == store.clock()
    rows = audit(store, row_table="patients")
    assert [(r["field"], r["old"], r["new"]) for r in rows] == [("display_name", "Ann Lee", "Ann Leigh"),
                                                              ("notes", "first visit", "second visit")]
    assert {(r["actor"], r["command"], r["patient_id"], r["row_id"], r["at"]) for r in rows} == {
        (ME, "patient edit", row["id"], row["id"], row["updated"])}


def test_a_no_op_or_refused_patient_edit_writes_nothing(store):
    before = snapshot(store)
    assert store.edit_patient("P1", display_name="Ann Lee") == {}
    with pytest.raises(CoachError, match="Affected side must be left or right, not 'up'."):
        store.edit_patient("P1", affected_side="up", notes="changed")
    with pytest.raises(CoachError, match="No patient with code P9."):
        store.edit_patient("P9", notes="x")
    assert snapshot(store) == before


# ---- treatments ----------------------------------------------------------------------------------
def test_edit_treatment_by_prefix_audits_old_and_new(store):
    tid = treatment_id(store)
    changes = store.edit_treatment("P1", tid[:6], units=7.5, sites="orbicularis oculi L", date="2024-04-11")
    assert changes == {"units": (5.0, 7.5), "date": ("2024-04-10", "2024-04-11")}
    [row] = store.list_treatments("P1")
    assert (row["units"], row["date"], row["updated"]) == (7.5, "2024-04-11", audit(store)[0]["at"])
    assert {(r["field"], r["old"], r["new"], r["command"]) for r in audit(store, row_id=tid)} == {
        ("units", "5", "7.5", "treatment edit"), ("date", "2024-04-10", "2024-04-11", "treatment edit")}


@pytest.mark.parametrize("change, message", [
    ({"units": -5}, "Treatment units must be a number above 0"),
    ({"units": float("nan")}, "Treatment units must be a number above 0"),
    ({"date": "2024-06-01"}, "The treatment date 2024-06-01 is in the future"),
    ({"date": "April"}, "Treatment date must be YYYY-MM-DD, not 'April'."),
    ({"kind": "massage"}, "Treatment kind must be one of botulinum_toxin, surgery, other, not 'massage'."),
])
def test_bad_treatment_edits_are_refused_in_one_sentence(store, change, message):
    before = snapshot(store)
    with pytest.raises(CoachError) as err:
        store.edit_treatment("P1", treatment_id(store), notes="changed too", **change)
    assert str(err.value).startswith(message) and str(err.value).count(". ") == 0
    assert snapshot(store) == before


def test_ids_full_or_unique_prefix_of_six(store):
    tid = treatment_id(store)
    assert store.edit_treatment("P1", tid.upper(), notes="full id, any case") == {"notes": ("", "full id, any case")}
    before = snapshot(store)
    for given, message in ((tid[:5], "is not a treatment id: give the id or at least its first 6 characters."),
                           ("zzzzzz", "is not a treatment id"), ("abcdef", "No treatment with id abcdef.")):
        with pytest.raises(CoachError, match=message):
            store.edit_treatment("P1", given, units=9)
    with pytest.raises(CoachError, match="No session with id 000000."):
        store.void_session("000000", "x")
    # Two ids that share their first 8 characters: the prefix is ambiguous, more of it is not.
    store.add_treatment("P1", "2024-04-20", "other", "", None, "second")
    store.db.execute("UPDATE treatments SET id = 'abcdef12-0000-4000-8000-00000000000' || rowid")
    store.db.conn.commit()
    before = snapshot(store)
    with pytest.raises(CoachError, match="The id abcdef12 matches 2 treatments; give more of it."):
        store.remove_treatment("P1", "abcdef12")
    assert snapshot(store) == before
    store.remove_treatment("P1", "abcdef12-0000-4000-8000-000000000001")
    assert [t["notes"] for t in store.list_treatments("P1")] == ["second"]
    # Another patient's treatment is not found by this patient's code.
    store.add_patient("P2")
    with pytest.raises(CoachError, match="No treatment with id abcdef12-0000-4000-8000-000000000002."):
        store.edit_treatment("P2", "abcdef12-0000-4000-8000-000000000002", units=1)


def test_removed_treatment_is_a_tombstone(store):
    tid = treatment_id(store)
    store.clock.set(NOW + timedelta(days=1))
    store.remove_treatment("P1", tid[:8])
    assert store.list_treatments("P1") == []
    [(removed, updated)] = store.db.execute("SELECT removed, updated FROM treatments").fetchall()
    assert removed == updated and datetime.fromisoformat(removed) == store.clock()
    [row] = audit(store, row_id=tid)
    assert (row["field"], row["old"], row["new"], row["command"]) == ("removed", None, removed, "treatment remove")
    before = snapshot(store)
    for attempt in (lambda: store.remove_treatment("P1", tid), lambda: store.edit_treatment("P1", tid, units=3)):
        with pytest.raises(CoachError, match=f"Treatment {tid[:8]} of P1 was removed on 2024-05-02."):
            attempt()
    assert snapshot(store) == before


# ---- voided sessions -----------------------------------------------------------------------------
def counted(store) -> dict:
    """Which sessions each query counts."""
    return {"sessions": [s["id"] for s in store.sessions("P1")],
            "session_rows": [s["id"] for s in store.session_rows("P1")],
            "rep_rows": sorted({r["session_id"] for r in store.rep_rows("P1")}),
            "event_rows": sorted({e["session_id"] for e in store.event_rows("P1")}),
            "last_session": store.last_session_summary("P1")["session_id"],
            "learned_targets": store.learned_targets("P1"),
            "patient_list": store.list_patients()[0]["sessions"]}


@pytest.fixture
def learned(store):
    """The last session's sets learned a target."""
    store.db.execute("UPDATE sets SET target = 0.2, target_source = 'learned' WHERE session_id = ?", [store.sids[2]])
    store.db.conn.commit()
    return store


def test_a_voided_session_is_out_of_every_figure(learned):
    store, sid = learned, learned.sids[2]
    kept = sorted(store.sids[:2])
    assert counted(store) == {"sessions": store.sids, "session_rows": store.sids, "rep_rows": sorted(store.sids),
                              "event_rows": sorted(store.sids), "last_session": sid,
                              "learned_targets": {"snarl": 0.2}, "patient_list": 3}
    store.clock.set(NOW + timedelta(hours=2))
    assert store.void_session(sid[:6], "  camera pointed at the ceiling ")["voided"] == "camera pointed at the ceiling"
    assert counted(store) == {"sessions": store.sids[:2], "session_rows": store.sids[:2], "rep_rows": kept,
                              "event_rows": kept, "last_session": store.sids[1], "learned_targets": {},
                              "patient_list": 2}
    assert store.rep_rows(session_id=sid) == []
    [(updated,)] = store.db.execute("SELECT updated FROM sessions WHERE id = ?", [sid]).fetchall()
    assert datetime.fromisoformat(updated) == store.clock()


def test_a_voided_session_is_kept_and_counts_again_after_undo(learned):
    store, sid = learned, learned.sids[2]
    before = counted(store), without_updated(store.sessions("P1"))
    n_events = len(store.event_rows("P1"))
    store.void_session(sid, "camera pointed at the ceiling")
    voided = [s for s in store.sessions("P1", include_voided=True) if s["voided"]]
    assert [(s["id"], s["n_reps"]) for s in voided] == [(sid, 2)]                     # kept, with its reps
    assert len(store.event_rows("P1", include_voided=True)) == n_events
    store.unvoid_session(sid)
    assert (counted(store), without_updated(store.sessions("P1"))) == before
    assert [(r["field"], r["old"], r["new"], r["command"]) for r in audit(store, row_id=sid)] == [
        ("voided", None, "camera pointed at the ceiling", "session void"),
        ("voided", "camera pointed at the ceiling", None, "session void --undo")]


def test_void_refuses_a_running_session_a_missing_reason_and_a_needless_undo(store):
    running = store.start_session("P1")
    before = snapshot(store)
    with pytest.raises(CoachError, match=f"Session {running[:8]} is still running; void it once it has ended."):
        store.void_session(running, "test")
    with pytest.raises(CoachError, match="Say why the session is voided"):
        store.void_session(store.sids[0], "   ")
    with pytest.raises(CoachError, match=f"Session {store.sids[0][:8]} is not voided, so there is nothing to undo."):
        store.unvoid_session(store.sids[0])
    assert snapshot(store) == before
    store.end_session(running)


# ---- plans and the history ----------------------------------------------------------------------
def test_replacing_a_plan_is_audited_as_compact_json(store):
    first = [{"exercise": "snarl", "reps": 4}]
    store.set_plan("P1", first)
    assert audit(store, row_table="plans") == []                     # nothing replaced
    store.set_plan("P1", first)
    assert audit(store, row_table="plans") == []                     # the same plan again: nothing changed
    store.clock.set(NOW + timedelta(minutes=5))
    saved = store.set_plan("P1", [{"exercise": "snarl", "reps": 6, "hold_s": 2}])
    [row] = audit(store, row_table="plans")
    assert (row["field"], row["row_id"], row["command"]) == ("items", saved["id"], "plan set")
    assert json.loads(row["old"]) == [{"exercise": "snarl", "reps": 4, "thresholds": {}}]
    assert json.loads(row["new"]) == saved["items"] and ", " not in row["new"] and ": " not in row["new"]


def test_audit_rows_newest_first(store):
    store.edit_patient("P1", notes="one")
    store.clock.set(NOW + timedelta(minutes=1))
    store.edit_treatment("P1", treatment_id(store), units=6, sites="both eyes")
    store.clock.set(NOW + timedelta(minutes=2))
    store.void_session(store.sids[0], "wrong patient")
    assert [(r["row_table"], r["field"]) for r in store.audit_rows("P1")] == [
        ("sessions", "voided"), ("treatments", "sites"), ("treatments", "units"), ("patients", "notes")]


# ---- the CLI ----------------------------------------------------------------------------------------
def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def ok(*args) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def fails(*args, match: str, code: int = 1) -> None:
    result = run(*args)
    assert isinstance(result.exception, CoachError), (result.output, result.exception)
    assert match in str(result.exception) and result.exception.exit_code == code


def test_cli_patient_edit(store, db):
    store.close()
    out = ok("patient", "edit", "P1", "--notes", "moved to Leeds", "--affected-side", "right", "--db", db)
    assert out.splitlines() == ["P1: affected side left → right", "P1: notes first visit → moved to Leeds"]
    assert ok("patient", "edit", "P1", "--notes", "moved to Leeds", "--db", db) == "Nothing changed for P1.\n"
    fails("patient", "edit", "P1", "--db", db, match="Say what to change", code=2)
    assert run("patient", "edit", "P1", "--affected-side", "up", "--db", db).exit_code == 2   # click refuses it
    assert "notes: moved to Leeds" in ok("patient", "show", "P1", "--db", db)


def short_ids(db) -> dict[str, str]:
    """{notes: short id} from `coach treatment list`."""
    return {line.split("(")[-1].rstrip(")") if "(" in line else "": line.split()[0]
            for line in ok("treatment", "list", "P1", "--db", db).splitlines()}


def test_cli_treatment_list_edit_remove(store, db):
    tid = treatment_id(store)
    store.close()
    short = short_ids(db)[""]
    assert short == tid[:8]
    assert ok("treatment", "edit", "P1", short, "--units", 7.5, "--db", db) == f"treatment {short}: units 5 → 7.5\n"
    fails("treatment", "edit", "P1", short, "--units", -1, "--db", db, match="Treatment units must be")
    fails("treatment", "edit", "P1", short, "--date", "2999-01-01", "--db", db, match="confirming it needs a terminal")
    fails("treatment", "edit", "P1", short[:4], "--notes", "x", "--db", db, match="at least its first 6 characters")
    ok("treatment", "add", "P1", "--date", "2024-04-12", "--kind", "other", "--notes", "typed twice", "--db", db)
    wrong = short_ids(db)["typed twice"]
    assert ok("treatment", "remove", "P1", wrong, "--db", db).startswith("Removed from P1: 2024-04-12  other")
    assert list(short_ids(db)) == [""]
    fails("treatment", "remove", "P1", wrong, "--db", db, match=f"Treatment {wrong} of P1 was removed on ")


def test_cli_session_void_and_undo(store, db):
    store.close()
    sid = ok("sessions", "--patient", "P1", "--db", db).splitlines()[1].split()[-1]
    fails("session", "void", sid, "--db", db, match="--reason TEXT", code=2)
    fails("session", "void", sid, "--reason", "x", "--undo", "--db", db, match="not both", code=2)
    out = ok("session", "void", sid, "--reason", "screen was off", "--db", db)
    assert out.endswith("is voided (screen was off); it no longer counts.\n")
    listing = ok("sessions", "--patient", "P1", "--db", db).splitlines()
    assert "  voided: screen was off  " in listing[1] and listing[1].endswith(sid)
    assert ["completed" in line for line in listing[1:]] == [False, True, True]
    assert "sessions: 2" in ok("patient", "show", "P1", "--db", db)
    assert "counts again" in ok("session", "void", sid, "--undo", "--db", db)
    assert "voided" not in ok("sessions", "--patient", "P1", "--db", db)


def test_cli_audit_table(store, db):
    tid, sid = treatment_id(store)[:8], store.sids[0][:8]
    store.edit_patient("P1", notes="moved to Leeds")
    store.clock.set(NOW + timedelta(minutes=1))
    store.edit_treatment("P1", tid, units=7.5)
    store.clock.set(NOW + timedelta(minutes=2))
    store.void_session(sid, "screen was off")
    store.close()
    table = ok("audit", "P1", "--db", db).splitlines()
    assert table[0].split() == ["when", "who", "command", "what", "old", "→", "new"]
    expected = [("2024-05-01 10:02", "session void", f"session {sid} voided", "(empty) → screen was off"),
                ("2024-05-01 10:01", "treatment edit", f"treatment {tid} units", "5 → 7.5"),
                ("2024-05-01 10:00", "patient edit", "patient notes", "first visit → moved to Leeds")]
    assert [" ".join(line.split()) for line in table[1:]] == [f"{when} {ME} {command} {what} {change}"
                                                              for when, command, what, change in expected]
    assert ok("audit", "P1", "--db", db) == ok("audit", "P1", "--db", db)                  # reading writes nothing
    ok("patient", "add", "P2", "--db", db)
    assert ok("audit", "P2", "--db", db) == "No corrections recorded for P2.\n"


def test_cli_errors_are_one_sentence(store, db, capfd):
    store.close()
    with pytest.raises(SystemExit) as done:
        main(["treatment", "edit", "P1", "ffffff", "--units", "3", "--db", str(db)])
    assert done.value.code == 1
    assert capfd.readouterr().err == "coach: No treatment with id ffffff.\n"


# ---- plan set: the order of the options ----------------------------------------------------------
def plan_of(db, *args) -> dict:
    ok("plan", "set", "P1", *args, "--db", db)
    with Store.open(db, readonly=True) as s:
        return {item["exercise"]: item for item in s.get_plan("P1")}


def test_plan_options_after_an_exercise_apply_to_it_only(store, db):
    store.close()
    plan = plan_of(db, "--exercise", "gentle-smile", "--reps", 8, "--hold", 4, "--exercise", "gentle-eye-closure",
                   "--reps", 5, "--threshold", "gentle-smile:eye_opening=0.08")        # the README's example
    smile, eyes = plan["gentle-smile"], plan["gentle-eye-closure"]
    assert (smile["reps"], smile["hold_s"], eyes["reps"]) == (8, 4, 5)
    assert eyes["hold_s"] != 4                                        # the eye closure keeps its file's hold
    assert smile["thresholds"] == {"eye_opening": 0.08} and eyes["thresholds"] == {}


def test_plan_options_before_the_first_exercise_apply_to_all(store, db):
    store.close()
    plan = plan_of(db, "--hold", 3, "--rest", 5, "--target", 0.1, "--exercise", "gentle-smile", "--hold", 6,
                   "--exercise", "snarl", "--threshold", "eye_opening=0.2", "--exercise", "lip-pucker")
    assert {ex: (i["hold_s"], i["rest_s"], i["target"]) for ex, i in plan.items()} == {
        "gentle-smile": (6, 5, 0.1), "snarl": (3, 5, 0.1), "lip-pucker": (3, 5, 0.1)}
    assert {ex: i["thresholds"] for ex, i in plan.items()} == {
        "gentle-smile": {}, "snarl": {"eye_opening": 0.2}, "lip-pucker": {}}
    everywhere = plan_of(db, "--threshold", "commissure_excursion=0.3", "--exercise", "gentle-eye-closure",
                         "--exercise", "brow-lift")
    assert all(i["thresholds"] == {"commissure_excursion": 0.3} for i in everywhere.values())


def test_plan_option_given_twice_for_one_exercise_is_refused(store, db):
    store.close()
    fails("plan", "set", "P1", "--exercise", "snarl", "--hold", 2, "--hold", 4, "--db", db,
          match="--hold is given twice after --exercise snarl")
    fails("plan", "set", "P1", "--reps", 2, "--reps", 3, "--exercise", "snarl", "--db", db,
          match="--reps is given twice before the first --exercise")
    with Store.open(db, readonly=True) as s:
        assert s.get_plan("P1") is None
    assert "the order of the options matters" in ok("plan", "set", "--help")
