"""An int8 twin of an exported model for CPUs: static QDQ quantisation with a parity check.

ONNX Runtime's ``quantize_static`` (QDQ format, per-channel weights) is calibrated on real photos
prepared by the app's own preprocessing (the model card's). Half of the photos calibrate, the other half
check parity against the fp32 model; the twin is written only when it agrees:

- top-1 agreement with the fp32 model of at least :data:`MIN_TOP1_AGREEMENT`;
- expected calibration error (after the card's temperature, on photos whose folder names a taxon of the
  model) not worse by more than :data:`MAX_ECE_INCREASE`;
- for a model with an embedding, a mean cosine similarity between the int8 and fp32 embeddings of at
  least :data:`MIN_EMBEDDING_COSINE`: the open-set threshold and the reference bank were fitted on fp32
  embeddings, and on the bundled model a whole-graph int8 twin moved them enough (cosine 0.93) to refuse 3
  more of 32 test shells. A frozen ImageNet embedder (``--embedding-from``: the ``/embedder/`` nodes) is
  therefore kept in fp32; only the classifier is quantised.

The twin keeps the whole contract: the model card (with ``provenance["quantization"]`` saying what it
is), the ``embedding`` output and the reference bank. It is saved as ``<model>.int8.onnx`` beside the
fp32 file, where the app finds it (:func:`shellgui.core.models.int8_twin`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from shellgui.core.atomic import atomic_path
from shellgui.core.errors import ModelError, PhotoError
from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.core.modelcard import METADATA_KEY, ModelCard
from shellgui.core.models import int8_twin_path
from shellgui_train.calibration import expected_calibration_error

log = logging.getLogger(__name__)

MIN_TOP1_AGREEMENT = 0.99
MAX_ECE_INCREASE = 0.01
MIN_EMBEDDING_COSINE = 0.99
#: Graph nodes of a frozen ImageNet embedder (``shellgui-train --embedding-from``), kept in fp32.
EMBEDDER_NODES = "/embedder/"
QUANTIZATION = "int8-qdq-per-channel"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}


@dataclasses.dataclass(frozen=True)
class ParityReport:
    """How the int8 twin compares with its fp32 model on photos that did not calibrate it."""

    calibration_photos: int
    check_photos: int
    top1_agreement: float
    ece_fp32: float | None
    ece_int8: float | None
    open_set_changed: int | None
    embedding_cosine: float | None  # mean cosine similarity of the int8 and fp32 embeddings
    written: Path | None
    reason: str

    def lines(self) -> list[str]:
        ece = (
            f"ECE {self.ece_fp32:.3f} -> {self.ece_int8:.3f}"
            if self.ece_fp32 is not None and self.ece_int8 is not None
            else "ECE not measured (no photo in a folder named after a taxon of the model)"
        )
        refused = (
            f"; open-set answer changed for {self.open_set_changed} photo(s)"
            if self.open_set_changed is not None
            else ""
        )
        if self.embedding_cosine is not None:
            refused += f"; embedding cosine {self.embedding_cosine:.4f}"
        return [
            f"int8 parity on {self.check_photos} photos (calibrated on {self.calibration_photos} others): "
            f"top-1 agreement {self.top1_agreement:.3f}, {ece}{refused}",
            f"int8 model written: {self.written}"
            if self.written
            else f"int8 model not written: {self.reason}",
        ]


def photos_in(folder: Path) -> list[Path]:
    """Photo files under ``folder`` (recursively), sorted."""
    if not folder.is_dir():
        raise ModelError(f"{folder}: not a folder of photos")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def _prepared(classifier: Classifier, paths: Sequence[Path]) -> tuple[list[np.ndarray], list[Path]]:
    arrays, used = [], []
    for path in paths:
        try:
            arrays.append(classifier.prepare(open_photo(path, min_side=classifier.min_decode_side)))
            used.append(path)
        except PhotoError as exc:
            log.warning("skipped for quantisation: %s", exc)
    return arrays, used


class _Reader:
    """ONNX Runtime's calibration data reader over prepared photos (one at a time)."""

    def __init__(self, input_name: str, arrays: Sequence[np.ndarray]) -> None:
        self._items: Iterator[np.ndarray] = iter(arrays)
        self.input_name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        item = next(self._items, None)
        return None if item is None else {self.input_name: item[None].astype(np.float32)}


def _labels(paths: Sequence[Path], card: ModelCard) -> np.ndarray | None:
    """The class index of each photo from its folder name, or ``None`` when no folder names a taxon."""
    index = {label: i for i, label in enumerate(card.labels)}
    labels = np.array([index.get(p.parent.name, -1) for p in paths])
    return labels if (labels >= 0).any() else None


def _copy_metadata(source: Path, target: Path, card: ModelCard, calibration_photos: int) -> None:
    """Give the quantised graph the fp32 model's metadata (card, bank) and mark the card as int8."""
    import onnx

    fp32 = onnx.load(str(source), load_external_data=False)
    int8 = onnx.load(str(target))
    provenance = {
        **card.provenance,
        "quantization": QUANTIZATION,
        "quantization_calibration_photos": calibration_photos,
        "fp32_model": source.name,
    }
    marked = dataclasses.replace(card, provenance=provenance)
    del int8.metadata_props[:]
    for prop in fp32.metadata_props:
        entry = int8.metadata_props.add()
        entry.key, entry.value = prop.key, marked.to_json() if prop.key == METADATA_KEY else prop.value
    onnx.save(int8, str(target))


