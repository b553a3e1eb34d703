"""Export the catalogue: a flat CSV for spreadsheets, or a Darwin Core Archive (see :mod:`shellgui.core.dwc`).

The CSV is meant to be opened in a spreadsheet, so every text cell is guarded against formula injection:
a value starting with ``= + - @`` (or a tab or carriage return) is prefixed with an apostrophe, and every
text cell is quoted, so a spreadsheet that splits on ``;`` or tabs (European locales) cannot cut a cell
open and expose a formula after the separator. The Darwin Core archive gets no apostrophes.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shellgui.core.atomic import atomic_write, check_writable_target
from shellgui.core.catalog import browse
from shellgui.core.catalog.browse import SpecimenFilter, SpecimenSort
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.schema import PREDICTED, Identification, Photo, Specimen
from shellgui.core.dwc import DwcOptions, backbone_record, coordinates, latest_measurements, write_archive
from shellgui.core.errors import UsageError
from shellgui.core.measuring import SHELL_LENGTH
from shellgui.core.percent import percent
from shellgui.core.taxonomy import load_backbone
from shellgui.core.text import display_path

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text; numbers and empty values pass unchanged.

    Any part after a ``;``, ``,`` or tab that starts a formula is guarded too (with the whole cell
    quoted by the writer, that is belt and braces for spreadsheets that ignore quotes)."""
    if isinstance(value, str):
        for sep in (";", "\t", ","):
            if sep in value:
                value = sep.join(
                    "'" + part if part.startswith(_DANGEROUS) and i else part
                    for i, part in enumerate(value.split(sep))
                )
        return "'" + value if value.startswith(_DANGEROUS) else value
    return "" if value is None else value


def _identified_by(ident: Identification) -> str:
    if ident.verification_status == PREDICTED:
        return f"shellgui model {ident.model_name or ''} {ident.model_version or ''}".strip()
    return ident.decided_by or ident.identified_by or ""


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def alternatives(ident: Identification) -> str:
    """The model's top-k answers of an identification: ``name (87.0%); name (9.1%)``."""
    return "; ".join(
        f"{alt.get('name')} ({percent(float(alt.get('probability') or 0), 1)})"  # type: ignore[arg-type]
        for alt in ident.top_k or []
    )


def _rows(
    catalog: Catalog, where: SpecimenFilter | None = None
) -> list[tuple[Specimen, list[Photo], list[Identification]]]:
    """Specimens with their photos and identifications; ``where`` (the Catalogue tab's filter) narrows
    them."""
    with catalog.session() as session:
        query = select(Specimen).options(selectinload(Specimen.measurements)).order_by(Specimen.id)
        if where is not None and where != SpecimenFilter():
            wanted = [
                r.specimen_id for r in browse.specimen_page(session, where, SpecimenSort("id"), 0, None)
            ]
            query = query.where(Specimen.id.in_(wanted))
        specimens = list(session.scalars(query))
        ids = [s.id for s in specimens]
        photos: dict[int, list[Photo]] = {}
        idents: dict[int, list[Identification]] = {}
        for start in range(0, len(ids), 5000):  # bounded IN lists
            chunk = ids[start : start + 5000]
            for photo in session.scalars(
                select(Photo).where(Photo.specimen_id.in_(chunk)).order_by(Photo.id)
            ):
                photos.setdefault(photo.specimen_id, []).append(photo)
            for ident in session.scalars(
                select(Identification)
                .where(Identification.specimen_id.in_(chunk))
                .order_by(Identification.id)
            ):
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
    "alternatives",
    "shell_length_mm",
]


def export_csv(catalog: Catalog, out: str | os.PathLike[str], where: SpecimenFilter | None = None) -> int:
    """One row per specimen with its current identification, its higher ranks from the name backbone and
    the model's alternatives; ``where`` limits the rows. Returns the number of rows."""
    rows = _rows(catalog, where)
    backbone = load_backbone()
    with atomic_write(out, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(CSV_COLUMNS)
        for specimen, photos, idents in rows:
            cur = idents[-1] if idents else None
            latitude, longitude = coordinates(specimen, photos)
            name = backbone_record(backbone, cur.taxon or "") if cur else None
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
                        " | ".join(display_path(p.path) for p in photos),
                        latitude,
                        longitude,
                        ranks.get("kingdom"),
                        ranks.get("phylum"),
                        ranks.get("family"),
                        name.name_id if name else None,
                        alternatives(cur) if cur else None,
                        _rounded(latest_measurements(specimen).get((SHELL_LENGTH, "mm"))),
                    )
                ]
            )
    return len(rows)


def export_dwc(
    catalog: Catalog,
    out: str | os.PathLike[str],
    options: DwcOptions | None = None,
    where: SpecimenFilter | None = None,
) -> int:
    """A Darwin Core Archive (zip) that GBIF accepts: ``occurrence.csv`` (current identifications),
    ``identification.csv`` (GBIF's Identification History extension: every identification with its
    verification status, the model's name, version and score), ``meta.xml`` and ``eml.xml``.
    ``where`` limits the specimens (e.g. checked records only, a date range, a search).
    Returns the number of occurrences. See :mod:`shellgui.core.dwc`."""
    return write_archive(_rows(catalog, where), out, options or DwcOptions())


EXPORTERS: dict[
    str, Callable[[Catalog, str | os.PathLike[str], DwcOptions | None, SpecimenFilter | None], int]
] = {
    "csv": lambda catalog, out, _options, where: export_csv(catalog, out, where),
    "dwc": export_dwc,
}


def export(
    catalog: Catalog,
    fmt: str,
    out: str | os.PathLike[str],
    options: DwcOptions | None = None,
    where: SpecimenFilter | None = None,
) -> int:
    """Export in a registered format (``csv`` or ``dwc``); ``where`` (the Catalogue tab's filter: search
    text, checked only, identified between two dates) limits the specimens.

    Raises:
        UsageError: an unknown format, or a target that is a folder, a link or a device.
    """
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}") from None
    check_writable_target(out)  # `export .` or `export /dev/sda`: one line, before any work
    return exporter(catalog, out, options, where)
