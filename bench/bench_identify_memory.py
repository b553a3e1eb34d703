"""`shellgui identify` over many photos: memory of the streamed path against the all-at-once one.

Naive (the old path): decode and preprocess every photo, then one ONNX batch for all. Ours: decode,
preprocess and run ``--batch-size`` photos at a time. Peak traced memory (tracemalloc sees NumPy and
Pillow buffers) with the bundled model on real photos from ../shared/data when present.
"""

from __future__ import annotations

import glob
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(__file__))
from common import table


def photos(count: int) -> list[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "..", "..", "..", "shared", "data", "zhang8", "*", "*.jpg")))
    found = found or sorted(glob.glob(os.path.join(here, "..", "tests", "fixtures", "shells", "*", "*.jpg")))
    return (found * (count // max(1, len(found)) + 1))[:count]


def measure(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, peak


def main(count: int = 96, batch_size: int = 8) -> None:
    from shellgui.core.identify import identify_in_batches, identify_paths
    from shellgui.core.inference import Classifier
    from shellgui.core.models import bundled_model_path

    classifier = Classifier(bundled_model_path(), provider="cpu")
    paths = photos(count)
    naive_s, naive_mb = measure(lambda: identify_paths(classifier, paths))
    ours_s, ours_mb = measure(lambda: [None for _ in identify_in_batches(classifier, paths, batch_size)])
    print(f"identify {count} photos, model {classifier.name} {classifier.version} on {classifier.device}")
    print(
        table(
            [
                ("all at once (naive)", f"{naive_s:.1f}", f"{naive_mb:.0f}"),
                (f"batches of {batch_size} (ours)", f"{ours_s:.1f}", f"{ours_mb:.0f}"),
            ],
            ("path", "seconds", "peak traced MB"),
        )
    )


if __name__ == "__main__":
    main()
