"""The README's shared-catalogue section, done as written: a ``shellgui`` role owning a ``shells``
database on a PostgreSQL server, ``shellgui catalog ... --db postgresql+psycopg://shellgui@.../shells``,
then an export from the same URL."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.postgresql


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHELLGUI_HOME": str(home), "SHELLGUI_PROVIDER": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "shellgui", *args], capture_output=True, text=True, env=env, timeout=180
    )


def test_readme_shared_catalogue_on_postgresql(postgres, tmp_path: Path, tiny_model: Path) -> None:  # type: ignore[no-untyped-def]
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "--db postgresql+psycopg://shellgui@collections-db/shells" in readme
    postgres.admin("CREATE ROLE shellgui LOGIN", "CREATE DATABASE shells OWNER shellgui")
    # the README's URL, with this test server's socket folder in place of the host collections-db
    url = postgres.base.set(username="shellgui", database="shells").render_as_string(hide_password=False)
    drawer = tmp_path / "drawer-12"
    drawer.mkdir()
    for i, rgb in enumerate([(230, 20, 20), (20, 230, 20), (20, 20, 230)]):
        Image.new("RGB", (64, 48), rgb).save(drawer / f"IMG_{i}.jpg")
    home = tmp_path / "home"
    first = _cli("catalog", str(drawer), "--db", url, "--model", str(tiny_model), "--quiet", home=home)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("3 catalogued, 0 already in the catalogue, 0 failed")
    again = _cli("catalog", str(drawer), "--db", url, "--model", str(tiny_model), "--quiet", home=home)
    assert again.stdout.startswith("0 catalogued, 3 already in the catalogue"), again.stderr
    out = tmp_path / "drawer-12.csv"
    exported = _cli("export", "--format", "csv", str(out), "--db", url, home=home)
    assert exported.returncode == 0, exported.stderr
    with out.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3
    assert not (home / "data" / "catalogue.sqlite").exists()  # nothing went to a local file
