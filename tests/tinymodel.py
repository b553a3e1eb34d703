"""Build tiny ONNX classifiers with a shellgui model card, using only the ``onnx`` package (no PyTorch).

The model averages each colour channel and applies a fixed linear layer, so its answers are known in
advance: a red photo is ``Redia_rubra``, a green one ``Viridia_viridis``, a blue one ``Caerulea_azurea``.

With ``embedding=True`` the graph has a second output ``embedding``: the L2-normalised channel means
(D = 3), and the file carries a reference bank of red, green and blue "training photos". A magenta photo
then gets a confident logit answer (Caerulea azurea) but lies far from every bank row: the open-set test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from shellgui.core.inference.bank import BANK_KEY, encode_bank
from shellgui.core.modelcard import METADATA_KEY, ModelCard, Preprocessing, Taxon

LABELS = ["Redia_rubra", "Redia_sp", "Viridia_viridis", "Caerulea_azurea"]
FAMILIES = {"Redia": "Rediidae", "Viridia": "Rediidae", "Caerulea": "Caeruleidae"}
# Rows: R, G, B channel means (after ImageNet normalisation); columns: classes.
WEIGHTS = np.array([[4.0, 2.0, -2.0, -2.0], [-2.0, 0.0, 4.0, -2.0], [-2.0, 0.0, -2.0, 4.0]], dtype=np.float32)
BIAS = np.zeros(4, dtype=np.float32)
EMBEDDING_SIZE = 3
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
#: The bank's "training photos": three shades per colour, labelled with their class index.
BANK_COLOURS = {
    0: [(230, 20, 20), (200, 40, 30), (250, 30, 50)],
    2: [(20, 230, 20), (40, 200, 30), (30, 250, 50)],
    3: [(20, 20, 230), (40, 30, 200), (30, 50, 250)],
}
OPEN_SET = {
    "method": "knn",
    "k": 3,
    "threshold": 0.2,
    "retention": 0.95,
    "bank_size": 9,
    "bank_photos": 9,
    "bank_dtype": "float16",
    "score": "kth_cosine_distance",
}


def colour_embedding(rgb: tuple[int, int, int]) -> np.ndarray:
    """What the tiny model's ``embedding`` output is for a solid-colour photo."""
    x = (np.asarray(rgb, dtype=np.float64) / 255.0 - MEAN) / STD
    return (x / np.linalg.norm(x)).astype(np.float32)


def tiny_bank() -> str:
    """The encoded reference bank of the tiny model (nine rows, three per known colour)."""
    rows = [(colour_embedding(rgb), label) for label, shades in BANK_COLOURS.items() for rgb in shades]
    return encode_bank(np.stack([r for r, _ in rows]), [label for _, label in rows])


def open_set_card(**overrides: object) -> ModelCard:
    """The tiny card with an embedding and the k-NN open-set parameters."""
    fields: dict[str, object] = {"embedding_size": EMBEDDING_SIZE, "open_set": dict(OPEN_SET)}
    fields.update(overrides)
    return tiny_card(**fields)


def tiny_card(num_labels: int | None = None, input_size: int = 32, **overrides: object) -> ModelCard:
    labels = LABELS if num_labels is None else [f"Genus{i}_species{i}" for i in range(num_labels)]
    taxa = tuple(Taxon.from_label(label, family=FAMILIES.get(label.split("_")[0], "")) for label in labels)
    fields: dict[str, object] = dict(
        name="tiny-test",
        version="1.0",
        taxa=taxa,
        preprocessing=Preprocessing(input_size=input_size, resize_size=int(input_size * 1.14)),
        temperature=1.0,
        thresholds={"species": 0.6, "genus": 0.7, "family": 0.8},
        metrics={"top1": 1.0},
        provenance={"architecture": "channel-mean linear (test)"},
    )
    fields.update(overrides)
    return ModelCard(**fields)  # type: ignore[arg-type]


def build_tiny_model(
    path: Path,
    card: ModelCard | None = None,
    classes: int = 4,
    input_size: int = 32,
    with_card: bool = True,
    embedding: bool = False,
    bank: str | None = None,
) -> Path:
    """Write the tiny classifier to ``path`` and return it.

    Args:
        embedding: add the ``embedding`` output (L2-normalised channel means).
        bank: the text stored under the bank key (``tiny_bank()`` for the standard one).
    """
    card = card if card is not None else tiny_card()
    weights = (
        WEIGHTS if classes == 4 else np.random.default_rng(0).normal(size=(3, classes)).astype(np.float32)
    )
    bias = BIAS if classes == 4 else np.zeros(classes, dtype=np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["logits"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])]
    if embedding:
        nodes.append(helper.make_node("LpNormalization", ["flat"], ["embedding"], axis=1, p=2))
        shape = ["batch", EMBEDDING_SIZE]
        outputs.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, input_size, input_size])],
        outputs,
        [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    props = {METADATA_KEY: card.to_json()} if with_card else {}
    if bank is not None:
        props[BANK_KEY] = bank
    if props:
        helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_open_set_model(path: Path, **card_overrides: object) -> Path:
    """The tiny model with an embedding output, its reference bank and an open-set card."""
    return build_tiny_model(path, card=open_set_card(**card_overrides), embedding=True, bank=tiny_bank())
