"""Several writers on one catalogue, as real processes, on SQLite and on PostgreSQL (pgserver).

Each round: 2 ``shellgui catalog`` runs over overlapping folders (a folder and its sub-folder) plus 4
``shellgui identify`` calls recording the same photo, all started together, on a new catalogue (so the
first starts race too). Printed per backend: failed processes, UNIQUE/"already exists" errors seen,
photos stored vs distinct photos, and the wall time against the same six commands one after another.

    python bench/bench_concurrent_writers.py [ROUNDS] [PHOTOS]     # default 3 rounds, 24 photos

Photos are the zhang8 shells from ../shared/data when present, otherwise generated; the model is the
bundled one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from common import table

SHARED = Path(__file__).parents[2] / "shared" / "data" / "zhang8"


def make_drawer(root: Path, count: int) -> Path:
    drawer = root / "drawer"
    (drawer / "sub").mkdir(parents=True)
    real = sorted(SHARED.rglob("*.jpg"))[:count] if SHARED.is_dir() else []
    for i in range(count):
        target = drawer / ("sub" if i % 2 else "") / f"shell_{i:03d}.jpg"
        if i < len(real):
            shutil.copy(real[i], target)
        else:
            from PIL import Image

            Image.new("RGB", (640, 480), (i * 37 % 256, i * 91 % 256, i * 53 % 256)).save(target)
    return drawer


def commands(drawer: Path, url: str) -> list[list[str]]:
    same = sorted((drawer / "sub").glob("*.jpg"))[0]
    base = [sys.executable, "-m", "shellgui"]
    return [
        [*base, "catalog", str(drawer), "--quiet", "--batch-size", "4", "--db", url],
        [*base, "catalog", str(drawer / "sub"), "--quiet", "--batch-size", "4", "--db", url],
        *([*base, "identify", str(same), "--db", url] for _ in range(4)),
    ]


def run_all(cmds: list[list[str]], env: dict[str, str], together: bool) -> tuple[float, int, int]:
    start = time.perf_counter()
    if together:
        procs = [
            subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in cmds
        ]
        results = [(*p.communicate(), p.returncode) for p in procs]
    else:
        results = []
        for c in cmds:
            done = subprocess.run(c, env=env, capture_output=True, text=True)
            results.append((done.stdout, done.stderr, done.returncode))
    wall = time.perf_counter() - start
    failed = sum(code != 0 for _, _, code in results)
    unique = sum(("UNIQUE" in err or "already exists" in err or "Traceback" in err) for _, err, _ in results)
    return wall, failed, unique


def stored(url: str) -> int:
    from sqlalchemy import func, select

    from shellgui.core.catalog import Catalog
    from shellgui.core.catalog.schema import Photo

    catalog = Catalog(url)
    with catalog.session() as s:
        count = s.scalar(select(func.count(Photo.id))) or 0
    catalog.close()
    return count


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    from pgtest import PostgresForTests

    rows = []
    with tempfile.TemporaryDirectory(prefix="shellgui-bench-") as tmp:
        root = Path(tmp)
        drawer = make_drawer(root, count)
        env = {**os.environ, "SHELLGUI_HOME": str(root / "home"), "SHELLGUI_PROVIDER": "cpu"}
        server = PostgresForTests(root / "pg")
        try:
            for backend in ("sqlite", "postgresql"):
                for together in (True, False):
                    walls, failed, unique, photos = [], 0, 0, []
                    for r in range(rounds):
                        url = (
                            f"sqlite:///{root / f'{backend}-{together}-{r}.sqlite'}"
                            if backend == "sqlite"
                            else server.new_schema()
                        )
                        wall, f, u = run_all(commands(drawer, url), env, together)
                        walls.append(wall)
                        failed += f
                        unique += u
                        photos.append(stored(url))
                    rows.append(
                        (
                            backend,
                            "6 at once" if together else "one after another",
                            str(rounds),
                            str(failed),
                            str(unique),
                            f"{min(photos)}-{max(photos)} of {count}",
                            f"{sum(walls) / len(walls):.1f} s",
                        )
                    )
        finally:
            server.stop()
    header = ("backend", "6 commands", "rounds", "failed", "UNIQUE errors", "photos stored", "wall/round")
    print(table(rows, header))


if __name__ == "__main__":
    main()
