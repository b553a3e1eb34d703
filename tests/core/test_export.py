"""CSV and Darwin Core exports: content, history, and safety against formula injection."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from shellgui.core.catalog import Catalog
from shellgui.core.catalog import repository as repo
from shellgui.core.errors import UsageError
from shellgui.core.export import export, safe_cell
from shellgui.core.identify import identify_paths, record
from shellgui.core.inference import Classifier


@pytest.fixture
def filled_catalog(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]) -> Catalog:
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, [colour_photos["red"]])
    sid = record(
        catalog,
        classifier,
        photos,
        outcome.results[0].prediction,
        catalog_number='=HYPERLINK("http://evil")',
        locality="@SUM(A1)",
        collector="-2+3",
    ).specimen_id
    with catalog.session() as s, s.begin():
        repo.validate_identification(s, sid, "Redia sp.", rank="genus", by="J. Curator")
    return catalog


def test_safe_cell() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("Bolinus") == "Bolinus"
    assert safe_cell(-3.5) == -3.5 and safe_cell(None) == ""


def test_csv_export(filled_catalog: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert export(filled_catalog, "csv", out) == 1
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["taxon"] == "Redia sp." and rows[0]["verification_status"] == "ValidatedByHuman"
    assert rows[0]["catalog_number"].startswith("'=") and rows[0]["locality"] == "'@SUM(A1)"
    assert rows[0]["collector"] == "'-2+3"


def test_darwin_core_archive(filled_catalog: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "dwca.zip"
    export(filled_catalog, "dwc", out)
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {"meta.xml", "occurrence.csv", "identification.csv"}
        occ = list(csv.DictReader(io.StringIO(archive.read("occurrence.csv").decode())))
        hist = list(csv.DictReader(io.StringIO(archive.read("identification.csv").decode())))
        meta = archive.read("meta.xml").decode()
    assert occ[0]["basisOfRecord"] == "PreservedSpecimen" and occ[0]["scientificName"] == "Redia sp."
    assert occ[0]["identificationVerificationStatus"] == "ValidatedByHuman"
    assert occ[0]["catalogNumber"].startswith("'=")
    assert [h["identificationVerificationStatus"] for h in hist] == ["PredictedByMachine", "ValidatedByHuman"]
    assert "model=tiny-test 1.0" in hist[0]["identificationRemarks"]
    assert "score=0.99" in hist[0]["identificationRemarks"]
    assert (
        hist[0]["identifiedBy"] == "shellgui model tiny-test 1.0" and hist[1]["identifiedBy"] == "J. Curator"
    )
    assert "identificationVerificationStatus" in meta


def test_unknown_format(filled_catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        export(filled_catalog, "xlsx", tmp_path / "x")
