"""Several writers at once, as real processes: overlapping ``shellgui catalog`` runs, several
``shellgui identify`` recording the same photo, simultaneous first starts. Each photo ends up exactly
once, every run succeeds, nobody sees a UNIQUE or "already exists" error. On SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from shellgui.core.catalog import Catalog
from shellgui.core.catalog.schema import Identification, Photo, RunItem, Specimen

FORK = multiprocessing.get_context("fork")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SHELLGUI_HOME": str(home), "SHELLGUI_PROVIDER": "cpu", "OMP_NUM_THREADS": "1"}


def _shellgui(*args: str, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "shellgui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
    )


def _drawer(root: Path, count: int = 12) -> Path:
    """A folder with a sub-folder: cataloguing both at once overlaps on the sub-folder's photos."""
    (root / "drawer" / "sub").mkdir(parents=True)
    for i in range(count):
        where = root / "drawer" / ("sub" if i % 2 else "") / f"shell_{i:02d}.jpg"
        Image.new("RGB", (64, 48), (20 * i % 256, 255 - 15 * i % 256, 9 * i % 256)).save(where, quality=95)
    return root / "drawer"


def test_overlapping_catalog_runs_and_identify_calls(db_url: str, tmp_path: Path, tiny_model: Path) -> None:
    drawer = _drawer(tmp_path)
    same = drawer / "sub" / "shell_01.jpg"
    model = ("--model", str(tiny_model), "--db", db_url)
    procs = [
        _shellgui("catalog", str(drawer), "--quiet", "--batch-size", "2", *model, home=tmp_path / "h"),
        _shellgui(
            "catalog", str(drawer / "sub"), "--quiet", "--batch-size", "2", *model, home=tmp_path / "h"
        ),
        *(_shellgui("identify", str(same), *model, home=tmp_path / "h") for _ in range(4)),
    ]
    outputs = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    for _out, err, code in outputs:
        assert code == 0, err
        assert "UNIQUE" not in err and "already exists" not in err and "Traceback" not in err, err
    catalog = Catalog(db_url)
    with catalog.session() as s:
        paths = list(s.scalars(select(Photo.path)))
        assert sorted(Path(p).name for p in paths) == sorted(f"shell_{i:02d}.jpg" for i in range(12))
        assert s.scalar(select(func.count(Specimen.id))) == 12  # no specimen left without its photo
        # the photo recorded by four identify calls and two runs is one specimen with its history
        specimen = s.scalar(select(Photo.specimen_id).where(Photo.path == str(same)))
        assert (
            s.scalar(select(func.count(Identification.id)).where(Identification.specimen_id == specimen)) >= 1
        )
        # every file of each run is settled exactly once
        per_run = s.execute(select(RunItem.run_id, func.count(RunItem.id)).group_by(RunItem.run_id)).all()
        assert sorted(n for _, n in per_run) == [6, 12]


def _first_start(url: str) -> None:
    Catalog(url).close()


def test_simultaneous_first_starts_all_succeed(db_url: str) -> None:
    for _ in range(3):
        url = db_url if "sqlite" not in db_url else db_url.replace(".sqlite", f"{_}.sqlite")
        procs = [FORK.Process(target=_first_start, args=(url,)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        if "sqlite" not in db_url:
            break  # one schema per test on the server
