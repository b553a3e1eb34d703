"""A person's determination with the typed name checked against the name backbone.

Every path that writes a checked taxon from a typed name (the Identify panel, folder labels, imports) builds
its :class:`~shellgui.core.catalog.decisions.Decision` here, so a synonym is always recorded under its
accepted name with a note, and an unknown name is kept as typed but marked in the remarks. The decision is
then recorded by :mod:`shellgui.core.catalog.curation` (one transaction, audit log).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from shellgui.core.catalog.decisions import Decision
from shellgui.core.inference.decision import Prediction
from shellgui.core.taxonomy import NameBackbone, NameCheck, load_backbone


def checked_decision(
    typed_name: str,
    prediction: Prediction | None = None,
    listed: Iterable[Mapping[str, object]] = (),
    backbone: NameBackbone | None = None,
    decided_at: datetime | None = None,
    remarks: str | None = None,
) -> tuple[Decision, NameCheck | None]:
    """The decision to record for a typed taxon name, and what the name backbone said about it.

    Args:
        typed_name: the name as the person gave it (``Genus species``, ``Genus_species``, ``Genus sp.``,
            or "not identifiable").
        prediction: the model's answer (gives the score when it lists the name).
        listed: or the ``top_k`` stored with an identification.
        backbone: the names to check against (default: the offline backbone with the user's files).
        decided_at: the original date of a determination made elsewhere (imports).
        remarks: further remarks, kept after the name note.

    Returns:
        The decision (the accepted name when the backbone knows the name; the typed name, tidied, when not)
        and the backbone's check (``None`` for "not identifiable").

    Raises:
        UndecidedError: the name is empty or "uncertain".
    """
    typed = Decision.named(typed_name, prediction, listed)  # refuses an empty or "uncertain" answer
    if typed.is_not_identifiable:
        return Decision(None, typed.rank, None, None, decided_at), None
    check = (backbone or load_backbone()).check(typed_name)
    note = "; ".join(part for part in (check.note, remarks or "") if part) or None
    if not check.known:
        return Decision(check.name, typed.rank, typed.score, note, decided_at), check
    score = typed.score if typed.score is not None else Decision.named(check.name, prediction, listed).score
    return Decision(check.name, check.rank, score, note, decided_at), check
