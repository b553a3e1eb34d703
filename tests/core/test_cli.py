"""The ``shellgui`` command through real subprocesses: exit codes, one-line errors, JSON, light imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SHELLGUI_HOME": str(home),
        "SHELLGUI_PROVIDER": "cpu",
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.run(
        [sys.executable, "-m", "shellgui", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_identify_json_and_record(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]) -> None:
    home = tmp_path / "home"
    proc = run(
        "identify", str(colour_photos["red"]), "--json", "--top-k", "2", "--model", str(tiny_model), home=home
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["results"][0]["taxon"] == "Redia rubra" and len(data["results"][0]["top_k"]) == 2
    assert data["results"][0]["specimen_id"] == 1 and data["model"]["provider"] == "CPU"
    assert (home / "data" / "catalogue.sqlite").exists()


def test_identify_some_bad_inputs_exit_1(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    proc = run(
        "identify",
        str(colour_photos["blue"]),
        str(bad),
        "--no-record",
        "--model",
        str(tiny_model),
        home=tmp_path / "h",
    )
    assert proc.returncode == 1
    assert "Caerulea azurea" in proc.stdout
    assert proc.stderr.strip().splitlines() == [
        f"shellgui: error: {bad}: not a photo in a format shellgui reads (JPEG, PNG, TIFF, WebP, BMP)"
    ]
    assert not (tmp_path / "h" / "data" / "catalogue.sqlite").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("identify", home=tmp_path).returncode == 2
    assert run("export", "--format", "xls", "x", home=tmp_path).returncode == 2
    assert run("frobnicate", home=tmp_path).returncode == 2


def test_missing_model_is_one_clear_line(tmp_path: Path, colour_photos: dict[str, Path]) -> None:
    proc = run("identify", str(colour_photos["red"]), "--model", str(tmp_path / "none.onnx"), home=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "model file not found" in proc.stderr


def test_catalog_export_and_models(tmp_path: Path, tiny_model: Path) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "drawer"
    folder.mkdir()
    for i in range(5):
        Image.new("RGB", (40, 40), (40 * i, 200, 30)).save(folder / f"{i}.png")
    proc = run("catalog", str(folder), "--model", str(tiny_model), "--batch-size", "2", home=home)
    assert proc.returncode == 0, proc.stderr
    assert "5 catalogued" in proc.stdout
    # stderr is a pipe here, as in a log file: plain progress lines, never a live bar's carriage returns
    assert "\r" not in proc.stderr and "Cataloguing: 5 of 5 photos (done 5" in proc.stderr
    out = tmp_path / "export.csv"
    assert run("export", "--format", "csv", str(out), home=home).returncode == 0
    assert len(out.read_text(encoding="utf-8-sig").strip().splitlines()) == 6
    installed = run("models", "--install", str(tiny_model), home=home)
    assert installed.returncode == 0, installed.stderr
    listing = run("models", home=home)
    assert "tiny-test 1.0 (installed)" in listing.stdout
    card = run("models", "--card", str(tiny_model), home=home)
    assert json.loads(card.stdout)["name"] == "tiny-test"


def test_empty_folder_is_a_usage_error_and_one_specimen_is_singular(tmp_path: Path, tiny_model: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "drawer"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("field notes")
    empty = run("catalog", str(folder), "--model", str(tiny_model), home=home)
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1, empty.stderr
    assert f"no photos in {folder} or its subfolders (looked for .bmp, .heic" in empty.stderr
    Image.new("RGB", (40, 40), (200, 30, 30)).save(folder / "sub" / "one.png")
    assert run("catalog", str(folder), "--model", str(tiny_model), home=home).returncode == 0
    exported = run("export", "--format", "csv", str(tmp_path / "one.csv"), home=home)
    assert "Exported 1 specimen to" in exported.stdout
    log = run("log", home=home).stdout
    assert "run 1" in log and "run 2" not in log  # the empty folder started no run


def test_ctrl_c_during_a_batch_exits_130(tmp_path: Path, tiny_model: Path) -> None:
    import signal

    home, folder = tmp_path / "home", tmp_path / "drawer"
    folder.mkdir()
    for i in range(400):
        Image.new("RGB", (64, 64), (i % 256, 20 + 100 * (i // 256), 30)).save(folder / f"{i:03d}.png")
    env = {**os.environ, "SHELLGUI_HOME": str(home), "SHELLGUI_PROVIDER": "cpu"}
    command = [sys.executable, "-m", "shellgui", "catalog", str(folder), "--model", str(tiny_model)]
    proc = subprocess.Popen(command + ["--batch-size", "1"], stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    for line in proc.stderr:  # progress lines on a pipe: wait for the run to be under way
        if "Cataloguing:" in line and "done 0" not in line:
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "run the same command again to resume" in rest
    resumed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert resumed.returncode == 0 and "400 catalogued, 0 already in the catalogue, 0 failed (run 1" in (
        resumed.stdout
    )
    mine = resumed.stdout.split("this command: ")[1].split(" catalogued")[0]
    assert 0 < int(mine) < 400 and "the rest of run 1 by an earlier or simultaneous command" in resumed.stdout


def test_help_is_fast_and_light(tmp_path: Path) -> None:
    code = (
        "import sys, time; t=time.perf_counter(); import shellgui, shellgui.cli; "
        "heavy=[m for m in ('torch','torchvision','PySide6','onnxruntime','numpy') if m in sys.modules]; "
        "print(heavy, time.perf_counter()-t)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, seconds = proc.stdout.rsplit(" ", 1)
    assert heavy == "[]" and float(seconds) < 0.5
    start = time.perf_counter()
    assert run("--help", home=tmp_path).returncode == 0
    assert time.perf_counter() - start < 3.0  # includes the interpreter start-up


def test_core_never_imports_qt_or_torch(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    code = f"""
import pkgutil, importlib, sys, shellgui.core
for m in pkgutil.walk_packages(shellgui.core.__path__, "shellgui.core."):
    importlib.import_module(m.name)
