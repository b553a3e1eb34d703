"""Binding photos to catalogued specimens by file name: templates, regexes, mapping CSVs, misses."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from shellgui.core.batch import FAILED, catalogue_folder
from shellgui.core.binding import NO_MATCH, PhotoBinder
from shellgui.core.catalog import PREDICTED, VALIDATED, Catalog, curation
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.decisions import Decision
from shellgui.core.errors import UsageError
from shellgui.core.inference import Classifier


def test_patterns(tmp_path: Path) -> None:
    template = PhotoBinder.parse("MZ-{catalog}_{view}.jpg")
    assert template.candidates("/x/MZ-1187_a.jpg") == ["1187", "MZ-1187"]
    assert template.candidates("MZ-1187_dorsal.JPG") == ["1187", "MZ-1187"]
    assert template.candidates("IMG_0042.jpg") == []
    assert PhotoBinder.parse("{catalog} (*).jpg").candidates("MZ-12 (2).jpg") == ["MZ-12"]
    regex = PhotoBinder.parse(r"re:(?P<catalog>\d+)-(?P<view>[abc])\.tif")
    assert regex.candidates("0042-b.tif") == ["0042"] and regex.candidates("0042-d.tif") == []
    mapping = tmp_path / "bind.csv"
    mapping.write_text("file,catalogNumber\nDSC_1.jpg,MZ-7\nsub/DSC_2.jpg,MZ-8\n")
    table = PhotoBinder.parse(str(mapping))
    assert table.candidates("/a/DSC_2.jpg") == ["MZ-8"] and table.candidates("DSC_3.jpg") == []
    for bad in ("photo_{view}.jpg", "re:(?P<catalog>[", "re:(\\d+).jpg"):
        with pytest.raises(UsageError):
            PhotoBinder.parse(bad)
    (tmp_path / "bad.csv").write_text("name,number\nx,y\n")
    with pytest.raises(UsageError, match="'file' and 'catalogNumber'"):
        PhotoBinder.parse(str(tmp_path / "bad.csv"))


def test_catalogue_folder_binds_views_and_reports_misses(tmp_path: Path, tiny_model: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        checked = repo.add_specimen(s, catalog_number="MZ-1").id
        unchecked = repo.add_specimen(s, catalog_number="MZ-2").id
    curation.decide(catalog, checked, Decision("Bolinus brandaris", "species"), by="Curator")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, name in enumerate(("MZ-1_a.jpg", "MZ-1_b.jpg", "MZ-2_a.jpg", "MZ-3_a.jpg", "IMG_0042.jpg")):
        Image.new("RGB", (64, 48), (30 * i, 200 - 30 * i, 90)).save(folder / name)
    binder = PhotoBinder.parse("MZ-{catalog}_{view}.jpg")
    progress = list(catalogue_folder(catalog, Classifier(tiny_model), folder, bind=binder))
    last = progress[-1]
    assert (last.done, last.failed) == (3, 2)
    failures = {Path(i.path).name: i.reason for p in progress for i in p.items if i.status == FAILED}
    assert failures == {
        "MZ-3_a.jpg": "matches no record: catalogue number 3 or MZ-3 is not in the catalogue",
        "IMG_0042.jpg": NO_MATCH,
    }
    with catalog.session() as s:
        assert [Path(p).name for p in repo.specimen_photos(s, checked)] == ["MZ-1_a.jpg", "MZ-1_b.jpg"]
        assert [Path(p).name for p in repo.specimen_photos(s, unchecked)] == ["MZ-2_a.jpg"]
        assert len(repo.list_specimens(s)) == 2  # no specimen made for the misses
        assert [h.verification_status for h in repo.history(s, checked)] == [VALIDATED]  # not over a check
        assert [h.verification_status for h in repo.history(s, unchecked)] == [PREDICTED]
