"""Browse a large catalogue a page at a time: filter, sort and count in SQL, one row or thumbnail on demand.

A catalogue of 100,000 specimens is never loaded whole: the window asks for the count, then for pages of
rows in the order the user chose, then for the thumbnails of the rows on screen. Every query uses the
indexes declared in :mod:`shellgui.core.catalog.schema` (see ``bench/bench_gui.py`` for timings).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from shellgui.core.catalog.schema import Identification, Photo, Specimen

#: The columns a catalogue can be sorted by (what the user sees -> what SQL orders by).
SORT_KEYS = (
    "id",
    "catalog_number",
    "taxon",
    "rank",
    "score",
    "verification_status",
    "locality",
    "collector",
    "collected_on",
    "photo_count",
    "identified_at",
)


#: Ranks at which the model decided a name (anything else, "uncertain" or "unknown", is not an answer).
DECIDED_RANKS = ("species", "genus", "family")


@dataclass(frozen=True)
class SpecimenFilter:
    """Which specimens to show; every field narrows the set, the defaults show all.

    Args:
        text: matched (case-insensitively, anywhere) against taxon, catalogue number, locality, collector,
            notes and collection date.
        status: ``PredictedByMachine`` or ``ValidatedByHuman`` (of the current identification).
        min_score, max_score: bounds on the current identification's score.
        identified_since: only specimens whose current identification is this recent.
        identified_before: only specimens whose current identification is older than this.
        run_id: only specimens identified in that cataloguing run.
        decided: only specimens whose current identification names a taxon at a decided rank (not
            "uncertain", not "not something this model knows").
    """

    text: str = ""
    status: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    identified_since: datetime | None = None
    identified_before: datetime | None = None
    run_id: int | None = None
    decided: bool = False


@dataclass(frozen=True)
class SpecimenSort:
    """The order of a listing: one of :data:`SORT_KEYS`, ties broken by specimen id."""

    key: str = "id"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.key not in SORT_KEYS:
            raise ValueError(f"cannot sort specimens by {self.key!r}; choose one of {', '.join(SORT_KEYS)}")


@dataclass(frozen=True)
class SpecimenRow:
    """One line of the catalogue table: a specimen with its current identification and first photo.

    ``thumbnail`` is filled only when asked for (:func:`specimen_row`, ``with_thumbnails=True``); the table
    fetches thumbnails for the rows on screen with :func:`thumbnails`.
    """

    specimen_id: int
    catalog_number: str | None
    locality: str | None
    collector: str | None
    collected_on: str | None
    notes: str | None
    taxon: str | None
    rank: str | None
    score: float | None
    verification_status: str | None
    photo_path: str | None
    photo_count: int
    thumbnail: bytes | None
    identified_at: datetime | None


def specimen_row_of(
    specimen: Specimen,
    ident: Identification | None,
    photo_path: str | None,
    photo_count: int,
    thumbnail: bytes | None,
) -> SpecimenRow:
    """The table row of a specimen, its current identification (if any) and its first photo."""
    return SpecimenRow(
        specimen_id=specimen.id,
        catalog_number=specimen.catalog_number,
        locality=specimen.locality,
        collector=specimen.collector,
        collected_on=specimen.collected_on,
        notes=specimen.notes,
        taxon=ident.taxon if ident else None,
        rank=ident.rank if ident else None,
        score=ident.score if ident else None,
        verification_status=ident.verification_status if ident else None,
        photo_path=photo_path,
        photo_count=photo_count,
        thumbnail=thumbnail,
        identified_at=ident.created_at if ident else None,
    )


def _current() -> Any:
    """The current identification of each specimen: the one with no newer identification of it.

    Written as ``NOT EXISTS`` so both SQLite and PostgreSQL answer it with one probe of the
    ``(specimen_id, id)`` index per specimen instead of grouping the whole table.
    """
    newer = aliased(Identification)
    return and_(
        Identification.specimen_id == Specimen.id,
        ~exists().where(newer.specimen_id == Identification.specimen_id, newer.id > Identification.id),
    )


def _photo_count() -> Any:
    return (
        select(func.count(Photo.id))
        .where(Photo.specimen_id == Specimen.id)
        .correlate(Specimen)
        .scalar_subquery()
    )


def _contains(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive "contains": SQLite's LIKE already ignores ASCII case (its ``lower()`` folds no
    more than that), so it skips ``ilike``'s ``lower()`` calls, which cost a third of a search."""
    if dialect == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def _filtered(query: Any, where: SpecimenFilter, dialect: str) -> Any:
    if where.text:
        query = query.where(
            or_(
                *(
                    _contains(column, where.text, dialect)
                    for column in (
                        Identification.taxon,
                        Specimen.catalog_number,
                        Specimen.locality,
                        Specimen.collector,
                        Specimen.notes,
                        Specimen.collected_on,
                    )
                )
            )
        )
    if where.identified_since is not None:
        query = query.where(Identification.created_at >= where.identified_since)
    if where.identified_before is not None:
        query = query.where(Identification.created_at < where.identified_before)
    if where.status:
        query = query.where(Identification.verification_status == where.status)
    if where.min_score is not None:
        query = query.where(Identification.score >= where.min_score)
    if where.max_score is not None:
        query = query.where(Identification.score <= where.max_score)
    if where.decided:
        query = query.where(Identification.taxon.is_not(None), Identification.rank.in_(DECIDED_RANKS))
    if where.run_id is not None:
        in_run = aliased(Identification)
        query = query.where(exists().where(in_run.specimen_id == Specimen.id, in_run.run_id == where.run_id))
    return query


