"""Review-queue flags found in the stored embeddings: likely mislabels and near-duplicate photos.

A checked specimen whose nearest checked neighbours agree on another taxon (and none on its own) is a
likely mislabel; two specimens whose photos are almost the same vector are likely the same shot twice.
These are hints for a person to look at, never automatic changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from shellgui.core.catalog import embeddings as store
from shellgui.core.catalog.database import Catalog
from shellgui.core.similar import NEIGHBOUR_MAX_DISTANCE, catalogue_index

MISLABEL = "likely mislabel"
NEAR_DUPLICATE = "near-duplicate"
#: Cosine distance under which two photos count as the same shot. Measured on zhang8 with the bundled
#: model's features: a photo resized and re-saved as JPEG lies 0.0002-0.0013 from its original, photos of
#: two different specimens from 0.002 on (a 5 % crop: 0.004-0.018, so crops are not caught).
DUPLICATE_DISTANCE = 0.0015
MISLABEL_NEIGHBOURS = 5
MISLABEL_AGREE = 4


@dataclass(frozen=True)
class ReviewFlag:
    """One thing in the catalogue a person should look at."""

    kind: str
    specimen_id: int
    others: tuple[int, ...]
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "specimen_id": self.specimen_id,
            "others": list(self.others),
            "message": self.message,
        }


def _vectors(catalog: Catalog, model_sha256: str) -> Iterator[tuple[int, np.ndarray]]:
    with catalog.session() as session:
        for _rows, photo_ids, vectors in store.load_embeddings(session, model_sha256):
            yield from zip(photo_ids.tolist(), vectors.astype(np.float32))


def review_flags(
    catalog: Catalog,
    model_sha256: str,
    max_distance: float = NEIGHBOUR_MAX_DISTANCE,
    duplicate_distance: float = DUPLICATE_DISTANCE,
) -> list[ReviewFlag]:
    """Likely mislabels among checked specimens, and near-duplicate photos, under one model's embeddings.

    Args:
        catalog: the open catalogue.
        model_sha256: whose embeddings to compare.
        max_distance: checked neighbours farther than this do not vote on a mislabel.
        duplicate_distance: photos of two specimens closer than this are flagged as near-duplicates.
    """
    index = catalogue_index(catalog, model_sha256)
    if index is None:
        return []
    with catalog.session() as session:
        checked = store.checked_photo_ids(session, model_sha256)
    flags: list[ReviewFlag] = []
    duplicates: set[tuple[int, int]] = set()
    mislabelled: set[int] = set()
    for photo_id, vector in _vectors(catalog, model_sha256):
        keys, distances = index.search(vector, 64 if photo_id in checked else 4)
        with catalog.session() as session:
            facts = store.photo_facts(session, [photo_id, *keys.tolist()])
        own = facts.get(photo_id)
        if own is None:
            continue
        others = [(facts[k], d) for k, d in zip(keys.tolist(), distances.tolist()) if k in facts]
        others = [(f, d) for f, d in others if f.specimen_id != own.specimen_id]
        for fact, distance in others:
            pair = (min(own.specimen_id, fact.specimen_id), max(own.specimen_id, fact.specimen_id))
            if distance <= duplicate_distance and pair not in duplicates:
                duplicates.add(pair)
                flags.append(
                    ReviewFlag(
                        NEAR_DUPLICATE,
                        pair[0],
                        (pair[1],),
                        f"{NEAR_DUPLICATE}: specimen {pair[0]} and specimen {pair[1]} have almost the same "
                        f"photo (distance {distance:.3f})",
                    )
                )
        if own.checked and own.taxon:
            flag = _mislabel(own.specimen_id, own.taxon, others, max_distance)
            if flag is not None and flag.specimen_id not in mislabelled:
                mislabelled.add(flag.specimen_id)
                flags.append(flag)
    return flags


def _mislabel(
    specimen_id: int, taxon: str, others: list[tuple[store.PhotoFacts, float]], max_distance: float
) -> ReviewFlag | None:
    voters: list[tuple[store.PhotoFacts, float]] = []
    seen: set[int] = set()
    for fact, distance in others:
        if fact.checked and fact.taxon and distance <= max_distance and fact.specimen_id not in seen:
            seen.add(fact.specimen_id)
            voters.append((fact, distance))
    voters = voters[:MISLABEL_NEIGHBOURS]
    votes = Counter(f.taxon for f, _ in voters)
    if not votes or votes.get(taxon, 0) > 0:
        return None
    winner, n = votes.most_common(1)[0]
    if n < MISLABEL_AGREE:
        return None
    return ReviewFlag(
        MISLABEL,
        specimen_id,
        tuple(f.specimen_id for f, _ in voters if f.taxon == winner),
        f"{MISLABEL}: checked as {taxon}, but its {n} nearest checked specimens are {winner}",
    )
