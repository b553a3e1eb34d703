"""Import existing records (a spreadsheet, a Specify or Symbiota Darwin Core archive, a shellgui export).

:func:`plan_import` works out what importing a :class:`~shellgui.core.importing.tables.Table` would change,
without writing anything (a dry run shows exactly this); :func:`apply_import` writes the plan, one
transaction and one audit entry per specimen. The rules:

- A record is matched to a specimen by its catalogue number, else by its photos (same bytes); a record with
  neither cannot be matched again on a re-import, so it is skipped and reported.
- Specimen data only fills empty fields; a different stored value is a conflict, reported and kept.
- Determinations are appended with their original identifier and date, ``ValidatedByHuman`` (or
  ``PredictedByMachine`` where the source says so, as a shellgui export does); names are checked against the
  name backbone (a synonym is recorded under its accepted name, with a note). One already in the
  history is not added again, so re-importing the same file changes nothing.
- When a person's check is current, only determinations made after it are appended; older ones that are not
  in the history are conflicts, reported and not imported.
- Measurements (a Darwin Core archive's Measurement or Facts rows, e.g. a shell length in mm) are added with
  their original author and date unless the specimen already has the same type, unit and value; a fact
  that is not a positive number is reported and not stored.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shellgui.core.catalog import curation
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.decisions import Decision, UndecidedError, require_name
from shellgui.core.catalog.schema import (
    NOT_IDENTIFIABLE,
    PREDICTED,
    VALIDATED,
    Identification,
    Measurement,
    Photo,
    Specimen,
    max_length,
)
from shellgui.core.determinations import checked_decision
from shellgui.core.errors import PhotoError
from shellgui.core.imaging import make_thumbnail, open_photo
from shellgui.core.importing.tables import SourceRecord, Table
from shellgui.core.taxonomy import NameBackbone, load_backbone

#: Darwin Core term -> specimen field.
SPECIMEN_TERMS = {
    "catalogNumber": "catalog_number",
    "locality": "locality",
    "recordedBy": "collector",
    "eventDate": "collected_on",
    "occurrenceRemarks": "notes",
}
#: Darwin Core coordinate term -> specimen field and its valid range.
COORDINATE_TERMS = {
    "decimalLatitude": ("decimal_latitude", 90.0),
    "decimalLongitude": ("decimal_longitude", 180.0),
}


def coordinate(term: str, text: str) -> float:
    """A decimal coordinate read from ``text``.

    Raises:
        ValueError: not a number, or outside -90..90 (latitude) / -180..180 (longitude); the message
            says which.
    """
    limit = COORDINATE_TERMS[term][1]
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"{term} {text!r} is not a number") from None
    if not -limit <= value <= limit:  # NaN fails this too
        raise ValueError(f"{term} {text!r} is outside -{limit:g}..{limit:g}")
    return value


_MODEL_BY = re.compile(r"^shellgui model (?P<name>\S+)(?: (?P<version>\S+))?$")


@dataclass(frozen=True)
class Determination:
    """One determination read from a record, its name already checked."""

    taxon: str | None
    rank: str
    by: str
    at: datetime | None
    status: str
    remarks: str | None = None
    score: float | None = None
    model_name: str | None = None
    model_version: str | None = None
    precise: bool = False  # ``at`` has a time of day (compare to the second, else to the day)

    def describe(self) -> str:
        when = self.at.date().isoformat() if self.at else "undated"
        who = (
            f"model {self.model_name or '?'}" if self.status == PREDICTED else self.by or "identifier unknown"
        )
        return f"{self.taxon or NOT_IDENTIFIABLE} ({who}, {when})"


@dataclass(frozen=True)
class IncomingMeasurement:
    """A measurement of the source (e.g. shell length 23.4 mm), stored with its author and date."""

    measurement_type: str
    value: float
    unit: str
    by: str | None
    at: datetime | None
    method: str
    remarks: str | None

    def describe(self) -> str:
        return f"{self.measurement_type} {self.value:g} {self.unit}".strip()

    def same_as(self, kind: str, unit: str, value: float) -> bool:
        """The same measurement (exports round values to 2 decimals)."""
        return (kind, unit, round(value, 2)) == (self.measurement_type, self.unit, round(self.value, 2))


@dataclass
class Change:
    """What importing one record does to one specimen (``specimen_id`` None: a new specimen)."""

    where: str
    label: str
    specimen_id: int | None
    fields: dict[str, str | float] = field(default_factory=dict)
    photos: list[str] = field(default_factory=list)
    determinations: list[Determination] = field(default_factory=list)
    measurements: list[IncomingMeasurement] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes_something(self) -> bool:
        return self.specimen_id is None or bool(
            self.fields or self.photos or self.determinations or self.measurements
        )

    def summary(self) -> str:
        parts = []
        if self.fields:
            parts.append(("" if self.specimen_id is None else "fills ") + ", ".join(sorted(self.fields)))
        if self.photos:
            parts.append(f"{len(self.photos)} photo{'s' if len(self.photos) != 1 else ''}")
        if self.determinations:
            parts.append("determinations: " + "; ".join(d.describe() for d in self.determinations))
        if self.measurements:
            parts.append("measurements: " + "; ".join(m.describe() for m in self.measurements))
        verb = "new" if self.specimen_id is None else "update"
        return f"{verb} {self.label}: " + (", ".join(parts) or "no data")


@dataclass
class ImportPlan:
    """Everything an import would do; :func:`apply_import` writes it."""

    source: str
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        return [f"{c.label}: {text}" for c in self.changes for text in c.conflicts]

    @property
    def new(self) -> int:
        return sum(1 for c in self.changes if c.specimen_id is None)

    @property
    def updated(self) -> int:
        return sum(1 for c in self.changes if c.specimen_id is not None and c.changes_something)


def _parse_date(text: str) -> tuple[datetime | None, bool]:
    """``2021-03-04``, ``2021-03-04T10:11:12``, ``2021-03`` or ``2021`` (a range: its start)."""
    first = text.strip().split("/")[0].replace("Z", "")
    for pattern, precise in (("%Y-%m-%dT%H:%M:%S", True), ("%Y-%m-%d %H:%M:%S", True), ("%Y-%m-%d", False)):
        try:
            return datetime.strptime(first[:19], pattern), precise
        except ValueError:
            continue
    for pattern in ("%Y-%m", "%Y"):
        try:
            return datetime.strptime(first, pattern), False
        except ValueError:
            continue
    return None, False


def _split_remarks(text: str) -> tuple[str | None, str | None, str | None, float | None]:
    """A shellgui export's remarks (``model=NAME VERSION; score=0.9; ...``) -> model name, version, the
    remaining remarks and the score."""
    model: str | None = None
    version: str | None = None
    score = None
    rest = []
    for part in (p.strip() for p in text.split(";")):
        if part.startswith("model="):
            bits = part[len("model=") :].split()
            model = bits[0] if bits else None
            version = bits[1] if len(bits) > 1 else None
        elif part.startswith("score="):
            try:
                score = float(part[len("score=") :])
            except ValueError:
                rest.append(part)
        elif part:
            rest.append(part)
    return model, version, "; ".join(rest) or None, score


def _determinations(record: SourceRecord, backbone: NameBackbone, notes: list[str]) -> list[Determination]:
    entries = list(record.history) or ([record.terms] if _has_determination(record.terms) else [])
    found = []
    for terms in entries:
        if not _has_determination(terms):
            continue
        at, precise = _parse_date(terms.get("dateIdentified", ""))
        if terms.get("dateIdentified") and at is None:
            notes.append(f"dateIdentified {terms['dateIdentified']!r} is not a date: imported undated")
        model_name, model_version, remarks, score = _split_remarks(terms.get("identificationRemarks", ""))
        by = terms.get("identifiedBy", "")
        status = PREDICTED if terms.get("identificationVerificationStatus") == PREDICTED else VALIDATED
        name = terms.get("scientificName", "")
        if status == PREDICTED:
            match = _MODEL_BY.match(by)
            if match and not model_name:
                model_name, model_version = match["name"], match["version"]
            rank = terms.get("taxonRank", "species" if name else "uncertain")
            found.append(
                Determination(
                    name or None, rank, "", at, PREDICTED, remarks, score, model_name, model_version, precise
                )
            )
            continue
        try:
            decision, check = checked_decision(name or NOT_IDENTIFIABLE, backbone=backbone)
        except UndecidedError:
            continue
        note = "; ".join(p for p in ((check.note if check else ""), remarks or "") if p) or None
        if decision.is_not_identifiable:
            note = NOT_IDENTIFIABLE
        rank = terms.get("taxonRank") or decision.rank
        found.append(Determination(decision.taxon, rank, by, at, VALIDATED, note, score, precise=precise))
    return sorted(found, key=lambda d: d.at or datetime.min)


def _measurements(record: SourceRecord, notes: list[str]) -> list[IncomingMeasurement]:
    """The record's measurements that can be stored; the others are noted."""
    found = []
    limits = {
        column: max_length(Measurement, column) or 0 for column in ("measurement_type", "unit", "measured_by")
    }
    for terms in record.measurements:
        kind, unit = terms.get("measurementType", ""), terms.get("measurementUnit", "")
        text, by = terms.get("measurementValue", ""), terms.get("measurementDeterminedBy", "")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        too_long = any(
            len(given) > limits[column]
            for column, given in (("measurement_type", kind), ("unit", unit), ("measured_by", by))
        )
        if not kind or not (math.isfinite(value) and value > 0):
            notes.append(
                f"measurement {kind[:40] or '(no type)'} {text[:40]!r} is not a positive number: not stored"
            )
        elif too_long:
            notes.append(
                f"measurement {kind[:40]!r}: its type, unit or author is too long to store: not stored"
            )
        else:
            found.append(
                IncomingMeasurement(
                    kind,
                    value,
                    unit,
                    by or None,
                    _parse_date(terms.get("measurementDeterminedDate", ""))[0],
                    terms.get("measurementMethod", ""),
                    terms.get("measurementRemarks") or None,
                )
            )
    return found


