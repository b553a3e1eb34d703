"""What a curator does to the catalogue: one function and one transaction per user action.

The GUI and the CLI both call these functions, so the rules a curator relies on hold everywhere:

- **Never overwrite, always append.** A photo already in the catalogue keeps its specimen; new specimen data
  for it is an explicit edit (``edit=True``) whose old and new values go to the audit log. The
  identification history is only ever appended to.
- **Human decisions are explicit.** A :class:`Decision` names a taxon or "not identifiable"; an "uncertain"
  answer cannot be turned into one (:class:`UndecidedError`). Every decision records who made it.
- **Idempotent.** Accepting what is already the checked identification adds nothing.
- **Everything can be undone or is logged.** Each action that changes something writes one
  :class:`~shellgui.core.catalog.schema.AuditEntry`; :func:`undo` reverses a record, decision, edit or
  withdrawal by appending (or, for a specimen the action itself created, by removing it again), and deletes
  keep a full copy of what they removed in the log.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import null, select
from sqlalchemy.orm import Session

from shellgui.core.catalog import browse, claims
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.browse import SpecimenFilter
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.decisions import Decision, require_name
from shellgui.core.catalog.embeddings import store_embedding
from shellgui.core.catalog.queries import SPECIMEN_FIELDS, specimen_fields
from shellgui.core.catalog.schema import (
    NOT_IDENTIFIABLE,
    PREDICTED,
    VALIDATED,
    AuditEntry,
    Identification,
    Measurement,
    Photo,
    Specimen,
    max_length,
)
from shellgui.core.dates import collection_date
from shellgui.core.errors import ShellguiError, UsageError
from shellgui.core.imaging import Photo as DecodedPhoto
from shellgui.core.imaging import make_thumbnail
from shellgui.core.inference.decision import Prediction

FIELD_WORDS = {
    "catalog_number": "catalogue number",
    "locality": "locality",
    "collector": "collector",
    "collected_on": "date collected",
    "notes": "notes",
}

# Audit log actions.
RECORD = "record"
CHECK = "check"
CORRECT = "correct"
WITHDRAW = "withdraw"
EDIT = "edit"
DELETE_SPECIMEN = "delete specimen"
DELETE_PHOTO = "delete photo"
UNDO = "undo"
IMPORT = "import"
MEASURE = "measure"
DELETE_MEASUREMENT = "delete measurement"
CATALOGUE_RUN = "catalogue folder"
#: Actions that change no identification and no specimen field: they never block undoing an earlier one.
SIDE_NOTES = (MEASURE, DELETE_MEASUREMENT)
UNDOABLE = (RECORD, CHECK, CORRECT, WITHDRAW, EDIT, *SIDE_NOTES)


class CurationError(ShellguiError):
    """An action was refused because it would lose or falsify data (the message says what to do)."""


@dataclass(frozen=True)
class Outcome:
    """What an action did.

    Attributes:
        specimen_id: the specimen acted on.
        action_id: its audit log entry, for :func:`undo`; ``None`` when nothing changed (a repeat).
        summary: one line for the status bar or the terminal.
        created: the action created the specimen.
    """

    specimen_id: int
    action_id: int | None
    summary: str
    created: bool = False


# -- helpers inside one transaction ------------------------------------------------------------------------
def _specimen(session: Session, specimen_id: int) -> Specimen:
    specimen = session.get(Specimen, specimen_id)
    if specimen is None:
        raise CurationError(f"specimen {specimen_id} is not in the catalogue (deleted?)")
    return specimen


def _label(specimen: Specimen) -> str:
    return f"specimen {specimen.id}" + (f" ({specimen.catalog_number})" if specimen.catalog_number else "")


def _clean(fields: Mapping[str, str | None]) -> dict[str, str | None]:
    unknown = set(fields) - set(SPECIMEN_FIELDS)
    if unknown:
        raise UsageError(f"unknown specimen field {sorted(unknown)[0]}")
    cleaned: dict[str, str | None] = {}
    for name, value in fields.items():
        text = (value or "").strip() if name == "notes" else " ".join((value or "").split())
        longest = max_length(Specimen, name)
        if longest is not None and len(text) > longest:
            raise UsageError(f"{FIELD_WORDS[name]} has at most {longest} characters ({len(text)} given)")
        cleaned[name] = collection_date(text) if name == "collected_on" else text or None
    return cleaned


def _check_catalog_number(session: Session, number: str | None, specimen_id: int | None) -> None:
    if not number:
        return
    other = session.scalar(select(Specimen.id).where(Specimen.catalog_number == number))
    if other is not None and other != specimen_id:
        raise CurationError(f"catalogue number {number} is already used by specimen {other}")


def _log(
    session: Session, by: str, action: str, specimen_id: int | None, summary: str, details: dict[str, Any]
) -> AuditEntry:
    entry = AuditEntry(by=by, action=action, specimen_id=specimen_id, summary=summary, details=details)
    session.add(entry)
    session.flush()
    return entry


def _current(session: Session, specimen_id: int) -> Identification | None:
    return session.scalar(
        select(Identification)
        .where(Identification.specimen_id == specimen_id)
        .order_by(Identification.id.desc())
        .limit(1)
    )


def _same_decision(current: Identification | None, decision: Decision) -> bool:
    if current is None or current.verification_status != VALIDATED:
        return False
    if decision.is_not_identifiable:
        return current.taxon is None and current.remarks == NOT_IDENTIFIABLE
    return current.taxon == decision.taxon and current.rank == decision.rank


def _append_decision(
    session: Session, specimen_id: int, decision: Decision, by: str, remarks: str | None = None
) -> Identification:
    last = _current(session, specimen_id)
    ident = Identification(
        specimen_id=specimen_id,
        taxon=decision.taxon,
        rank=decision.rank,
        score=decision.score,
        top_k=list(last.top_k or ()) if last else None,
        model_name=last.model_name if last else None,
        model_version=last.model_version if last else None,
        model_sha256=last.model_sha256 if last else None,
        verification_status=VALIDATED,
        identified_by=decision.identified_by or by,
        decided_by=by,
        remarks=NOT_IDENTIFIABLE if decision.is_not_identifiable else remarks or decision.remarks,
    )
    if decision.decided_at is not None:
        ident.created_at = decision.decided_at
    session.add(ident)
    session.flush()
    return ident


def _copy_of(row: Identification, by: str, remarks: str) -> Identification:
    """A new history entry that restores an earlier one's answer."""
    return Identification(
        specimen_id=row.specimen_id,
        taxon=row.taxon,
        rank=row.rank,
        score=row.score,
        top_k=list(row.top_k or ()) or None,
        model_name=row.model_name,
        model_version=row.model_version,
        model_sha256=row.model_sha256,
        verification_status=row.verification_status,
        identified_by=row.identified_by,
        decided_by=by,
        run_id=row.run_id,
        remarks=remarks if row.remarks in (None, "") else f"{row.remarks}; {remarks}",
    )


