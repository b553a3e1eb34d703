"""Open-set contract: card fields, the reference bank encoding, the embedding output and the refusal."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tinymodel import (
    EMBEDDING_SIZE,
    OPEN_SET,
    build_open_set_model,
    build_tiny_model,
    colour_embedding,
    open_set_card,
    tiny_bank,
    tiny_card,
)

from shellgui.core.errors import ModelError
from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.core.inference.bank import decode_bank, encode_bank
from shellgui.core.inference.decision import DISPUTED, NOT_KNOWN, UNCERTAIN
from shellgui.core.inference.openset import knn_distances
from shellgui.core.modelcard import ModelCard


@pytest.fixture
def magenta_photo(tmp_path: Path) -> Path:
    path = tmp_path / "magenta.jpg"
    Image.new("RGB", (64, 48), (230, 20, 230)).save(path, quality=95)
    return path


def test_bank_round_trips_float16_and_float32() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(7, 5)).astype(np.float32)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    for dtype, tol in (("float16", 1e-3), ("float32", 1e-6)):
        bank = decode_bank(encode_bank(rows, [0, 1, 2, 0, 1, 2, 3], dtype=dtype))
        assert bank.dtype == dtype and (bank.size, bank.dim) == (7, 5)
        np.testing.assert_allclose(bank.embeddings, unit, atol=tol)
        np.testing.assert_allclose(np.linalg.norm(bank.embeddings, axis=1), 1.0, atol=1e-6)
        assert bank.labels.tolist() == [0, 1, 2, 0, 1, 2, 3]
    assert decode_bank(encode_bank(rows, list(range(7)))).stored_bytes == 7 * 5 * 2


def test_bank_wire_format_is_the_contract() -> None:
    raw = json.loads(encode_bank(np.array([[3.0, 4.0]]), [2]))
    assert raw["format"] == 1 and raw["dtype"] == "float16" and raw["shape"] == [1, 2]
    assert raw["labels"] == [2]
    np.testing.assert_array_equal(
        np.frombuffer(base64.b64decode(raw["data"]), dtype="<f2"), np.array([0.6, 0.8], dtype="<f2")
    )


@pytest.mark.parametrize(
    "rows, labels, message",
    [
        (np.zeros((0, 3)), [], "non-empty"),
        (np.ones((2, 3)), [0], "2 integers"),
        (np.ones((2, 3)), [0.5, 1.0], "integers"),
        (np.ones((1, 3)), [-1], "non-negative"),
        (np.array([[np.nan, 1.0]]), [0], "NaN"),
    ],
)
def test_encode_bank_refuses_bad_input(rows: np.ndarray, labels: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_bank(rows, labels)


def _bank(**changes: object) -> str:
    raw = json.loads(encode_bank(np.eye(2, 3), [0, 1]))
    raw.update(changes)
    return json.dumps(raw)


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("{", {}, "not valid JSON"),
        ("[]", {}, "not a JSON object"),
        (_bank(format=2), {}, "format"),
        (_bank(dtype="int8"), {}, "dtype"),
        (_bank(shape=[2]), {}, "shape"),
        (_bank(shape=[3, 3]), {}, "needs"),
        (_bank(data="%%%"), {}, "base64"),
        (_bank(labels=[0]), {}, "one label per row"),
        (_bank(labels=[0, "a"]), {}, "non-negative class indices"),
        (_bank(), {"num_classes": 1}, "names class 1, but the model has 1 classes"),
        (_bank(), {"dim": 4}, "size 3, but the model's embedding has 4"),
    ],
)
def test_decode_bank_refuses_bad_banks(text: str, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        decode_bank(text, **kwargs)


def test_old_cards_load_unchanged_and_new_fields_round_trip() -> None:
    old = json.loads(tiny_card().to_json())
    del old["embedding_size"], old["open_set"]
    card = ModelCard.from_dict(old)
    assert card.embedding_size is None and card.open_set is None and card.open_set_k is None
    new = open_set_card()
    again = ModelCard.from_json(new.to_json())
    assert again == new and again.open_set_k == 3 and again.open_set_threshold == 0.2


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"embedding_size": 0}, "embedding_size 0 must be positive"),
        ({"embedding_size": "big"}, "malformed"),
        ({"embedding_size": None}, "no embedding_size"),
        ({"open_set": {**OPEN_SET, "method": "energy"}}, "method 'energy'"),
        ({"open_set": {**OPEN_SET, "k": 0}}, "k 0 must be a positive integer"),
        ({"open_set": {**OPEN_SET, "threshold": 3.0}}, r"cosine distance in \[0, 2\]"),
        ({"open_set": {**OPEN_SET, "threshold": None}}, "threshold None"),
        ({"open_set": {**OPEN_SET, "retention": 1.5}}, "retention 1.5"),
    ],
)
def test_bad_open_set_fields_are_refused(overrides: dict[str, object], message: str) -> None:
    raw = json.loads(open_set_card().to_json())
    raw.update(overrides)
    with pytest.raises(ModelError, match=message):
        ModelCard.from_dict(raw)


def test_model_without_embedding_keeps_todays_behaviour(
    tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    classifier = Classifier(tiny_model)
    assert not classifier.has_embedding and classifier.bank is None and not classifier.can_refuse
    red = classifier.identify([open_photo(colour_photos["red"])])[0]
    assert red.embedding is None and red.open_set is None and red.taxon == "Redia rubra"
    assert red.to_dict()["open_set"] is None


def test_classifier_returns_the_embedding(tmp_path: Path, colour_photos: dict[str, Path]) -> None:
    path = build_tiny_model(
        tmp_path / "emb.onnx", card=tiny_card(embedding_size=EMBEDDING_SIZE), embedding=True
    )
    classifier = Classifier(path)
    assert classifier.has_embedding and not classifier.can_refuse
    red, blue = classifier.identify([open_photo(colour_photos[c]) for c in ("red", "blue")])
    assert red.embedding is not None and red.embedding.shape == (EMBEDDING_SIZE,)
    np.testing.assert_allclose(red.embedding, colour_embedding((230, 20, 20)), atol=0.02)
    np.testing.assert_allclose(blue.embedding, colour_embedding((20, 20, 230)), atol=0.02)
    assert red.taxon == "Redia rubra" and red.open_set is None


def test_graph_and_card_must_agree_on_the_embedding(tmp_path: Path) -> None:
    no_output = build_tiny_model(tmp_path / "a.onnx", card=open_set_card(), bank=tiny_bank())
    with pytest.raises(ModelError, match="no 'embedding' output"):
        Classifier(no_output)
    wrong_size = build_tiny_model(
        tmp_path / "b.onnx", card=open_set_card(embedding_size=8), embedding=True, bank=tiny_bank()
    )
    with pytest.raises(ModelError, match="embedding has 3 values but its card says 8"):
        Classifier(wrong_size)
    no_bank = build_tiny_model(tmp_path / "c.onnx", card=open_set_card(), embedding=True)
    with pytest.raises(ModelError, match="no reference bank"):
        Classifier(no_bank)
    bad_bank = build_tiny_model(tmp_path / "d.onnx", card=open_set_card(), embedding=True, bank="{}")
    with pytest.raises(ModelError, match="d.onnx: the reference bank has format None"):
        Classifier(bad_bank)


def test_golden_open_set_answers(tmp_path: Path, colour_photos: dict[str, Path], magenta_photo: Path) -> None:
    classifier = Classifier(build_open_set_model(tmp_path / "openset.onnx"))
    assert classifier.can_refuse and classifier.bank is not None and classifier.bank.size == 9
    red, blue, magenta = classifier.identify(
        [open_photo(colour_photos["red"]), open_photo(colour_photos["blue"]), open_photo(magenta_photo)]
    )
    assert red.taxon == "Redia rubra" and red.open_set is not None and not red.open_set.unknown
    assert red.open_set.distance < 0.05 and blue.taxon == "Caerulea azurea"
    # Magenta: the logits alone would say "Caerulea azurea, confident"; the bank says it is unlike them all.
    assert magenta.top_k[0].name == "Caerulea azurea" and magenta.top_k[0].probability > 0.9
    assert magenta.taxon is None and magenta.rank == "unknown" and magenta.not_known and magenta.unfamiliar
    assert magenta.open_set is not None and magenta.open_set.distance > 0.5
    assert magenta.certainty == f"{NOT_KNOWN} — looks unlike any of the 9 photos this model learned from"
    # The hint is the taxon of the nearest bank photo (a pinkish red shade), not the logits' favourite.
    assert magenta.hint == "Redia rubra"
    assert magenta.summary == (
        f"{NOT_KNOWN} — looks unlike any of the 9 photos this model learned from "
        "(the most similar photo it learned from is Redia rubra: a hint, not an identification)"
    )
    as_json = magenta.to_dict()
    assert as_json["taxon"] is None and as_json["not_known"] is True and as_json["hint"] == "Redia rubra"
    assert as_json["open_set"]["unknown"] is True and as_json["open_set"]["k"] == 3  # type: ignore[index]
    json.dumps(as_json)


def test_open_set_decision_for_a_specimen_and_an_uncertain_photo(
    tmp_path: Path, colour_photos: dict[str, Path], magenta_photo: Path
) -> None:
    classifier = Classifier(build_open_set_model(tmp_path / "openset.onnx"))
    grey = classifier.identify([open_photo(colour_photos["grey"])])[0]
    assert grey.rank == "unknown"  # grey is far from the bank too: refused before "uncertain"
    specimen = classifier.identify_specimen([open_photo(colour_photos["red"]), open_photo(magenta_photo)])
    assert specimen.embeddings is not None and specimen.embeddings.shape == (2, EMBEDDING_SIZE)
    assert specimen.open_set is not None
    loose = Classifier(build_open_set_model(tmp_path / "loose.onnx", open_set={**OPEN_SET, "threshold": 2.0}))
    assert loose.identify([open_photo(colour_photos["grey"])])[0].certainty == UNCERTAIN


def test_knn_distance_is_the_kth_cosine_distance() -> None:
    bank = decode_bank(encode_bank(np.eye(3), [0, 1, 2], dtype="float32"))
    kth, nearest, rows = knn_distances(np.array([[1.0, 0.0, 0.0]]), bank, k=2)
    assert rows.tolist() == [0] and nearest[0] == pytest.approx(0.0) and kth[0] == pytest.approx(1.0)
    kth_big, _, _ = knn_distances(np.array([[1.0, 0.0, 0.0]]), bank, k=10)  # k clipped to the bank size
    assert kth_big[0] == pytest.approx(1.0)


def test_words_for_a_first_time_user_say_what_the_model_was_tested_on() -> None:
    from shellgui.core.models import measured_words, open_set_words

    card = open_set_card(
        metrics={
            "test_top1": 0.906,
            "test_photos": 32.0,
            "far_ood_photos": 500.0,
            "far_ood_answered_any_taxon": 0.0,
        },
        provenance={"outliers": "carabids"},
    )
    assert measured_words(card) == (
        "Tested: first answer right for 91% of 32 held-out test photos; "
        "named a taxon for 0% of 500 carabids photos."
    )
    assert measured_words(tiny_card(metrics={})) == ""
    embedding = {**OPEN_SET, "embedding": "efficientnet_lite0 ImageNet weights, frozen"}
    words = open_set_words(open_set_card(open_set=embedding))
    assert "(efficientnet_lite0 ImageNet weights, frozen)" in words


@pytest.mark.parametrize(
    ("nearest", "agreement", "expected", "disputed_by"),
    [
        (0, True, ("Redia rubra", "species"), None),  # the nearest known photo agrees: the species stands
        (1, True, ("Redia sp.", "genus"), "Redia sp."),  # a Redia of another kind: agree on the genus
        (2, True, ("Rediidae", "family"), "Viridia viridis"),  # another genus of the family: the family
        (3, True, (None, "uncertain"), "Caerulea azurea"),  # another family: nothing both say
        (3, False, ("Redia rubra", "species"), None),  # a card without the rule: the classifier decides
    ],
)
def test_a_species_the_nearest_known_photo_contradicts_rolls_up(
    nearest: int, agreement: bool, expected: tuple[str | None, str], disputed_by: str | None
) -> None:
    from shellgui.core.inference.decision import decide
    from shellgui.core.inference.openset import OpenSetScore

    card = open_set_card(open_set={**OPEN_SET, "agreement": agreement})
    score = OpenSetScore(0.1, 0.2, 3, nearest, 0.1, 9)
    answer = decide(np.array([0.9, 0.05, 0.03, 0.02]), card, open_set=score)
    assert (answer.taxon, answer.rank) == expected
    assert answer.top_k[0].name == "Redia rubra"  # the percentages are the classifier's, unchanged
    # The answer says why it did not name the classifier's species: the text, the JSON and the window.
    assert answer.disputed_by == disputed_by and answer.to_dict()["disputed_by"] == disputed_by
    said = f"the most similar training photo is {disputed_by}"
    assert (said in answer.summary) is (disputed_by is not None)
    if answer.taxon is None:  # not "possibly not a taxon this model knows": the two sources disagree
        assert answer.certainty == DISPUTED and answer.summary.startswith(DISPUTED)
