"""Identify a few photos (one drop in the window, one ``shellgui identify`` call) and record the result.

Shared by the CLI and the GUI so both record identifications the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shellgui.core.catalog import claims
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.schema import Specimen
from shellgui.core.errors import PhotoError
from shellgui.core.imaging import Photo, make_thumbnail, open_photo
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
    **specimen_fields: str | None,
) -> int:
    """Store photos and their machine identification; returns the specimen id.

    A photo already in the catalogue (same bytes) keeps its specimen, and the new identification joins
    that specimen's history instead of creating a duplicate.
    """
    stamp = repo.ModelStamp(classifier.name, classifier.version, classifier.sha256)

    def work(session: Session) -> int:
        specimen = None
        new_photos = []
        for photo in photos:
            path = os.path.abspath(photo.path)
            known = claims.find_photo(session, photo.sha256, photo.pixel_sha256, path, photo.size_bytes)
            if known is not None:
                specimen = specimen or session.get(Specimen, known.specimen_id)
            else:
                new_photos.append(photo)
        if specimen is None:
            specimen = repo.add_specimen(session, **specimen_fields)
        elif specimen_fields:
            repo.update_specimen(session, specimen.id, **{k: v for k, v in specimen_fields.items() if v})
        for photo in new_photos:
            repo.add_photo(
                session,
                specimen,
                os.path.abspath(photo.path),
                photo.sha256,
                photo.size_bytes,
                photo.info,
                make_thumbnail(photo.image),
                pixel_sha256=photo.pixel_sha256,
            )
        repo.add_machine_identification(session, specimen.id, prediction, stamp)
        return specimen.id

    # A concurrent writer storing the same photo first makes this transaction run again, and find it.
    return catalog.write(work)
