"""The bad-input corpus (tests/badinputs.py, 60+ kinds): each is refused in one line or handled, and a
folder holding all of them is catalogued to the end, resumed twice without tripping over any of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from badinputs import CORPUS, make_case, make_corpus
from sqlalchemy import select

from shellgui.core.batch import COMPLETED, catalogue_folder, failed_items
from shellgui.core.catalog import Catalog
from shellgui.core.catalog.schema import Photo, RunItem
from shellgui.core.errors import PhotoError
from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier

REFUSED = sorted(name for name, (_, kind) in CORPUS.items() if kind is not None)
HANDLED = sorted(name for name, (_, kind) in CORPUS.items() if kind is None)


def assert_one_clean_line(text: str) -> None:
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\x07" not in text, repr(text)
    assert "Traceback" not in text and len(text) < 300, text


def test_the_corpus_is_large() -> None:
    assert len(CORPUS) >= 60


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_each_case_is_refused_in_one_line_or_opens(case: str, tmp_path: Path) -> None:
    path = make_case(case, tmp_path)
    expected = CORPUS[case][1]
    if expected is None:
        photo = open_photo(path, min_side=72)
        assert photo.image.mode == "RGB" and min(photo.image.size) >= 16
        return
    with pytest.raises(PhotoError) as info:
        open_photo(path, min_side=72)
    assert info.value.kind == expected, f"{case}: {info.value.kind}: {info.value}"
    assert_one_clean_line(str(info.value))


def test_gps_out_of_range_and_nul_strings_are_cleaned(tmp_path: Path) -> None:
    gps = open_photo(make_case("gps_out_of_range", tmp_path)).info
    assert gps.gps_lat is None and gps.gps_lon is None
    camera = open_photo(make_case("exif_nul_strings", tmp_path)).info.camera
    assert camera is not None and "\x00" not in camera and "\x1b" not in camera and camera.startswith("Canon")


def _settled_paths(catalog: Catalog, run_id: int) -> list[str]:
    with catalog.session() as session:
        return list(session.scalars(select(RunItem.path).where(RunItem.run_id == run_id)))


def test_a_poisoned_folder_is_catalogued_and_resumed_twice(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "poisoned"
    paths = make_corpus(folder)
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)

    def run_until(batches: int | None) -> list:  # type: ignore[type-arg]
        cancel = threading.Event()
        records = []
        for progress in catalogue_folder(catalog, classifier, folder, batch_size=4, cancel=cancel):
            records.append(progress)
            if batches is not None and len(records) > batches:
                cancel.set()
        return records

    first = run_until(2)
    second = run_until(3)
    assert first[-1].state == second[-1].state == "cancelled" and first[-1].run_id == second[-1].run_id
    assert 0 < first[-1].settled < second[-1].settled < len(paths)
    last = run_until(None)[-1]
    assert last.state == COMPLETED and last.run_id == first[-1].run_id
    assert last.total == len(paths) == last.settled
    # Copies whose pixels match another case's (only their metadata differs) are that photo again.
    assert last.failed == len(REFUSED) and last.done + last.skipped == len(HANDLED)
    settled = _settled_paths(catalog, last.run_id)
    assert len(settled) == len(set(settled)) == len(paths)  # nothing was tried twice
    failures = dict(failed_items(catalog, last.run_id))
    assert set(failures) == {str(paths[name].absolute()) for name in REFUSED}
    for reason in failures.values():
        assert_one_clean_line(reason)
    with catalog.session() as session:
        stored = set(session.scalars(select(Photo.path)))
        same = set(session.scalars(select(RunItem.path).where(RunItem.status == "duplicate")))
    assert stored | same == {str(paths[name].absolute()) for name in HANDLED} and not stored & same
    latin1 = str(paths["latin1_name_good"].absolute())
    assert latin1 in stored and os.path.exists(latin1)  # the name survives the catalogue byte for byte


def test_the_cli_reports_each_bad_file_on_one_line(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "poisoned"
    make_corpus(folder)
    env = {**os.environ, "SHELLGUI_HOME": str(tmp_path / "home"), "SHELLGUI_PROVIDER": "cpu"}
    cmd = [sys.executable, "-m", "shellgui", "catalog", str(folder), "--model", str(tiny_model), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    stderr, stdout = proc.stderr.decode("utf-8"), proc.stdout.decode("utf-8")
    assert proc.returncode == 1, stderr
    lines = stderr.splitlines()
    assert len(lines) == len(REFUSED) and all(line.startswith("shellgui: error: ") for line in lines)
    assert "\x1b" not in stderr and "Traceback" not in stderr
    assert "\\xe9" in stderr and "two\\nlines.jpg" in stderr  # shown, escaped, not dropped
    done, same = (
        int(n) for n in re.match(r"(\d+) catalogued, (\d+) already in the catalogue", stdout).groups()
    )
    assert done + same == len(HANDLED) and f", {len(REFUSED)} failed" in stdout
    again = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    assert again.returncode == 1 and b"0 catalogued" in again.stdout


@pytest.mark.slow
def test_a_96_megapixel_scan_is_accepted(tmp_path: Path) -> None:
    """Above Pillow's 89 MP bomb warning, below our own 200 MP limit: a flatbed scan, not a bomb."""
    from badinputs import _png_header_only

    path = tmp_path / "scan.png"
    path.write_bytes(_png_header_only(12_000, 8_000, rows=8_000))
    photo = open_photo(path, min_side=72)
    assert (photo.info.width, photo.info.height) == (12_000, 8_000)
