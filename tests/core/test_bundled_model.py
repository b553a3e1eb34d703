"""The default model shipped in resources/ loads out of the box and knows the shells it was trained for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.core.models import bundled_model_path, installed_models, resolve_model

SHELLS = Path(__file__).parents[1] / "fixtures" / "shells"
BEETLES = Path(__file__).parents[1] / "fixtures" / "beetles"


def test_bundled_model_is_the_default_and_has_a_full_card() -> None:
    assert resolve_model(None) == bundled_model_path()
    assert bundled_model_path().stat().st_size < 40 * 1024 * 1024
    models = installed_models()
    assert models[0].bundled and models[0].card is not None
    card = models[0].card
    assert card.num_classes == 8 and card.preprocessing.normalize_in_graph
    assert {"test_top1", "test_top3", "test_macro_f1"} <= set(card.metrics)
    assert card.provenance["training_data_hash"] and "Zhang" in card.provenance["data_source"]
    assert {t.family for t in card.taxa} >= {"Cypraeidae", "Muricidae"}


def test_bundled_model_identifies_fixture_shells() -> None:
    classifier = Classifier(bundled_model_path())
    photos = [open_photo(p, min_side=classifier.min_decode_side) for p in sorted(SHELLS.glob("*/*.jpg"))]
    predictions = classifier.identify(photos, top_k=3)
    expected = [p.parent.name for p in sorted(SHELLS.glob("*/*.jpg"))]
    top3 = sum(label in [t.label for t in pred.top_k] for label, pred in zip(expected, predictions))
    assert top3 >= 0.8 * len(photos)


def test_bundled_model_refuses_beetles_and_keeps_its_shells() -> None:
    """Open set out of the box: the bundled model carries an embedding (frozen ImageNet Lite0), its
    reference bank and threshold; real beetle photos are "not something this model knows", its shells
    are not."""
    classifier = Classifier(bundled_model_path())
    card = classifier.card
    assert classifier.can_refuse and card.open_set is not None and card.embedding_size == 1280
    assert "efficientnet_lite0" in card.open_set["embedding"]
    assert card.provenance["architecture"] == "efficientnetv2_b0"  # the classifier stays EfficientNetV2
    assert {"far_ood_auroc", "test_kept_open_set"} <= set(card.metrics)

    def answers(folder: Path) -> list[bool]:
        paths = sorted(folder.glob("*/*.jpg")) or sorted(folder.glob("*.jpg"))
        photos = [open_photo(p, min_side=classifier.min_decode_side) for p in paths]
        return [pred.not_known for pred in classifier.identify(photos)]

    beetles = answers(BEETLES)
    assert len(beetles) == 4 and all(beetles)
    shells = answers(SHELLS)
    assert sum(shells) <= 0.1 * len(shells)


def test_cli_identifies_with_the_default_model(tmp_path: Path) -> None:
    photo = next(SHELLS.glob("Bolinus_brandaris/*_A.jpg"))
    proc = subprocess.run(
        [sys.executable, "-m", "shellgui", "identify", str(photo), "--no-record"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "shellgui-zhang8" in proc.stdout


def test_installed_models_are_chosen_by_name_and_version(tmp_path: Path, shellgui_home: Path) -> None:
    import pytest
    from tinymodel import build_tiny_model, tiny_card

    from shellgui.core.errors import ModelError
    from shellgui.core.models import install_model

    for version in ("1.1", "1.2"):
        source = build_tiny_model(tmp_path / f"m{version}.onnx", tiny_card(name="snails", version=version))
        install_model(source)
    one = install_model(build_tiny_model(tmp_path / "o.onnx", tiny_card(name="beetles", version="2.0.1")))
    assert resolve_model("snails 1.1").name == "snails-1.1.onnx"
    assert resolve_model("snails-1.2") == resolve_model("snails 1.2")  # the file name, dotted version
    assert resolve_model("beetles") == one  # a unique name is enough
    with pytest.raises(ModelError, match=r"several versions are installed \(1.1, 1.2\)"):
        resolve_model("snails")
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model("snails 9")
