"""Importing records: round trips through our own exports, a Specify-style archive, spreadsheets with a
column mapping, dry runs, idempotent re-imports and conflicts that are reported, never overwritten."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from shellgui.core.catalog import VALIDATED, Catalog, curation
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.decisions import Decision
from shellgui.core.catalog.schema import Identification, Photo, Specimen
from shellgui.core.errors import UsageError
from shellgui.core.export import export
from shellgui.core.identify import identify_paths, record
from shellgui.core.importing import apply_import, plan_import, read_records
from shellgui.core.importing.tables import guess_mapping
from shellgui.core.inference import Classifier


def snapshot(catalog: Catalog) -> dict[str, object]:
    """Specimens by catalogue number (or first photo) with their fields, history and photos."""
    out: dict[str, object] = {}
    with catalog.session() as s:
        for sp in s.scalars(select(Specimen)):
            photos = sorted(p.sha256 for p in s.scalars(select(Photo).where(Photo.specimen_id == sp.id)))
            history = [
                (
                    i.taxon,
                    i.rank,
                    i.verification_status,
                    i.identified_by if i.verification_status == VALIDATED else i.model_name,
                    i.created_at.replace(microsecond=0),
                )
                for i in s.scalars(
                    select(Identification)
                    .where(Identification.specimen_id == sp.id)
                    .order_by(Identification.id)
                )
            ]
            key = sp.catalog_number or photos[0]
            out[key] = ((sp.locality, sp.collector, sp.collected_on, sp.notes), history, photos)
    return out


@pytest.fixture
def source(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]) -> Catalog:
    """Three specimens: checked then corrected (with a synonym), unchecked, and one with no number."""
    catalog = Catalog(tmp_path / "source.sqlite")
    classifier = Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, [colour_photos["red"], colour_photos["green"]])
    first = record(
        catalog,
        classifier,
        [photos[0]],
        outcome.results[0].prediction,
        decision=Decision.named("Redia rubra"),
        by="A. Curator",
        catalog_number="MZ-1",
        locality="Naples",
        collector="-2+3",
        collected_on="1999-05-01",
    )
    curation.decide(catalog, first.specimen_id, Decision("Lissachatina fulica", "species"), by="B. Expert")
    record(catalog, classifier, [photos[1]], outcome.results[1].prediction, catalog_number="MZ-2")
    blue, out2 = identify_paths(classifier, [colour_photos["blue"]])
    record(catalog, classifier, blue, out2.results[0].prediction)
    return catalog


def test_dwc_round_trip_and_idempotent_reimport(source: Catalog, tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    export(source, "dwc", archive)
    target = Catalog(tmp_path / "target.sqlite")
    table = read_records(archive)
    assert len(table.records) == 3 and len(table.records[0].history) == 3
    dry = plan_import(target, table)
    # A Darwin Core archive carries no local photo paths (associatedMedia is for published URLs), so the
    # specimen without a catalogue number cannot be recognised again: it is reported, not guessed.
    assert (dry.new, dry.updated, dry.conflicts) == (2, 0, [])
    assert len(dry.skipped) == 1 and "no catalogNumber" in dry.skipped[0]
    with target.session() as s:
        assert repo.list_specimens(s) == []  # a plan writes nothing
    apply_import(target, dry, by="importer")
    catalogued = {k: v[:2] for k, v in snapshot(source).items() if k.startswith("MZ-")}  # type: ignore[index]
    assert {k: v[:2] for k, v in snapshot(target).items()} == catalogued  # type: ignore[index]
    again = plan_import(target, read_records(archive))
    assert (again.new, again.updated, again.unchanged, again.conflicts) == (0, 0, 2, [])
    with target.session() as s:
        log = s.execute(select(curation.AuditEntry.by, curation.AuditEntry.action)).all()
    assert set(log) == {("importer", curation.IMPORT)}


def test_csv_round_trip_keeps_current_identifications(source: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    export(source, "csv", out)
    target = Catalog(tmp_path / "target.sqlite")
    plan = plan_import(target, read_records(out))
    apply_import(target, plan, by="importer")
    before, after = snapshot(source), snapshot(target)
    assert before.keys() == after.keys()
    for key, (fields, history, photos) in before.items():  # type: ignore[misc]
        got_fields, got_history, got_photos = after[key]  # type: ignore[misc]
        assert (got_fields, got_photos) == (fields, photos)
        assert got_history[-1][:3] == history[-1][:3]  # a CSV holds the current identification only
    assert plan_import(target, read_records(out)).unchanged == 3


def test_specify_style_archive(tmp_path: Path) -> None:
    meta = """<archive xmlns="http://rs.tdwg.org/dwc/text/">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" ignoreHeaderLines="1"
        rowType="http://rs.tdwg.org/dwc/terms/Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
    <field index="1" term="http://rs.tdwg.org/dwc/terms/catalogNumber"/>
    <field index="2" term="http://rs.tdwg.org/dwc/terms/scientificName"/>
    <field index="3" term="http://rs.tdwg.org/dwc/terms/identifiedBy"/>
    <field index="4" term="http://rs.tdwg.org/dwc/terms/dateIdentified"/>
    <field index="5" term="http://rs.tdwg.org/dwc/terms/locality"/>
    <field index="6" term="http://rs.tdwg.org/dwc/terms/recordedBy"/>
    <field index="7" term="http://rs.tdwg.org/dwc/terms/eventDate"/>
    <field index="8" term="http://rs.tdwg.org/dwc/terms/decimalLatitude"/>
  </core>
