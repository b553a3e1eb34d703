"""Identify a few photos (one drop in the window, one ``shellgui identify`` call) and record the result.

Shared by the CLI and the GUI so both record identifications the same way.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from shellgui.core.autocrop import Subjects, find_subjects
from shellgui.core.catalog import queries
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.curation import Outcome, record_identification
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.decisions import Decision
from shellgui.core.crops import Crop, checked_crop, crop_photo, open_cropped
from shellgui.core.errors import PhotoError, UsageError
from shellgui.core.imaging import Photo, open_photo
from shellgui.core.inference.classifier import Classifier
from shellgui.core.inference.decision import Prediction
from shellgui.core.views import view_conflict


@dataclass(frozen=True)
class Identified:
    """The answer for one photo, or for several photos of one specimen (``paths`` has them all)."""

    paths: tuple[str, ...]
    prediction: Prediction
    specimen_id: int | None = None
    warning: str | None = None
    #: What auto-cropping says about this result ("subject 2 of 3 ...", "nothing found ...").
    note: str | None = None


@dataclass(frozen=True)
class IdentifyOutcome:
    """The answers for a few photos, and the photos each answer is about (cropped or whole): record these."""

    results: tuple[Identified, ...]
    errors: tuple[PhotoError, ...]
    photos: tuple[tuple[Photo, ...], ...] = ()

    def photos_of(self, index: int) -> tuple[Photo, ...]:
        return self.photos[index]

    @property
    def photos_flat(self) -> list[Photo]:
        return [p for group in self.photos for p in group]


#: The most views one specimen may have in one identification (they are all decoded at once).
MAX_VIEWS = 32
#: The sane range of ``batch_size``: photos decoded and run through the model together.
BATCH_SIZE_RANGE = (1, 256)


def _prepare(classifier: Classifier, path: str | os.PathLike[str]) -> tuple[Photo, np.ndarray]:
    """Open and preprocess one photo; anything unexpected is this photo's :class:`PhotoError`."""
    photo = open_photo(path, min_side=classifier.min_decode_side)
    try:
        return photo, classifier.prepare(photo)
    except MemoryError:
        raise PhotoError("too_large", photo.path, "not enough memory to prepare this photo") from None
    except Exception as exc:
        raise PhotoError(
            "corrupt", photo.path, f"the photo cannot be prepared ({type(exc).__name__})"
        ) from None


def _open_all(
    classifier: Classifier, paths: Sequence[str | os.PathLike[str]]
) -> tuple[list[Photo], list[np.ndarray], list[PhotoError]]:
    photos, arrays, errors = [], [], []
    for path in paths:
        try:
            photo, array = _prepare(classifier, path)
        except PhotoError as exc:
            errors.append(exc)
            continue
        photos.append(photo)
        arrays.append(array)
    return photos, arrays, errors


def identify_paths(
    classifier: Classifier, paths: Sequence[str | os.PathLike[str]], as_specimen: bool = False, top_k: int = 5
) -> tuple[list[Photo], IdentifyOutcome]:
    """Identify a few photos one by one (one model run), or fused as views of one specimen.

    For many photos use :func:`identify_in_batches`, which keeps memory bounded.

    Raises:
        UsageError: more than :data:`MAX_VIEWS` views of one specimen.
    """
    if as_specimen and len(paths) > MAX_VIEWS:
        raise UsageError(f"one specimen can have at most {MAX_VIEWS} views; {len(paths)} photos were given")
    photos, arrays, errors = _open_all(classifier, paths)
    if not photos:
        return photos, IdentifyOutcome((), tuple(errors))
    results: tuple[Identified, ...]
    if as_specimen:
        results = (_fused(classifier, photos, arrays, top_k),)
        grouped: tuple[tuple[Photo, ...], ...] = (tuple(photos),)
    else:
        results = tuple(
            Identified((p.path,), pred) for p, pred in zip(photos, classifier.predict(arrays, top_k))
        )
        grouped = tuple((p,) for p in photos)
    return photos, IdentifyOutcome(results, tuple(errors), grouped)


def _fused(
    classifier: Classifier, photos: Sequence[Photo], arrays: Sequence[np.ndarray], top_k: int
) -> Identified:
    """One answer for views of one specimen, with a warning when the views disagree."""
    fused = classifier.predict_specimen(arrays, top_k)
    views = tuple(p.path for p in photos)
    conflict = None
    if fused.view_probabilities is not None:
        conflict = view_conflict(fused.view_probabilities, [t.name for t in classifier.card.taxa])
    return Identified(views, fused, warning=conflict.describe(views) if conflict else None)


def identify_cropped(
    classifier: Classifier, photos: Sequence[Photo], crops: Sequence[Crop | None], top_k: int = 5
) -> tuple[list[Photo], Identified]:
    """Identify photos of one specimen again with new crops (``None``: the whole photo).

    Each photo is reopened from its file at enough resolution for its crop (a small crop of a big photo is
    not upscaled from a draft decode); several photos are fused as views of one specimen.

    Returns:
        The cropped photos (record these: they carry their crop, and their thumbnail shows it) and the
        answer.

    Raises:
        PhotoError: a photo can no longer be read.
        CropError: a crop does not fit its photo.
        UsageError: no photo, or not one crop per photo.
    """
    if not photos or len(crops) != len(photos):
        raise UsageError("one crop (or None) is needed for each photo")
    side = classifier.min_decode_side
    opened = [
        open_cropped(p.path, c, side, size=(p.info.width, p.info.height)) for p, c in zip(photos, crops)
    ]
    arrays = [classifier.prepare(p) for p in opened]
    if len(opened) > 1:
        return opened, _fused(classifier, opened, arrays, top_k)
    return opened, Identified((opened[0].path,), classifier.predict(arrays, top_k)[0])


