"""Catalogue a folder of 12-megapixel JPEGs: shellgui's batch path against the naive loop.

Naive: for each photo, full-size PIL decode, torchvision transforms, PyTorch eager, one at a time.
Ours: ``catalogue_folder`` (draft decode and hashing in worker threads, ONNX Runtime batches, SQLite
commits, thumbnails). Each side runs in its own process so its peak memory is measured alone.

    python bench/bench_catalog.py [COUNT]      # default 100 photos
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import (
    int8_onnx_model,
    naive_transform,
    onnx_model,
    peak_rss_mb,
    table,
    torch_model,
    twelve_megapixel_jpegs,
)


def run_naive(count: int) -> dict[str, float]:
    import torch
    from PIL import Image

    paths = twelve_megapixel_jpegs(count)
    model, transform = torch_model(), naive_transform()
    start = time.perf_counter()
    with torch.no_grad():
        for path in paths:
            model(transform(Image.open(path).convert("RGB")).unsqueeze(0)).softmax(1)
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def run_ours(count: int, batch_size: int, int8: bool = False) -> dict[str, float]:
    from shellgui.core.batch import catalogue_folder
    from shellgui.core.catalog import Catalog
    from shellgui.core.inference import Classifier

    folder = twelve_megapixel_jpegs(count)[0].parent
    classifier = Classifier(onnx_model(), provider="cpu", prefer_int8=int8)
    assert classifier.precision == ("int8" if int8 else "fp32")
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(os.path.join(tmp, "bench.sqlite"))
        start = time.perf_counter()
        progress = list(catalogue_folder(catalog, classifier, folder, batch_size=batch_size))[-1]
        seconds = time.perf_counter() - start
    assert progress.done == count, progress
    return {"seconds": seconds, "peak_mb": peak_rss_mb()}


def child(which: str, count: int, batch_size: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(count), str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        which, count, batch = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        result = run_naive(count) if which == "naive" else run_ours(count, batch, int8=which == "int8")
        print(json.dumps(result))
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    batch = int(os.environ.get("BENCH_BATCH", "8"))
    onnx_model()
    int8_onnx_model()
    twelve_megapixel_jpegs(count)
    naive = child("naive", count, batch)
    ours = child("ours", count, batch)
    int8 = child("int8", count, batch)
    rows = []
    for name, r in (
        ("naive (PIL full decode, torchvision, torch eager, 1 at a time)", naive),
        (f"shellgui catalogue_folder (batch {batch}, ONNX Runtime, SQLite)", ours),
        (f"shellgui catalogue_folder, int8 twin (batch {batch})", int8),
    ):
        rows.append((name, f"{r['seconds']:.1f}", f"{count / r['seconds']:.2f}", f"{r['peak_mb']:.0f}"))
    print(
        f"Catalogue {count} 12-MP JPEGs, EfficientNetV2-S @384 (random weights), {os.cpu_count()} CPU cores"
    )
    print(table(rows, ("path", "seconds", "photos/s", "peak MB")))
    speedup = naive["seconds"] / ours["seconds"]
    print(
        f"throughput: {speedup:.2f}x naive (target >= 2.2x: {'MET' if speedup >= 2.2 else 'NOT MET'}); "
        f"peak memory {ours['peak_mb']:.0f} MB "
        f"(target < 1024: {'MET' if ours['peak_mb'] < 1024 else 'NOT MET'})"
    )
    speedup8 = naive["seconds"] / int8["seconds"]
    print(
        f"int8 throughput: {speedup8:.2f}x naive (target >= 3x: {'MET' if speedup8 >= 3 else 'NOT MET'}); "
        f"{ours['seconds'] / int8['seconds']:.2f}x fp32; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
