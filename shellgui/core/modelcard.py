"""The model card: the versioned contract between ``shellgui-train`` and the app.

The card travels inside the ONNX file (``metadata_props[METADATA_KEY]`` as JSON), so a model always
carries its own labels, taxonomy and preprocessing. Nobody hard-codes 224, 384 or the ImageNet mean.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from shellgui.core.errors import ModelError

METADATA_KEY = "shellgui.modelcard"
CARD_FORMAT = 1
RANKS = ("species", "genus", "family")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


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
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ModelError(f"the model card is not valid JSON ({exc})") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelCard:
        if not isinstance(raw, dict):
            raise ModelError("the model card is not a JSON object")
        fmt = int(raw.get("format", 0))
        if fmt > CARD_FORMAT:
            raise ModelError(
                f"the model card has format {fmt}, newer than this shellgui understands ({CARD_FORMAT}); "
                "update shellgui"
            )
        try:
            taxa = tuple(Taxon(**t) for t in raw["taxa"])
            pre = dict(raw["preprocessing"])
            pre["mean"] = tuple(pre.get("mean", Preprocessing.mean))
            pre["std"] = tuple(pre.get("std", Preprocessing.std))
            card = cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                taxa=taxa,
                preprocessing=Preprocessing(**pre),
                temperature=float(raw.get("temperature", 1.0)),
                thresholds={k: float(v) for k, v in raw.get("thresholds", {}).items()},
                metrics={k: float(v) for k, v in raw.get("metrics", {}).items()},
                provenance=dict(raw.get("provenance", {})),
                ood_logit_floor=None if raw.get("ood_logit_floor") is None else float(raw["ood_logit_floor"]),
                format=fmt or CARD_FORMAT,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the model card is incomplete or malformed ({exc!r})") from None
        card.check()
        return card

    def check(self) -> None:
        """Refuse a card that cannot describe a working classifier."""
        if not self.taxa:
            raise ModelError("the model card lists no labels")
        if len(set(self.labels)) != len(self.labels):
            raise ModelError("the model card lists the same label twice")
        p = self.preprocessing
        if p.input_size < 8 or p.resize_size < p.input_size:
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

    def check_graph(self, input_shape: list[Any], output_shape: list[Any]) -> None:
        """Refuse a model whose graph disagrees with its card (label count, input size)."""
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
