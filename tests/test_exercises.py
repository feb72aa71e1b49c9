from pathlib import Path

import pytest
from click.testing import CliRunner

from coach.cli import cli
from coach.core.exercises import ExerciseError, load_exercise, load_library

REQUIRED = {"brow-lift", "gentle-eye-closure", "gentle-smile", "open-mouth-smile", "snarl", "lip-pucker"}


def test_builtin_library_complete_and_valid(library):
    assert REQUIRED <= set(library)
    for ex in library.values():
        assert ex.instructions and ex.prime.target > 0 and ex.watches
        for w in ex.watches:
            assert w.message and w.kind in ("oral-ocular", "ocular-oral", "mentalis", "platysma")
    kinds = {ex.id: {w.kind for w in ex.watches} for ex in library.values()}
    for oral in ("gentle-smile", "open-mouth-smile", "snarl", "lip-pucker"):
        assert "oral-ocular" in kinds[oral]
    for ocular in ("gentle-eye-closure", "brow-lift"):
        assert "ocular-oral" in kinds[ocular]


GOOD = Path(__file__).parent.parent / "exercises" / "gentle-smile.toml"


@pytest.mark.parametrize("edit,field", [
    (lambda s: s.replace('measure = "commissure_excursion"', 'measure = "smile_power"'), "prime.measure"),
    (lambda s: s.replace("target = 0.20", "target = -1"), "prime.target"),
    (lambda s: s.replace('direction = "decrease"', 'direction = "sideways"'), "watch[0].direction"),
    (lambda s: s.replace("count = 5", 'count = "five"'), "reps.count"),
    (lambda s: s.replace('id = "gentle-smile"', ""), "id"),
    (lambda s: s + "\n[[[broken", "-"),
])
def test_broken_file_names_file_field_and_reason(tmp_path, edit, field):
    bad = tmp_path / "bad.toml"
    bad.write_text(edit(GOOD.read_text()))
    with pytest.raises(ExerciseError) as err:
        load_exercise(bad)
    assert err.value.field == field and str(bad) in str(err.value) and err.value.reason


def test_broken_file_does_not_stop_the_others(tmp_path):
    (tmp_path / "mine.toml").write_text(GOOD.read_text().replace('id = "gentle-smile"', 'id = "my-smile"'))
    (tmp_path / "broken.toml").write_text("id = ")
    library, errors = load_library([tmp_path])
    assert "my-smile" in library and REQUIRED <= set(library)
    assert len(errors) == 1 and "broken.toml" in str(errors[0])


def test_cli_lists_and_reports_broken(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["exercises"])
    assert ok.exit_code == 0 and all(name in ok.output for name in REQUIRED)
    (tmp_path / "broken.toml").write_text("id = 3")
    bad = runner.invoke(cli, ["exercises", "--exercises", str(tmp_path)])
    assert bad.exit_code != 0 and "broken.toml" in bad.output


def test_overrides(library):
    ex = library["gentle-smile"].with_overrides({"eye_opening": 0.2}, reps=8, hold_s=5)
    assert ex.watches[0].threshold == 0.2 and ex.reps == 8 and ex.hold_s == 5
    with pytest.raises(ExerciseError):
        library["gentle-smile"].with_overrides({"brow_height": 0.1})


PUCKER = Path(__file__).parent.parent / "exercises" / "lip-pucker.toml"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "5"])
@pytest.mark.parametrize("key,path", [("threshold", GOOD), ("limit", PUCKER), ("target", GOOD)])
def test_every_amount_is_validated(tmp_path, key, path, value):
    """No NaN, infinity, zero, negative or absurd (500 %) amount switches detection off."""
    text = path.read_text()
    if key == "target":
        text = text.replace("target = 0.20", f"target = {value}")
    elif key == "limit":
        text = text.replace("limit = 0.10", f"limit = {value}")
    else:
        text = text.replace('rule = "side"', f'rule = "side"\nthreshold = {value}')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(ExerciseError) as err:
        load_exercise(bad)
    assert key in err.value.field


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -0.1, 5.0])
def test_per_patient_overrides_are_validated(library, value):
    with pytest.raises(ExerciseError):
        library["lip-pucker"].with_overrides(thresholds={"eye_opening": value})
    with pytest.raises(ExerciseError):
        library["gentle-smile"].with_overrides(target=value)


def test_norms_rules_and_sources(library):
    """Each watched co-movement carries its healthy norm, where published, and its rule."""
    pucker = library["lip-pucker"].watches[0]
    assert pucker.rule == "absolute" and pucker.norm == pytest.approx(0.017) and "Renne" in pucker.source
    assert pucker.limit > pucker.norm
    smile = library["gentle-smile"].watches[0]
    assert smile.rule == "side" and smile.norm == pytest.approx(0.216) and "2013" in smile.source
    for ex_id in ("gentle-eye-closure", "brow-lift"):
        w = library[ex_id].watches[0]
        assert w.rule == "both" and w.norm == 0.0 and w.source
    # A per-patient threshold sets the level of whichever test the rule uses.
    assert library["lip-pucker"].with_overrides(thresholds={"eye_opening": 0.2}).watches[0].limit == 0.2
    both = library["brow-lift"].with_overrides(thresholds={"commissure_excursion": 0.2}).watches[0]
    assert both.limit == both.threshold == 0.2


def test_a_limit_at_or_below_the_norm_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(PUCKER.read_text().replace("limit = 0.10", "limit = 0.01"))
    with pytest.raises(ExerciseError) as err:
        load_exercise(bad)
    assert err.value.field == "watch[0].limit" and "norm" in err.value.reason
