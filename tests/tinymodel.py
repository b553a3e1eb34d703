"""Build tiny ONNX classifiers with a shellgui model card, using only the ``onnx`` package (no PyTorch).

The model averages each colour channel and applies a fixed linear layer, so its answers are known in
advance: a red photo is ``Redia_rubra``, a green one ``Viridia_viridis``, a blue one ``Caerulea_azurea``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from shellgui.core.modelcard import METADATA_KEY, ModelCard, Preprocessing, Taxon

LABELS = ["Redia_rubra", "Redia_sp", "Viridia_viridis", "Caerulea_azurea"]
FAMILIES = {"Redia": "Rediidae", "Viridia": "Rediidae", "Caerulea": "Caeruleidae"}
# Rows: R, G, B channel means (after ImageNet normalisation); columns: classes.
WEIGHTS = np.array([[4.0, 2.0, -2.0, -2.0], [-2.0, 0.0, 4.0, -2.0], [-2.0, 0.0, -2.0, 4.0]], dtype=np.float32)
BIAS = np.zeros(4, dtype=np.float32)


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
    path: Path, card: ModelCard | None = None, classes: int = 4, input_size: int = 32, with_card: bool = True
) -> Path:
    """Write the tiny classifier to ``path`` and return it."""
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
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, input_size, input_size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if with_card:
        helper.set_model_props(model, {METADATA_KEY: card.to_json()})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
