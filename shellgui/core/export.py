"""Export the catalogue: a flat CSV, or a Darwin Core Archive (occurrences + identification history).

Every text cell is guarded against spreadsheet formula injection: a value starting with ``= + - @`` (or a
tab or carriage return) is prefixed with an apostrophe, so a file name like ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable

from sqlalchemy import select

from shellgui.core.atomic import atomic_path, atomic_write
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.schema import PREDICTED, Identification, Photo, Specimen
from shellgui.core.errors import UsageError
from shellgui.core.taxonomy import NameBackbone, NameCheck, load_backbone

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text; numbers and empty values pass unchanged."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return "" if value is None else value


def _genus(taxon: str | None, rank: str | None) -> str:
    if not taxon or rank not in ("species", "genus"):
        return ""
    return taxon.split()[0]


def _remarks(ident: Identification) -> str:
    parts = []
    if ident.model_name:
        parts.append(f"model={ident.model_name} {ident.model_version or ''}".strip())
    if ident.score is not None:
        parts.append(f"score={ident.score:.4f}")
    if ident.remarks:
        parts.append(ident.remarks)
    return "; ".join(parts)


def _identified_by(ident: Identification) -> str:
    if ident.verification_status == PREDICTED:
        return f"shellgui model {ident.model_name or ''} {ident.model_version or ''}".strip()
    return ident.identified_by or ""


def _rows(catalog: Catalog) -> list[tuple[Specimen, list[Photo], list[Identification]]]:
    with catalog.session() as session:
        specimens = list(session.scalars(select(Specimen).order_by(Specimen.id)))
        photos: dict[int, list[Photo]] = {}
        for photo in session.scalars(select(Photo).order_by(Photo.id)):
            photos.setdefault(photo.specimen_id, []).append(photo)
        idents: dict[int, list[Identification]] = {}
        for ident in session.scalars(select(Identification).order_by(Identification.id)):
            idents.setdefault(ident.specimen_id, []).append(ident)
        session.expunge_all()
    return [(s, photos.get(s.id, []), idents.get(s.id, [])) for s in specimens]


CSV_COLUMNS = [
    "specimen_id",
    "catalog_number",
    "taxon",
    "rank",
    "score",
    "verification_status",
    "identified_by",
    "identified_at",
    "model",
    "model_version",
    "locality",
    "collector",
    "collected_on",
    "notes",
    "photos",
    "latitude",
    "longitude",
    "kingdom",
    "phylum",
    "family",
    "scientific_name_id",
]


def export_csv(catalog: Catalog, out: str | os.PathLike[str]) -> int:
    """One row per specimen with its current identification. Returns the number of rows."""
    rows = _rows(catalog)
    backbone = load_backbone()
    with atomic_write(out, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for specimen, photos, idents in rows:
            cur = idents[-1] if idents else None
            gps = next((p for p in photos if p.gps_lat is not None), None)
            name = _names(backbone, cur.taxon) if cur else None
            ranks = name.ranks if name else {}
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        specimen.id,
                        specimen.catalog_number,
                        cur.taxon if cur else None,
                        cur.rank if cur else None,
                        round(cur.score, 6) if cur and cur.score is not None else None,
                        cur.verification_status if cur else None,
                        _identified_by(cur) if cur else None,
                        cur.created_at.isoformat(timespec="seconds") if cur else None,
                        cur.model_name if cur else None,
                        cur.model_version if cur else None,
                        specimen.locality,
                        specimen.collector,
                        specimen.collected_on,
                        specimen.notes,
                        " | ".join(p.path for p in photos),
                        gps.gps_lat if gps else None,
                        gps.gps_lon if gps else None,
                        ranks.get("kingdom"),
                        ranks.get("phylum"),
                        ranks.get("family"),
                        name.name_id if name else None,
                    )
                ]
            )
    return len(rows)


OCCURRENCE_TERMS = [
    ("occurrenceID", DWC),
    ("basisOfRecord", DWC),
    ("catalogNumber", DWC),
    ("recordedBy", DWC),
    ("eventDate", DWC),
    ("locality", DWC),
    ("decimalLatitude", DWC),
    ("decimalLongitude", DWC),
    ("scientificName", DWC),
    ("taxonRank", DWC),
    ("genus", DWC),
    ("scientificNameID", DWC),
    ("kingdom", DWC),
    ("phylum", DWC),
    ("family", DWC),
    ("identifiedBy", DWC),
    ("dateIdentified", DWC),
    ("identificationVerificationStatus", DWC),
    ("identificationRemarks", DWC),
    ("associatedMedia", DWC),
    ("occurrenceRemarks", DWC),
    ("modified", DC),
]
IDENTIFICATION_TERMS = [
    ("identificationID", DWC),
    ("scientificName", DWC),
    ("scientificNameID", DWC),
    ("taxonRank", DWC),
    ("identifiedBy", DWC),
    ("dateIdentified", DWC),
    ("identificationVerificationStatus", DWC),
    ("identificationRemarks", DWC),
]


def _meta_xml() -> str:
    def fields(terms: list[tuple[str, str]], start: int) -> str:
        return "\n".join(
            f'    <field index="{i + start}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(terms)
        )

    attrs = (
        'encoding="UTF-8" fieldsTerminatedBy="," linesTerminatedBy="\\n" '
        'fieldsEnclosedBy="&quot;" ignoreHeaderLines="1"'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="">
  <core {attrs} rowType="{DWC}Occurrence">
    <files><location>occurrence.csv</location></files>
    <id index="0"/>
{fields(OCCURRENCE_TERMS, 0)}
  </core>
  <extension {attrs} rowType="http://rs.gbif.org/terms/1.0/Identification">
    <files><location>identification.csv</location></files>
    <coreid index="0"/>
{fields(IDENTIFICATION_TERMS, 1)}
  </extension>
</archive>
"""


