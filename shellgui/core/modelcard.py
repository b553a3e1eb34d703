"""The model card: the versioned contract between ``shellgui-train`` and the app.

The card travels inside the ONNX file (``metadata_props[METADATA_KEY]`` as JSON), so a model always
carries its own labels, taxonomy and preprocessing. Nobody hard-codes 224, 384 or the ImageNet mean.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from shellgui.core.errors import ModelError

METADATA_KEY = "shellgui.modelcard"
CARD_FORMAT = 1
RANKS = ("species", "genus", "family")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
#: Open-set scores the app knows: ``knn`` is the cosine distance to the
#: k-th nearest embedding of the reference bank stored in the model file.
OPEN_SET_METHODS = ("knn",)


#: Bounds that keep a card from demanding unbounded memory or time: the model's input side, the resize
#: side, the number of labels and the size of the card's JSON.
MAX_INPUT_SIZE = 1024
MAX_RESIZE_SIZE = 2048
MAX_LABELS = 100_000
MAX_CARD_CHARS = 16 << 20


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {_short(value)}")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float:
    """A finite number in ``[low, high]`` (JSON's NaN and Infinity are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, not {_short(value)}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} {number} is outside {low:g}..{high:g}")
    return number


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, not {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _taxon(raw: Any) -> Taxon:
    entry = _mapping(raw, "each taxon")
    for key in ("label", "name", "rank", "genus", "family"):
        if key in entry and not isinstance(entry[key], str):
            raise ValueError(f"taxon {key} must be text, not {_short(entry[key])}")
    higher = _mapping(entry.get("higher", {}), "taxon higher ranks")
    if not all(isinstance(v, str) for v in higher.values()):
        raise ValueError("taxon higher ranks must be text")
    return Taxon(**entry)


def _short_text(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return value


@dataclass(frozen=True)
class Taxon:
    """What one output label means.

    Attributes:
        label: the class name as trained (``"Bistolida_diauges"``).
        name: the display name (``"Bistolida diauges"``; ``"Bellamya sp."`` for a genus-only class).
        rank: the finest rank this label stands for (``"species"`` or ``"genus"``...).
        genus, family: the higher ranks when known (empty when not).
        higher: further ranks (order, class, ...) from an optional taxonomy CSV.
    """

    label: str
    name: str
    rank: str = "species"
    genus: str = ""
    family: str = ""
    higher: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_label(cls, label: str, family: str = "") -> Taxon:
        """Derive the taxonomy from a ``Genus_species`` label (``Genus_sp``, ``Genus_species``: a genus)."""
        parts = label.replace("_", " ").split()
        if len(parts) >= 2 and parts[0][:1].isupper():
            genus = parts[0]
            epithet = " ".join(parts[1:])
            if epithet.lower() in ("sp", "sp.", "spp", "spp.", "species"):
                return cls(label=label, name=f"{genus} sp.", rank="genus", genus=genus, family=family)
            return cls(label=label, name=f"{genus} {epithet}", rank="species", genus=genus, family=family)
        return cls(label=label, name=label.replace("_", " "), rank="species", family=family)


@dataclass(frozen=True)
class Preprocessing:
    """How a photo becomes the model's input tensor (the trainer's evaluation transform).

    Resize the shorter side to ``resize_size`` with ``interpolation``, centre-crop ``input_size`` square,
    scale to [0, 1], then ``(x - mean) / std`` unless ``normalize_in_graph`` (the graph does it).
    """

    input_size: int
    resize_size: int
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    normalize_in_graph: bool = False


@dataclass(frozen=True)
class ModelCard:
    """Everything the app needs to use a model correctly and explain it to a user."""

    name: str
    version: str
    taxa: tuple[Taxon, ...]
    preprocessing: Preprocessing
    temperature: float = 1.0
    thresholds: dict[str, float] = field(
        default_factory=lambda: {"species": 0.6, "genus": 0.7, "family": 0.8}
    )
    #: Out-of-distribution guard: a photo whose highest raw logit is below this floor is answered
    #: "uncertain" whatever its softmax says (MaxLogit; fitted on validation photos by the trainer).
    ood_logit_floor: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Size ``D`` of the graph's second output ``embedding`` (L2-normalised penultimate features);
    #: ``None`` when the model has no embedding output (then no open-set answer, no similar specimens).
    embedding_size: int | None = None
    #: The open-set method and its parameters, e.g. ``{"method": "knn", "k": 5, "threshold": 0.42,
    #: "retention": 0.95, "bank_size": 96, "bank_photos": 96, "bank_dtype": "float16",
    #: "score": "kth_cosine_distance"}``; ``None`` when the model cannot tell an unknown photo.
    open_set: dict[str, Any] | None = None
    format: int = CARD_FORMAT

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self.taxa]

    @property
    def num_classes(self) -> int:
        return len(self.taxa)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse and validate a card; raise :class:`ModelError` with a clear reason when it is unusable."""
        if len(text) > MAX_CARD_CHARS:
            raise ModelError(f"the model card is larger than {MAX_CARD_CHARS >> 20} MB")
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ModelError(f"the model card is not valid JSON ({exc})") from None
        except RecursionError:
            raise ModelError("the model card is nested too deeply to be a model card") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelCard:
        if not isinstance(raw, dict):
            raise ModelError("the model card is not a JSON object")
        try:
            fmt = _int(raw.get("format", 0), "format")
        except ValueError as exc:
            raise ModelError(f"the model card is malformed ({exc})") from None
        if fmt > CARD_FORMAT:
            raise ModelError(
                f"the model card has format {fmt}, newer than this shellgui understands ({CARD_FORMAT}); "
                "update shellgui"
            )
        try:
            if not isinstance(raw["taxa"], list) or len(raw["taxa"]) > MAX_LABELS:
                raise ValueError(f"taxa must be a list of at most {MAX_LABELS} labels")
            taxa = tuple(_taxon(t) for t in raw["taxa"])
            pre = dict(_mapping(raw["preprocessing"], "preprocessing"))
            pre["input_size"] = _int(pre.get("input_size"), "input_size")
            pre["resize_size"] = _int(pre.get("resize_size"), "resize_size")
            for key in ("mean", "std"):
                values = pre.get(key, getattr(Preprocessing, key))
                if not isinstance(values, (list, tuple)):
                    raise ValueError(f"{key} must be a list of three numbers")
                pre[key] = tuple(_number(v, key, -1e3, 1e3) for v in values)
            if not isinstance(pre.get("normalize_in_graph", False), bool):
                raise ValueError("normalize_in_graph must be true or false")
            thresholds = _mapping(raw.get("thresholds", {}), "thresholds")
            metrics = _mapping(raw.get("metrics", {}), "metrics")
            card = cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                taxa=taxa,
                preprocessing=Preprocessing(**pre),
                temperature=_number(raw.get("temperature", 1.0), "temperature", 1e-3, 1e3),
                thresholds={k: _number(v, f"threshold {k}", 0.0, 1.0) for k, v in thresholds.items()},
                # A metric is only shown: one that is not a finite number is left out, not fatal.
                metrics={
                    k: float(v)
                    for k, v in metrics.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                },
                provenance=dict(_mapping(raw.get("provenance", {}), "provenance")),
                ood_logit_floor=None
                if raw.get("ood_logit_floor") is None
                else _number(raw["ood_logit_floor"], "ood_logit_floor", -1e6, 1e6),
                embedding_size=_optional_int(raw.get("embedding_size"), "embedding_size"),
                open_set=None if raw.get("open_set") is None else dict(raw["open_set"]),
                format=fmt or CARD_FORMAT,
            )
        except KeyError as exc:
            raise ModelError(f"the model card is incomplete (no {exc})") from None
        except (TypeError, ValueError) as exc:
            raise ModelError(f"the model card is malformed ({_short_text(exc)})") from None
        card.check()
        return card

    def check(self) -> None:
        """Refuse a card that cannot describe a working classifier."""
        if not self.taxa:
            raise ModelError("the model card lists no labels")
        if len(set(self.labels)) != len(self.labels):
            raise ModelError("the model card lists the same label twice")
        p = self.preprocessing
        if not 8 <= p.input_size <= MAX_INPUT_SIZE or not p.input_size <= p.resize_size <= MAX_RESIZE_SIZE:
            raise ModelError(
                f"the model card's input size {p.input_size} / resize {p.resize_size} is invalid"
            )
        if p.interpolation not in INTERPOLATIONS:
            raise ModelError(
                f"the model card's interpolation {p.interpolation!r} is not one of {INTERPOLATIONS}"
            )
        if len(p.mean) != 3 or len(p.std) != 3 or min(p.std) <= 0:
            raise ModelError("the model card's normalisation needs three means and three positive stds")
        if not self.temperature > 0:
            raise ModelError("the model card's temperature must be positive")
        if self.embedding_size is not None and self.embedding_size < 1:
            raise ModelError(f"the model card's embedding_size {self.embedding_size} must be positive")
        if self.open_set is not None:
            self._check_open_set(self.open_set)

    def _check_open_set(self, params: dict[str, Any]) -> None:
        if self.embedding_size is None:
            raise ModelError("the model card has open_set parameters but no embedding_size")
        method = params.get("method")
        if method not in OPEN_SET_METHODS:
            raise ModelError(f"the model card's open-set method {method!r} is not one of {OPEN_SET_METHODS}")
        k = params.get("k")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ModelError(f"the model card's open-set k {k!r} must be a positive integer")
        threshold = params.get("threshold")
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 <= threshold <= 2:
            raise ModelError(
                f"the model card's open-set threshold {threshold!r} must be a cosine distance in [0, 2]"
            )
        retention = params.get("retention")
        if retention is not None and not (isinstance(retention, (int, float)) and 0 < retention <= 1):
            raise ModelError(f"the model card's open-set retention {retention!r} must be in (0, 1]")

    @property
    def open_set_k(self) -> int | None:
        """``k`` of the k-NN open-set score, or ``None`` when the card has no open-set method."""
        return None if self.open_set is None else int(self.open_set["k"])

    @property
    def open_set_threshold(self) -> float | None:
        """Cosine distance above which a photo is "not something this model knows"."""
        return None if self.open_set is None else float(self.open_set["threshold"])

    def check_graph(
        self, input_shape: list[Any], output_shape: list[Any], embedding_shape: list[Any] | None = None
    ) -> None:
        """Refuse a model whose graph disagrees with its card (label count, input size, embedding size).

        Args:
            input_shape, output_shape: shapes of the image input and the logits output.
            embedding_shape: shape of the ``embedding`` output, ``None`` when the graph has none.
        """
        if embedding_shape is None and self.embedding_size is not None:
            raise ModelError(
                f"the model card declares a {self.embedding_size}-value embedding but the graph has no "
                "'embedding' output"
            )
        if embedding_shape is not None and self.embedding_size is not None:
            size = embedding_shape[-1] if embedding_shape else None
            if isinstance(size, int) and size != self.embedding_size:
                raise ModelError(
                    f"the model's embedding has {size} values but its card says {self.embedding_size}"
                )
        classes = output_shape[-1] if output_shape else None
        if isinstance(classes, int) and classes != self.num_classes:
            raise ModelError(
                f"the model outputs {classes} classes but its card lists {self.num_classes} labels"
            )
        if len(input_shape) != 4:
            raise ModelError(
                f"the model expects a {len(input_shape)}-D input, not an image batch (N, 3, H, W)"
            )
        channels, height, width = input_shape[1:]
        size = self.preprocessing.input_size
        if isinstance(channels, int) and channels != 3:
            raise ModelError(f"the model expects {channels} colour channels, not 3")
        for dim in (height, width):
            if isinstance(dim, int) and dim != size:
                raise ModelError(f"the model's input is {height}x{width} but its card says {size}x{size}")
