"""Recording a person's determination of a specimen, with the typed name checked against the name backbone.

Every path that writes a checked taxon (the Identify panel, folder labels, imports) goes through
:func:`record_checked_taxon`, so a synonym is always recorded under its accepted name with a note, and an
unknown name is kept as typed but marked in the remarks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shellgui.core.catalog import repository as repo
from shellgui.core.taxonomy import NameBackbone, NameCheck, load_backbone


def record_checked_taxon(
    session: Session,
    specimen_id: int,
    typed_name: str,
    by: str | None,
    backbone: NameBackbone | None = None,
    score: float | None = None,
    identified_at: datetime | None = None,
    remarks: str | None = None,
) -> tuple[repo.IdentificationRecord, NameCheck]:
    """Record ``typed_name`` as the specimen's checked (``ValidatedByHuman``) identification.

    Args:
        session: an open session; the caller commits.
        specimen_id: the specimen.
        typed_name: the name as the person gave it (``Genus species``, ``Genus_species``, ``Genus sp.``).
        by: who decided (Darwin Core ``identifiedBy``).
        backbone: the names to check against (default: the offline backbone with the user's files).
        score: the model's probability for this taxon, when it was one of the model's answers.
        identified_at: the original date of the determination (imports); default now.
        remarks: further remarks, kept after the name note.

    Returns:
        The stored identification and what the backbone said about the name.

    Raises:
        ValueError: the name is empty.
        LookupError: no such specimen.
    """
    if not typed_name.strip():
        raise ValueError("a checked identification needs a taxon name")
    check = (backbone or load_backbone()).check(typed_name)
    note = "; ".join(part for part in (check.note, remarks or "") if part) or None
    record = repo.validate_identification(
        session,
        specimen_id,
        check.name,
        rank=check.rank,
        by=by,
        score=score,
        remarks=note,
        identified_at=identified_at,
    )
    return record, check
