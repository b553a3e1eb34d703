"""One ONNX Runtime session per model, created once and reused for every photo."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shellgui.core.errors import ModelError
from shellgui.core.imaging import Photo, file_sha256
from shellgui.core.inference.bank import BANK_KEY, Bank, decode_bank, l2_normalise
from shellgui.core.inference.decision import Prediction, calibrated_probabilities, decide, fuse_views
from shellgui.core.inference.openset import OpenSetScore, score_open_set
from shellgui.core.inference.preprocess import preprocess
from shellgui.core.inference.providers import CUDA, plan_providers, preload_cuda_libraries
from shellgui.core.modelcard import METADATA_KEY, ModelCard
from shellgui.core.models import int8_twin

log = logging.getLogger(__name__)

#: Name of the graph output carrying the L2-normalised penultimate features (or a frozen
#: ImageNet network's: the card's ``open_set['embedding']`` says which).
EMBEDDING_OUTPUT = "embedding"


@dataclass(frozen=True)
class ModelOutputs:
    """What one batched model run gives.

    Attributes:
        probabilities: ``(N, num_classes)`` temperature-calibrated probabilities.
        max_logits: ``(N,)`` each photo's highest raw logit.
        embeddings: ``(N, D)`` L2-normalised embeddings, ``None`` when the model has no embedding output.
    """

    probabilities: np.ndarray
    max_logits: np.ndarray
    embeddings: np.ndarray | None


def embedding_output(session: object) -> object | None:
    """The graph's ``embedding`` output (its ONNX Runtime node argument), or ``None``."""
    for output in session.get_outputs():  # type: ignore[attr-defined]
        if output.name == EMBEDDING_OUTPUT:
            return output
    return None


def read_card(session: object, path: str) -> ModelCard:
    """The model card stored in an ONNX Runtime session's model metadata, checked against the graph."""
    meta = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    if METADATA_KEY not in meta:
        raise ModelError(f"{path}: this ONNX file has no shellgui model card; export it with shellgui-train")
    try:
        card = ModelCard.from_json(meta[METADATA_KEY])
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    inputs = session.get_inputs()  # type: ignore[attr-defined]
    outputs = session.get_outputs()  # type: ignore[attr-defined]
    if len(inputs) != 1 or not outputs:
        raise ModelError(f"{path}: expected one image input and a logits output, found {len(inputs)} inputs")
    embedding = embedding_output(session)
    embedding_shape = None if embedding is None else list(embedding.shape)  # type: ignore[attr-defined]
    try:
        card.check_graph(list(inputs[0].shape), list(outputs[0].shape), embedding_shape)
        if card.open_set is not None and embedding is None:
            raise ModelError("the model card has open-set parameters but the graph has no embedding output")
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    return card


def read_bank(session: object, path: str, card: ModelCard) -> Bank | None:
    """The reference bank stored in the model file, or ``None`` when there is none.

    Raises:
        ModelError: the card declares an open-set method but the bank is missing or unreadable.
    """
    meta = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    if BANK_KEY not in meta:
        if card.open_set is not None:
            raise ModelError(f"{path}: the model card has open-set parameters but no reference bank")
        return None
    try:
        return decode_bank(meta[BANK_KEY], num_classes=card.num_classes, dim=card.embedding_size)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


