"""Export additions: coordinates imported, stored and exported; a Darwin Core export limited to checked
records, a date range of identification or a search; CSV with the model's alternatives and higher ranks."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from dwca.read import DwCAReader
from sqlalchemy import update

from shellgui.core.catalog import VALIDATED, Catalog
from shellgui.core.catalog.browse import SpecimenFilter
from shellgui.core.catalog.schema import Identification
from shellgui.core.export import export
from shellgui.core.importing import apply_import, plan_import, read_records
from shellgui.core.importing.records import coordinate
from tests.core.test_import import source  # noqa: F401  (fixture: three specimens, one checked)


def _with_coordinates(tmp_path: Path) -> Catalog:
    table = tmp_path / "records.csv"
    table.write_text(
        "catalogNumber,scientificName,identifiedBy,dateIdentified,decimalLatitude,decimalLongitude\n"
        "MZ-1,Bolinus brandaris,A. Curator,2020-01-02,40.85,14.27\n"
        "MZ-2,Bolinus brandaris,A. Curator,2020-01-02,0,-0.5\n"
        "MZ-3,Bolinus brandaris,A. Curator,2020-01-02,91,14.27\n"
        "MZ-4,Bolinus brandaris,A. Curator,2020-01-02,north,east\n",
        encoding="utf-8",
    )
    catalog = Catalog(tmp_path / "c.sqlite")
    plan = plan_import(catalog, read_records(table))
    notes = [n for c in plan.changes for n in c.notes]
    assert any("decimalLatitude '91' is outside -90..90" in n for n in notes)
    assert any("decimalLatitude 'north' is not a number" in n for n in notes)
    apply_import(catalog, plan, by="importer")
    return catalog


def test_coordinates_are_checked_stored_exported_and_round_trip(tmp_path: Path) -> None:
    catalog = _with_coordinates(tmp_path)
    archive = tmp_path / "out.zip"
    assert export(catalog, "dwc", archive) == 4
    with DwCAReader(str(archive)) as dwca:
        rows = {r.data["http://rs.tdwg.org/dwc/terms/catalogNumber"]: r.data for r in dwca}
    lat = "http://rs.tdwg.org/dwc/terms/decimalLatitude"
    lon = "http://rs.tdwg.org/dwc/terms/decimalLongitude"
    assert (rows["MZ-1"][lat], rows["MZ-1"][lon]) == ("40.85", "14.27")
    assert (rows["MZ-2"][lat], rows["MZ-2"][lon]) == ("0.0", "-0.5")  # the equator is a coordinate
    assert rows["MZ-3"][lat] == "" and rows["MZ-4"][lat] == ""  # refused values are not invented
    again = Catalog(tmp_path / "again.sqlite")
    apply_import(again, plan_import(again, read_records(archive)), by="importer")
    csv_out = tmp_path / "again.csv"
    export(again, "csv", csv_out)
    with open(csv_out, encoding="utf-8-sig") as fh:
        by_number = {r["catalog_number"]: r for r in csv.DictReader(fh)}
    assert (by_number["MZ-1"]["latitude"], by_number["MZ-1"]["longitude"]) == ("40.85", "14.27")
    assert by_number["MZ-1"]["family"] == "Muricidae"  # higher ranks from the name backbone
    # a different value in a later file is a reported conflict, never an overwrite
    changed = tmp_path / "changed.csv"
    changed.write_text("catalogNumber,decimalLatitude\nMZ-1,41.0\n", encoding="utf-8")
    plan = plan_import(catalog, read_records(changed))
    assert any("decimal_latitude is 40.85 in the catalogue, 41.0 in the file" in c for c in plan.conflicts)


def test_coordinate_parsing() -> None:
    assert coordinate("decimalLongitude", " -179,5 ") == -179.5
    for bad in ("nan", "181", "", "1e999"):
        with pytest.raises(ValueError):
            coordinate("decimalLongitude", bad)


def test_dwc_export_limited_to_checked_dates_and_search(source: Catalog, tmp_path: Path) -> None:  # noqa: F811
    def numbers(where: SpecimenFilter) -> set[str]:
        out = tmp_path / "limited.zip"
        export(source, "dwc", out, where=where)
        with DwCAReader(str(out)) as dwca:
            return {r.data["http://rs.tdwg.org/dwc/terms/catalogNumber"] for r in dwca}

    assert numbers(SpecimenFilter()) == {"MZ-1", "MZ-2", ""}
    assert numbers(SpecimenFilter(status=VALIDATED)) == {"MZ-1"}
    assert numbers(SpecimenFilter(text="MZ-2")) == {"MZ-2"}
    with source.session() as s, s.begin():  # MZ-2's identification was made long ago
        s.execute(
            update(Identification)
            .where(Identification.specimen_id == 2)
            .values(created_at=datetime(2001, 3, 4, 12))
        )
    assert numbers(SpecimenFilter(identified_before=datetime(2001, 3, 5))) == {"MZ-2"}
    since = datetime.now() - timedelta(days=1)
    assert "MZ-2" not in numbers(SpecimenFilter(identified_since=since))


def test_csv_has_alternatives_and_the_cli_filters(source: Catalog, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out.csv"
    base = [sys.executable, "-m", "shellgui", "export", "--db", str(tmp_path / "source.sqlite")]
    done = subprocess.run([*base, str(out), "--checked-only"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open(out, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["catalog_number"] for r in rows] == ["MZ-1"]
    export(source, "csv", out)
    with open(out, encoding="utf-8-sig") as fh:
        unchecked = next(r for r in csv.DictReader(fh) if r["catalog_number"] == "MZ-2")
    assert "%)" in unchecked["alternatives"] and ";" in unchecked["alternatives"]
    bad = subprocess.run([*base, str(out), "--identified-from", "2020-13-01"], capture_output=True, text=True)
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr
    reversed_range = [*base, str(out), "--identified-from", "2020-02-01", "--identified-to", "2020-01-01"]
    bad = subprocess.run(reversed_range, capture_output=True, text=True)
    assert bad.returncode != 0 and "before" in bad.stderr
