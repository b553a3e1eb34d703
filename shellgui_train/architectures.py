"""A registry of EfficientNetV2 architectures: torchvision's S/M/L and timm's B0-B3.

Each entry knows how to build the network with a fresh head, where its ImageNet weights come from, its
native image size and normalisation, and how many top layers to unfreeze by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TF_MEAN = (0.5, 0.5, 0.5)
TF_STD = (0.5, 0.5, 0.5)


class WeightsError(Exception):
    """Pretrained weights could not be obtained; the message says what to do."""


@dataclass(frozen=True)
class Architecture:
    name: str
    family: str  # "torchvision" or "timm"
    builder_name: str
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    unfreeze: int  # default number of top layers (parametrised leaf modules) to train in stage 2
    torchvision_weights: str = ""

    def build(
        self, num_classes: int, weights: str = "none", dropout: float = 0.2, drop_path: float = 0.1
    ) -> nn.Module:
        """Build the network with a new ``num_classes`` head.

        Args:
            weights: ``"imagenet"`` (the library's cached download), ``"none"`` (from scratch) or a
                path to a local weights file (a state dict, or a torchvision/timm checkpoint).
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

    def _build_torchvision(self, pretrained: bool, dropout: float, drop_path: float) -> nn.Module:
        import torchvision

        builder = getattr(torchvision.models, self.builder_name)
        weights = torchvision.models.get_weight(self.torchvision_weights) if pretrained else None
        try:
            model = builder(weights=weights, dropout=dropout, stochastic_depth_prob=drop_path)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            raise WeightsError(_offline_help(self.name, exc)) from None
        return model

    def _build_timm(self, pretrained: bool, dropout: float, drop_path: float) -> nn.Module:
        import timm

        try:
            return timm.create_model(
                self.builder_name, pretrained=pretrained, drop_rate=dropout, drop_path_rate=drop_path
            )
        except Exception as exc:  # hub errors come in many types
            if not pretrained:
                raise
            raise WeightsError(_offline_help(self.name, exc)) from None


def _offline_help(name: str, exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    return (
        f"could not get ImageNet weights for {name} ({first}). They are downloaded once and cached "
        "(torch hub / Hugging Face cache). When offline: copy the cached file from a connected machine and "
        "pass it with --weights PATH, or train from scratch with --weights none."
    )


def load_local_weights(model: nn.Module, path: Path) -> None:
    """Load a local state dict, skipping the old classifier head (its size differs)."""
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable weights file ({exc})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if len(usable) < len(own) // 2:
        raise WeightsError(f"{path}: only {len(usable)} of {len(own)} tensors match this architecture")
    model.load_state_dict(usable, strict=False)


REGISTRY: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            "efficientnet_v2_s",
            "torchvision",
            "efficientnet_v2_s",
            384,
            IMAGENET_MEAN,
            IMAGENET_STD,
            80,
            "EfficientNet_V2_S_Weights.IMAGENET1K_V1",
        ),
        Architecture(
            "efficientnet_v2_m",
            "torchvision",
            "efficientnet_v2_m",
            480,
            IMAGENET_MEAN,
            IMAGENET_STD,
            100,
            "EfficientNet_V2_M_Weights.IMAGENET1K_V1",
        ),
        Architecture(
            "efficientnet_v2_l",
            "torchvision",
            "efficientnet_v2_l",
            480,
            IMAGENET_MEAN,
            IMAGENET_STD,
            120,
            "EfficientNet_V2_L_Weights.IMAGENET1K_V1",
        ),
        Architecture("efficientnetv2_b0", "timm", "tf_efficientnetv2_b0", 224, TF_MEAN, TF_STD, 40),
        Architecture("efficientnetv2_b1", "timm", "tf_efficientnetv2_b1", 240, TF_MEAN, TF_STD, 50),
        Architecture("efficientnetv2_b2", "timm", "tf_efficientnetv2_b2", 260, TF_MEAN, TF_STD, 60),
        Architecture("efficientnetv2_b3", "timm", "tf_efficientnetv2_b3", 300, TF_MEAN, TF_STD, 70),
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
