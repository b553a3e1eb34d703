"""Repository functions over the catalogue. They return frozen dataclasses, never ORM objects, so the
GUI's worker threads and the CLI can pass results around safely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from shellgui.core.catalog.browse import SpecimenRow as SpecimenRow  # re-exported: the row type of listings
from shellgui.core.catalog.browse import specimen_row_of
from shellgui.core.catalog.schema import (
    NOT_IDENTIFIABLE,
    PREDICTED,
    VALIDATED,
    Identification,
    Photo,
    Specimen,
)
from shellgui.core.imaging import PhotoInfo
from shellgui.core.inference.decision import Prediction


@dataclass(frozen=True)
class ModelStamp:
    """Which model made an identification."""

    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class IdentificationRecord:
    id: int
    specimen_id: int
    taxon: str | None
    rank: str
    score: float | None
    top_k: tuple[dict[str, object], ...]
    model_name: str | None
    model_version: str | None
    created_at: datetime
    verification_status: str
    identified_by: str | None
    remarks: str | None
    decided_by: str | None = None
    action_id: int | None = None

    @property
    def not_identifiable(self) -> bool:
        return self.taxon is None and self.remarks == NOT_IDENTIFIABLE

    @property
    def answer(self) -> str:
        """The taxon, "not identifiable" or "uncertain", for display."""
        return self.taxon or (NOT_IDENTIFIABLE if self.not_identifiable else "uncertain")

    @property
    def decided(self) -> bool:
        """A taxon the model (or a person) decided on; ``False`` for an "uncertain" answer."""
        return self.taxon is not None or self.not_identifiable


def identification_record(row: Identification) -> IdentificationRecord:
    return IdentificationRecord(
        id=row.id,
        specimen_id=row.specimen_id,
        taxon=row.taxon,
        rank=row.rank,
        score=row.score,
        top_k=tuple(row.top_k or ()),
        model_name=row.model_name,
        model_version=row.model_version,
        created_at=row.created_at,
        verification_status=row.verification_status,
        identified_by=row.identified_by,
        remarks=row.remarks,
        decided_by=row.decided_by,
        action_id=row.action_id,
    )


def find_photo_by_hash(session: Session, sha256: str) -> Photo | None:
    return session.scalar(select(Photo).where(Photo.sha256 == sha256))


def add_specimen(session: Session, **fields: str | float | None) -> Specimen:
    """Create a specimen; empty strings are stored as NULL."""
    specimen = Specimen(**{k: (None if v == "" else v) for k, v in fields.items()})
    session.add(specimen)
    session.flush()
    return specimen


def add_photo(
    session: Session,
    specimen: Specimen,
    path: str,
    sha256: str,
    size_bytes: int,
    info: PhotoInfo,
    thumbnail: bytes | None = None,
    pixel_sha256: str | None = None,
    crop: dict[str, int] | None = None,
    subject: int = 0,
) -> Photo:
    photo = Photo(
        specimen=specimen,
        path=path,
        sha256=sha256,
        pixel_sha256=pixel_sha256,
        size_bytes=size_bytes,
        width=info.width,
        height=info.height,
        format=info.format,
        taken_at=info.taken_at,
        camera=info.camera,
        gps_lat=info.gps_lat,
        gps_lon=info.gps_lon,
        thumbnail=thumbnail,
        subject=subject,
    )
    if crop is not None:  # otherwise SQL NULL, not a JSON null
        photo.crop = crop
    session.add(photo)
    session.flush()
    return photo


def add_machine_identification(
    session: Session, specimen_id: int, prediction: Prediction, model: ModelStamp, run_id: int | None = None
) -> Identification:
    """Record what the model said (``PredictedByMachine``)."""
    ident = Identification(
        specimen_id=specimen_id,
        taxon=prediction.taxon,
        rank=prediction.rank,
        score=prediction.score,
        top_k=prediction.to_dict()["top_k"],
        model_name=model.name,
        model_version=model.version,
        model_sha256=model.sha256,
        verification_status=PREDICTED,
        identified_by=None,
        run_id=run_id,
    )
    session.add(ident)
    session.flush()
    return ident


def validate_identification(
    session: Session,
    specimen_id: int,
    taxon: str | None,
    rank: str = "species",
    by: str | None = None,
    score: float | None = None,
    remarks: str | None = None,
) -> IdentificationRecord:
    """Record a person's identification (``ValidatedByHuman``) as the specimen's newest.

    ``taxon=None`` with ``remarks=NOT_IDENTIFIABLE`` marks a photo nobody can identify.
    """
    if session.get(Specimen, specimen_id) is None:
        raise LookupError(f"no specimen {specimen_id} in the catalogue")
    last = current_identification(session, specimen_id)
    ident = Identification(
        specimen_id=specimen_id,
        taxon=taxon,
        rank=rank if taxon else "none",
        score=score,
        top_k=list(last.top_k) if last else None,
        model_name=last.model_name if last else None,
        model_version=last.model_version if last else None,
        verification_status=VALIDATED,
        identified_by=by,
        decided_by=by,
        remarks=remarks,
    )
    session.add(ident)
    session.flush()
    return identification_record(ident)


def mark_not_identifiable(session: Session, specimen_id: int, by: str | None = None) -> IdentificationRecord:
    return validate_identification(session, specimen_id, None, by=by, remarks=NOT_IDENTIFIABLE)


def current_identification(session: Session, specimen_id: int) -> IdentificationRecord | None:
    row = session.scalar(
        select(Identification)
        .where(Identification.specimen_id == specimen_id)
        .order_by(Identification.id.desc())
        .limit(1)
    )
    return identification_record(row) if row else None


def history(session: Session, specimen_id: int) -> list[IdentificationRecord]:
    """All identifications of a specimen, oldest first."""
    rows = session.scalars(
        select(Identification).where(Identification.specimen_id == specimen_id).order_by(Identification.id)
    )
    return [identification_record(r) for r in rows]


SPECIMEN_FIELDS = (
    "catalog_number",
    "locality",
    "collector",
    "collected_on",
    "notes",
    "decimal_latitude",
    "decimal_longitude",
)


def update_specimen(session: Session, specimen_id: int, **fields: str | float | None) -> None:
    specimen = session.get(Specimen, specimen_id)
    if specimen is None:
        raise LookupError(f"no specimen {specimen_id} in the catalogue")
    for key, value in fields.items():
        if key not in SPECIMEN_FIELDS:
            raise ValueError(f"unknown specimen field {key}")
        setattr(specimen, key, None if value == "" else value)
    session.flush()


def _latest_ids() -> ScalarSelect[int]:
    return select(func.max(Identification.id)).group_by(Identification.specimen_id).scalar_subquery()


def list_specimens(
    session: Session,
    text: str = "",
    status: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    run_id: int | None = None,
    order_by_score: bool = False,
    limit: int | None = None,
    identified_since: datetime | None = None,
) -> list[SpecimenRow]:
    """Specimens with their current identification, filtered.

    Args:
        text: matched against taxon, catalogue number, locality, collector and notes.
        status: ``PredictedByMachine`` or ``ValidatedByHuman``.
        min_score, max_score: bounds on the current identification's score.
        run_id: only specimens identified in that cataloguing run.
        identified_since: only specimens whose current identification is this recent.
        order_by_score: lowest score first (the review queue), else newest first.
    """
    first_photo = (
        select(Photo.specimen_id, func.min(Photo.id).label("photo_id"), func.count(Photo.id).label("n"))
        .group_by(Photo.specimen_id)
        .subquery()
    )
    query = (
        select(Specimen, Identification, Photo, first_photo.c.n)
        .outerjoin(
            Identification, (Identification.specimen_id == Specimen.id) & Identification.id.in_(_latest_ids())
        )
        .outerjoin(first_photo, first_photo.c.specimen_id == Specimen.id)
        .outerjoin(Photo, Photo.id == first_photo.c.photo_id)
    )
    if text:
        like = f"%{text}%"
        query = query.where(
            Identification.taxon.ilike(like)
            | Specimen.catalog_number.ilike(like)
            | Specimen.locality.ilike(like)
            | Specimen.collector.ilike(like)
            | Specimen.notes.ilike(like)
            | Specimen.collected_on.ilike(like)
        )
    if identified_since is not None:
        query = query.where(Identification.created_at >= identified_since)
    if status:
        query = query.where(Identification.verification_status == status)
    if min_score is not None:
        query = query.where(Identification.score >= min_score)
    if max_score is not None:
        query = query.where(Identification.score <= max_score)
    if run_id is not None:
        query = query.where(
            Specimen.id.in_(select(Identification.specimen_id).where(Identification.run_id == run_id))
        )
    if order_by_score:
        query = query.order_by(Identification.score.asc().nulls_first(), Specimen.id)
    else:
        query = query.order_by(Specimen.id.desc())
    if limit:
        query = query.limit(limit)
    rows = []
    for specimen, ident, photo, count in session.execute(query):
        rows.append(
            specimen_row_of(
                specimen,
                ident,
                photo.path if photo else None,
                int(count or 0),
                photo.thumbnail if photo else None,
            )
        )
    return rows


def review_queue(session: Session, run_id: int | None = None) -> list[SpecimenRow]:
    """Machine identifications nobody has checked yet, lowest confidence first."""
    return list_specimens(session, status=PREDICTED, run_id=run_id, order_by_score=True)


def specimen_photos(session: Session, specimen_id: int) -> list[str]:
    return list(
        session.scalars(select(Photo.path).where(Photo.specimen_id == specimen_id).order_by(Photo.id))
    )


@dataclass(frozen=True)
class TrainingSample:
    """A photo whose current identification a person validated: what ``shellgui-train`` learns from."""

    path: str
    taxon: str
    specimen_id: int


def validated_samples(session: Session) -> list[TrainingSample]:
    """Photos whose specimen's current identification is ``ValidatedByHuman`` with a taxon."""
    query = (
        select(Photo.path, Identification.taxon, Photo.specimen_id)
        .join(Identification, Identification.specimen_id == Photo.specimen_id)
        .where(Identification.id.in_(_latest_ids()))
        .where(Identification.verification_status == VALIDATED)
        .where(Identification.taxon.is_not(None))
        .order_by(Photo.id)
    )
    return [TrainingSample(p, t or "", s) for p, t, s in session.execute(query)]