def _stamp(entries: Sequence[Identification], entry: AuditEntry) -> None:
    for ident in entries:
        ident.action_id = entry.id


def _apply_changes(
    session: Session, specimen: Specimen, fields: Mapping[str, str | None], overwrite: bool
) -> dict[str, list[str | None]]:
    """Set new values; returns ``{field: [old, new]}``. Refuses to replace a value unless ``overwrite``."""
    changes: dict[str, list[str | None]] = {}
    for name, new in _clean(fields).items():
        old = getattr(specimen, name)
        if new == old or (new is None and not overwrite):
            continue
        if old is not None and not overwrite:
            raise CurationError(
                f"{_label(specimen)} already has {FIELD_WORDS[name]} {old!r}; "
                f"saving {new!r} would replace it: edit the specimen instead (--edit on the command line)"
            )
        if name == "catalog_number":
            _check_catalog_number(session, new, specimen.id)
        changes[name] = [old, new]
    for name, (_, new) in changes.items():
        setattr(specimen, name, new)
    session.flush()
    return changes


def _describe_changes(changes: Mapping[str, Sequence[str | None]]) -> str:
    return "; ".join(f"{FIELD_WORDS[k]} {old or '—'} → {new or '—'}" for k, (old, new) in changes.items())


# -- actions ---------------------------------------------------------------------------------------------
def _store_embeddings(
    session: Session, photo_ids: list[int], prediction: Prediction, model: repo.ModelStamp
) -> None:
    """Store each photo's embedding under this model when it gave one per photo (collection as memory)."""
    embeddings = prediction.embeddings
    if embeddings is None or len(embeddings) != len(photo_ids):
        return
    for photo_id, vector in zip(photo_ids, embeddings):
        store_embedding(session, photo_id, model.sha256, vector)


