"""Claim photos and run items so that several writers at once never store a photo twice.

Rows that must be unique are inserted with ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and
PostgreSQL): the writer that loses the race learns it from the empty result, never from a UNIQUE error.
A photo already catalogued is found by the SHA-256 of its bytes, or by :attr:`Photo.pixel_sha256` when
only its metadata changed; a photo that moved, or was edited in place, gets its stored path (and hash)
updated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shellgui.core.catalog.schema import CatalogRun, Photo, RunItem, fit_row, utcnow
from shellgui.core.imaging import PhotoInfo

#: How an already catalogued photo was recognised.
SAME, MOVED, EDITED = "same photo already in the catalogue", "moved: stored path updated", "edited"


@dataclass(frozen=True)
class KnownPhoto:
    """A photo found in the catalogue: its ids and how it was recognised (:data:`SAME`, ...)."""

    photo_id: int
    specimen_id: int
    how: str


def _insert(session: Session, table: Table) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"catalogues on {dialect} are not supported (SQLite or PostgreSQL)")


def insert_or_skip(session: Session, table: Table, values: dict[str, Any]) -> int | None:
    """Insert a row unless it would break a unique constraint; returns its id, or ``None`` if skipped."""
    statement = _insert(session, table).values(**fit_row(table, values)).returning(table.c.id)
    return session.execute(statement).scalar()


def find_photo(
    session: Session, sha256: str, pixel_sha256: str | None, path: str, size: int, subject: int = 0
) -> KnownPhoto | None:
    """The catalogued photo with these bytes, or these pixels under other metadata (``subject``: which
    subject of a photo of several, see ``Photo.subject``).

    A photo whose stored file is gone (moved or renamed) takes ``path``; one edited in place (same path,
    or its old file gone) takes the new path, hash and size, so it is found by its bytes from now on.
    Every subject row of the file is updated alike.
    """
    condition = Photo.sha256 == sha256
    if pixel_sha256:
        condition = or_(condition, Photo.pixel_sha256 == pixel_sha256)
    rows = session.execute(
        select(Photo.id, Photo.specimen_id, Photo.path, Photo.sha256)
        .where(condition, Photo.subject == subject)
        .order_by(Photo.id)
    ).all()
    if not rows:
        return None
    # the same bytes first
    photo_id, specimen_id, stored, stored_sha = min(rows, key=lambda r: r.sha256 != sha256)
    if stored == path:
        if stored_sha == sha256:
            return KnownPhoto(photo_id, specimen_id, SAME)
        session.execute(
            update(Photo).where(Photo.sha256 == stored_sha).values(sha256=sha256, size_bytes=size)
        )
        return KnownPhoto(photo_id, specimen_id, EDITED)
    if os.path.lexists(stored):
        return KnownPhoto(photo_id, specimen_id, SAME)  # a copy: the stored one stays
    values: dict[str, Any] = {"path": path}
    if stored_sha != sha256:
        values.update(sha256=sha256, size_bytes=size)
    session.execute(update(Photo).where(Photo.sha256 == stored_sha).values(**values))
    return KnownPhoto(photo_id, specimen_id, MOVED if stored_sha == sha256 else EDITED)


def insert_photo(
    session: Session,
    specimen_id: int,
    path: str,
    sha256: str,
    pixel_sha256: str | None,
    size: int,
    info: PhotoInfo,
    thumbnail: bytes | None,
    subject: int = 0,
    crop: dict[str, int] | None = None,
) -> int | None:
    """Store a photo (one subject of it, with its crop); ``None`` when another writer stored it first."""
    return insert_or_skip(
        session,
        Photo.__table__,  # type: ignore[arg-type]
        {
            "specimen_id": specimen_id,
            "path": path,
            "sha256": sha256,
            "pixel_sha256": pixel_sha256,
            "size_bytes": size,
            "width": info.width,
            "height": info.height,
            "format": info.format,
            "taken_at": info.taken_at,
            "camera": info.camera,
            "gps_lat": info.gps_lat,
            "gps_lon": info.gps_lon,
            "thumbnail": thumbnail,
            "added_at": utcnow(),
            "subject": subject,
            **({"crop": crop} if crop is not None else {}),  # otherwise SQL NULL, not a JSON null
        },
    )


def claim_run_item(
    session: Session,
    run_id: int,
    path: str,
    status: str,
    reason: str | None = None,
    photo_id: int | None = None,
) -> int | None:
    """Record what happened to a file of a run; ``None`` when another process settled it first."""
    return insert_or_skip(
        session,
        RunItem.__table__,  # type: ignore[arg-type]
        {"run_id": run_id, "path": path, "status": status, "reason": reason, "photo_id": photo_id},
    )


def recount_run(session: Session, run_id: int, total: int, statuses: tuple[str, str, str]) -> None:
    """Set a run's done/failed/skipped counts from its items (right whoever else wrote to the run)."""

    def count(status: str) -> Any:
        return (
            select(func.count(RunItem.id))
            .where(RunItem.run_id == run_id, RunItem.status == status)
            .scalar_subquery()
        )

    done, failed, skipped = statuses
    session.execute(
        update(CatalogRun)
        .where(CatalogRun.id == run_id)
        .values(done=count(done), failed=count(failed), skipped=count(skipped), total=total)
    )
