"""Auto-crop: subjects on a plain background, rulers and specks ignored, else the whole photo."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from shellgui.core.autocrop import find_subjects
from shellgui.core.crops import Crop
from shellgui.core.identify import identify_subjects
from shellgui.core.inference import load_classifier

PAPER = (236, 232, 222)


def tray(
    size: tuple[int, int] = (1200, 800),
    shells: tuple[tuple[int, int, int, int], ...] = ((200, 250, 180, 120),),
    colours: tuple[tuple[int, int, int], ...] = ((200, 30, 30),),
    background: tuple[int, int, int] = PAPER,
    ruler: bool = True,
    specks: bool = True,
) -> Image.Image:
    """Shells (ellipses ``x, y, w, h``) on a plain background, with a ruler stripe and dust."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for (x, y, w, h), colour in zip(shells, colours):
        draw.ellipse((x, y, x + w, y + h), fill=colour)
    if ruler:
        top = size[1] - size[1] // 8
        draw.rectangle(
            (size[0] // 20, top, size[0] - size[0] // 20, top + size[1] // 25), fill=(250, 235, 110)
        )
        for x in range(size[0] // 20, size[0] - size[0] // 20, 12):
            draw.line((x, top, x, top + size[1] // 60), fill=(20, 20, 20), width=2)
    if specks:
        for x, y in ((900, 100), (950, 500), (100, 600)):
            draw.ellipse((x, y, x + 3, y + 3), fill=(60, 60, 60))
    return image


def contains(crop: Crop, box: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    return crop.x <= x and crop.y <= y and crop.x + crop.width >= x + w and crop.y + crop.height >= y + h


def test_one_shell_is_found_ruler_and_specks_are_not() -> None:
    subjects = find_subjects(tray())
    assert len(subjects.crops) == 1 and subjects.note is None
    crop = subjects.crops[0]
    assert contains(crop, (200, 250, 180, 120))
    long, short = max(crop.width, crop.height), min(crop.width, crop.height)
    assert long <= short * 4 / 3 + 1  # the model keeps the centre of a resized photo
    assert long < 220 and subjects.boxes[0].iou(Crop(200, 250, 180, 120)) > 0.9
    assert subjects.background == PAPER


def test_two_shells_in_reading_order_on_a_dark_cloth() -> None:
    image = tray(
        shells=((700, 200, 200, 150), (150, 260, 120, 200)),
        colours=((230, 210, 180), (240, 240, 240)),
        background=(30, 45, 35),
    )
    subjects = find_subjects(image)
    assert len(subjects.crops) == 2
    left, right = subjects.crops
    assert contains(left, (150, 260, 120, 200)) and contains(right, (700, 200, 200, 150))


def test_reduced_decode_gives_crops_in_full_resolution_pixels() -> None:
    image = tray(size=(1200, 800))
    small = image.resize((300, 200))
    crops = find_subjects(small, full_size=(1200, 800)).crops
    assert len(crops) == 1 and contains(crops[0], (204, 254, 172, 112))


@pytest.mark.parametrize(
    ("image", "note"),
    [
        (Image.new("RGB", (800, 600), PAPER), "no subject stands out"),
        (tray(shells=(), colours=()), "only a ruler-like stripe"),
        (Image.effect_noise((400, 300), 120).convert("RGB"), "not plain"),
        (tray(size=(400, 300), shells=((10, 10, 380, 280),), ruler=False, specks=False), "fills the photo"),
    ],
    ids=["blank", "ruler only", "busy background", "already framed"],
)
def test_nothing_to_crop_keeps_the_whole_photo_with_a_note(image: Image.Image, note: str) -> None:
    subjects = find_subjects(image)
    assert subjects.crops == () and subjects.note is not None and note in subjects.note


@pytest.mark.parametrize("size", [(16, 16), (16, 320), (320, 16), (17, 23), (5000, 40)])
def test_hostile_sizes_never_fail(size: tuple[int, int]) -> None:
    for image in (Image.new("RGB", size, PAPER), Image.effect_noise(size, 60).convert("RGB")):
        subjects = find_subjects(image)
        for crop in subjects.crops:
            assert crop.x >= 0 and crop.y >= 0
            assert crop.x + crop.width <= size[0] and crop.y + crop.height <= size[1]


def test_many_specks_of_one_size_are_capped() -> None:
    image = Image.new("RGB", (1600, 1200), PAPER)
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x, y = 60 + (i % 8) * 190, 60 + (i // 8) * 220
        draw.ellipse((x, y, x + 60, y + 60), fill=(120, 60, 20))
    subjects = find_subjects(image)
    assert len(subjects.crops) == 24 and "40 subjects found" in (subjects.note or "")


def test_identify_subjects_separate_or_views(tmp_path: Path, tiny_model: Path) -> None:
    classifier = load_classifier(tiny_model)
    path = tmp_path / "tray.png"
    tray(
        shells=((150, 200, 200, 200), (700, 200, 200, 200)),
        colours=((230, 20, 20), (20, 20, 230)),
        background=(250, 250, 250),
    ).save(path)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (20, 230, 20)).save(blank)
    runs = list(identify_subjects(classifier, [path, blank, tmp_path / "missing.jpg"]))
    (photos, outcome), (_, whole), (_, missing) = runs
    assert [r.prediction.taxon for r in outcome.results] == ["Redia rubra", "Caerulea azurea"]
    assert [p.subject for p in photos] == [0, 1] and all(p.crop is not None for p in photos)
    assert outcome.results[1].note is not None and "subject 2 of 2" in outcome.results[1].note
    assert whole.results[0].prediction.taxon == "Viridia viridis" and whole.photos_of(0)[0].crop is None
    assert whole.results[0].note is not None and "whole photo" in whole.results[0].note
    assert missing.results == () and missing.errors[0].kind == "missing"
    (_, views), *_ = identify_subjects(classifier, [path], as_views=True)
    assert len(views.results) == 1 and len(views.photos_of(0)) == 2
    assert views.results[0].note is not None and "views of one specimen" in views.results[0].note


def test_cli_auto_crop_records_each_subject(tmp_path: Path, tiny_model: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from shellgui.cli import main

    path = tmp_path / "tray.png"
    tray(
        shells=((150, 200, 200, 200), (700, 200, 200, 200)),
        colours=((230, 20, 20), (20, 20, 230)),
        background=(250, 250, 250),
    ).save(path)
    db = tmp_path / "c.sqlite"
    args = ["identify", "--model", str(tiny_model), "--db", str(db), "--auto-crop", "--json", str(path)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["taxon"] for r in out["results"]] == ["Redia rubra", "Caerulea azurea"]
    assert out["results"][0]["subjects"] == [0] and out["results"][0]["crops"][0]["width"] >= 200
    assert out["results"][0]["specimen_id"] != out["results"][1]["specimen_id"]
    assert main(args) == 0  # again: the same photo rows, nothing new
    rows = sqlite3.connect(db).execute("SELECT specimen_id, subject, crop FROM photos").fetchall()
    assert len(rows) == 2 and {r[1] for r in rows} == {0, 1}
    assert main([*args[:-1], "--specimen", str(path)]) == 2
    assert "--subjects views" in capsys.readouterr().err


def test_catalogue_folder_auto_crop_makes_a_specimen_per_subject(tmp_path: Path, tiny_model: Path) -> None:
    from shellgui.core.batch import DONE, DUPLICATE, catalogue_folder
    from shellgui.core.catalog import Catalog
    from shellgui.core.errors import UsageError

    folder = tmp_path / "drawer"
    folder.mkdir()
    tray(
        shells=((150, 200, 200, 200), (700, 200, 200, 200)),
        colours=((230, 20, 20), (20, 20, 230)),
        background=(250, 250, 250),
    ).save(folder / "tray.png")
    Image.new("RGB", (300, 200), (20, 230, 20)).save(folder / "green.png")
    classifier = load_classifier(tiny_model)
    catalog = Catalog(tmp_path / "c.sqlite")
    runs = list(catalogue_folder(catalog, classifier, folder, auto_crop=True, workers=1))
    items = [i for p in runs for i in p.items]
    assert runs[-1].done == 2 and runs[-1].failed == 0  # files
    by_subject = {(Path(i.path).name, i.subject): i for i in items}
    assert len(by_subject) == 3 and all(i.status == DONE for i in items)
    assert (
        by_subject["tray.png", 0].taxon == "Redia rubra"
        and by_subject["tray.png", 1].taxon == "Caerulea azurea"
    )
    assert by_subject["tray.png", 1].subjects == 2 and by_subject["tray.png", 1].crop is not None
    assert "whole photo" in (by_subject["green.png", 0].crop_note or "")
    rows = sqlite3.connect(tmp_path / "c.sqlite").execute(
        "SELECT specimen_id, subject, crop FROM photos WHERE crop IS NOT NULL OR subject = 0"
    )
    crops = {(r[1], r[2] is not None) for r in rows}
    assert crops == {(0, True), (1, True), (0, False)}
    again = list(catalogue_folder(catalog, classifier, folder, auto_crop=True, resume=False, workers=1))
    assert again[-1].skipped == 2 and all(i.status == DUPLICATE for p in again for i in p.items)
    with pytest.raises(UsageError, match="cannot bind"):
        from shellgui.core.binding import PhotoBinder

        next(
            catalogue_folder(
                catalog, classifier, folder, auto_crop=True, bind=PhotoBinder.parse("{catalog}.png")
            )
        )