def _has_determination(terms: dict[str, str]) -> bool:
    return bool(terms.get("scientificName")) or NOT_IDENTIFIABLE in terms.get("identificationRemarks", "")


def _same(stored: Identification, det: Determination) -> bool:
    if stored.taxon != det.taxon or stored.verification_status != det.status:
        return False
    if det.status == VALIDATED and det.by and (stored.identified_by or "") != det.by:
        return False
    if det.at is None:
        return True
    if det.precise:
        return stored.created_at.replace(microsecond=0) == det.at
    return stored.created_at.date() == det.at.date()


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _photo_paths(record: SourceRecord, base: Path) -> list[str]:
    media = record.terms.get("associatedMedia", "")
    paths = []
    for item in re.split(r"\s*\|\s*", media):
        if item and not re.match(r"^[a-z]+://", item):
            path = Path(item) if Path(item).is_absolute() else base / item
            paths.append(str(path))
    return paths


def _plan_one(
    session: Session, record: SourceRecord, base: Path, backbone: NameBackbone, plan: ImportPlan
) -> None:
    number = record.terms.get("catalogNumber")
    notes: list[str] = []
    photos: dict[str, str] = {}
    for path in _photo_paths(record, base):
        if os.path.isfile(path):
            photos[path] = _sha256(path)
        else:
            notes.append(f"photo {path} not found: not attached")
    specimen = session.scalar(select(Specimen).where(Specimen.catalog_number == number)) if number else None
    conflicts = []
    if specimen is None and not number:
        owners = set(
            session.scalars(select(Photo.specimen_id).where(Photo.sha256.in_(list(photos.values()))))
        )
        if len(owners) > 1:
            plan.skipped.append(f"{record.where}: its photos belong to {len(owners)} different specimens")
            return
        specimen = session.get(Specimen, owners.pop()) if owners else None
        if specimen is None and not photos:
            plan.skipped.append(
                f"{record.where}: no catalogNumber and no photo to recognise it by on a re-import"
            )
            return
    label = number or (f"specimen {specimen.id}" if specimen else f"{Path(next(iter(photos))).name}")
    change = Change(record.where, label, specimen.id if specimen else None, notes=notes)
    for term, attr in SPECIMEN_TERMS.items():
        value = record.terms.get(term)
        if not value:
            continue
        old = getattr(specimen, attr) if specimen else None
        if old is None:
            change.fields[attr] = value
        elif old != value:
            conflicts.append(f"{attr} is {old!r} in the catalogue, {value!r} in the file: kept {old!r}")
    for term, (attr, _limit) in COORDINATE_TERMS.items():
        text = record.terms.get(term)
        if not text:
            continue
        try:
            degrees = coordinate(term, text)
        except ValueError as exc:
            notes.append(f"{exc}: not stored")
            continue
        old_degrees = getattr(specimen, attr) if specimen else None
        if old_degrees is None:
            change.fields[attr] = degrees
        elif abs(old_degrees - degrees) > 1e-7:
            conflicts.append(
                f"{attr} is {old_degrees} in the catalogue, {degrees} in the file: kept {old_degrees}"
            )
    known = {
        sha: owner
        for sha, owner in session.execute(
            select(Photo.sha256, Photo.specimen_id).where(Photo.sha256.in_(list(photos.values())))
        )
    }
    for path, sha in photos.items():
        owner = known.get(sha)
        if owner is None:
            if sha not in {photos[p] for p in change.photos}:
                change.photos.append(path)
        elif specimen is None or owner != specimen.id:
            conflicts.append(f"photo {Path(path).name} already belongs to specimen {owner}: not attached")
    incoming = _determinations(record, backbone, change.notes)
    stored = (
        list(
            session.scalars(
                select(Identification)
                .where(Identification.specimen_id == change.specimen_id)
                .order_by(Identification.id)
            )
        )
        if specimen
        else []
    )
    missing = [d for d in incoming if not any(_same(s, d) for s in stored)]
    current = stored[-1] if stored else None
    if current is not None and current.verification_status == VALIDATED:
        for det in missing:
            if det.at is not None and det.at > current.created_at:
                change.determinations.append(det)
            else:
                conflicts.append(
                    f"the file's determination {det.describe()} is not newer than the catalogue's check "
                    f"{current.taxon or NOT_IDENTIFIABLE} ({current.identified_by or 'unknown'}, "
                    f"{current.created_at.date().isoformat()}): not imported"
                )
    else:
        change.determinations.extend(missing)
    stored_measurements = (
        list(
            session.execute(
                select(Measurement.measurement_type, Measurement.unit, Measurement.value).where(
                    Measurement.specimen_id == specimen.id
                )
            )
        )
        if specimen
        else []
    )
    for measurement in _measurements(record, change.notes):
        if not any(measurement.same_as(*row) for row in [*stored_measurements, *_keys(change.measurements)]):
            change.measurements.append(measurement)
    change.conflicts = conflicts
    if change.changes_something or conflicts or notes:
        plan.changes.append(change)
    if not change.changes_something:
        plan.unchanged += 1