def record_identification(
    catalog: Catalog,
    photos: Sequence[DecodedPhoto],
    prediction: Prediction,
    model: repo.ModelStamp,
    fields: Mapping[str, str | None] | None = None,
    decision: Decision | None = None,
    by: str | None = None,
    edit: bool = False,
) -> Outcome:
    """Record photos of one specimen with the model's answer and, optionally, a person's decision.

    A photo already in the catalogue (same bytes) keeps its specimen: ``fields`` fill what is empty and,
    with ``edit=True`` only, replace what differs (an edit, logged with old and new values). The model's
    answer is appended only where it changes something: never on top of a checked identification, never
    twice. Repeating the same call changes nothing.

    Args:
        photos: decoded photos of one specimen (several views, or one).
        prediction: the model's answer for them.
        model: which model answered.
        fields: catalogue number, locality, collector, collected_on, notes.
        decision: a person's decision (``Decision.accept``/``named``/``not_identifiable``), or ``None`` to
            leave the answer unchecked for review.
        by: the person's name; required with a decision or an edit.
        edit: allow replacing specimen data of an already catalogued photo.

    Raises:
        CurationError: the data would replace stored data without ``edit``, or a catalogue number is taken.
        UsageError: a decision or edit without a name.
    """
    if not photos:
        raise UsageError("no photo to record")
    fields = _clean(fields or {})
    name = require_name(by) if decision is not None or edit else (by or "").strip() or "unknown"
    with catalog.writing() as session, session.begin():
        # Found by bytes, or by pixels when only metadata changed; a moved photo's path is updated.
        found = {
            id(photo): claims.find_photo(
                session,
                photo.sha256,
                photo.pixel_sha256,
                os.path.abspath(photo.path),
                photo.size_bytes,
                photo.subject,
            )
            for photo in photos
        }
        known_ids = [k.photo_id for k in found.values() if k is not None]
        known = session.scalars(select(Photo).where(Photo.id.in_(known_ids)).order_by(Photo.id)).all()
        created = not known
        changes: dict[str, list[str | None]] = {}
        if created:
            _check_catalog_number(session, fields.get("catalog_number"), None)
            specimen = repo.add_specimen(session, **fields)
        else:
            specimen = known[0].specimen
            changes = _apply_changes(session, specimen, fields, overwrite=edit)
        added_photos = [
            repo.add_photo(
                session,
                specimen,
                os.path.abspath(photo.path),
                photo.sha256,
                photo.size_bytes,
                photo.info,
                make_thumbnail(photo.image),
                pixel_sha256=photo.pixel_sha256,
                crop=photo.crop.as_json() if photo.crop is not None else None,
                subject=photo.subject,
            )
            for photo in photos
            if found[id(photo)] is None
        ]
        added = iter(added_photos)
        photo_ids = [k.photo_id if (k := found[id(p)]) is not None else next(added).id for p in photos]
        crops = _apply_crops(
            session, [(k.photo_id, p) for p in photos if (k := found[id(p)]) is not None], overwrite=edit
        )
        _store_embeddings(session, photo_ids, prediction, model)
        appended: list[Identification] = []
        current = _current(session, specimen.id)
        repeat = (
            current is not None
            and current.model_sha256 == model.sha256
            and current.taxon == prediction.taxon
            and current.rank == prediction.rank
        )
        # The model's answer joins the history unless a person's check is current or it says nothing new.
        if current is None or (current.verification_status != VALIDATED and not repeat):
            appended.append(repo.add_machine_identification(session, specimen.id, prediction, model))
        if decision is not None and not _same_decision(_current(session, specimen.id), decision):
            appended.append(_append_decision(session, specimen.id, decision, name))
        if not (created or changes or added_photos or appended or crops):
            return Outcome(specimen.id, None, f"{_label(specimen)}: already recorded, nothing changed")
        what = [f"{len(added_photos)} photo{'s' if len(added_photos) != 1 else ''}"] if added_photos else []
        if crops:
            what.append(f"{len(crops)} crop{'s' if len(crops) != 1 else ''} changed")
        if decision is not None and appended and appended[-1].verification_status == VALIDATED:
            what.append(f"checked as {decision.words}")
        elif appended:
            what.append(f"model: {prediction.taxon or 'uncertain'}")
        if changes:
            what.append(f"edited {_describe_changes(changes)}")
        verb = "recorded" if created else "updated"
        summary = f"{verb} {_label(specimen)}: " + ", ".join(what)
        entry = _log(
            session,
            name,
            RECORD,
            specimen.id,
            summary,
            {
                "created_specimen": created,
                "photos": [p.id for p in added_photos],
                "identifications": [i.id for i in appended],
                "changes": changes,
                "crops": crops,
            },
        )
        _stamp(appended, entry)
        return Outcome(specimen.id, entry.id, summary, created)


