"""Measuring on a photo: calibration against a ruler, a length in mm stored with the specimen (audited),
and exported (CSV column, DwC dynamicProperties)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from dwca.read import DwCAReader

from shellgui.core.catalog import Catalog, curation
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.schema import AuditEntry, Measurement
from shellgui.core.errors import UsageError
from shellgui.core.export import export
from shellgui.core.measuring import Calibration, describe_method


def test_calibration_and_length() -> None:
    cal = Calibration.between((100, 50), (100, 250), 20.0)  # 20 mm of ruler = 200 px
    assert cal.mm_per_pixel == pytest.approx(0.1)
    assert cal.length_mm((10, 10), (310, 410)) == pytest.approx(50.0)  # a 3-4-5 triangle of 500 px
    method = cal.method((10, 10), (310, 410))
    assert method["calibration"]["mm"] == 20.0 and method["points"] == [[10, 10], [310, 410]]
    assert "20 mm" in describe_method(method)


@pytest.mark.parametrize(
    ("a", "b", "mm", "words"),
    [
        ((0, 0), (3, 4), 10.0, "at least 10 pixels"),
        ((0, 0), (0, 100), 0.0, "above 0"),
        ((0, 0), (0, 100), float("nan"), "above 0"),
        ((0, 0), (0, 100), 1e6, "at most"),
    ],
)
def test_calibration_refuses_what_cannot_be_measured(a, b, mm, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=words):
        Calibration.between(a, b, mm)


def test_measurement_is_stored_audited_exported_and_deleted(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        sid = repo.add_specimen(s, catalog_number="MZ-7").id
    cal = Calibration.between((0, 0), (0, 100), 10.0)
    done = curation.add_measurement(
        catalog, sid, cal.length_mm((0, 0), (0, 234)), "A. Curator", method=cal.method((0, 0), (0, 234))
    )
    assert "shell length 23.4 mm" in done.summary
    with pytest.raises(curation.CurationError, match="positive"):
        curation.add_measurement(catalog, sid, -1.0, "A. Curator")
    with pytest.raises(UsageError):
        curation.add_measurement(catalog, sid, 3.0, None)  # who measured is recorded, never guessed
    out = tmp_path / "out.csv"
    export(catalog, "csv", out)
    with open(out, encoding="utf-8-sig") as fh:
        assert next(csv.DictReader(fh))["shell_length_mm"] == "23.4"
    archive = tmp_path / "out.zip"
    export(catalog, "dwc", archive)
    with DwCAReader(str(archive)) as dwca:
        row = next(iter(dwca)).data
    assert json.loads(row["http://rs.tdwg.org/dwc/terms/dynamicProperties"]) == {"shellLengthMm": 23.4}
    with catalog.session() as s:
        (m,) = s.query(Measurement).all()
        assert (m.measured_by, m.unit, m.method["calibration"]["mm"]) == ("A. Curator", "mm", 10.0)
        measurement_id = m.id
    curation.delete_measurement(catalog, measurement_id, "A. Curator")
    with catalog.session() as s:
        assert s.query(Measurement).count() == 0
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions == [curation.MEASURE, curation.DELETE_MEASUREMENT]


MOF = "http://rs.tdwg.org/dwc/terms/MeasurementOrFact"
DWC = "http://rs.tdwg.org/dwc/terms/"


def test_every_measurement_is_a_measurement_or_fact_row(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        measured = repo.add_specimen(s, catalog_number="MZ-1").id
        plain = repo.add_specimen(s, catalog_number="MZ-2").id
    cal = Calibration.between((0, 0), (0, 100), 10.0)
    curation.add_measurement(catalog, measured, 23.4, "A. Curator", method=cal.method((0, 0), (0, 234)))
    curation.add_measurement(catalog, measured, 23.61, "B. Other")  # a second look: both are exported
    archive = tmp_path / "out.zip"
    export(catalog, "dwc", archive)
    with DwCAReader(str(archive)) as dwca:
        assert MOF in [d.type for d in dwca.descriptor.extensions]
        facts = {
            row.data[f"{DWC}catalogNumber"]: [e.data for e in row.extensions if e.rowtype == MOF]
            for row in dwca
        }
    assert facts["MZ-2"] == [] and plain
    first, second = facts["MZ-1"]
    assert first[f"{DWC}measurementType"] == "shell length"
    assert (first[f"{DWC}measurementValue"], first[f"{DWC}measurementUnit"]) == ("23.4", "mm")
    assert first[f"{DWC}measurementDeterminedBy"] == "A. Curator"
    assert first[f"{DWC}measurementDeterminedDate"][:4].isdigit()
    assert "10 mm" in first[f"{DWC}measurementMethod"]
    assert first[f"{DWC}measurementID"] != second[f"{DWC}measurementID"]
    assert second[f"{DWC}measurementValue"] == "23.61"
    assert second[f"{DWC}measurementDeterminedBy"] == "B. Other"
    assert second[f"{DWC}measurementMethod"] == ""  # typed, not measured on a photo: no method claimed


def _values(catalog: Catalog) -> list[tuple[int, float]]:
    with catalog.session() as s:
        return [(m.id, m.value) for m in s.query(Measurement).order_by(Measurement.id)]


def test_adding_and_deleting_a_measurement_can_be_undone(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        sid = repo.add_specimen(s, catalog_number="MZ-7").id
    first = curation.add_measurement(catalog, sid, 20.0, "A. Curator", method={"calibration": {"mm": 10}})
    added = curation.add_measurement(catalog, sid, 21.5, "A. Curator")
    edited = curation.edit_specimen(catalog, sid, {"locality": "Banyuls"}, "A. Curator")
    # A measurement is a side note: undoing it needs no undoing of the later edit, and vice versa.
    undone = curation.undo(catalog, added.action_id or 0, "A. Curator")
    assert "undid" in undone.summary and [v for _, v in _values(catalog)] == [20.0]
    with pytest.raises(curation.CurationError, match="already undone"):
        curation.undo(catalog, added.action_id or 0, "A. Curator")
    ((first_id, _),) = _values(catalog)
    deleted = curation.delete_measurement(catalog, first_id, "B. Other")
    assert _values(catalog) == []
    curation.undo(catalog, deleted.action_id or 0, "B. Other")
    with catalog.session() as s:
        (back,) = s.query(Measurement).all()
        assert (back.id, back.value, back.measured_by, back.method) == (
            first_id,
            20.0,
            "A. Curator",
            {"calibration": {"mm": 10}},
        )
    curation.undo(catalog, first.action_id or 0, "A. Curator")  # the restored row is the same measurement
    assert _values(catalog) == []
    curation.undo(catalog, edited.action_id or 0, "A. Curator")
    with catalog.session() as s:
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions.count(curation.UNDO) == 4


def test_undoing_a_measurement_that_was_deleted_since_is_refused(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        sid = repo.add_specimen(s).id
    added = curation.add_measurement(catalog, sid, 12.0, "A. Curator")
    ((mid, _),) = _values(catalog)
    curation.delete_measurement(catalog, mid, "A. Curator")
    with pytest.raises(curation.CurationError, match="deleted since"):
        curation.undo(catalog, added.action_id or 0, "A. Curator")
