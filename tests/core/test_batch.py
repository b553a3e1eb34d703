"""Cataloguing folders: duplicates, bad files, cancel and resume, and a kill -9 in the middle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from shellgui.core.batch import CANCELLED, COMPLETED, catalogue_folder, failed_items, find_photos
from shellgui.core.catalog import Catalog
from shellgui.core.catalog.schema import Photo, RunItem
from shellgui.core.inference import Classifier


def make_folder(root: Path, good: int = 30, bad: int = 2) -> Path:
    folder = root / "drawer"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for i in range(good):
        target = folder / ("sub" if i % 3 == 0 else "") / f"shell_{i:03d}.jpg"
        Image.new("RGB", (80, 60), (i * 7 % 256, 255 - i * 5 % 256, i * 11 % 256)).save(target)
    for i in range(bad):
        (folder / f"broken_{i}.jpg").write_bytes(b"not a jpeg at all")
    (folder / ".hidden" / "secret.jpg").write_bytes(b"x")
    (folder / "notes.txt").write_text("field notes")
    (folder / "sub" / "copy_of_0.jpg").write_bytes((folder / "sub" / "shell_000.jpg").read_bytes())
    os.symlink(folder, folder / "sub" / "loop")  # a link loop must not trap the walk
    return folder


def photo_paths(catalog: Catalog) -> list[str]:
    with catalog.session() as s:
        return list(s.scalars(select(Photo.path)))


def test_walk_skips_hidden_non_photos_and_link_loops(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, good=6, bad=1)
    names = [Path(p).name for p in find_photos(folder)]
    assert "secret.jpg" not in names and "notes.txt" not in names
    assert len(names) == 6 + 1 + 1


def test_full_run_then_rerun(tmp_path: Path, tiny_model: Path) -> None:
    folder = make_folder(tmp_path, good=12, bad=2)
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    records = list(catalogue_folder(catalog, classifier, folder, batch_size=4))
    last = records[-1]
    assert last.state == COMPLETED
    assert (last.done, last.failed, last.skipped, last.total) == (12, 2, 1, 15)
    assert all(r.done <= s.done for r, s in zip(records, records[1:]))
    reasons = dict(failed_items(catalog, last.run_id))
    assert all("not a photo" in r for r in reasons.values()) and len(reasons) == 2
    again = list(catalogue_folder(catalog, classifier, folder, batch_size=4))[-1]
    assert (again.done, again.skipped, again.failed) == (0, 13, 2)
    assert len(photo_paths(catalog)) == 12


def test_cancel_then_resume_catalogues_each_photo_once(tmp_path: Path, tiny_model: Path) -> None:
    folder = make_folder(tmp_path, good=30, bad=1)
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    cancel = threading.Event()
    seen = 0
    for progress in catalogue_folder(catalog, classifier, folder, batch_size=4, cancel=cancel):
        seen = progress.done
        if progress.done >= 8:
            cancel.set()
    assert progress.state == CANCELLED and 8 <= seen < 30
    resumed = list(catalogue_folder(catalog, classifier, folder, batch_size=4))
    assert resumed[0].run_id == progress.run_id and resumed[0].done == seen
    final = resumed[-1]
    assert final.state == COMPLETED and final.done == 30 and final.failed == 1
    paths = photo_paths(catalog)
    assert len(paths) == len(set(paths)) == 30


def test_audit_log_tells_each_run_start_stop_resume_and_end(tmp_path: Path, tiny_model: Path) -> None:
    from shellgui.core.catalog.queries import audit_log

    folder = make_folder(tmp_path, good=12, bad=1)
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    cancel = threading.Event()
    for progress in catalogue_folder(catalog, classifier, folder, batch_size=4, cancel=cancel, by="Ada"):
        if progress.done >= 4:
            cancel.set()
    run = progress.run_id
    for _ in catalogue_folder(catalog, classifier, folder, batch_size=4):
        pass
    entries = list(reversed(audit_log(catalog)))  # oldest first
    assert [(e.action, e.by, e.details["run_id"]) for e in entries] == [
        ("catalogue folder", "Ada", run),
        ("catalogue folder", "Ada", run),
        ("catalogue folder", "unknown", run),
        ("catalogue folder", "unknown", run),
    ]
    started, stopped, resumed, ended = (e.summary for e in entries)
    assert started.startswith(f"started cataloguing {folder}") and f"(run {run})" in started
    assert "stopped (can be resumed)" in stopped
    assert resumed.startswith("resumed cataloguing") and "already settled" in resumed
    assert f"completed (run {run}): 12 catalogued, 1 already in the catalogue, 1 failed" in ended


@pytest.mark.parametrize("limit, most_at_once", [(100, 1), (10**9, 2)])
def test_large_photos_are_decoded_one_at_a_time(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch, limit: int, most_at_once: int
) -> None:
    """Above ``LARGE_PHOTO_PIXELS`` (here: every 80x60 photo, or none) the two workers take turns."""
    import shellgui.core.batch as batch

    monkeypatch.setattr(batch, "LARGE_PHOTO_PIXELS", limit)
    real_open, lock = batch.open_photo, threading.Lock()
    at_once, most = 0, 0

    def slow_open(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal at_once, most
        with lock:
            at_once += 1
            most = max(most, at_once)
        time.sleep(0.05)
        try:
            return real_open(*args, **kwargs)
        finally:
            with lock:
                at_once -= 1

    monkeypatch.setattr(batch, "open_photo", slow_open)
    folder = make_folder(tmp_path, good=10, bad=0)
    catalog = Catalog(tmp_path / "c.sqlite")
    last = list(catalogue_folder(catalog, Classifier(tiny_model), folder, batch_size=4, workers=2))[-1]
    assert last.done == 10 and most == most_at_once


def test_decoded_pixels_counts_a_reduced_jpeg_decode(tmp_path: Path) -> None:
    from shellgui.core.imaging import decoded_pixels, read_photo_file

    Image.new("RGB", (4000, 3000), (90, 60, 30)).save(tmp_path / "big.jpg")
    Image.new("RGB", (4000, 3000), (90, 60, 30)).save(tmp_path / "big.png")
    jpeg, png = read_photo_file(tmp_path / "big.jpg"), read_photo_file(tmp_path / "big.png")
    assert decoded_pixels(png, 384) == decoded_pixels(jpeg, None) == 12_000_000
    assert decoded_pixels(jpeg, 384) == 1000 * 750  # 1/4 scale: at 1/8 the short side (375) is under 384
    (tmp_path / "junk.jpg").write_bytes(b"not a photo")
    assert decoded_pixels(read_photo_file(tmp_path / "junk.jpg"), 384) == 0


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from shellgui.core.batch import catalogue_folder
    from shellgui.core.catalog import Catalog
    from shellgui.core.inference import Classifier

    classifier = Classifier(sys.argv[2])
    slow = classifier.run
    def run(arrays):
        time.sleep(0.15)
        return slow(arrays)
    classifier.run = run
    for _ in catalogue_folder(Catalog(sys.argv[3]), classifier, sys.argv[1], batch_size=3):
        pass
""")


@pytest.mark.slow
def test_kill_9_mid_batch_then_resume(tmp_path: Path, tiny_model: Path) -> None:
    folder = make_folder(tmp_path, good=40, bad=2)
    db = tmp_path / "c.sqlite"
    catalog = Catalog(db)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder), str(tiny_model), str(db)],
        env={**os.environ, "SHELLGUI_PROVIDER": "cpu"},
    )
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with catalog.session() as s:
            committed = s.scalar(select(func.count(RunItem.id))) or 0
        if committed >= 9:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < len(photo_paths(catalog)) < 40
    final = list(catalogue_folder(catalog, Classifier(tiny_model), folder, batch_size=3))[-1]
    assert final.state == COMPLETED
    paths = photo_paths(catalog)
    assert len(paths) == len(set(paths)) == 40
    assert final.failed == 2 and final.skipped == 1
    with catalog.session() as s:
        items = list(s.scalars(select(RunItem.path).where(RunItem.run_id == final.run_id)))
    assert len(items) == len(set(items)) == 43
