"""Read the catalogue for a screen or a command: each function opens one short read-only session and returns
frozen records, so the GUI never handles sessions or ORM objects."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from shellgui.core.catalog import browse
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.repository import IdentificationRecord, SpecimenRow
from shellgui.core.catalog.schema import NOT_IDENTIFIABLE, PREDICTED, VALIDATED, AuditEntry, Photo, Specimen
from shellgui.core.crops import Crop, CropError, crop_from_json
from shellgui.core.imaging import Photo as DecodedPhoto
from shellgui.core.imaging import file_sha256
from shellgui.core.measuring import describe_method

SPECIMEN_FIELDS = ("catalog_number", "locality", "collector", "collected_on", "notes")


def specimen_fields(specimen: Specimen) -> dict[str, str | None]:
    """A specimen's collection data as a plain dict."""
    return {name: getattr(specimen, name) for name in SPECIMEN_FIELDS}


@dataclass(frozen=True)
class CataloguedPhoto:
    """A photo already in the catalogue and the state of its specimen, shown before anything is saved."""

    photo_id: int
    specimen_id: int
    fields: Mapping[str, str | None]
    current: IdentificationRecord | None

    @property
    def describe(self) -> str:
        """``"already catalogued as MZ-1187, checked by A. Curator (Conus textile)"``."""
        name = self.fields.get("catalog_number") or f"specimen {self.specimen_id}"
        ident = self.current
        if ident is None:
            state = "not identified"
        elif ident.verification_status == VALIDATED:
            state = f"checked by {ident.identified_by or 'a person'} ({ident.taxon or NOT_IDENTIFIABLE})"
        else:
            state = f"model answer, unchecked ({ident.taxon or 'uncertain'})"
        return f"already catalogued as {name}, {state}"


@dataclass(frozen=True)
class AuditRecord:
    """One audit log line: who did what, when; ``details`` has old and new values, or what was deleted."""

    id: int
    at: datetime
    by: str
    action: str
    specimen_id: int | None
    summary: str
    details: Mapping[str, Any]
    undone_by_id: int | None


def _audit_record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        row.id, row.at, row.by, row.action, row.specimen_id, row.summary, dict(row.details), row.undone_by_id
    )


# -- read ------------------------------------------------------------------------------------------------
def find_catalogued(catalog: Catalog, sha256s: Iterable[str]) -> CataloguedPhoto | None:
    """The first of these photos (by byte hash) that is already catalogued, with its specimen's state."""
    hashes = list(sha256s)
    if not hashes:
        return None
    with catalog.session() as session:
        photo = session.scalar(select(Photo).where(Photo.sha256.in_(hashes)).order_by(Photo.id).limit(1))
        if photo is None:
            return None
        current = repo.current_identification(session, photo.specimen_id)
        return CataloguedPhoto(photo.id, photo.specimen_id, specimen_fields(photo.specimen), current)


def find_catalogued_paths(
    catalog: Catalog, paths: Iterable[str | os.PathLike[str]]
) -> CataloguedPhoto | None:
    """:func:`find_catalogued` for photo files."""
    return find_catalogued(catalog, [file_sha256(p) for p in paths])


def find_catalogued_photo(catalog: Catalog, photo: DecodedPhoto) -> CataloguedPhoto | None:
    """The catalogue's row for this photo's subject (``Photo.subject``) with its specimen's state."""
    with catalog.session() as session:
        row = session.scalar(
            select(Photo).where(Photo.sha256 == photo.sha256, Photo.subject == photo.subject).limit(1)
        )
        if row is None:
            return None
        current = repo.current_identification(session, row.specimen_id)
        return CataloguedPhoto(row.id, row.specimen_id, specimen_fields(row.specimen), current)


def stored_crops(catalog: Catalog, photos: Iterable[DecodedPhoto]) -> list[Crop | None]:
    """The crop each photo is catalogued with (``None``: not catalogued, not cropped, or a stored crop
    that no longer fits the photo)."""
    photos = list(photos)
    hashes = [p.sha256 for p in photos if p.sha256]
    if not hashes:
        return [None] * len(photos)
    with catalog.session() as session:
        rows = session.execute(
            select(Photo.sha256, Photo.subject, Photo.crop).where(Photo.sha256.in_(hashes))
        )
        stored = {(sha256, subject): crop for sha256, subject, crop in rows}
    crops: list[Crop | None] = []
    for photo in photos:
        try:
            crop = stored.get((photo.sha256, photo.subject))
            crops.append(crop_from_json(crop, photo.info.width, photo.info.height))
        except CropError:
            crops.append(None)
    return crops