def _keys(measurements: list[IncomingMeasurement]) -> list[tuple[str, str, float]]:
    return [(m.measurement_type, m.unit, m.value) for m in measurements]


def plan_import(catalog: Catalog, table: Table, backbone: NameBackbone | None = None) -> ImportPlan:
    """What importing ``table`` would change; writes nothing (this is the dry run).

    Photo paths in ``associatedMedia`` are read relative to the source file's folder.
    """
    backbone = backbone or load_backbone()
    plan = ImportPlan(table.source)
    base = Path(table.source).parent
    seen: dict[str, str] = {}
    with catalog.session() as session:
        for record in table.records:
            number = record.terms.get("catalogNumber")
            if number and number in seen:
                plan.skipped.append(f"{record.where}: catalogNumber {number} already given in {seen[number]}")
                continue
            if number:
                seen[number] = record.where
            _plan_one(session, record, base, backbone, plan)
    return plan


def _attach(session: Session, specimen: Specimen, path: str) -> int | None:
    try:
        photo = open_photo(path)
    except PhotoError:
        return None
    added = repo.add_photo(
        session,
        specimen,
        os.path.abspath(path),
        _sha256(path),
        os.path.getsize(path),
        photo.info,
        make_thumbnail(photo.image),
    )
    return added.id