def identify_box(
    classifier: Classifier,
    path: str | os.PathLike[str],
    box: tuple[float, float, float, float],
    top_k: int = 5,
) -> tuple[list[Photo], IdentifyOutcome]:
    """Identify one photo cropped to ``box`` (x, y, width, height in pixels of the upright photo, as typed
    with ``shellgui identify --crop``); the box is checked like one dragged in the window.

    Raises:
        CropError: the box does not fit the photo.
    """
    try:
        photo = open_photo(path)
    except PhotoError as exc:
        return [], IdentifyOutcome((), (exc,))
    crop = checked_crop(*box, photo.info.width, photo.info.height)
    cropped = crop_photo(photo, crop)
    answer = classifier.identify([cropped], top_k)[0]
    note = f"crop {crop.describe()}" if crop is not None else "the box is the whole photo"
    return [cropped], IdentifyOutcome((Identified((cropped.path,), answer, note=note),), (), ((cropped,),))


def with_stored_crops(
    catalog: Catalog, classifier: Classifier, photos: Sequence[Photo], result: Identified, top_k: int = 5
) -> tuple[list[Photo], Identified]:
    """A result identified again on the crops its photos are catalogued with, so a catalogued photo is
    identified as it was recorded; unchanged when none of them is stored with a crop."""
    crops = queries.stored_crops(catalog, photos)
    if all(c is None for c in crops):
        return list(photos), result
    return identify_cropped(classifier, photos, crops, top_k)


def subject_photos(photo: Photo) -> tuple[list[Photo], Subjects]:
    """A photo cut into its subjects (see :func:`shellgui.core.autocrop.find_subjects`), each numbered
    (``Photo.subject``) and cropped; the whole photo when none is found."""
    subjects = find_subjects(photo.image, (photo.info.width, photo.info.height))
    if not subjects.crops:
        return [photo], subjects
    return [
        dataclasses.replace(crop_photo(photo, crop), subject=i) for i, crop in enumerate(subjects.crops)
    ], subjects


def identify_subjects(
    classifier: Classifier,
    paths: Sequence[str | os.PathLike[str]],
    as_views: bool = False,
    top_k: int = 5,
) -> Iterator[tuple[list[Photo], IdentifyOutcome]]:
    """Auto-crop: identify each subject of each photo (several shells on a plain background).

    Each photo is decoded at full resolution (subjects are often small), cut into its subjects, and
    identified one photo at a time, so memory stays bounded.

    Args:
        as_views: the subjects of one photo are views of one specimen (one fused answer per photo);
            otherwise each subject is a specimen of its own (one answer each).

    Yields:
        Per photo, its subject photos and their outcome; a photo where nothing stands out is identified
        whole, with a one-line ``note`` saying so.
    """
    for path in paths:
        try:
            outcome = identify_subjects_of(classifier, open_photo(path), as_views, top_k)
        except PhotoError as exc:
            outcome = IdentifyOutcome((), (exc,))
        except MemoryError:
            error = PhotoError("too_large", os.fspath(path), "not enough memory to prepare this photo")
            outcome = IdentifyOutcome((), (error,))
        yield outcome.photos_flat, outcome


def identify_subjects_of(
    classifier: Classifier, photo: Photo, as_views: bool = False, top_k: int = 5
) -> IdentifyOutcome:
    """:func:`identify_subjects` for one photo already open (at full resolution, ideally)."""
    cropped, subjects = subject_photos(photo)
    arrays = [classifier.prepare(p) for p in cropped]
    count = len(subjects.crops)
    if count == 0:
        only = Identified((photo.path,), classifier.predict(arrays, top_k)[0], note=subjects.note)
        return IdentifyOutcome((only,), (), ((cropped[0],),))
    if as_views and count > 1:
        fused = _fused(classifier, cropped, arrays, top_k)
        note = f"{count} subjects identified as views of one specimen" + (
            f"; {subjects.note}" if subjects.note else ""
        )
        return IdentifyOutcome((dataclasses.replace(fused, note=note),), (), (tuple(cropped),))
    answers = classifier.predict(arrays, top_k)
    results = tuple(
        Identified(
            (p.path,),
            answer,
            note=f"subject {i + 1} of {count}, crop {p.crop.describe() if p.crop else 'whole'}",
        )
        for i, (p, answer) in enumerate(zip(cropped, answers))
    )
    return IdentifyOutcome(results, (), tuple((p,) for p in cropped))


def identify_in_batches(
    classifier: Classifier, paths: Sequence[str | os.PathLike[str]], batch_size: int = 8, top_k: int = 5
) -> Iterator[tuple[list[Photo], IdentifyOutcome]]:
    """Identify photos one by one, ``batch_size`` at a time: only one batch is ever decoded in memory,
    so ``shellgui identify photos/*.jpg`` over thousands of photos runs in constant memory.

    Yields:
        The decoded photos of each batch and their outcome (results and errors).
    """
    low, high = BATCH_SIZE_RANGE
    if not low <= batch_size <= high:
        raise UsageError(f"the batch size must be between {low} and {high}, not {batch_size}")
    for start in range(0, len(paths), batch_size):
        yield identify_paths(classifier, paths[start : start + batch_size], top_k=top_k)


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