def _names(backbone: NameBackbone, taxon: str | None) -> NameCheck | None:
    """The backbone's record of a stored taxon, for ``scientificNameID`` and the higher ranks."""
    if not taxon:
        return None
    check = backbone.check(taxon)
    return check if check.known and check.name == taxon else None


def _occurrence_id(specimen: Specimen) -> str:
    return f"urn:shellgui:specimen:{specimen.id}"


def export_dwc(catalog: Catalog, out: str | os.PathLike[str]) -> int:
    """A Darwin Core Archive (zip): ``occurrence.csv`` (current identifications), ``identification.csv``
    (the full history, with ``identificationVerificationStatus`` and the model's name, version and score)
    and ``meta.xml``. Returns the number of occurrences."""
    rows = _rows(catalog)
    backbone = load_backbone()
    occ, hist = io.StringIO(), io.StringIO()
    occ_writer, hist_writer = csv.writer(occ, lineterminator="\n"), csv.writer(hist, lineterminator="\n")
    occ_writer.writerow([name for name, _ in OCCURRENCE_TERMS])
    hist_writer.writerow(["occurrenceID"] + [name for name, _ in IDENTIFICATION_TERMS])
    for specimen, photos, idents in rows:
        cur = idents[-1] if idents else None
        gps = next((p for p in photos if p.gps_lat is not None), None)
        name = _names(backbone, cur.taxon) if cur else None
        ranks = name.ranks if name else {}
        occ_writer.writerow(
            [
                safe_cell(v)
                for v in (
                    _occurrence_id(specimen),
                    "PreservedSpecimen",
                    specimen.catalog_number,
                    specimen.collector,
                    specimen.collected_on,
                    specimen.locality,
                    gps.gps_lat if gps else None,
                    gps.gps_lon if gps else None,
                    cur.taxon if cur else None,
                    cur.rank if cur else None,
                    _genus(cur.taxon, cur.rank) if cur else None,
                    name.name_id if name else None,
                    ranks.get("kingdom"),
                    ranks.get("phylum"),
                    ranks.get("family"),
                    _identified_by(cur) if cur else None,
                    cur.created_at.date().isoformat() if cur else None,
                    cur.verification_status if cur else None,
                    _remarks(cur) if cur else None,
                    " | ".join(p.path for p in photos),
                    specimen.notes,
                    specimen.created_at.isoformat(timespec="seconds"),
                )
            ]
        )
        for ident in idents:
            hist_writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        _occurrence_id(specimen),
                        f"urn:shellgui:identification:{ident.id}",
                        ident.taxon,
                        getattr(_names(backbone, ident.taxon), "name_id", None),
                        ident.rank,
                        _identified_by(ident),
                        ident.created_at.isoformat(timespec="seconds"),
                        ident.verification_status,
                        _remarks(ident),
                    )
                ]
            )
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.xml", _meta_xml())
        archive.writestr("occurrence.csv", occ.getvalue())
        archive.writestr("identification.csv", hist.getvalue())
    return len(rows)


EXPORTERS: dict[str, Callable[[Catalog, str | os.PathLike[str]], int]] = {
    "csv": export_csv,
    "dwc": export_dwc,
}


def export(catalog: Catalog, fmt: str, out: str | os.PathLike[str]) -> int:
    """Export in a registered format (``csv`` or ``dwc``)."""
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}") from None
    return exporter(catalog, out)
