"""Model card contract, provider choice, preprocessing and the golden answers of the tiny model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tinymodel import build_tiny_model, tiny_card

from shellgui.core.errors import ModelError
from shellgui.core.imaging import open_photo
from shellgui.core.inference import UNCERTAIN, Classifier
from shellgui.core.inference.decision import calibrated_probabilities, decide, fuse_views
from shellgui.core.inference.preprocess import resize_and_crop
from shellgui.core.inference.providers import plan_providers
from shellgui.core.modelcard import ModelCard, Taxon


def test_card_round_trips_through_json() -> None:
    card = tiny_card()
    assert ModelCard.from_json(card.to_json()) == card


def test_taxonomy_from_labels() -> None:
    assert Taxon.from_label("Bistolida_diauges").name == "Bistolida diauges"
    bellamya = Taxon.from_label("Bellamya_species", family="Viviparidae")
    assert (bellamya.name, bellamya.rank, bellamya.genus) == ("Bellamya sp.", "genus", "Bellamya")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("not json", "not valid JSON"),
        ('{"name": "x"}', "incomplete"),
        ('{"format": 99}', "newer than this shellgui"),
    ],
)
def test_bad_cards_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        ModelCard.from_json(raw)


def test_model_without_card_is_refused(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "nocard.onnx", with_card=False)
    with pytest.raises(ModelError, match="no shellgui model card"):
        Classifier(path)


def test_card_label_count_must_match_graph(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "mismatch.onnx", card=tiny_card(num_labels=7))
    with pytest.raises(ModelError, match="outputs 4 classes but its card lists 7 labels"):
        Classifier(path)


def test_card_input_size_must_match_graph(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "size.onnx", card=tiny_card(input_size=64), input_size=32)
    with pytest.raises(ModelError, match="input is 32x32 but its card says 64x64"):
        Classifier(path)


def test_missing_and_garbage_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        Classifier(tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"definitely not protobuf")
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        Classifier(junk)


def test_provider_plan_respects_env_and_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLGUI_PROVIDER", "cpu")
    assert plan_providers("cuda").providers == ["CPUExecutionProvider"]
    monkeypatch.delenv("SHELLGUI_PROVIDER")
    assert plan_providers("cpu").providers == ["CPUExecutionProvider"]
    monkeypatch.setattr("shellgui.core.inference.providers.nvidia_driver_present", lambda: False)
    assert plan_providers("auto").providers == ["CPUExecutionProvider"]


def test_cuda_request_without_gpu_falls_back_to_cpu(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELLGUI_PROVIDER", "cuda")
    classifier = Classifier(tiny_model)
    assert classifier.providers[-1] == "CPUExecutionProvider"
    if classifier.device == "CPU":
        assert "CPU" in classifier.provider_reason or "CUDA" in classifier.provider_reason


def test_golden_top_k(tiny_model: Path, colour_photos: dict[str, Path]) -> None:
    classifier = Classifier(tiny_model)
    assert classifier.device == "CPU"
    photos = [open_photo(colour_photos[c]) for c in ("red", "green", "blue", "grey")]
    red, green, blue, grey = classifier.identify(photos, top_k=3)
    assert [t.label for t in red.top_k] == ["Redia_rubra", "Redia_sp", "Caerulea_azurea"]
    assert red.taxon == "Redia rubra" and red.rank == "species" and red.certainty == "confident"
    assert green.taxon == "Viridia viridis"
    assert blue.taxon == "Caerulea azurea"
    assert grey.taxon is None and grey.certainty == UNCERTAIN
    assert [t.name for t in red.genera][:1] == ["Redia"]
    assert red.families[0].name == "Rediidae" and red.families[0].probability > 0.99
    assert red.top_k[0].probability > 0.99 and 0.4 < grey.top_k[0].probability < 0.7


def test_roll_up_to_genus_and_family() -> None:
    card = tiny_card()
    genus_case = decide(np.array([0.45, 0.40, 0.10, 0.05]), card)
    assert (genus_case.taxon, genus_case.rank) == ("Redia sp.", "genus")
    family_case = decide(np.array([0.40, 0.05, 0.45, 0.10]), card)
    assert (family_case.taxon, family_case.rank) == ("Rediidae", "family")
    flat = decide(np.full(4, 0.25), card)
    assert flat.taxon is None and flat.summary.startswith(UNCERTAIN)


def test_temperature_softens_probabilities() -> None:
    logits = np.array([[4.0, 1.0, 0.0]])
    assert calibrated_probabilities(logits, 2.0)[0, 0] < calibrated_probabilities(logits, 1.0)[0, 0]


def test_views_of_one_specimen_are_fused(tiny_model: Path, colour_photos: dict[str, Path]) -> None:
    classifier = Classifier(tiny_model)
    photos = [open_photo(colour_photos["red"]), open_photo(colour_photos["green"])]
    fused = classifier.identify_specimen(photos)
    assert fused.rank == "family" and fused.taxon == "Rediidae"
    np.testing.assert_allclose(fuse_views(np.array([[1.0, 0.0], [0.0, 1.0]])), [0.5, 0.5])


def test_resize_and_crop_matches_torchvision_semantics() -> None:
    pre = tiny_card(input_size=32).preprocessing  # resize 36, crop 32
    out = resize_and_crop(Image.new("RGB", (100, 50)), pre)
    assert out.size == (32, 32)


def test_out_of_distribution_floor_makes_unfamiliar_photos_uncertain(
    tmp_path: Path, colour_photos: dict[str, Path]
) -> None:
    path = build_tiny_model(tmp_path / "ood.onnx", card=tiny_card(ood_logit_floor=3.0))
    classifier = Classifier(path)
    red, grey = classifier.identify([open_photo(colour_photos["red"]), open_photo(colour_photos["grey"])])
    assert red.taxon == "Redia rubra" and not red.unfamiliar  # a strong red: max logit well above 3
    assert grey.taxon is None and grey.unfamiliar and grey.certainty == UNCERTAIN
    assert ModelCard.from_json(classifier.card.to_json()).ood_logit_floor == 3.0
    assert tiny_card().ood_logit_floor is None  # older cards without the field still load
