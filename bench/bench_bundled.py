"""The bundled model's cost per photo: 1.1 (one network) against today's (classifier + frozen Lite0 embedder),
fp32 and int8, one photo at a time on one thread, preprocessed arrays (decoding excluded).

    python bench/bench_bundled.py [OLD_MODEL.onnx]   # e.g. git show 4222828:resources/models/default.onnx
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.core.models import bundled_model_path

PHOTOS = sorted((Path(__file__).parents[1] / "tests" / "fixtures" / "shells").glob("*/*.jpg"))


def per_photo_ms(classifier: Classifier, arrays: list[np.ndarray], repeat: int = 3) -> float:
    classifier.predict(arrays[:1])  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for a in arrays:
            classifier.predict([a])
        times.append((time.perf_counter() - start) / len(arrays) * 1000)
    return statistics.median(times)


def main() -> None:
    rows = []
    if len(sys.argv) > 1:
        rows.append(("previous model (no embedding)", Classifier(sys.argv[1], provider="cpu", threads=1)))
    bundled = bundled_model_path()
    rows.append(("bundled, fp32", Classifier(bundled, provider="cpu", threads=1)))
    rows.append(("bundled, int8 twin", Classifier(bundled, provider="cpu", threads=1, prefer_int8=True)))
    for name, classifier in rows:
        arrays = [classifier.prepare(open_photo(p, min_side=classifier.min_decode_side)) for p in PHOTOS]
        size = Path(classifier.path).stat().st_size / 1e6
        print(
            f"{name:40s} {classifier.name} {classifier.version} {classifier.precision}: "
            f"{per_photo_ms(classifier, arrays):6.1f} ms per photo, {size:.1f} MB"
        )


if __name__ == "__main__":
    main()
