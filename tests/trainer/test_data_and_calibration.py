"""Specimen-grouped splits, dataset errors, calibration and thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shellgui_train import data as D
from shellgui_train.calibration import expected_calibration_error, fit_temperature, fit_thresholds
from shellgui_train.data import DataError


def test_views_of_a_specimen_stay_together(shells: Path) -> None:
    samples = D.samples_from_folders(shells)
    assert len(samples) == 24
    splits = D.split_by_specimen(samples, 0.25, 0.25, seed=1)
    where = {}
    for name in ("train", "val", "test"):
        for s in getattr(splits, name):
            where.setdefault(s.specimen, set()).add(name)
    assert all(len(v) == 1 for v in where.values())
    assert len(where) == 12
    counts = splits.counts()
    assert all(counts["test"][label] == 2 for label in splits.labels)  # stratified: one specimen each
    assert D.split_by_specimen(samples, 0.25, 0.25, seed=1).test == splits.test  # seeded


def test_carabid_style_names_group_dorsal_and_ventral() -> None:
    a = D.specimen_id(Path("JPGImagesDELA_01_DORSAL.1.jpg"), D.DEFAULT_VIEW_PATTERN)
    b = D.specimen_id(Path("JPGImagesDELA_01_VENTRAL.1.jpg"), D.DEFAULT_VIEW_PATTERN)
    c = D.specimen_id(Path("JPGImagesDELA_01_DORSAL.3.jpg"), D.DEFAULT_VIEW_PATTERN)
    assert a == b != c


def test_empty_single_class_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no photos"):
        D.split_by_specimen(D.samples_from_folders(tmp_path))
    (tmp_path / "Only_one").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "Only_one" / "a.jpg")
    with pytest.raises(DataError, match="only one class"):
        D.split_by_specimen(D.samples_from_folders(tmp_path))
    broken = tmp_path / "broken"
    (broken / "A_a").mkdir(parents=True)
    (broken / "A_a" / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(DataError, match="none of the photos could be read"):
        D.check_readable(D.samples_from_folders(broken))


def test_taxonomy_csv_adds_family(tmp_path: Path) -> None:
    csv_path = tmp_path / "tax.csv"
    csv_path.write_text("label,family,order\nBolinus_brandaris,Muricidae,Neogastropoda\n")
    taxa = D.build_taxa(["Bolinus_brandaris", "Bellamya_species"], D.read_taxonomy_csv(csv_path))
    assert taxa[0].family == "Muricidae" and taxa[0].higher == {"order": "Neogastropoda"}
    assert taxa[1].rank == "genus" and taxa[1].name == "Bellamya sp."


def test_temperature_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 5, 400)
    logits = rng.normal(size=(400, 5)) * 3
    logits[np.arange(200), targets[:200]] += 6  # half right, very confident
    t = fit_temperature(logits, targets)
    from shellgui.core.inference.decision import calibrated_probabilities

    assert t > 1.0
    before = expected_calibration_error(calibrated_probabilities(logits, 1.0), targets)
    after = expected_calibration_error(calibrated_probabilities(logits, t), targets)
    assert after < before


def test_thresholds_reach_target_precision() -> None:
    from shellgui.core.modelcard import Taxon

    taxa = [Taxon.from_label(x, family="F") for x in ("A_a", "A_b", "B_c")]
    probs = np.array([[0.95, 0.03, 0.02]] * 10 + [[0.5, 0.45, 0.05]] * 10)
    targets = np.array([0] * 10 + [1] * 10)
    thresholds = fit_thresholds(probs, targets, taxa, target_precision=0.9)
    assert 0.5 < thresholds["species"] <= 0.95
    assert thresholds["genus"] <= 0.95


def test_ood_floor_is_a_low_percentile_of_validation_max_logits() -> None:
    from shellgui_train.calibration import fit_ood_floor

    logits = np.zeros((100, 3))
    logits[:, 0] = np.arange(100)
    assert fit_ood_floor(logits, 5.0) == pytest.approx(4.95)
    assert fit_ood_floor(logits, 0) is None
    assert fit_ood_floor(logits[:5], 5.0) is None


def test_progressive_schedule_grows_size_and_regularisation() -> None:
    from shellgui_train.train import progressive_schedule

    steps = [progressive_schedule(e, 9, 128, 224) for e in range(9)]
    sizes = [s for s, _ in steps]
    strengths = [r for _, r in steps]
    assert sizes == sorted(sizes) and sizes[0] == 128 and sizes[-1] == 224
    assert strengths == sorted(strengths) and strengths[0] == 0 and strengths[-1] == 1


def test_a_validation_set_answered_all_right_is_reported_as_uncalibrated() -> None:
    from types import SimpleNamespace

    import numpy as np

    from shellgui_train.cli import calibration_warnings

    logits = np.array([[3.0, 0.0], [0.0, 3.0]])
    perfect = SimpleNamespace(
        val_logits=logits, val_targets=np.array([0, 1]), calibration={"temperature": 0.05}
    )
    (warning,) = calibration_warnings(perfect)  # type: ignore[arg-type]
    assert "every one of the 2 validation photos was answered right" in warning and "0.05" in warning
    one_wrong = SimpleNamespace(
        val_logits=logits, val_targets=np.array([1, 1]), calibration={"temperature": 1}
    )
    assert calibration_warnings(one_wrong) == []  # type: ignore[arg-type]