def _history_item(det: Determination) -> Decision | Identification:
    if det.status == VALIDATED:
        return Decision(det.taxon, det.rank, det.score, det.remarks, det.at, det.by or None)
    row = Identification(
        taxon=det.taxon,
        rank=det.rank,
        score=det.score,
        model_name=det.model_name,
        model_version=det.model_version,
        verification_status=PREDICTED,
        remarks=det.remarks,
    )
    if det.at is not None:
        row.created_at = det.at
    return row


def _stored(specimen: Specimen, m: IncomingMeasurement) -> Measurement:
    row = Measurement(
        specimen_id=specimen.id,
        measurement_type=m.measurement_type,
        value=m.value,
        unit=m.unit,
        method={"description": m.method} if m.method else None,
        measured_by=m.by,
        remarks=m.remarks,
    )
    if m.at is not None:
        row.measured_at = m.at
    return row


def apply_import(catalog: Catalog, plan: ImportPlan, by: str | None) -> list[curation.Outcome]:
    """Write a plan from :func:`plan_import`: one transaction and one audit entry per specimen.

    Args:
        catalog: the catalogue the plan was made for.
        plan: what to write (conflicts are not part of it: they were left out when planning).
        by: the person importing (the audit log's ``by``); each determination keeps its own identifier.

    Returns:
        One outcome per specimen created or changed.
    """
    name = require_name(by)
    outcomes = []
    for change in plan.changes:
        if not change.changes_something:
            continue
        with catalog.writing() as session, session.begin():
            if change.specimen_id is None:
                specimen = repo.add_specimen(session, **change.fields)
            else:
                found = session.get(Specimen, change.specimen_id)
                if found is None:  # deleted since the plan was made
                    continue
                specimen = found
                repo.update_specimen(session, specimen.id, **change.fields)
            photo_ids = [pid for pid in (_attach(session, specimen, p) for p in change.photos) if pid]
            history = [_history_item(det) for det in change.determinations]
            measured = [_stored(specimen, m) for m in change.measurements]
            session.add_all(measured)
            session.flush()
            summary = f"imported from {Path(plan.source).name}: {change.summary()}"
            details = {
                "source": plan.source,
                "fields": change.fields,
                "photos": photo_ids,
                "measurements": [m.id for m in measured],
            }
            outcomes.append(curation.record_import(session, specimen.id, history, name, summary, details))
    return outcomes