from shellgui.core.identify import identify_paths
from shellgui.core.inference import Classifier
identify_paths(Classifier({str(tiny_model)!r}), [{str(colour_photos["red"])!r}])
print([m for m in ("torch", "torchvision", "PySide6", "shellgui.qt", "shellgui_train") if m in sys.modules])
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SHELLGUI_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_identify_records_a_checked_identification_headless(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from shellgui.core.catalog import VALIDATED, Catalog, queries

    home, db = tmp_path / "home", tmp_path / "c.sqlite"
    model = ("--model", str(tiny_model), "--db", str(db))
    red, grey = str(colour_photos["red"]), str(colour_photos["grey"])
    no_name = run("identify", red, "--accept", *model, home=home)
    assert no_name.returncode == 2 and "who is deciding" in no_name.stderr and not db.exists()
    accepted = run(
        "identify", red, "--accept", "--by", "A. Curator", "--catalog-number", "MZ-1", *model, home=home
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "checked as Redia rubra" in accepted.stdout
    again = run("identify", red, "--accept", "--by", "A. Curator", *model, home=home)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    overwrite = run("identify", red, "--catalog-number", "MZ-2", *model, home=home)
    assert overwrite.returncode == 1 and "already has catalogue number 'MZ-1'" in overwrite.stderr
    uncertain = run("identify", grey, "--accept", "--by", "A. Curator", *model, home=home)
    assert uncertain.returncode == 1 and "the model is uncertain" in uncertain.stderr
    typed = run("identify", grey, "--taxon", "Conus textile", "--by", "B. Expert", *model, home=home)
    assert typed.returncode == 0, typed.stderr
    catalog = Catalog(db)
    rows = {r.catalog_number or r.taxon: r for r in queries.list_specimens(catalog)}
    assert rows["MZ-1"].taxon == "Redia rubra" and rows["MZ-1"].verification_status == VALIDATED
    assert rows["Conus textile"].verification_status == VALIDATED
    history = queries.specimen_detail(catalog, rows["Conus textile"].specimen_id).history  # type: ignore[union-attr]
    assert [(h.taxon, h.identified_by) for h in history] == [(None, None), ("Conus textile", "B. Expert")]
    from shellgui.cli import main

    catalog.close()
    assert main(["log", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        len(lines) == 3
        and "A. Curator: recorded specimen 1 (MZ-1): 1 photo, checked as Redia rubra" in lines[0]
    )
    assert (
        "recorded specimen 2: 1 photo, model: uncertain" in lines[1]
    )  # the refused --accept: kept unchecked
    assert "B. Expert: updated specimen 2: checked as Conus textile" in lines[2]


def test_export_to_a_folder_or_device_is_one_line(tmp_path: Path) -> None:
    for target in (".", "/", "/dev/null"):
        proc = run("export", target, "--format", "dwc", home=tmp_path / "h")
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
        assert not list(Path(".").glob(".*.part")) and not list((tmp_path / "h").rglob("*.part"))


def test_batch_size_and_top_k_ranges_are_enforced(tmp_path: Path, colour_photos: dict[str, Path]) -> None:
    for option, value in (
        ("--batch-size", "0"),
        ("--batch-size", "100000"),
        ("--top-k", "0"),
        ("--top-k", "x"),
    ):
        proc = run("identify", str(colour_photos["red"]), option, value, "--no-record", home=tmp_path / "h")
        assert proc.returncode == 2 and "out of range" in proc.stderr or "not a whole number" in proc.stderr
    proc = run("catalog", str(tmp_path), "--batch-size", "0", home=tmp_path / "h")
    assert proc.returncode == 2 and "out of range: give 1 to 256" in proc.stderr


def test_identify_streams_many_photos_in_batches(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    from shellgui.cli import BATCH_SIZES
    from shellgui.core.identify import BATCH_SIZE_RANGE, identify_in_batches
    from shellgui.core.inference import Classifier

    assert BATCH_SIZES == BATCH_SIZE_RANGE
    paths = [colour_photos[c] for c in ("red", "green", "blue", "grey")] * 3 + [tmp_path / "missing.jpg"]
    batches = list(identify_in_batches(Classifier(tiny_model), paths, batch_size=5))
    assert [len(photos) for photos, _ in batches] == [5, 5, 2]  # never more than 5 decoded at once
    assert sum(len(o.results) for _, o in batches) == 12 and len(batches[-1][1].errors) == 1
    proc = run(
        "identify",
        *map(str, paths),
        "--batch-size",
        "3",
        "--no-record",
        "--model",
        str(tiny_model),
        home=tmp_path / "h",
    )
    assert proc.returncode == 1 and proc.stdout.count("Redia rubra") >= 3
    assert len(proc.stderr.strip().splitlines()) == 1