def _apply_crops(
    session: Session, known: Sequence[tuple[int, DecodedPhoto]], overwrite: bool
) -> dict[str, dict[str, Any]]:
    """Store the crop (and its thumbnail) of photos already in the catalogue where it changed; returns
    ``{photo id: {"old", "new", "old_thumbnail"}}`` for the audit log and :func:`undo`.

    Like the specimen's fields, a crop fills an uncropped photo, and replaces another crop only with
    ``overwrite`` (an edit); only an edit of the whole photo (no crop) clears a stored crop.
    """
    changed: dict[str, dict[str, Any]] = {}
    for photo_id, decoded in known:
        if decoded.crop is None and not overwrite:
            continue
        row = session.get(Photo, photo_id)
        new = decoded.crop.as_json() if decoded.crop is not None else None
        if row is None or row.crop == new:
            continue
        if row.crop is not None and not overwrite:
            raise CurationError(
                f"{os.path.basename(row.path)} is already catalogued with another crop; "
                "saving this one would replace it: edit the specimen instead"
            )
        old_thumbnail = base64.b64encode(row.thumbnail).decode("ascii") if row.thumbnail else None
        changed[str(photo_id)] = {"old": row.crop, "new": new, "old_thumbnail": old_thumbnail}
        row.crop = new if new is not None else null()  # SQL NULL, not a JSON null
        row.thumbnail = make_thumbnail(decoded.image)
    session.flush()
    return changed


def decide(catalog: Catalog, specimen_id: int, decision: Decision, by: str | None) -> Outcome:
    """A person checks, corrects or re-identifies a specimen: a new ``ValidatedByHuman`` history entry.

    Deciding what is already the checked identification changes nothing (``action_id`` is ``None``).
    """
    with catalog.writing() as session, session.begin():
        return decide_in(session, specimen_id, decision, by)


def log_catalogue_run(session: Session, by: str | None, summary: str, run_id: int) -> None:
    """A batch run's start, resumption or end, in the caller's transaction: one audit entry per event, not
    per photo (each machine answer carries its run; a folder label is logged as a check of its own)."""
    _log(session, (by or "").strip() or "unknown", CATALOGUE_RUN, None, summary, {"run_id": run_id})


