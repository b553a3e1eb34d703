"""Identify a few photos (one drop in the window, one ``shellgui identify`` call) and record the result.

Shared by the CLI and the GUI so both record identifications the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.curation import Outcome, record_identification
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.decisions import Decision
from shellgui.core.errors import PhotoError
from shellgui.core.imaging import Photo, open_photo
from shellgui.core.inference.classifier import Classifier
from shellgui.core.inference.decision import Prediction


@dataclass(frozen=True)
class Identified:
    """The answer for one photo, or for several photos of one specimen (``paths`` has them all)."""

    paths: tuple[str, ...]
    prediction: Prediction
    specimen_id: int | None = None


@dataclass(frozen=True)
class IdentifyOutcome:
    results: tuple[Identified, ...]
    errors: tuple[PhotoError, ...]


def open_photos(
    paths: Sequence[str | os.PathLike[str]], min_side: int
) -> tuple[list[Photo], list[PhotoError]]:
    """Open every path; the bad ones come back as errors, never as exceptions."""
    photos, errors = [], []
    for path in paths:
        try:
            photos.append(open_photo(path, min_side=min_side))
        except PhotoError as exc:
            errors.append(exc)
    return photos, errors


def identify_paths(
    classifier: Classifier, paths: Sequence[str | os.PathLike[str]], as_specimen: bool = False, top_k: int = 5
) -> tuple[list[Photo], IdentifyOutcome]:
    """Identify photos one by one, or fused as views of one specimen."""
    photos, errors = open_photos(paths, classifier.min_decode_side)
    if not photos:
        return photos, IdentifyOutcome((), tuple(errors))
    results: tuple[Identified, ...]
    if as_specimen:
        results = (Identified(tuple(p.path for p in photos), classifier.identify_specimen(photos, top_k)),)
    else:
        results = tuple(
            Identified((p.path,), pred) for p, pred in zip(photos, classifier.identify(photos, top_k))
        )
    return photos, IdentifyOutcome(results, tuple(errors))


def record(
    catalog: Catalog,
    classifier: Classifier,
    photos: Sequence[Photo],
    prediction: Prediction,
    decision: Decision | None = None,
    by: str | None = None,
    edit: bool = False,
    **specimen_fields: str | None,
) -> Outcome:
    """Store photos of one specimen with the model's answer (and a person's decision); one transaction.

    A photo already in the catalogue (same bytes) keeps its specimen; see
    :func:`shellgui.core.catalog.curation.record_identification` for the rules.
    """
    stamp = repo.ModelStamp(classifier.name, classifier.version, classifier.sha256)
    return record_identification(
        catalog, photos, prediction, stamp, specimen_fields, decision=decision, by=by, edit=edit
    )