def quantize_model(model: Path, photos: Sequence[Path], out: Path | None = None) -> ParityReport:
    """Write the int8 twin of ``model`` when it passes the parity check.

    Args:
        model: an fp32 shellgui ONNX model.
        photos: real photos like those the model will see; in folders named after taxa for the ECE check.
        out: where to write (default: ``<model>.int8.onnx`` beside it).

    Raises:
        ModelError: the model cannot be read, or fewer than 4 usable photos were given.
    """
    model = Path(model)
    out = Path(out) if out else int8_twin_path(model)
    fp32 = Classifier(model, provider="cpu")
    if fp32.card.provenance.get("quantization"):
        raise ModelError(f"{model}: already quantised ({fp32.card.provenance['quantization']})")
    arrays, used = _prepared(fp32, photos)
    if len(arrays) < 4:
        raise ModelError(f"quantisation needs at least 4 readable photos, got {len(arrays)}")
    calibrate, check = arrays[0::2], arrays[1::2]
    check_paths = used[1::2]
    with tempfile.TemporaryDirectory(prefix="shellgui-int8-") as tmp:
        candidate = Path(tmp) / "model.int8.onnx"
        write_int8(model, fp32.input_name, calibrate, candidate, fp32.card)
        int8 = Classifier(candidate, provider="cpu")
        report = _parity(fp32, int8, check, check_paths, len(calibrate))
        if report.reason:
            return report
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as part:
            shutil.copyfile(candidate, part)
    return dataclasses.replace(report, written=out)


def write_int8(
    model: Path, input_name: str, calibration: Sequence[np.ndarray], out: Path, card: ModelCard
) -> None:
    """Quantise ``model`` (QDQ, per-channel int8 weights, uint8 activations, MinMax calibration on the
    prepared ``calibration`` arrays) to ``out`` with the fp32 model's metadata; no parity check here."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="shellgui-int8-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        except Exception as exc:  # an optional step: quantise the original graph instead
            log.info("quantisation pre-processing skipped (%s)", exc)
            prepared = model
        import onnx

        graph = onnx.load(str(prepared), load_external_data=False).graph
        keep_fp32 = [n.name for n in graph.node if n.name.startswith(EMBEDDER_NODES)]
        quantize_static(
            str(prepared),
            str(out),
            _Reader(input_name, calibration),
            nodes_to_exclude=keep_fp32,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    _copy_metadata(model, out, card, len(calibration))


def _parity(
    fp32: Classifier, int8: Classifier, arrays: Sequence[np.ndarray], paths: Sequence[Path], calibrated: int
) -> ParityReport:
    a, b = fp32.run(arrays), int8.run(arrays)
    agreement = float((a.probabilities.argmax(1) == b.probabilities.argmax(1)).mean())
    labels = _labels(paths, fp32.card)
    ece_a = ece_b = None
    if labels is not None:
        known = labels >= 0
        ece_a = float(expected_calibration_error(a.probabilities[known], labels[known]))
        ece_b = float(expected_calibration_error(b.probabilities[known], labels[known]))
    changed = cosine = None
    if a.embeddings is not None and b.embeddings is not None:
        cosine = float((a.embeddings * b.embeddings).sum(axis=1).mean())
        sa, sb = fp32.open_set_scores(a.embeddings), fp32.open_set_scores(b.embeddings)
        if sa is not None and sb is not None:
            changed = sum(x.unknown != y.unknown for x, y in zip(sa, sb, strict=True))
    reason = ""
    if agreement < MIN_TOP1_AGREEMENT:
        reason = f"top-1 agreement {agreement:.3f} is below {MIN_TOP1_AGREEMENT:.2f}"
    elif ece_a is not None and ece_b is not None and ece_b > ece_a + MAX_ECE_INCREASE:
        reason = f"calibration error rose from {ece_a:.3f} to {ece_b:.3f} (more than {MAX_ECE_INCREASE})"
    elif cosine is not None and cosine < MIN_EMBEDDING_COSINE:
        reason = (
            f"the int8 embeddings differ from the fp32 ones (mean cosine {cosine:.3f}, below "
            f"{MIN_EMBEDDING_COSINE}): the open-set threshold and bank would no longer fit them"
        )
    return ParityReport(calibrated, len(arrays), agreement, ece_a, ece_b, changed, cosine, None, reason)


def main(argv: Sequence[str]) -> int:
    """``shellgui-train quantize MODEL --calibration PHOTOS [--out FILE]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="shellgui-train quantize",
        description="Write the int8 twin (<model>.int8.onnx) of an exported model, calibrated on real photos "
        "(half calibrate, half check parity: top-1 agreement >= 99 %, calibration error within 0.01). On a "
        "CPU the app then runs the twin (Preferences: 'int8 model on the CPU').",
    )
    parser.add_argument("model", type=Path, help="the fp32 shellgui model (.onnx)")
    parser.add_argument(
        "--calibration",
        type=Path,
        required=True,
        help="a folder of photos like those the model will see (sub-folders named after its taxa also "
        "measure calibration error); validation photos, not training photos, are best",
    )
    parser.add_argument("--out", type=Path, help="where to write (default: beside the model)")
    args = parser.parse_args(list(argv))
    report = quantize_model(args.model, photos_in(args.calibration), args.out)
    for line in report.lines():
        print(line)
    print(json.dumps(dataclasses.asdict(report), default=str))
    return 0 if report.written else 1