def decide_in(session: Session, specimen_id: int, decision: Decision, by: str | None) -> Outcome:
    """:func:`decide` inside the caller's transaction (a batch that labels what it catalogues)."""
    name = require_name(by)
    specimen = _specimen(session, specimen_id)
    current = _current(session, specimen_id)
    if _same_decision(current, decision):
        return Outcome(specimen_id, None, f"{_label(specimen)}: already checked as {decision.words}")
    action = CORRECT if current is not None and current.verification_status == VALIDATED else CHECK
    ident = _append_decision(session, specimen_id, decision, name)
    before = (
        f" (was {current.taxon or current.remarks or 'uncertain'})" if action == CORRECT and current else ""
    )
    summary = (
        f"{_label(specimen)}: {'checked' if action == CHECK else 'corrected'} as {decision.words}{before}"
    )
    entry = _log(session, name, action, specimen_id, summary, {"identifications": [ident.id]})
    _stamp([ident], entry)
    return Outcome(specimen_id, entry.id, summary)


def record_import(
    session: Session,
    specimen_id: int,
    history: Sequence[Decision | Identification],
    by: str | None,
    summary: str,
    details: dict[str, Any],
) -> Outcome:
    """What an import changed on one specimen, inside the caller's transaction, as one audit entry.

    ``history`` is appended in the order given: a person's determination as a :class:`Decision` with its
    own identifier and date (``identified_by``, ``decided_at``), kept even when it repeats the one before
    (it is someone's confirmation); a model's answer from a shellgui export as a ready ``Identification``.
    ``details`` says what else changed (fields, photos).
    """
    name = require_name(by)
    appended = []
    for item in history:
        if isinstance(item, Decision):
            appended.append(_append_decision(session, specimen_id, item, name))
        else:
            item.specimen_id = specimen_id
            session.add(item)
            session.flush()
            appended.append(item)
    ids = [i.id for i in appended]
    entry = _log(session, name, IMPORT, specimen_id, summary, {**details, "identifications": ids})
    _stamp(appended, entry)
    return Outcome(specimen_id, entry.id, summary)


def accept_decided(
    catalog: Catalog, min_score: float, by: str | None, where: SpecimenFilter = SpecimenFilter()
) -> list[Outcome]:
    """Accept, in one transaction, every unchecked answer the model *decided* at or above ``min_score``.

    "Uncertain" answers are never accepted, whatever their best guess scored. ``where`` narrows the set
    (a run, a search). Each acceptance is its own audit entry, so :func:`undo_many` can reverse them all.
    """
    if not 0 < min_score <= 1:
        raise UsageError(
            f"the confidence for accepting must be above 0 and at most 100 %, not {min_score:.0%}"
        )
    name = require_name(by)
    scope = dataclasses.replace(
        where, status=PREDICTED, decided=True, min_score=max(min_score, where.min_score or 0)
    )
    outcomes = []
    with catalog.writing() as session, session.begin():
        for row in browse.specimen_page(session, scope, browse.SpecimenSort("id", False), limit=None):
            current = _current(session, row.specimen_id)
            if current is None or current.verification_status != PREDICTED or current.taxon is None:
                continue
            if current.rank not in browse.DECIDED_RANKS or (current.score or 0) < min_score:
                continue
            decision = Decision.accept(current.taxon, current.rank, current.score)
            ident = _append_decision(session, row.specimen_id, decision, name)
            summary = f"{_label(_specimen(session, row.specimen_id))}: checked as {decision.words} (bulk)"
            entry = _log(session, name, CHECK, row.specimen_id, summary, {"identifications": [ident.id]})
            _stamp([ident], entry)
            outcomes.append(Outcome(row.specimen_id, entry.id, summary))
    return outcomes


def undo_many(catalog: Catalog, action_ids: Sequence[int], by: str | None) -> tuple[list[Outcome], list[str]]:
    """Undo several actions, newest first (e.g. one bulk acceptance); returns what was undone and why
    any could not be (each refusal is one line, the others still go through)."""
    done, refused = [], []
    for action_id in sorted(action_ids, reverse=True):
        try:
            done.append(undo(catalog, action_id, by))
        except CurationError as exc:
            refused.append(str(exc))
    return done, refused


