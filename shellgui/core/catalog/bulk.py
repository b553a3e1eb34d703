"""Add many specimens in a few statements: for imports, benchmarks and tests of large catalogues.

The per-photo path (:mod:`shellgui.core.batch`) inserts one specimen, photo and identification at a time,
which is right for cataloguing a folder but takes minutes for 100,000 existing records. Here each table gets
one multi-row ``INSERT`` per chunk inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shellgui.core.catalog.schema import PREDICTED, Specimen, utcnow
from shellgui.core.errors import CatalogError


@dataclass(frozen=True)
class NewSpecimen:
    """One specimen to add, with its first photo and its identification (all optional but the photo hash).

    Args:
        photo_sha256: the photo's content hash (unique in the catalogue); ``None`` adds no photo.
        status: ``PredictedByMachine`` (the default) or ``ValidatedByHuman``.
    """

    catalog_number: str | None = None
    locality: str | None = None
    collector: str | None = None
    collected_on: str | None = None
    notes: str | None = None
    taxon: str | None = None
    rank: str = "species"
    score: float | None = None
    status: str = PREDICTED
    identified_by: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    photo_path: str | None = None
    photo_sha256: str | None = None
    photo_size: tuple[int, int] = (0, 0)
    thumbnail: bytes | None = None


def _chunks(items: Iterable[NewSpecimen], size: int) -> Iterator[list[NewSpecimen]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def add_specimens_bulk(session: Session, specimens: Iterable[NewSpecimen], chunk_size: int = 5000) -> int:
    """Insert specimens with their photo and identification; returns how many were added.

    Runs in the caller's transaction (``with session.begin(): ...``), so either all are added or none.
    """
    added = 0
    for chunk in _chunks(specimens, chunk_size):
        now = utcnow()
        tables = Specimen.metadata.tables
        before = session.scalar(select(func.max(Specimen.id))) or 0
        session.execute(
            insert(tables["specimens"]),
            [
                {
                    "catalog_number": s.catalog_number,
                    "locality": s.locality,
                    "collector": s.collector,
                    "collected_on": s.collected_on,
                    "notes": s.notes,
                    "created_at": now,
                }
                for s in chunk
            ],
        )
        # Read the new ids back (a plain executemany is many times faster than INSERT ... RETURNING row
        # by row). Rows another writer added meanwhile would show up here too: refuse rather than guess.
        ids = session.scalars(select(Specimen.id).where(Specimen.id > before).order_by(Specimen.id)).all()
        if len(ids) != len(chunk):
            raise CatalogError("another program wrote to the catalogue during the bulk insert; run it again")
        photos = [
            {
                "specimen_id": specimen_id,
                "path": s.photo_path or "",
                "sha256": s.photo_sha256,
                "size_bytes": 0,
                "width": s.photo_size[0],
                "height": s.photo_size[1],
                "thumbnail": s.thumbnail,
                "added_at": now,
            }
            for specimen_id, s in zip(ids, chunk)
            if s.photo_sha256
        ]
        if photos:
            session.execute(insert(tables["photos"]), photos)
        identifications = [
            {
                "specimen_id": specimen_id,
                "taxon": s.taxon,
                "rank": s.rank if s.taxon else "uncertain",
                "score": s.score,
                "top_k": None,
                "model_name": s.model_name,
                "model_version": s.model_version,
                "verification_status": s.status,
                "identified_by": s.identified_by,
                "created_at": now,
            }
            for specimen_id, s in zip(ids, chunk)
            if s.taxon is not None or s.score is not None
        ]
        if identifications:
            session.execute(insert(tables["identifications"]), identifications)
        added += len(chunk)
    return added