</archive>"""
    rows = [
        "id\tcatalogNumber\tscientificName\tidentifiedBy\tdateIdentified\tlocality\trecordedBy\teventDate\tlat",
        "a1\tKU-101\tAchatina fulica\tL. Smith\t1987-06-02\tMombasa\tJ. Doe\t1986-11-20\t-4.05",
        "a2\tKU-102\tBolinus brandaris\tL. Smith\t1990\tNaples\t\t\t",
        "a3\tKU-103\t\t\t\tnowhere\t\t\t",
    ]
    archive = tmp_path / "specify.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("meta.xml", meta)
        z.writestr("occurrence.txt", "\n".join(rows) + "\n")
    catalog = Catalog(tmp_path / "c.sqlite")
    plan = plan_import(catalog, read_records(archive))
    apply_import(catalog, plan, by="importer")
    with catalog.session() as s:
        rows_by = {r.catalog_number: r for r in repo.list_specimens(s)}
        history = repo.history(s, rows_by["KU-101"].specimen_id)
    assert set(rows_by) == {"KU-101", "KU-102", "KU-103"}
    assert rows_by["KU-103"].taxon is None and rows_by["KU-103"].locality == "nowhere"
    (ident,) = history
    assert (ident.taxon, ident.verification_status, ident.identified_by) == (
        "Lissachatina fulica",
        VALIDATED,
        "L. Smith",
    )
    assert ident.created_at == datetime(1987, 6, 2) and "synonym" in (ident.remarks or "")
    assert rows_by["KU-101"].collector == "J. Doe" and rows_by["KU-101"].collected_on == "1986-11-20"


def test_spreadsheet_mapping_conflicts_and_skips(tmp_path: Path, colour_photos: dict[str, Path]) -> None:
    import openpyxl

    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        sid = repo.add_specimen(s, catalog_number="MZ-9", locality="Capri").id
    curation.decide(catalog, sid, Decision("Bolinus brandaris", "species"), by="Curator")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Cat. No.", "Taxon name", "Det.", "Det. date", "Site", "Image"])
    sheet.append(["MZ-9", "Conus", "X", datetime(2001, 1, 1), "Ischia", None])  # older: a conflict
    sheet.append(["MZ-10", "Achatina fulica", "Y", datetime(2020, 5, 6), "Kenya", "photos/red.jpg"])
    sheet.append([None, "Alia unifasciata", "Z", None, None, None])  # no key at all: skipped
    book.save(tmp_path / "records.xlsx")
    mapping = {
        "catalogNumber": "Cat. No.",
        "scientificName": "Taxon name",
        "identifiedBy": "Det.",
        "dateIdentified": "Det. date",
        "locality": "Site",
        "associatedMedia": "Image",
    }
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    table = read_records(tmp_path / "records.xlsx", tmp_path / "mapping.json")
    plan = plan_import(catalog, table)
    assert len(plan.conflicts) == 2 and "kept 'Capri'" in plan.conflicts[0]
    assert "not newer than the catalogue's check Bolinus brandaris" in plan.conflicts[1]
    assert len(plan.skipped) == 1 and "no catalogNumber" in plan.skipped[0]
    apply_import(catalog, plan, by="importer")
    with catalog.session() as s:
        rows = {r.catalog_number: r for r in repo.list_specimens(s)}
    assert rows["MZ-9"].locality == "Capri" and rows["MZ-9"].taxon == "Bolinus brandaris"
    assert rows["MZ-10"].taxon == "Lissachatina fulica" and rows["MZ-10"].photo_count == 1
    assert rows["MZ-10"].verification_status == VALIDATED
    # a newer determination of MZ-9 is appended (history kept), not a conflict
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["catalogNumber", "scientificName", "identifiedBy", "dateIdentified"])
    sheet.append(["MZ-9", "Bolinus cornutus", "Expert", "2099-01-01"])
    book.save(tmp_path / "newer.xlsx")
    newer = plan_import(catalog, read_records(tmp_path / "newer.xlsx"))
    assert newer.conflicts == [] and newer.updated == 1
    with pytest.raises(UsageError, match="no column 'Nope'"):
        (tmp_path / "bad.json").write_text(json.dumps({"catalogNumber": "Nope"}))
        read_records(tmp_path / "records.xlsx", tmp_path / "bad.json")
    with pytest.raises(UsageError, match="not a text table"):
        (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
        read_records(tmp_path / "binary.csv")
    with pytest.raises(UsageError, match="not a readable Darwin Core archive"):
        (tmp_path / "junk.zip").write_bytes(b"not a zip")
        read_records(tmp_path / "junk.zip")


def test_guess_mapping_from_common_headers() -> None:
    mapping = guess_mapping(["Catalog No", "Species", "Determiner", "Date identified", "Collector", "Notes"])
    assert mapping == {
        "catalogNumber": "Catalog No",
        "scientificName": "Species",
        "identifiedBy": "Determiner",
        "dateIdentified": "Date identified",
        "recordedBy": "Collector",
        "occurrenceRemarks": "Notes",
    }


def test_import_command_dry_run_and_conflicts(tmp_path: Path) -> None:
    from test_cli import run

    csv_file = tmp_path / "records.tsv"
    csv_file.write_text(
        "catalogNumber\tscientificName\tidentifiedBy\nMZ-1\tAbra alba\tX\nMZ-1\tAbra alba\tX\n"
    )
    db, home = tmp_path / "c.sqlite", tmp_path / "home"
    dry = run("import", str(csv_file), "--db", str(db), "--dry-run", home=home)
    assert dry.returncode == 1 and "Would import: 1 new specimens" in dry.stdout
    assert "skipped records.tsv row 3: catalogNumber MZ-1 already given in records.tsv row 2" in dry.stderr
    assert run("import", str(csv_file), "--db", str(db), home=home).returncode == 2  # who is importing?
    done = run("import", str(csv_file), "--db", str(db), "--by", "me", home=home)
    assert "Imported: 1 new specimens" in done.stdout
    again = run("import", str(csv_file), "--db", str(db), "--by", "me", home=home)
    assert "Imported: 0 new specimens, 0 updated, 1 unchanged" in again.stdout
    assert run("import", str(tmp_path / "missing.csv"), "--db", str(db), home=home).returncode == 2


def _measurements(catalog: Catalog) -> list[tuple[str | None, str, float, str, str | None, str]]:
    from shellgui.core.catalog.schema import Measurement
    from shellgui.core.measuring import describe_method

    with catalog.session() as s:
        return [
            (
                sp.catalog_number,
                m.measurement_type,
                round(m.value, 2),
                m.unit,
                m.measured_by,
                describe_method(m.method),
            )
            for m, sp in s.execute(
                select(Measurement, Specimen).join(Specimen).order_by(Specimen.catalog_number, Measurement.id)
            )
        ]


def test_measurements_round_trip_through_the_archive(source: Catalog, tmp_path: Path) -> None:
    from shellgui.core.measuring import Calibration

    with source.session() as s:
        mz1 = s.scalar(select(Specimen.id).where(Specimen.catalog_number == "MZ-1"))
    cal = Calibration.between((0, 0), (0, 600), 60.0)
    curation.add_measurement(
        source,
        mz1 or 0,
        cal.length_mm((0, 0), (0, 234.2)),
        "A. Curator",
        method=cal.method((0, 0), (0, 234.2)),
    )
    curation.add_measurement(source, mz1 or 0, 9.5, "B. Expert", measurement_type="shell width")
    archive = tmp_path / "export.zip"
    export(source, "dwc", archive)
    target = Catalog(tmp_path / "target.sqlite")
    plan = plan_import(target, read_records(archive))
    assert "measurements: shell length 23.42 mm; shell width 9.5 mm" in plan.changes[0].summary()
    apply_import(target, plan, by="importer")
    assert _measurements(target) == _measurements(source)
    with target.session() as s:
        from shellgui.core.catalog.schema import Measurement

        dates = [
            m.measured_at.replace(microsecond=0)
            for m in s.scalars(select(Measurement).order_by(Measurement.id))
        ]
    with source.session() as s:
        assert dates == [
            m.measured_at.replace(microsecond=0)
            for m in s.scalars(select(Measurement).order_by(Measurement.id))
        ]
    again = plan_import(target, read_records(archive))  # already there: nothing to add
    assert (again.new, again.updated, again.conflicts) == (0, 0, [])


def test_a_fact_that_is_not_a_positive_number_is_reported_not_stored(tmp_path: Path) -> None:
    dwc = "http://rs.tdwg.org/dwc/terms/"
    meta = f"""<archive xmlns="http://rs.tdwg.org/dwc/text/">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" ignoreHeaderLines="1"
        rowType="{dwc}Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
    <field index="1" term="{dwc}catalogNumber"/>
  </core>
  <extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" ignoreHeaderLines="1"
        rowType="{dwc}MeasurementOrFact">
    <files><location>mof.txt</location></files>
    <coreid index="0"/>
    <field index="1" term="{dwc}measurementType"/>
    <field index="2" term="{dwc}measurementValue"/>
    <field index="3" term="{dwc}measurementUnit"/>
    <field index="4" term="{dwc}measurementDeterminedDate"/>
  </extension>
</archive>"""
    archive = tmp_path / "obis.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("meta.xml", meta)
        z.writestr("occurrence.txt", "id\tcatalogNumber\na1\tKU-7\n")
        z.writestr(
            "mof.txt",
            "id\ttype\tvalue\tunit\tdate\n"
            "a1\tshell length\t31.5\tmm\t1987-06\n"
            "a1\tsex\tfemale\t\t\n"
            "a1\tshell width\t-2\tmm\t\n",
        )
    catalog = Catalog(tmp_path / "c.sqlite")
    plan = plan_import(catalog, read_records(archive))
    (change,) = plan.changes
    assert [m.describe() for m in change.measurements] == ["shell length 31.5 mm"]
    assert change.measurements[0].at == datetime(1987, 6, 1)
    assert [n.split(" is ")[0] for n in change.notes] == [
        "measurement sex 'female'",
        "measurement shell width '-2'",
    ]
    apply_import(catalog, plan, by="importer")
    assert _measurements(catalog) == [("KU-7", "shell length", 31.5, "mm", None, "")]
