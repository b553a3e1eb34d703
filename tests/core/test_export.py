"""CSV and Darwin Core exports: content, history, and safety against formula injection."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from shellgui.core.catalog import Catalog
from shellgui.core.catalog import repository as repo
from shellgui.core.dwc import DwcOptions
from shellgui.core.errors import UsageError
from shellgui.core.export import export, safe_cell
from shellgui.core.identify import identify_paths, record
from shellgui.core.inference import Classifier

DWC = "http://rs.tdwg.org/dwc/terms/"
NOTES = 'line one\r\nline "two"\rlone CR\nlone LF, comma; semicolon\t=tab '


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
    export(filled_catalog, "dwc", out, DwcOptions(creator="J. Curator"))
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {
            "meta.xml",
            "eml.xml",
            "occurrence.csv",
            "identification.csv",
            "measurementorfact.csv",  # header only: nothing was measured
        }
        occ = list(csv.DictReader(io.StringIO(archive.read("occurrence.csv").decode())))
        hist = list(csv.DictReader(io.StringIO(archive.read("identification.csv").decode())))
        meta = archive.read("meta.xml").decode()
    assert occ[0]["basisOfRecord"] == "PreservedSpecimen"
    assert occ[0]["scientificName"] == "Redia" and occ[0]["taxonRank"] == "genus"  # "Redia sp."
    assert occ[0]["genus"] == "Redia"
    assert occ[0]["identificationVerificationStatus"] == "ValidatedByHuman"
    assert occ[0]["catalogNumber"] == '=HYPERLINK("http://evil")'  # no spreadsheet apostrophe in DwC
    assert occ[0]["associatedMedia"] == ""  # no local paths; no media base URL set
    assert [h["identificationVerificationStatus"] for h in hist] == ["PredictedByMachine", "ValidatedByHuman"]
    assert "model=tiny-test 1.0" in hist[0]["identificationRemarks"]
    assert "score=0.99" in hist[0]["identificationRemarks"]
    assert hist[0]["identifiedBy"] == "" and hist[1]["identifiedBy"] == "J. Curator"
    assert 'rowType="http://rs.tdwg.org/dwc/terms/Identification"' in meta and 'metadata="eml.xml"' in meta


def test_unknown_format(filled_catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        export(filled_catalog, "xlsx", tmp_path / "x")


def test_darwin_core_round_trip_with_python_dwca_reader(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    from dwca.read import DwCAReader

    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    hostile = {
        "locality": "Plage du \"Nid d'Aigle\",\r\nÎle d'Yeu\r— 貝殻",
        "collector": "Ångström, Ø.\rO'Brien",
        "catalog_number": "=cmd|' /C calc'!A0",
    }
    for number, colour in enumerate(("red", "grey"), start=1):
        photos, outcome = identify_paths(classifier, [colour_photos[colour]])
        record(
            catalog,
            classifier,
            photos,
            outcome.results[0].prediction,
            **{k: v + colour for k, v in hostile.items()},
        )
        with catalog.session() as s, s.begin():
            repo.update_specimen(s, number, notes=NOTES + colour)
    out = tmp_path / "dwca.zip"
    options = DwcOptions(
        creator="Marie Curator",
        media_base_url="https://example.org/shells/",
        taxonomy={"Redia rubra": {"family": "Rediidae", "phylum": "Mollusca", "kingdom": "Animalia"}},
    )
    assert export(catalog, "dwc", out, options) == 2
    with DwCAReader(str(out)) as archive:
        assert archive.descriptor.core.type == "http://rs.tdwg.org/dwc/terms/Occurrence"
        assert [e.type for e in archive.descriptor.extensions] == [
            "http://rs.tdwg.org/dwc/terms/Identification",
            "http://rs.tdwg.org/dwc/terms/MeasurementOrFact",
        ]
        assert archive.metadata is not None  # eml.xml, found through meta.xml
        rows = list(archive)
        assert len(rows) == 2
        red, grey = rows
        for row, colour in ((red, "red"), (grey, "grey")):
            for key, term in (
                ("locality", "locality"),
                ("collector", "recordedBy"),
                ("catalog_number", "catalogNumber"),
            ):
                # one-line fields are normalised by the catalogue; their quotes and unicode survive
                assert row.data[DWC + term] == " ".join((hostile[key] + colour).split())
            assert row.data[DWC + "occurrenceRemarks"] == NOTES + colour  # line breaks survive
        assert red.data[DWC + "scientificName"] == "Redia rubra" and red.data[DWC + "taxonRank"] == "species"
        assert red.data[DWC + "family"] == "Rediidae" and red.data[DWC + "genus"] == "Redia"
        assert red.data[DWC + "kingdom"] == "Animalia" and red.data[DWC + "phylum"] == "Mollusca"
        assert red.data[DWC + "associatedMedia"] == "https://example.org/shells/red.jpg"
        # grey is "uncertain": no name, no rank outside the vocabulary, and the reason in the remarks
        assert grey.data[DWC + "scientificName"] == "" and grey.data[DWC + "taxonRank"] == ""
        assert grey.data[DWC + "identificationRemarks"].startswith("undecided: uncertain")
        assert len(red.extensions) == 1 and red.extensions[0].data[DWC + "identifiedBy"] == ""
    with zipfile.ZipFile(out) as archive:
        eml = archive.read("eml.xml").decode()
    assert "<surName>Curator</surName>" in eml and "creativecommons.org/licenses/by/4.0" in eml


def test_csv_guards_cells_split_by_semicolons_and_tabs(filled_catalog: Catalog, tmp_path: Path) -> None:
    assert safe_cell("ok;=HYPERLINK(1)") == "ok;'=HYPERLINK(1)"
    assert safe_cell("a\t@SUM(1)") == "a\t'@SUM(1)"
    assert safe_cell("Bolinus brandaris; Linnaeus, 1758") == "Bolinus brandaris; Linnaeus, 1758"
    with filled_catalog.session() as s, s.begin():
        repo.update_specimen(s, 1, notes="fine;=1+1")
    out = tmp_path / "out.csv"
    export(filled_catalog, "csv", out)
    text = out.read_text(encoding="utf-8-sig")
    assert '"fine;\'=1+1"' in text  # quoted, and the part after the separator is guarded
    for line in text.splitlines()[1:]:
        cells = line.replace('"', "").split(";")
        assert not any(c.startswith(("=", "+", "@")) for c in cells)


@pytest.mark.parametrize("target", [".", "/", "dir", "link", "dev"])
def test_export_never_writes_through_folders_links_or_devices(
    filled_catalog: Catalog, tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    paths = {".": ".", "/": "/", "dir": str(tmp_path), "link": str(tmp_path / "l.csv"), "dev": "/dev/null"}
    if target == "link":
        (tmp_path / "l.csv").symlink_to(victim)
    before = sorted(p.name for p in tmp_path.iterdir())
    for fmt in ("csv", "dwc"):
        with pytest.raises(UsageError) as info:
            export(filled_catalog, fmt, paths[target])
        assert "\n" not in str(info.value)
    assert victim.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == before