def withdraw(catalog: Catalog, specimen_id: int, by: str | None, reason: str = "") -> Outcome:
    """Withdraw a checked identification: the model's last answer becomes current again, unchecked.

    The specimen goes back to the review queue; the withdrawn check stays in the history.
    """
    name = require_name(by)
    with catalog.writing() as session, session.begin():
        specimen = _specimen(session, specimen_id)
        current = _current(session, specimen_id)
        if current is None or current.verification_status != VALIDATED:
            raise CurationError(f"{_label(specimen)} has no checked identification to withdraw")
        machine = session.scalar(
            select(Identification)
            .where(Identification.specimen_id == specimen_id, Identification.verification_status == PREDICTED)
            .order_by(Identification.id.desc())
            .limit(1)
        )
        remark = f"check withdrawn by {name}" + (f": {reason.strip()}" if reason.strip() else "")
        if machine is not None:
            ident = _copy_of(machine, name, remark)
        else:
            ident = Identification(
                specimen_id=specimen_id, taxon=None, rank="uncertain", decided_by=name, remarks=remark
            )
        ident.verification_status = PREDICTED
        session.add(ident)
        session.flush()
        summary = f"{_label(specimen)}: withdrew the check {current.taxon or current.remarks}"
        entry = _log(session, name, WITHDRAW, specimen_id, summary, {"identifications": [ident.id]})
        _stamp([ident], entry)
        return Outcome(specimen_id, entry.id, summary)


def edit_specimen(
    catalog: Catalog, specimen_id: int, fields: Mapping[str, str | None], by: str | None
) -> Outcome:
    """Change a specimen's collection data; old and new values go to the audit log (its history)."""
    name = require_name(by)
    with catalog.writing() as session, session.begin():
        specimen = _specimen(session, specimen_id)
        changes = _apply_changes(session, specimen, fields, overwrite=True)
        if not changes:
            return Outcome(specimen_id, None, f"{_label(specimen)}: nothing changed")
        summary = f"edited {_label(specimen)}: {_describe_changes(changes)}"
        entry = _log(session, name, EDIT, specimen_id, summary, {"changes": changes})
        return Outcome(specimen_id, entry.id, summary)


def _snapshot(specimen: Specimen) -> dict[str, Any]:
    return {
        "fields": specimen_fields(specimen),
        "photos": [_photo_snapshot(p) for p in specimen.photos],
        "identifications": [
            {
                "taxon": i.taxon,
                "rank": i.rank,
                "score": i.score,
                "status": i.verification_status,
                "identified_by": i.identified_by,
                "decided_by": i.decided_by,
                "model": i.model_name,
                "at": i.created_at.isoformat(timespec="seconds"),
                "remarks": i.remarks,
            }
            for i in specimen.identifications
        ],
    }


def _photo_snapshot(photo: Photo) -> dict[str, Any]:
    return {"id": photo.id, "path": photo.path, "sha256": photo.sha256, "size_bytes": photo.size_bytes}


def delete_specimen(catalog: Catalog, specimen_id: int, by: str | None) -> Outcome:
    """Delete a specimen with its photos' records and its history; the audit log keeps a full copy."""
    name = require_name(by)
    with catalog.writing() as session, session.begin():
        specimen = _specimen(session, specimen_id)
        snapshot = _snapshot(specimen)
        current = specimen.identifications[-1] if specimen.identifications else None
        taxon = (current.taxon or current.remarks or "uncertain") if current else "not identified"
        names = [os.path.basename(p.path) for p in specimen.photos]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        photos = f"{len(names)} photo{'s' if len(names) != 1 else ''}" + (f" ({shown})" if names else "")
        summary = f"deleted {_label(specimen)}: {taxon}, {photos}"
        session.delete(specimen)
        entry = _log(session, name, DELETE_SPECIMEN, specimen_id, summary, snapshot)
        return Outcome(specimen_id, entry.id, summary)