class Classifier:
    """A loaded model: its card, its ONNX Runtime session and the providers that really run it.

    Args:
        model_path: an ONNX file carrying a shellgui model card.
        provider: ``"auto"``, ``"cuda"`` or ``"cpu"`` (``SHELLGUI_PROVIDER`` overrides it).
        threads: intra-op threads for the CPU provider (default: all cores).
        prefer_int8: on the CPU, run the model's int8 twin (``<name>.int8.onnx``, written by
            ``shellgui-train quantize``) when there is one; CUDA always runs the fp32 model.

    Raises:
        ModelError: missing file, not an ONNX model, no card, or a card that disagrees with the graph.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        provider: str | None = None,
        threads: int | None = None,
        prefer_int8: bool = False,
    ) -> None:
        import onnxruntime as ort

        self.path = str(model_path)  # the file that runs: the model, or its int8 twin
        self.model_path = self.path  # the model as chosen (what settings and the Models menu name)
        if not os.path.isfile(self.path):
            raise ModelError(f"{self.path}: model file not found")
        plan = plan_providers(provider)
        twin = int8_twin(Path(self.path)) if prefer_int8 and plan.providers[0] != CUDA else None
        if twin is not None:
            self.path = str(twin)
        # ONNX Runtime's own logger is loud when CUDA cannot start; we log one clear reason instead.
        ort.set_default_logger_severity(2 if log.isEnabledFor(logging.INFO) else 4)
        if "CUDAExecutionProvider" in plan.providers:
            preload_cuda_libraries()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(self.path, sess_options=options, providers=plan.providers)
        except Exception as exc:  # ONNX Runtime raises several unrelated types for a bad file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if plan.providers[0] == CUDA:
                log.warning("CUDA session failed (%s); falling back to the CPU", first)
                try:
                    self.session = ort.InferenceSession(
                        self.path, sess_options=options, providers=["CPUExecutionProvider"]
                    )
                except Exception:
                    raise ModelError(f"{self.path}: not a usable ONNX model ({first})") from None
            else:
                raise ModelError(f"{self.path}: not a usable ONNX model ({first})") from None
        self.providers: list[str] = list(self.session.get_providers())
        if plan.providers[0] == CUDA and CUDA not in self.providers:
            self.provider_reason = (
                "CUDA could not start (driver, CUDA 13 or cuDNN 9 missing?); running on the CPU"
            )
            log.warning("%s: %s", self.path, self.provider_reason)
        else:
            self.provider_reason = plan.reason
        log.info("Model %s runs on %s (%s)", self.path, self.providers, self.provider_reason)
        self.card = read_card(self.session, self.path)
        self.bank = read_bank(self.session, self.path, self.card)
        self.input_name = self.session.get_inputs()[0].name
        self._output_names = [self.session.get_outputs()[0].name]
        self.has_embedding = embedding_output(self.session) is not None
        if self.has_embedding:
            self._output_names.append(EMBEDDING_OUTPUT)
        self._sha256: str | None = None

    @property
    def precision(self) -> str:
        """``"int8"`` for a quantised model (its card says how), else ``"fp32"``."""
        return "int8" if self.card.provenance.get("quantization") else "fp32"

    @property
    def runs_on(self) -> str:
        """What runs the model, in words: ``"CPU"``, ``"CPU, int8"`` or ``"CUDA"``."""
        return self.device + (", int8" if self.precision == "int8" else "")

    @property
    def device(self) -> str:
        """``"CUDA"`` or ``"CPU"``: what really runs the model."""
        return "CUDA" if self.providers and self.providers[0] == CUDA else "CPU"

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def min_decode_side(self) -> int:
        """The smallest shorter side a photo may be decoded at without losing model input detail."""
        return self.card.preprocessing.resize_size

    @property
    def can_refuse(self) -> bool:
        """The model can answer "not something this model knows" (embedding, bank and open-set card)."""
        return self.bank is not None and self.card.open_set is not None

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits for a float32 ``(N, 3, H, W)`` batch."""
        return self.forward(batch)[0]

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw logits ``(N, C)`` and L2-normalised embeddings ``(N, D)`` (``None`` without that output).

        Raises:
            ModelError: the graph gives a shape its card does not describe (a symbolic class dimension
                that disagrees at run time), or scores that are not finite numbers (NaN, infinity).
        """
        try:
            out = self.session.run(
                self._output_names, {self.input_name: batch.astype(np.float32, copy=False)}
            )
        except Exception as exc:  # ONNX Runtime's errors for a broken graph are of several types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"{self.path}: the model failed to run ({first[:200]})") from None
        logits = np.asarray(out[0])
        expected = (batch.shape[0], self.card.num_classes)
        if logits.shape != expected:
            raise ModelError(
                f"{self.path}: the model gave scores of shape {logits.shape}, not {expected} as its card says"
            )
        if not np.isfinite(logits).all():
            raise ModelError(f"{self.path}: the model gave scores that are not numbers (NaN or infinity)")
        embeddings = l2_normalise(np.asarray(out[1])) if self.has_embedding else None
        return logits, embeddings

    def run(self, arrays: Sequence[np.ndarray]) -> ModelOutputs:
        """One batched model run over preprocessed CHW arrays."""
        if not arrays:
            empty = np.zeros((0, self.card.embedding_size or 0), np.float32) if self.has_embedding else None
            return ModelOutputs(np.zeros((0, self.card.num_classes)), np.zeros(0), empty)
        logits, embeddings = self.forward(np.stack(arrays))
        return ModelOutputs(
            calibrated_probabilities(logits, self.card.temperature), logits.max(axis=1), embeddings
        )

    def scores(self, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities ``(N, num_classes)`` and each photo's highest raw logit ``(N,)``."""
        out = self.run(arrays)
        return out.probabilities, out.max_logits

    def probabilities(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Temperature-calibrated probabilities, ``(N, num_classes)``, for preprocessed CHW arrays."""
        return self.run(arrays).probabilities

    def embed(self, arrays: Sequence[np.ndarray]) -> np.ndarray | None:
        """L2-normalised embeddings ``(N, D)``, ``None`` when the model has no embedding output."""
        return self.run(arrays).embeddings

    def open_set_scores(self, embeddings: np.ndarray) -> list[OpenSetScore] | None:
        """The k-NN open-set score of each embedding, ``None`` when the model cannot refuse."""
        if not self.can_refuse or self.bank is None or self.card.open_set is None:
            return None
        params = self.card.open_set
        return score_open_set(
            embeddings,
            self.bank,
            int(params["k"]),
            float(params["threshold"]),
            int(params.get("bank_photos") or self.bank.size),
        )

    def predict(self, arrays: Sequence[np.ndarray], top_k: int = 5) -> list[Prediction]:
        """One prediction per preprocessed array (one batched model run)."""
        out = self.run(arrays)
        emb = out.embeddings
        open_set = self.open_set_scores(emb) if emb is not None else None
        return [
            decide(
                p,
                self.card,
                top_k,
                float(m),
                open_set[i] if open_set else None,
                None if emb is None else emb[i : i + 1],
            )
            for i, (p, m) in enumerate(zip(out.probabilities, out.max_logits))
        ]

    def prepare(self, photo: Photo) -> np.ndarray:
        """A decoded photo as this model's input array."""
        return preprocess(photo.image, self.card.preprocessing)

    def identify(self, photos: Sequence[Photo], top_k: int = 5) -> list[Prediction]:
        """One prediction per photo (one batched model run)."""
        return self.predict([self.prepare(p) for p in photos], top_k)

    def identify_specimen(self, photos: Sequence[Photo], top_k: int = 5) -> Prediction:
        """Several views of one specimen fused into one prediction."""
        return self.predict_specimen([self.prepare(p) for p in photos], top_k)

    def predict_specimen(self, arrays: Sequence[np.ndarray], top_k: int = 5) -> Prediction:
        """Several preprocessed views of one specimen fused into one prediction.

        Probabilities are averaged; the open-set score is taken on the views' mean embedding.
        """
        out = self.run(arrays)
        emb = out.embeddings
        open_set = None
        if emb is not None:
            fused = l2_normalise(emb.mean(axis=0, keepdims=True))
            scores = self.open_set_scores(fused)
            open_set = scores[0] if scores else None
        fused_answer = decide(
            fuse_views(out.probabilities), self.card, top_k, float(out.max_logits.mean()), open_set, emb
        )
        return dataclasses.replace(fused_answer, view_probabilities=out.probabilities)


def load_classifier(path: str | Path, provider: str | None = None) -> Classifier:
    """Load a model; see :class:`Classifier`."""
    return Classifier(path, provider=provider)
