"""Store and read photo embeddings (one per photo and model), and the rows that give them meaning.

Vectors are stored L2-normalised as little-endian float16 (``2 * D`` bytes per photo and model).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shellgui.core.catalog.repository import _latest_ids
from shellgui.core.catalog.schema import VALIDATED, Identification, Photo, PhotoEmbedding, Specimen

STORED_DTYPE = np.dtype("<f2")


def to_bytes(vector: np.ndarray) -> bytes:
    """One embedding as stored: normalised, float16 little-endian."""
    v = np.asarray(vector, dtype=np.float32).ravel()
    v = v / max(float(np.linalg.norm(v)), 1e-12)
    return v.astype(STORED_DTYPE).tobytes()


def bytes_per_photo(dim: int) -> int:
    """Bytes of one stored vector of size ``dim`` (the row also holds ids and the model's SHA-256)."""
    return dim * STORED_DTYPE.itemsize


def store_embedding(session: Session, photo_id: int, model_sha256: str, vector: np.ndarray) -> None:
    """Store (or replace) one photo's embedding under one model."""
    data = to_bytes(vector)
    dim = len(data) // STORED_DTYPE.itemsize
    row = session.scalar(
        select(PhotoEmbedding).where(
            PhotoEmbedding.photo_id == photo_id, PhotoEmbedding.model_sha256 == model_sha256
        )
    )
    if row is None:
        session.add(PhotoEmbedding(photo_id=photo_id, model_sha256=model_sha256, dim=dim, vector=data))
    else:
        row.dim, row.vector = dim, data
    session.flush()


def embedding_state(session: Session, model_sha256: str) -> tuple[int, int]:
    """``(count, highest row id)`` of a model's stored embeddings: tells a cached index it is stale."""
    count, top = session.execute(
        select(func.count(PhotoEmbedding.id), func.max(PhotoEmbedding.id)).where(
            PhotoEmbedding.model_sha256 == model_sha256
        )
    ).one()
    return int(count or 0), int(top or 0)


def load_embeddings(
    session: Session, model_sha256: str, after_id: int = 0, chunk: int = 20_000
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A model's stored embeddings in chunks: ``(row ids, photo ids, (n, D) float16 vectors)``.

    Rows whose size differs from the first one (a damaged row) are skipped.
    """
    last, dim = after_id, None
    while True:
        rows = session.execute(
            select(PhotoEmbedding.id, PhotoEmbedding.photo_id, PhotoEmbedding.vector)
            .where(PhotoEmbedding.model_sha256 == model_sha256, PhotoEmbedding.id > last)
            .order_by(PhotoEmbedding.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        dim = dim or len(rows[0][2]) // STORED_DTYPE.itemsize
        good = [r for r in rows if len(r[2]) == dim * STORED_DTYPE.itemsize]
        vectors = np.frombuffer(b"".join(r[2] for r in good), dtype=STORED_DTYPE).reshape(len(good), dim)
        yield (
            np.fromiter((r[0] for r in good), np.int64, len(good)),
            np.fromiter((r[1] for r in good), np.int64, len(good)),
            vectors,
        )


def photos_without_embedding(
    session: Session, model_sha256: str, specimen_id: int | None = None
) -> list[tuple[int, str]]:
    """``(photo id, path)`` of catalogued photos (of one specimen, or all) without an embedding yet."""
    has = select(PhotoEmbedding.photo_id).where(PhotoEmbedding.model_sha256 == model_sha256)
    query = select(Photo.id, Photo.path).where(Photo.id.not_in(has)).order_by(Photo.id)
    if specimen_id is not None:
        query = query.where(Photo.specimen_id == specimen_id)
    return [(int(i), str(p)) for i, p in session.execute(query)]


@dataclass(frozen=True)
class PhotoFacts:
    """What the catalogue says about one photo's specimen (for similar specimens and few-shot)."""

    photo_id: int
    specimen_id: int
    photo_path: str
    thumbnail: bytes | None
    catalog_number: str | None
    taxon: str | None
    rank: str | None
    checked: bool


def photo_facts(session: Session, photo_ids: Iterable[int]) -> dict[int, PhotoFacts]:
    """The specimen and current identification of each photo, by photo id."""
    ids = sorted({int(i) for i in photo_ids})
    if not ids:
        return {}
    query = (
        select(Photo, Specimen.catalog_number, Identification)
        .join(Specimen, Specimen.id == Photo.specimen_id)
        .outerjoin(
            Identification,
            (Identification.specimen_id == Specimen.id) & Identification.id.in_(_latest_ids()),
        )
        .where(Photo.id.in_(ids))
    )
    out = {}
    for photo, number, ident in session.execute(query):
        out[photo.id] = PhotoFacts(
            photo_id=photo.id,
            specimen_id=photo.specimen_id,
            photo_path=photo.path,
            thumbnail=photo.thumbnail,
            catalog_number=number,
            taxon=ident.taxon if ident else None,
            rank=ident.rank if ident else None,
            checked=bool(ident and ident.verification_status == VALIDATED and ident.taxon),
        )
    return out


def checked_photo_ids(session: Session, model_sha256: str) -> dict[int, str]:
    """Photos with a stored embedding whose specimen's current identification a person checked: taxon."""
    query = (
        select(PhotoEmbedding.photo_id, Identification.taxon)
        .join(Photo, Photo.id == PhotoEmbedding.photo_id)
        .join(Identification, Identification.specimen_id == Photo.specimen_id)
        .where(PhotoEmbedding.model_sha256 == model_sha256)
        .where(Identification.id.in_(_latest_ids()))
        .where(Identification.verification_status == VALIDATED)
        .where(Identification.taxon.is_not(None))
    )
    return {int(p): str(t) for p, t in session.execute(query)}


def specimen_embeddings(session: Session, specimen_id: int, model_sha256: str) -> np.ndarray | None:
    """``(views, D)`` stored embeddings of a specimen's photos under one model, ``None`` when it has none."""
    blobs = list(
        session.scalars(
            select(PhotoEmbedding.vector)
            .join(Photo, Photo.id == PhotoEmbedding.photo_id)
            .where(Photo.specimen_id == specimen_id, PhotoEmbedding.model_sha256 == model_sha256)
            .order_by(Photo.id)
        )
    )
    if not blobs or len({len(b) for b in blobs}) != 1:
        return None
    return np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(blobs), -1)