def audit_log(catalog: Catalog, specimen_id: int | None = None, limit: int = 500) -> list[AuditRecord]:
    """The newest actions first, for one specimen or the whole catalogue."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if specimen_id is not None:
        query = query.where(AuditEntry.specimen_id == specimen_id)
    with catalog.session() as session:
        return [_audit_record(row) for row in session.scalars(query)]


def list_specimens(catalog: Catalog, **filters: Any) -> list[SpecimenRow]:
    """The catalogue table (see :func:`repository.list_specimens` for the filters)."""
    with catalog.session() as session:
        return repo.list_specimens(session, **filters)


def review_queue(catalog: Catalog, run_id: int | None = None) -> list[SpecimenRow]:
    """Unchecked machine identifications, lowest confidence first."""
    with catalog.session() as session:
        return repo.review_queue(session, run_id=run_id)


def current_identification(catalog: Catalog, specimen_id: int) -> IdentificationRecord | None:
    with catalog.session() as session:
        return repo.current_identification(session, specimen_id)


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    path: str
    width: int
    height: int
    thumbnail: bytes | None


@dataclass(frozen=True)
class MeasurementRecord:
    """One stored measurement, e.g. ``shell length`` ``23.4`` ``mm``; ``how`` says how it was taken."""

    id: int
    measurement_type: str
    value: float
    unit: str
    measured_by: str | None
    measured_at: datetime
    how: str

    def describe(self) -> str:
        return f"{self.measurement_type} {self.value:.1f} {self.unit}"


@dataclass(frozen=True)
class SpecimenDetail:
    """Everything the specimen dialog shows: data, photos, identification history and the audit trail."""

    specimen_id: int
    fields: Mapping[str, str | None]
    photos: tuple[PhotoRecord, ...]
    history: tuple[IdentificationRecord, ...]
    log: tuple[AuditRecord, ...]
    measurements: tuple[MeasurementRecord, ...] = ()

    @property
    def current(self) -> IdentificationRecord | None:
        return self.history[-1] if self.history else None


def specimen_detail(catalog: Catalog, specimen_id: int) -> SpecimenDetail | None:
    """One specimen in full, or ``None`` when it is not (or no longer) in the catalogue."""
    with catalog.session() as session:
        specimen = session.get(Specimen, specimen_id)
        if specimen is None:
            return None
        photos = tuple(
            PhotoRecord(p.id, p.path, p.width, p.height, p.thumbnail)
            for p in sorted(specimen.photos, key=lambda p: p.id)
        )
        log = session.scalars(
            select(AuditEntry).where(AuditEntry.specimen_id == specimen_id).order_by(AuditEntry.id.desc())
        )
        return SpecimenDetail(
            specimen_id,
            specimen_fields(specimen),
            photos,
            tuple(repo.history(session, specimen_id)),
            tuple(_audit_record(row) for row in log),
            tuple(
                MeasurementRecord(
                    m.id,
                    m.measurement_type,
                    m.value,
                    m.unit,
                    m.measured_by,
                    m.measured_at,
                    describe_method(m.method),
                )
                for m in sorted(specimen.measurements, key=lambda m: m.id)
            ),
        )


# -- the catalogue table, a page at a time ----------------------------------------------------------------
def catalogue_page(
    catalog: Catalog,
    where: browse.SpecimenFilter = browse.SpecimenFilter(),
    sort: browse.SpecimenSort = browse.SpecimenSort(),
    offset: int = 0,
    limit: int = 200,
    count: bool = False,
) -> tuple[int | None, list[SpecimenRow]]:
    """One page of the catalogue table, and (with ``count=True``) how many specimens match in all."""
    with catalog.session() as session:
        total = browse.count_specimens(session, where) if count else None
        return total, browse.specimen_page(session, where, sort, offset, limit)


@dataclass(frozen=True)
class ReviewPage:
    """One load of the review queue: how many answers are unchecked in the scope, the least confident
    ``limit`` of them, and (for an empty cataloguing run) how many are unchecked elsewhere."""

    total: int
    rows: list[SpecimenRow]
    unchecked_elsewhere: int = 0


def review_page(catalog: Catalog, scope: browse.SpecimenFilter, this_run: bool, limit: int) -> ReviewPage:
    """The review queue for ``scope``, lowest confidence first, in one read (for a query thread)."""
    order = browse.SpecimenSort("score", descending=False)
    with catalog.session() as session:
        total = browse.count_specimens(session, scope)
        rows = browse.specimen_page(session, scope, order, 0, limit)
        elsewhere = 0
        if not rows and this_run:
            elsewhere = browse.count_specimens(session, browse.SpecimenFilter(status=PREDICTED))
    return ReviewPage(total, rows, elsewhere)


def catalogue_thumbnails(catalog: Catalog, specimen_ids: Iterable[int]) -> dict[int, bytes]:
    """The thumbnails of these specimens' first photos (for the rows on screen)."""
    with catalog.session() as session:
        return browse.thumbnails(session, specimen_ids)
