"""Shared set-up for the benchmarks: an EfficientNetV2-S ONNX model at 384 px and 12-megapixel JPEGs."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SHELL = next((ROOT / "tests" / "fixtures" / "shells").glob("*/*_A.jpg"))
SIZE = 384
CLASSES = 8
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def torch_model() -> torch.nn.Module:
    """torchvision EfficientNetV2-S with random (seeded) weights, eval mode."""
    import torch
    import torchvision

    torch.manual_seed(0)
    model: torch.nn.Module = torchvision.models.efficientnet_v2_s(num_classes=CLASSES).eval()
    return model


def onnx_model() -> Path:
    """The same network exported with a shellgui card (normalisation in the card, not the graph)."""
    path = OUT / "efficientnet_v2_s_384.onnx"
    if path.exists():
        return path
    import onnx
    import torch

    from shellgui.core.modelcard import METADATA_KEY, ModelCard, Preprocessing, Taxon

    OUT.mkdir(parents=True, exist_ok=True)
    model = torch_model()
    torch.onnx.export(
        model,
        (torch.rand(1, 3, SIZE, SIZE),),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    card = ModelCard(
        name="bench-v2s",
        version="0",
        taxa=tuple(Taxon.from_label(f"Genus{i}_species{i}") for i in range(CLASSES)),
        preprocessing=Preprocessing(input_size=SIZE, resize_size=SIZE, mean=MEAN, std=STD),
    )
    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, {METADATA_KEY: card.to_json()})
    onnx.save(proto, str(path))
    return path


def twelve_megapixel_jpegs(count: int) -> list[Path]:
    """``count`` distinct 4000x3000 JPEGs made from a real shell photo plus sensor-like noise."""
    folder = OUT / f"jpegs_{count}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = sorted(folder.glob("*.jpg"))
    if len(paths) >= count:
        return paths[:count]
    base = np.asarray(
        Image.open(SHELL).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.int16
    )
    rng = np.random.default_rng(0)
    for i in range(len(paths), count):
        noisy = np.clip(base + rng.integers(-6, 7, base.shape, dtype=np.int16), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"shell_{i:04d}.jpg", quality=90)
    return sorted(folder.glob("*.jpg"))[:count]


def naive_transform() -> Callable[[Image.Image], Any]:
    from torchvision import transforms as T

    transform: Callable[[Image.Image], Any] = T.Compose(
        [T.Resize(SIZE), T.CenterCrop(SIZE), T.ToTensor(), T.Normalize(MEAN, STD)]
    )
    return transform


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[object]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths))

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def peak_rss_mb() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / 1024 if sys.platform != "darwin" else usage / 1024 / 1024


def int8_onnx_model() -> Path:
    """The int8 twin of :func:`onnx_model` (QDQ, per-channel), calibrated on the bench's generated photos.

    For speed only: the bench network has random weights, so parity with fp32 means nothing here; it is
    checked on real models by ``shellgui-train quantize``.
    """
    from shellgui.core.imaging import open_photo
    from shellgui.core.inference import Classifier
    from shellgui.core.models import int8_twin_path
    from shellgui_train.quantize import write_int8

    fp32 = onnx_model()
    twin = int8_twin_path(fp32)
    if twin.exists():
        return twin
    classifier = Classifier(fp32, provider="cpu")
    photos = twelve_megapixel_jpegs(8)
    arrays = [classifier.prepare(open_photo(p, min_side=classifier.min_decode_side)) for p in photos]
    write_int8(fp32, classifier.input_name, arrays, twin, classifier.card)
    return twin
