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