def _order(sort: SpecimenSort) -> list[ColumnElement[Any]]:
    column: Any = {
        "id": Specimen.id,
        "catalog_number": Specimen.catalog_number,
        "taxon": Identification.taxon,
        "rank": Identification.rank,
        "score": Identification.score,
        "verification_status": Identification.verification_status,
        "locality": Specimen.locality,
        "collector": Specimen.collector,
        "collected_on": Specimen.collected_on,
        "photo_count": _photo_count(),
        "identified_at": Identification.created_at,
    }[sort.key]
    if sort.key == "id":
        return [Specimen.id.desc() if sort.descending else Specimen.id.asc()]
    # Empty values sort last in both directions: what a curator looking for data expects.
    primary = column.desc().nulls_last() if sort.descending else column.asc().nulls_last()
    return [primary, Specimen.id.desc() if sort.descending else Specimen.id.asc()]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def count_specimens(session: Session, where: SpecimenFilter = SpecimenFilter()) -> int:
    """How many specimens match ``where``."""
    if where == SpecimenFilter():  # no join needed: one pass over the primary key
        return int(session.scalar(select(func.count(Specimen.id))) or 0)
    query = _filtered(
        select(func.count(Specimen.id)).outerjoin(Identification, _current()), where, _dialect(session)
    )
    return int(session.scalar(query) or 0)


def specimen_page(
    session: Session,
    where: SpecimenFilter = SpecimenFilter(),
    sort: SpecimenSort = SpecimenSort(),
    offset: int = 0,
    limit: int | None = 200,
) -> list[SpecimenRow]:
    """One page of matching specimens in the chosen order (no thumbnails; see :func:`thumbnails`)."""
    query = _filtered(
        select(Specimen, Identification).outerjoin(Identification, _current()), where, _dialect(session)
    ).order_by(*_order(sort))
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    found = session.execute(query).all()
    return _rows(session, found, with_thumbnails=False)


def specimen_row(session: Session, specimen_id: int) -> SpecimenRow | None:
    """One specimen by id (with its thumbnail), or ``None``: a single indexed lookup."""
    found = session.execute(
        select(Specimen, Identification)
        .outerjoin(Identification, _current())
        .where(Specimen.id == specimen_id)
    ).all()
    rows = _rows(session, found, with_thumbnails=True)
    return rows[0] if rows else None


def thumbnails(session: Session, specimen_ids: Iterable[int]) -> dict[int, bytes]:
    """The first photo's thumbnail of each specimen that has one (JPEG bytes), by specimen id."""
    ids = sorted(set(specimen_ids))
    if not ids:
        return {}
    first = (
        select(func.min(Photo.id))
        .where(Photo.specimen_id.in_(ids))
        .group_by(Photo.specimen_id)
        .scalar_subquery()
    )
    found = session.execute(
        select(Photo.specimen_id, Photo.thumbnail).where(Photo.id.in_(first), Photo.thumbnail.is_not(None))
    )
    return {specimen_id: bytes(data) for specimen_id, data in found if data is not None}


def _rows(session: Session, found: Any, with_thumbnails: bool) -> list[SpecimenRow]:
    ids = [specimen.id for specimen, _ in found]
    photos: dict[int, tuple[int, str | None]] = {}
    if ids:
        for specimen_id, path in session.execute(
            select(Photo.specimen_id, Photo.path).where(Photo.specimen_id.in_(ids)).order_by(Photo.id)
        ):
            count, first = photos.get(specimen_id, (0, path))
            photos[specimen_id] = (count + 1, first)
    thumbs = thumbnails(session, ids) if with_thumbnails else {}
    rows = []
    for specimen, ident in found:
        count, first_path = photos.get(specimen.id, (0, None))
        rows.append(specimen_row_of(specimen, ident, first_path, count, thumbs.get(specimen.id)))
    return rows
