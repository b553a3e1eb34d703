"""Crop boxes: checked against the photo, applied at any decode size, identified, stored with the record."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from PIL import Image

from shellgui.core.catalog import Catalog, curation, queries
from shellgui.core.catalog.schema import Photo as PhotoRow
from shellgui.core.crops import Crop, CropError, checked_crop, crop_from_json, open_cropped, parse_crop
from shellgui.core.identify import identify_cropped, identify_paths, record
from shellgui.core.imaging import open_photo
from shellgui.core.inference import load_classifier


def two_colour_photo(path: Path, size: tuple[int, int] = (400, 200)) -> Path:
    """Left half red, right half blue."""
    image = Image.new("RGB", size, (20, 20, 230))
    image.paste((230, 20, 20), (0, 0, size[0] // 2, size[1]))
    image.save(path, quality=95)
    return path


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((10, 20, 100, 50), Crop(10, 20, 100, 50)),
        ((110, 70, -100, -50), Crop(10, 20, 100, 50)),  # dragged up and left
        ((10.4, 20.6, 99.2, 49.1), Crop(10, 20, 100, 50)),  # whole pixels, never less than the box
        ((-50, -50, 200, 200), Crop(0, 0, 150, 150)),  # clipped to the photo
        ((0, 0, 400, 200), None),  # the whole photo is no crop
        ((-10, -10, 1e9, 1e9), None),
    ],
)
def test_checked_crop_turns_clips_and_rounds(box: tuple[float, ...], expected: Crop | None) -> None:
    assert checked_crop(*box, 400, 200) == expected


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((500, 10, 50, 50), "outside"),
        ((10, 10, 5, 100), "at least 16 pixels"),
        ((390, 10, 50, 50), "at least 16 pixels"),  # only 10 pixels left once clipped
        ((math.nan, 0, 50, 50), "finite"),
        ((0, math.inf, 50, 50), "finite"),
        (("10", 0, 50, 50), "must be a number"),
        ((True, 0, 50, 50), "must be a number"),
    ],
)
def test_checked_crop_refuses_unusable_boxes(box: tuple[object, ...], message: str) -> None:
    with pytest.raises(CropError, match=message):
        checked_crop(*box, 400, 200)  # type: ignore[arg-type]


def test_stored_and_typed_crops() -> None:
    assert crop_from_json({"x": 1, "y": 2, "width": 30, "height": 40}, 100, 100) == Crop(1, 2, 30, 40)
    assert crop_from_json(None, 100, 100) is None
    for bad in ({"x": 1}, [1, 2, 3, 4], "1,2,3,4", {"x": 1, "y": 2, "width": 30, "height": 40, "z": 0}):
        with pytest.raises(CropError, match="x, y, width, height"):
            crop_from_json(bad, 100, 100)
    assert parse_crop(" 120, 80,600 ,400") == (120, 80, 600, 400)
    with pytest.raises(CropError, match="X,Y,WIDTH,HEIGHT"):
        parse_crop("120x80")
    assert Crop(0, 0, 10, 10).iou(Crop(5, 0, 10, 10)) == pytest.approx(5 / 15)


def test_a_crop_is_cut_at_full_resolution_coordinates_whatever_the_decode_size(tmp_path: Path) -> None:
    path = two_colour_photo(tmp_path / "tray.jpg", (1600, 800))
    draft = open_photo(path, min_side=100)  # decoded at 1/4 or 1/8
    assert draft.image.width < 1600
    photo = open_cropped(path, Crop(800, 0, 800, 800), min_side=100, size=(1600, 800))
    assert photo.crop == Crop(800, 0, 800, 800) and photo.info.width == 1600
    assert min(photo.image.size) >= 100  # enough pixels for the model, not a draft's few
    assert photo.image.getpixel((10, 10))[2] > 200  # blue: the right half
    with pytest.raises(CropError, match="outside"):
        open_cropped(path, Crop(1700, 0, 50, 50), min_side=100)


def test_the_crop_is_what_gets_identified_and_recorded(tmp_path: Path, tiny_model: Path) -> None:
    classifier = load_classifier(tiny_model)
    path = two_colour_photo(tmp_path / "tray.jpg")
    photos, outcome = identify_paths(classifier, [path])
    blue = identify_cropped(classifier, photos, [Crop(200, 0, 200, 200)])
    red = identify_cropped(classifier, photos, [Crop(0, 0, 200, 200)])
    assert blue[1].prediction.taxon == "Caerulea azurea"
    assert red[1].prediction.taxon == "Redia rubra"
    cropped = blue[0]
    catalog = Catalog(tmp_path / "c.sqlite")
    done = record(catalog, classifier, cropped, blue[1].prediction, by="tester")
    with catalog.session() as session:
        row = session.query(PhotoRow).one()
        assert row.crop == {"x": 200, "y": 0, "width": 200, "height": 200}
        assert (row.width, row.height) == (400, 200)  # the file's facts stay the whole photo's
        thumb = Image.open(io.BytesIO(row.thumbnail))
        assert thumb.width == thumb.height and thumb.getpixel((10, 10))[2] > 200  # the thumbnail is the crop
    found = queries.find_catalogued_paths(catalog, [str(path)])
    assert found is not None and found.specimen_id == done.specimen_id

    # Another crop of the catalogued photo is an edit (logged, undoable), never a silent replacement.
    with pytest.raises(curation.CurationError, match="another crop"):
        record(catalog, classifier, red[0], red[1].prediction, by="tester")
    edit = record(catalog, classifier, red[0], red[1].prediction, by="tester", edit=True)
    assert "1 crop changed" in edit.summary
    with catalog.session() as session:
        assert session.query(PhotoRow).one().crop == {"x": 0, "y": 0, "width": 200, "height": 200}
    assert edit.action_id is not None
    curation.undo(catalog, edit.action_id, "tester")
    with catalog.session() as session:
        row = session.query(PhotoRow).one()
        assert row.crop == {"x": 200, "y": 0, "width": 200, "height": 200}
        assert Image.open(io.BytesIO(row.thumbnail)).getpixel((10, 10))[2] > 200
    # The whole photo identified again never clears the stored crop.
    again = record(catalog, classifier, photos, outcome.results[0].prediction, by="tester")
    assert "crop" not in again.summary
    assert queries.stored_crops(catalog, photos) == [Crop(200, 0, 200, 200)]
    # ... only an edit of the whole photo does.
    cleared = record(catalog, classifier, photos, outcome.results[0].prediction, by="tester", edit=True)
    assert "1 crop changed" in cleared.summary and queries.stored_crops(catalog, photos) == [None]


def test_cli_crop_identifies_and_records_the_box(tmp_path: Path, tiny_model: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from shellgui.cli import main

    path = two_colour_photo(tmp_path / "tray.jpg")
    db = tmp_path / "c.sqlite"
    base = ["identify", "--model", str(tiny_model), "--db", str(db), "--json"]
    assert main([*base, "--crop", "200,0,200,200", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["taxon"] == "Caerulea azurea" and result["crops"] == [Crop(200, 0, 200, 200).as_json()]
    assert queries.stored_crops(Catalog(db), [open_photo(path)]) == [Crop(200, 0, 200, 200)]
    assert main([*base, "--crop", "900,0,50,50", str(path)]) == 2
    assert "outside the 400x200 photo" in capsys.readouterr().err
    assert main([*base, "--crop", "1,2,3", str(path)]) == 2
    assert "X,Y,WIDTH,HEIGHT" in capsys.readouterr().err
    assert main([*base, "--crop", "0,0,50,50", str(path), str(path)]) == 2
    assert "exactly one photo" in capsys.readouterr().err
