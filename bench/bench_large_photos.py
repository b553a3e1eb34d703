"""Peak memory of cataloguing a folder of very large photos: ours (a photo over
``shellgui.core.batch.LARGE_PHOTO_PIXELS`` is prepared by one worker at a time) against the naive path (every
worker decodes whatever comes next), each in its own process with the bundled model.

The folder: three 14000x14000 PNGs (196 MP each, just under the 200 MP limit; PNG has no reduced decode).

    python bench/bench_large_photos.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from common import OUT, table

CHILD = """
import resource, sys
import shellgui.core.batch as batch
from shellgui.cli import main

if sys.argv[1] == "naive":
    batch.LARGE_PHOTO_PIXELS = 10**12
code = main(["catalog", "--quiet", "--db", sys.argv[3], "--batch-size", "1", sys.argv[2]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def folder_of_large_pngs(count: int = 3, side: int = 14_000) -> Path:
    from PIL import Image

    folder = OUT / f"large_pngs_{count}x{side}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"plate_{i}.png"
        if not path.exists():
            Image.new("RGB", (side, side), (40 + i * 60, 90, 140)).save(path, compress_level=1)
    return folder


def peak_mb(which: str, folder: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, which, str(folder), str(Path(home) / "c.sqlite")],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "SHELLGUI_HOME": home},
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{which} failed: {done.stderr.strip().splitlines()[-1:]}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024, seconds


def main() -> None:
    folder = folder_of_large_pngs()
    rows = []
    runs = (("naive: workers decode at will", "naive"), ("ours: one large photo at a time", "ours"))
    for name, which in runs:
        mb, seconds = peak_mb(which, folder)
        rows.append((name, f"{mb:,.0f}", f"{seconds:.1f}"))
    print("3 x 196 MP PNG, 2 decode workers, --batch-size 1")
    print(table(rows, ("catalogue run", "peak RSS MB", "wall s")))


if __name__ == "__main__":
    main()
