"""Settings that carry over: the view, the voice and the text size, per patient, at home and at the kiosk."""
from __future__ import annotations

from coach.core.demonstration import performed
from coach.screen.display import NullDisplay
from home_runs import ex
from streams import ListSource


def test_view_voice_and_text_size_carry_over_to_the_next_session(tmp_path, library, calm):
    from coach.app import coach_session
    from coach.log.store import Store

    plan = [ex(library, "gentle-smile", reps=1)]
    frames = performed(calm, plan[0], [6.0], 14.0)
    with Store.open(tmp_path / "c.db") as s:
        s.add_patient("P1")
    first = NullDisplay(actions={5: ["view", "voice", "text_size"]})
    coach_session(ListSource(frames), plan, store=Store.open(tmp_path / "c.db"), patient="P1", welcome_s=0.5,
                  summary_s=0.5, display=first)
    assert (first.view_mode, first.voice, first.text_size) == ("mesh", True, "large")
    second = NullDisplay()
    coach_session(ListSource(frames), plan, store=Store.open(tmp_path / "c.db"), patient="P1", welcome_s=0.5,
                  summary_s=0.5, display=second)
    assert (second.view_mode, second.voice, second.text_size) == ("mesh", True, "large")
    assert second.view_modes[0] == "mesh"                 # from the very first screen
    # Another patient keeps the defaults; a setting given for a session wins, and is remembered.
    with Store.open(tmp_path / "c.db") as s:
        s.add_patient("P2")
    third = NullDisplay()
    coach_session(ListSource(frames), plan, store=Store.open(tmp_path / "c.db"), patient="P2", welcome_s=0.5,
                  summary_s=0.5, display=third, view="meters")
    fourth = NullDisplay()
    coach_session(ListSource(frames), plan, store=Store.open(tmp_path / "c.db"), patient="P2", welcome_s=0.5,
                  summary_s=0.5, display=fourth)
    assert (fourth.view_mode, fourth.voice) == ("meters", False)


def test_kiosk_remembers_settings_per_patient_code(tmp_path, library, calm):
    from coach.log import preferences
    from coach.log.store import Store
    from coach.kiosk import Kiosk, KioskConfig, run_kiosk

    store = Store.open(tmp_path / "c.db")
    for code in ("12", "34"):
        store.add_patient(code)
        store.set_plan(code, [{"exercise": "gentle-smile", "reps": 1, "rest_s": 2.0}])
    frames = performed(calm, library["gentle-smile"], [6.0, 30.0], 40.0)
    events = [(0.2, "action", "key:1"), (0.3, "action", "key:2"), (0.4, "action", "key:enter"),
              (4.0, "action", "ready"), (24.0, "action", "key:3"), (24.1, "action", "key:4"),
              (24.2, "action", "key:enter")]
    display = NullDisplay(actions={120: ["view"], 121: ["voice"]})       # keys the display applies itself
    run_kiosk(Kiosk(store, KioskConfig(summary_s=2.0, intro_s=0.5)), ListSource(frames), display, events=events)
    remembered = preferences.load(store, "12")
    assert remembered["view"] == "mesh" and remembered["voice"] == "on"
    assert preferences.load(store, "34").get("view", "mirror") == "mirror"
    # Patient 34's visit started with patient 34's own settings, not 12's.
    second = [v for v in display.views if v.t >= 24.2 and v.settings is not None]
    assert second and second[0].settings.get("view", "mirror") == "mirror"
    store.close()