def delete_photo(catalog: Catalog, photo_id: int, by: str | None) -> Outcome:
    """Remove one photo from its specimen (the file on disk is not touched); logged in the audit log."""
    name = require_name(by)
    with catalog.writing() as session, session.begin():
        photo = session.get(Photo, photo_id)
        if photo is None:
            raise CurationError(f"photo {photo_id} is not in the catalogue (deleted?)")
        specimen = photo.specimen
        summary = f"removed photo {photo.path} from {_label(specimen)}"
        details = _photo_snapshot(photo)
        session.delete(photo)
        entry = _log(session, name, DELETE_PHOTO, specimen.id, summary, details)
        return Outcome(specimen.id, entry.id, summary)


def undo(catalog: Catalog, action_id: int, by: str | None) -> Outcome:
    """Undo a record, check, correction, withdrawal or edit, by appending what restores the state before it.

    A specimen the action itself created is removed again (the audit log keeps a copy). Refused when the
    action was already undone, is a delete, or when the specimen changed since (undo the later action first).
    A measurement (a side note) is undone on its own, whatever changed since: an added one is removed, a
    deleted one comes back as it was.
    """
    name = require_name(by)
    with catalog.writing() as session, session.begin():
        entry = session.get(AuditEntry, action_id)
        if entry is None:
            raise CurationError(f"no action {action_id} in the audit log")
        if entry.undone_by_id is not None:
            raise CurationError(f"'{entry.summary}' was already undone")
        if entry.action not in UNDOABLE:
            raise CurationError(f"'{entry.summary}' cannot be undone")
        if entry.action in SIDE_NOTES:
            undo_entry = _undo_measurement(session, entry, name)
            entry.undone_by_id = undo_entry.id
            return Outcome(int(entry.specimen_id or 0), undo_entry.id, undo_entry.summary)
        later = session.scalar(
            select(AuditEntry)
            .where(
                AuditEntry.specimen_id == entry.specimen_id,
                AuditEntry.id > entry.id,
                AuditEntry.undone_by_id.is_(None),
                AuditEntry.action != UNDO,
                AuditEntry.action.not_in(SIDE_NOTES),
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        if later is not None:
            raise CurationError(
                f"cannot undo '{entry.summary}': {later.by} changed the specimen since ('{later.summary}')"
            )
        assert entry.specimen_id is not None
        specimen = _specimen(session, entry.specimen_id)
        details = entry.details
        summary = f"undid '{entry.summary}'"
        if details.get("created_specimen"):
            snapshot = _snapshot(specimen)
            session.delete(specimen)
            undo_entry = _log(
                session, name, UNDO, entry.specimen_id, summary, {"undoes": entry.id, **snapshot}
            )
        else:
            restored: list[Identification] = []
            appended = [int(i) for i in details.get("identifications", [])]
            if appended:
                before = session.scalar(
                    select(Identification)
                    .where(Identification.specimen_id == specimen.id, Identification.id < min(appended))
                    .order_by(Identification.id.desc())
                    .limit(1)
                )
                if before is not None:
                    restored.append(_copy_of(before, name, f"restored by undo ({name})"))
                    session.add(restored[-1])
            for photo_id in details.get("photos", []):
                photo = session.get(Photo, int(photo_id))
                if photo is not None:
                    session.delete(photo)
            for field, (old, _new) in dict(details.get("changes", {})).items():
                setattr(specimen, field, old)
            for photo_id, crop in dict(details.get("crops", {})).items():
                photo = session.get(Photo, int(photo_id))
                if photo is not None:
                    photo.crop = crop["old"] if crop["old"] is not None else null()
                    thumbnail = crop.get("old_thumbnail")
                    photo.thumbnail = base64.b64decode(thumbnail) if thumbnail else None
            session.flush()
            undo_entry = _log(
                session,
                name,
                UNDO,
                specimen.id,
                summary,
                {"undoes": entry.id, "identifications": [i.id for i in restored]},
            )
            _stamp(restored, undo_entry)
        entry.undone_by_id = undo_entry.id
        return Outcome(entry.specimen_id, undo_entry.id, summary)


def _undo_measurement(session: Session, entry: AuditEntry, name: str) -> AuditEntry:
    """Reverse a :data:`MEASURE` (remove the measurement) or a :data:`DELETE_MEASUREMENT` (put it back, with
    its id when that is still free) inside the caller's transaction."""
    details, summary = entry.details, f"undid '{entry.summary}'"
    if entry.specimen_id is None or session.get(Specimen, entry.specimen_id) is None:
        raise CurationError(f"cannot undo '{entry.summary}': the specimen was deleted")
    measurement_id = int(details["measurement"])
    row = session.get(Measurement, measurement_id)
    if entry.action == MEASURE:
        if row is None:
            raise CurationError(f"cannot undo '{entry.summary}': the measurement was deleted since")
        session.delete(row)
        return _log(session, name, UNDO, entry.specimen_id, summary, {"undoes": entry.id})
    measured_at, photo_id = details.get("measured_at"), details.get("photo_id")
    restored = Measurement(
        id=measurement_id if row is None else None,
        specimen_id=entry.specimen_id,
        photo_id=photo_id if photo_id is not None and session.get(Photo, photo_id) is not None else None,
        measurement_type=details["type"],
        value=float(details["value"]),
        unit=details["unit"],
        method=details.get("method"),
        measured_by=details.get("measured_by"),
        remarks=details.get("remarks"),
    )
    if measured_at:
        restored.measured_at = datetime.fromisoformat(measured_at)
    session.add(restored)
    session.flush()
    return _log(
        session, name, UNDO, entry.specimen_id, summary, {"undoes": entry.id, "measurement": restored.id}
    )


def add_measurement(
    catalog: Catalog,
    specimen_id: int,
    value: float,
    by: str | None,
    *,
    unit: str = "mm",
    measurement_type: str = "shell length",
    photo_id: int | None = None,
    method: dict[str, Any] | None = None,
) -> Outcome:
    """Store a measurement of a specimen (e.g. its shell length in mm from a calibrated photo).

    Raises:
        CurationError: no such specimen, or a value that is not a positive finite number.
    """
    import math

    name = require_name(by)
    if not (math.isfinite(value) and value > 0):
        raise CurationError(f"a {measurement_type} must be a positive number, not {value}")
    with catalog.writing() as session, session.begin():
        specimen = _specimen(session, specimen_id)
        row = Measurement(
            specimen_id=specimen.id,
            photo_id=photo_id,
            measurement_type=measurement_type,
            value=float(value),
            unit=unit,
            method=method,
            measured_by=name,
        )
        session.add(row)
        session.flush()
        summary = f"{_label(specimen)}: {measurement_type} {value:.1f} {unit}"
        entry = _log(session, name, MEASURE, specimen.id, summary, {"measurement": row.id, "value": value})
        return Outcome(specimen.id, entry.id, summary)


def delete_measurement(catalog: Catalog, measurement_id: int, by: str | None) -> Outcome:
    """Remove a measurement; the audit log keeps what it was."""
    name = require_name(by)
    with catalog.writing() as session, session.begin():
        row = session.get(Measurement, measurement_id)
        if row is None:
            raise CurationError(f"no measurement {measurement_id} in the catalogue")
        specimen = _specimen(session, row.specimen_id)
        summary = f"{_label(specimen)}: {row.measurement_type} {row.value:.1f} {row.unit} deleted"
        details = {
            "measurement": row.id,
            "type": row.measurement_type,
            "value": row.value,
            "unit": row.unit,
            "method": row.method,
            "measured_by": row.measured_by,
            "measured_at": row.measured_at.isoformat(),
            "photo_id": row.photo_id,
            "remarks": row.remarks,
        }
        session.delete(row)
        entry = _log(session, name, DELETE_MEASUREMENT, specimen.id, summary, details)
        return Outcome(specimen.id, entry.id, summary)
