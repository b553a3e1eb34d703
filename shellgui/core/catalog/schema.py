"""The catalogue's tables (SQLAlchemy 2.0 declarative models).

Schema changes go through Alembic migrations in ``migrations/versions``; never edit a released revision.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shellgui.core.errors import UsageError
from shellgui.core.text import path_from_db, path_to_db

PREDICTED = "PredictedByMachine"
VALIDATED = "ValidatedByHuman"
VERIFICATION_STATUSES = (PREDICTED, VALIDATED)
NOT_IDENTIFIABLE = "not identifiable"
#: ``info`` of a column a person types: too long is refused, never cut. Others (EXIF, model cards) are cut.
TYPED = {"typed": True}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class FilePath(TypeDecorator[str]):
    """A file path stored as text; a name whose bytes are not UTF-8 is kept losslessly, encoded
    (see :func:`shellgui.core.text.path_to_db`). The column is plain ``TEXT`` in every database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else path_to_db(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else path_from_db(value)


class Base(DeclarativeBase):
    pass


class Specimen(Base):
    """A specimen or lot: one shell (or a lot of shells) with its collection data."""

    __tablename__ = "specimens"
    # Sorting the catalogue table by these columns walks an index and stops after one page.
    __table_args__ = (
        Index("ix_specimens_locality", "locality"),
        Index("ix_specimens_collector", "collector"),
        Index("ix_specimens_collected_on", "collected_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalog_number: Mapped[str | None] = mapped_column(String(64), unique=True, info=TYPED)
    locality: Mapped[str | None] = mapped_column(Text)
    collector: Mapped[str | None] = mapped_column(String(200), info=TYPED)
    collected_on: Mapped[str | None] = mapped_column(String(32), info=TYPED)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decimal_latitude: Mapped[float | None] = mapped_column(Float)
    decimal_longitude: Mapped[float | None] = mapped_column(Float)

    photos: Mapped[list[Photo]] = relationship(back_populates="specimen", cascade="all, delete-orphan")
    measurements: Mapped[list[Measurement]] = relationship(
        back_populates="specimen", cascade="all, delete-orphan", order_by="Measurement.id"
    )
    identifications: Mapped[list[Identification]] = relationship(
        back_populates="specimen", cascade="all, delete-orphan", order_by="Identification.id"
    )


class Photo(Base):
    """A photo file of a specimen; recognised by the SHA-256 of its bytes wherever it moves, and by
    ``pixel_sha256`` (what its pixels are decoded from, see :func:`shellgui.core.imaging.pixel_digest`)
    when only its metadata changed."""

    __tablename__ = "photos"
    __table_args__ = (
        UniqueConstraint("sha256", "subject", name="uq_photos_sha256_subject"),
        Index("ix_photos_pixel_sha256_subject", "pixel_sha256", "subject", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specimen_id: Mapped[int] = mapped_column(ForeignKey("specimens.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(FilePath)
    sha256: Mapped[str] = mapped_column(String(64))
    pixel_sha256: Mapped[str | None] = mapped_column(String(64))
    # Which subject of the file this row is: 0 for a photo of one subject (or the whole photo); a photo of
    # several shells recorded as separate specimens (or views) has one row per subject, each with its crop.
    subject: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    taken_at: Mapped[str | None] = mapped_column(String(32))
    camera: Mapped[str | None] = mapped_column(String(200))
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The part of the photo that was identified, {"x", "y", "width", "height"} in pixels of the upright
    # image; None: the whole photo.
    crop: Mapped[dict[str, int] | None] = mapped_column(JSON)

    specimen: Mapped[Specimen] = relationship(back_populates="photos")


class Measurement(Base):
    """One measurement of a specimen (Darwin Core MeasurementOrFact), e.g. shell length in mm taken on a
    photo calibrated against a ruler; ``method`` keeps how (points, calibration) as JSON."""

    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specimen_id: Mapped[int] = mapped_column(ForeignKey("specimens.id", ondelete="CASCADE"), index=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))
    measurement_type: Mapped[str] = mapped_column(String(100), info=TYPED)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    method: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    measured_by: Mapped[str | None] = mapped_column(String(200), info=TYPED)
    measured_at: Mapped[datetime] = mapped_column(default=utcnow)
    remarks: Mapped[str | None] = mapped_column(Text)

    specimen: Mapped[Specimen] = relationship(back_populates="measurements")


class CatalogRun(Base):
    """One cataloguing of a folder: resumable until it is complete."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[str] = mapped_column(FilePath)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)


class RunItem(Base):
    """What happened to one file of a run: ``done``, ``failed`` (with its reason) or ``duplicate``."""

    __tablename__ = "run_items"
    __table_args__ = (UniqueConstraint("run_id", "path", name="uq_run_items_run_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(FilePath)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))


class Identification(Base):
    """One identification of a specimen; the newest is current, all are kept as its history."""

    __tablename__ = "identifications"
    # A specimen's current identification is its newest: one probe of this index (see catalog.browse).
    __table_args__ = (Index("ix_identifications_specimen_newest", "specimen_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specimen_id: Mapped[int] = mapped_column(ForeignKey("specimens.id", ondelete="CASCADE"), index=True)
    taxon: Mapped[str | None] = mapped_column(String(200), info=TYPED)
    rank: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    top_k: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(64))
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verification_status: Mapped[str] = mapped_column(String(32), default=PREDICTED)
    identified_by: Mapped[str | None] = mapped_column(String(200), info=TYPED)
    #: The person who added this entry (a check, a correction, a withdrawal, an undo); None for the model.
    decided_by: Mapped[str | None] = mapped_column(String(200), info=TYPED)
    #: The user action (audit log entry) that added this entry.
    action_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id", ondelete="SET NULL"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    remarks: Mapped[str | None] = mapped_column(Text)

    specimen: Mapped[Specimen] = relationship(back_populates="identifications")


class AuditEntry(Base):
    """One user action on the catalogue: who did what, when, and what it changed.

    ``details`` holds what is needed to show and undo the action: the specimen fields' old and new values
    of an edit, the identification entries it appended, or the full record of what a delete removed. The
    log is never edited except to mark an action undone (``undone_by_id``); it outlives deleted specimens,
    so ``specimen_id`` is deliberately not a foreign key.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(200), info=TYPED)
    action: Mapped[str] = mapped_column(String(32))
    specimen_id: Mapped[int | None] = mapped_column(Integer, index=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id", ondelete="SET NULL"))


def max_length(table: type[Base], column: str) -> int | None:
    """The declared length of a text column (``None``: unlimited), so input is checked before it is stored."""
    return getattr(table.__table__.c[column].type, "length", None)


class PhotoEmbedding(Base):
    """One photo's embedding under one model (the model file's SHA-256): the collection as memory.

    Stored as the L2-normalised vector in little-endian float16: ``2 * D`` bytes (2,560 for D = 1,280).
    Embeddings of different models are not comparable, so every query names its model.
    """

    __tablename__ = "photo_embeddings"
    __table_args__ = (UniqueConstraint("photo_id", "model_sha256", name="uq_photo_embeddings_photo_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    model_sha256: Mapped[str] = mapped_column(String(64), index=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


def fit_text(column: Column[Any], value: Any) -> Any:
    """``value`` as ``column`` stores it, the same on SQLite and PostgreSQL.

    NUL characters are dropped (PostgreSQL cannot store them). Text longer than the column is cut when
    it comes from a file or a model card, and refused with one line when a person typed it.

    Raises:
        UsageError: typed text longer than the column.
    """
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "")
    length = getattr(column.type, "length", None)
    if length is None or len(value) <= length:
        return value
    if column.info.get("typed"):
        words = column.name.replace("_", " ").replace("catalog ", "catalogue ")
        raise UsageError(f"the {words} is {len(value)} characters long; at most {length} fit")
    return value[:length]


def fit_row(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """:func:`fit_text` applied to every value of a row for a Core ``INSERT``."""
    return {key: fit_text(table.c[key], value) for key, value in values.items()}


def _fit_on_set(column: Column[Any]) -> Any:
    def listener(_target: object, value: Any, _old: object, _initiator: object) -> Any:
        return fit_text(column, value)

    return listener


for _mapper in Base.registry.mappers:
    for _column in _mapper.columns:
        if isinstance(_column.type, String) and _column.key in _mapper.attrs:
            event.listen(getattr(_mapper.class_, _column.key), "set", _fit_on_set(_column), retval=True)
