"""The collection as the model's memory: store every photo's embedding, and consult them for an answer.

Shared by the CLI and the GUI: what the user's own catalogue says about a photo (similar specimens,
checked specimens first; few-shot candidates for taxa the model does not know).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from shellgui.core.catalog import embeddings as store
from shellgui.core.catalog.database import Catalog
from shellgui.core.errors import PhotoError
from shellgui.core.imaging import open_photo
from shellgui.core.inference.bank import l2_normalise
from shellgui.core.inference.classifier import Classifier
from shellgui.core.inference.decision import Prediction
from shellgui.core.review_flags import ReviewFlag, review_flags
from shellgui.core.similar import (
    SIMILAR_COUNT,
    FewShotCandidate,
    SimilarSpecimen,
    few_shot_candidates,
    similar_specimens,
)

EMBED_BATCH = 16


@dataclass(frozen=True)
class CollectionAnswer:
    """What the user's catalogue says about one photo or specimen."""

    similar: tuple[SimilarSpecimen, ...]
    candidates: tuple[FewShotCandidate, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "similar": [s.to_dict() for s in self.similar],
            "candidates": [c.to_dict() for c in self.candidates],
        }


def consult_collection(
    catalog: Catalog,
    classifier: Classifier,
    prediction: Prediction,
    exclude_specimen: int | None = None,
    count: int = SIMILAR_COUNT,
) -> CollectionAnswer | None:
    """Similar specimens and few-shot candidates for an answer; ``None`` for a model without embeddings.

    Args:
        catalog: the user's catalogue.
        classifier: the model that produced ``prediction`` (its embeddings are compared).
        prediction: the answer, carrying its photos' embeddings.
        exclude_specimen: the query's own specimen, when it was recorded.
        count: how many similar specimens.
    """
    embedding = prediction.embedding
    if embedding is None:
        return None
    exclude = {exclude_specimen} if exclude_specimen is not None else set()
    return _consult(catalog, classifier, embedding, exclude, count)


def _consult(
    catalog: Catalog, classifier: Classifier, embedding: np.ndarray, exclude: set[int], count: int
) -> CollectionAnswer:
    similar = similar_specimens(catalog, classifier.sha256, embedding, count, exclude)
    known = {t.name for t in classifier.card.taxa}
    candidates = few_shot_candidates(
        catalog, classifier.sha256, embedding, known, classifier.card.open_set_threshold, exclude
    )
    return CollectionAnswer(tuple(similar), tuple(candidates))


def embed_missing_photos(
    catalog: Catalog, classifier: Classifier, cancel: threading.Event | None = None
) -> Iterator[tuple[int, int, int]]:
    """Compute and store the embedding of every catalogued photo that has none under this model.

    Yields ``(done, failed, total)`` after each batch; photos that moved or cannot be read count as
    failed and are tried again next time. Nothing happens for a model without an embedding output.
    """
    if not classifier.has_embedding:
        return
    with catalog.session() as session:
        todo = store.photos_without_embedding(session, classifier.sha256)
    done = failed = 0
    for start in range(0, len(todo), EMBED_BATCH):
        if cancel is not None and cancel.is_set():
            return
        stored, missed = _embed_photos(catalog, classifier, todo[start : start + EMBED_BATCH])
        done, failed = done + stored, failed + missed
        yield done, failed, len(todo)


def _embed_photos(catalog: Catalog, classifier: Classifier, photos: list[tuple[int, str]]) -> tuple[int, int]:
    """Embed and store a few ``(photo id, path)``; returns ``(stored, unreadable)``."""
    arrays, ids = [], []
    for photo_id, path in photos:
        try:
            arrays.append(classifier.prepare(open_photo(path, min_side=classifier.min_decode_side)))
            ids.append(photo_id)
        except PhotoError:
            pass
    vectors = classifier.embed(arrays) if arrays else None
    if vectors is None:
        return 0, len(photos)
    with catalog.writing() as session, session.begin():
        for photo_id, vector in zip(ids, vectors):
            store.store_embedding(session, photo_id, classifier.sha256, vector)
    return len(ids), len(photos) - len(ids)


def consult_for_specimen(
    catalog: Catalog, classifier: Classifier, specimen_id: int, count: int = SIMILAR_COUNT
) -> CollectionAnswer | None:
    """Similar specimens for a catalogued specimen, from its photos' stored embeddings.

    Photos without an embedding under this model (catalogued with another model) are embedded first.
    ``None`` when the model has no embedding output or none of the specimen's photos can be read.
    """
    if not classifier.has_embedding:
        return None
    with catalog.session() as session:
        vectors = store.specimen_embeddings(session, specimen_id, classifier.sha256)
        if vectors is None:
            missing = store.photos_without_embedding(session, classifier.sha256, specimen_id)
    if vectors is None:
        _embed_photos(catalog, classifier, missing)
        with catalog.session() as session:
            vectors = store.specimen_embeddings(session, specimen_id, classifier.sha256)
    if vectors is None:
        return None
    embedding = l2_normalise(vectors.mean(axis=0, dtype="float32")[None, :])[0]
    return _consult(catalog, classifier, embedding, {specimen_id}, count)


def check_collection(catalog: Catalog, classifier: Classifier) -> list[ReviewFlag]:
    """Review flags (likely mislabels, near-duplicates) after embedding any photo that has none yet.

    Empty for a model without an embedding output.
    """
    if not classifier.has_embedding:
        return []
    for _progress in embed_missing_photos(catalog, classifier):
        pass
    return review_flags(catalog, classifier.sha256)
