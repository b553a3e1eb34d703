"""Identify one 12-megapixel JPEG with the model loaded: shellgui's path against the naive one.

Naive: full-size PIL decode, torchvision transforms, PyTorch eager. Ours: draft-mode JPEG decode straight
to just above the model size, card-driven preprocessing, ONNX Runtime. Same EfficientNetV2-S at 384 px
(random weights), same photo, same run. Also times ``import shellgui`` and ``shellgui --help``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import (
    int8_onnx_model,
    median_time,
    naive_transform,
    onnx_model,
    table,
    torch_model,
    twelve_megapixel_jpegs,
)


def main() -> None:
    import torch
    from PIL import Image

    from shellgui.core.imaging import open_photo
    from shellgui.core.inference import Classifier

    photo = twelve_megapixel_jpegs(1)[0]
    model = torch_model()
    transform = naive_transform()
    classifier = Classifier(onnx_model(), provider="cpu")
    int8_onnx_model()
    quantised = Classifier(onnx_model(), provider="cpu", prefer_int8=True)

    def naive() -> None:
        image = Image.open(photo).convert("RGB")
        with torch.no_grad():
            model(transform(image).unsqueeze(0))

    def ours() -> None:
        classifier.identify([open_photo(photo, min_side=classifier.min_decode_side)])

    def ours_int8() -> None:
        quantised.identify([open_photo(photo, min_side=quantised.min_decode_side)])

    def naive_decode() -> None:
        naive_transform()(Image.open(photo).convert("RGB"))

    def our_decode() -> None:
        classifier.prepare(open_photo(photo, min_side=classifier.min_decode_side))

    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    t_naive, t_ours, t_int8 = (
        median_time(naive, repeat),
        median_time(ours, repeat),
        median_time(ours_int8, repeat),
    )
    d_naive, d_ours = median_time(naive_decode, repeat), median_time(our_decode, repeat)
    print(
        f"Identify one 12-MP JPEG ({photo.name}), EfficientNetV2-S @384, {torch.get_num_threads()} threads, "
        f"median of {repeat}"
    )
    print(
        table(
            [
                (
                    "decode + preprocess",
                    f"{d_naive * 1000:.0f}",
                    f"{d_ours * 1000:.0f}",
                    f"{d_naive / d_ours:.1f}x",
                ),
                ("end to end", f"{t_naive * 1000:.0f}", f"{t_ours * 1000:.0f}", f"{t_naive / t_ours:.2f}x"),
                (
                    "end to end, int8 twin",
                    f"{t_naive * 1000:.0f}",
                    f"{t_int8 * 1000:.0f}",
                    f"{t_naive / t_int8:.2f}x",
                ),
            ],
            ("step", "naive ms", "shellgui ms", "speed-up"),
        )
    )
    print(f"target: shellgui at most half the naive time -> {'MET' if t_ours <= t_naive / 2 else 'NOT MET'}")
    print(
        f"int8 target: at most 0.4x the naive time -> {t_int8 / t_naive:.2f}x "
        f"{'MET' if t_int8 <= 0.4 * t_naive else 'NOT MET'} (load average {os.getloadavg()[0]:.1f})"
    )

    def wall(cmd: list[str]) -> float:
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    probe = (
        "import sys, time; t=time.perf_counter(); import shellgui, shellgui.cli; d=time.perf_counter()-t; "
        "print(d, [m for m in ('torch','PySide6','onnxruntime','numpy') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split(" ", 1)
    print()
    print(
        table(
            [
                (
                    "import shellgui, shellgui.cli (in-process)",
                    f"{float(out[0]) * 1000:.1f}",
                    f"heavy modules: {out[1].strip()}",
                ),
                (
                    "python -c 'import shellgui' (whole process)",
                    f"{wall([sys.executable, '-c', 'import shellgui']) * 1000:.0f}",
                    "",
                ),
                (
                    "shellgui --help (whole process)",
                    f"{wall([sys.executable, '-m', 'shellgui', '--help']) * 1000:.0f}",
                    "",
                ),
                (
                    "python -c 'pass' (interpreter alone)",
                    f"{wall([sys.executable, '-c', 'pass']) * 1000:.0f}",
                    "",
                ),
            ],
            ("start-up", "ms", "notes"),
        )
    )


if __name__ == "__main__":
    main()
