"""Identify a few photos (one drop in the window, one ``shellgui identify`` call) and record the result.

Shared by the CLI and the GUI so both record identifications the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.embeddings import store_embedding
from shellgui.core.errors import PhotoError
from shellgui.core.imaging import Photo, file_sha256, make_thumbnail, open_photo
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
    that specimen's history instead of creating a duplicate. When the model has an embedding output,
    each photo's embedding is stored under this model (the collection as the model's memory).
    """
    stamp = repo.ModelStamp(classifier.name, classifier.version, classifier.sha256)
    with catalog.session() as session, session.begin():
        specimen = None
        new_photos = []
        photo_ids: dict[int, int] = {}  # position in ``photos`` -> photo id
        for position, photo in enumerate(photos):
            sha = file_sha256(photo.path)
            existing = repo.find_photo_by_hash(session, sha)
            if existing is not None:
                specimen = specimen or existing.specimen
                photo_ids[position] = existing.id
            else:
                new_photos.append((position, photo, sha))
        if specimen is None:
            specimen = repo.add_specimen(session, **specimen_fields)
        elif specimen_fields:
            repo.update_specimen(session, specimen.id, **{k: v for k, v in specimen_fields.items() if v})
        for position, photo, sha in new_photos:
            photo_ids[position] = repo.add_photo(
                session,
                specimen,
                os.path.abspath(photo.path),
                sha,
                os.path.getsize(photo.path),
                photo.info,
                make_thumbnail(photo.image),
            ).id
        embeddings = prediction.embeddings
        if embeddings is not None and len(embeddings) == len(photos):
            for position, photo_id in photo_ids.items():
                store_embedding(session, photo_id, classifier.sha256, embeddings[position])
        repo.add_machine_identification(session, specimen.id, prediction, stamp)
        return specimen.id
