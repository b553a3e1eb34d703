"""Similar specimens from the user's own catalogue, and the few-shot candidates they suggest.

Every catalogued photo's embedding is stored per model (``catalog.embeddings``). A query embedding is
searched against them with cosine distance: plain NumPy (exact) for small catalogues, the usearch HNSW
index (float16 rows) from :data:`LIBRARY_MIN_ROWS` on, where it wins (``bench/bench_similar.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from shellgui.core import paths
from shellgui.core.catalog import embeddings as store
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.embeddings import PhotoFacts
from shellgui.core.catalog.schema import PhotoEmbedding

log = logging.getLogger(__name__)

#: From this many stored embeddings on, the HNSW index answers instead of the exact NumPy scan.
LIBRARY_MIN_ROWS = 20_000
#: An HNSW index is saved (and reused by the next session) after this many rows were added to it.
SAVE_EVERY_ROWS = 1_000
#: How many similar specimens the Identify view, the specimen dialog and ``--json`` show.
SIMILAR_COUNT = 6
#: Few-shot: this many of the nearest checked specimens must agree on a taxon the model does not know.
FEW_SHOT_AGREE = 3
FEW_SHOT_NEIGHBOURS = 5
#: Neighbours farther than this cosine distance do not vote (unless the model's open-set threshold,
#: fitted on its validation photos, says otherwise).
NEIGHBOUR_MAX_DISTANCE = 0.35


class EmbeddingIndex:
    """Cosine nearest-neighbour search over stored, L2-normalised embeddings.

    Args:
        ids: ``(N,)`` integer keys (photo ids).
        vectors: ``(N, D)`` embeddings (float16 as stored, or float32).
        library_min_rows: from this size on, use the usearch HNSW index instead of NumPy
            (default :data:`LIBRARY_MIN_ROWS`).
    """

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, library_min_rows: int | None = None) -> None:
        self.library_min_rows = LIBRARY_MIN_ROWS if library_min_rows is None else library_min_rows
        self.dim = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.size else 0
        self._ids = np.zeros(0, np.int64)
        self._rows = np.zeros((0, self.dim), np.float32)
        self._hnsw: object | None = None
        self.add(ids, vectors)

    def __len__(self) -> int:
        return int(self._ids.size) if self._hnsw is None else int(len(self._hnsw))  # type: ignore[arg-type]

    @property
    def uses_library(self) -> bool:
        """``True`` once the index has moved to usearch HNSW."""
        return self._hnsw is not None

    @property
    def nbytes(self) -> int:
        """Memory held by the vectors (and the graph, for HNSW)."""
        if self._hnsw is not None:
            return int(self._hnsw.memory_usage)  # type: ignore[attr-defined]
        return int(self._rows.nbytes + self._ids.nbytes)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add rows (keys must be new)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return
        vectors = np.asarray(vectors)
        if not self.dim:
            self.dim = int(vectors.shape[1])
            self._rows = np.zeros((0, self.dim), np.float32)
        if self._hnsw is None and len(self) + ids.size < self.library_min_rows:
            self._ids = np.concatenate([self._ids, ids])
            self._rows = np.concatenate([self._rows, vectors.astype(np.float32)])
            return
        if self._hnsw is None:
            from usearch.index import Index

            self._hnsw = Index(ndim=self.dim, metric="cos", dtype="f16")
            if self._ids.size:
                self._hnsw.add(self._ids, self._rows.astype(np.float16), threads=1)
            self._ids, self._rows = np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        # One thread: a parallel insert now and then leaves a photo unreachable (1 query in ~240 missed
        # its own photo in the tests); one thread is deterministic and only 2x slower to build
        # (5,000 x 1,280: 1.5 s -> 3.0 s).
        self._hnsw.add(ids, vectors.astype(np.float16), threads=1)  # type: ignore[attr-defined]

    def save(self, path: Path) -> bool:
        """Save an HNSW index to ``path`` (the NumPy scan rebuilds fast and is not saved)."""
        if self._hnsw is None:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        self._hnsw.save(str(tmp))  # type: ignore[attr-defined]
        tmp.replace(path)
        return True

    @classmethod
    def restore(cls, path: Path, dim: int) -> EmbeddingIndex | None:
        """An HNSW index saved by :meth:`save`, or ``None`` when the file is missing or unreadable."""
        from usearch.index import Index

        try:
            hnsw = Index.restore(str(path))
        except Exception:  # usearch raises plain RuntimeError/ValueError for a damaged file
            return None
        if hnsw is None or hnsw.ndim != dim:
            return None
        index = cls(np.zeros(0, np.int64), np.zeros((0, dim), np.float16))
        index._hnsw = hnsw
        return index

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest keys and their cosine distances, nearest first."""
        q = np.asarray(query, dtype=np.float32).ravel()
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        if len(self) == 0 or k < 1:
            return np.zeros(0, np.int64), np.zeros(0)
        if self._hnsw is not None:
            matches = self._hnsw.search(q.astype(np.float16), k)  # type: ignore[attr-defined]
            return np.asarray(matches.keys, np.int64), np.asarray(matches.distances, np.float64)
        distances = 1.0 - self._rows @ q
        k = min(k, distances.size)
        top = np.argpartition(distances, k - 1)[:k]
        top = top[np.argsort(distances[top], kind="stable")]
        return self._ids[top], distances[top].astype(np.float64)


class _CachedIndex:
    """One catalogue's index for one model, and where it is saved between sessions."""

    def __init__(self, catalog_url: str, model_sha256: str) -> None:
        key = hashlib.sha256(f"{catalog_url}\n{model_sha256}".encode()).hexdigest()[:32]
        self.path = paths.cache_dir() / "similar" / f"{key}.usearch"
        self.index: EmbeddingIndex | None = None
        self.last_row = 0
        self.saved_rows = 0
        self.tried_disk = False

    def _stamp(self, session: Session, row_id: int) -> str:
        """A fingerprint of the catalogue's row ``row_id`` (photo and vector): a saved index is only
        reused when the catalogue still holds exactly the row it was saved after."""
        found = session.execute(
            select(PhotoEmbedding.photo_id, PhotoEmbedding.vector).where(PhotoEmbedding.id == row_id)
        ).first()
        if found is None:
            return ""
        return hashlib.sha256(str(found[0]).encode() + bytes(found[1])).hexdigest()

    def restore(self, session: Session) -> None:
        self.tried_disk = True
        meta_path = self.path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            last_row, dim, stamp = int(meta["last_row"]), int(meta["dim"]), str(meta["stamp"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if not stamp or self._stamp(session, last_row) != stamp:
            return
        index = EmbeddingIndex.restore(self.path, dim)
        if index is not None:
            self.index, self.last_row, self.saved_rows = index, last_row, len(index)
            log.info("Similar-specimen index restored from %s (%d rows)", self.path, len(index))

    def save(self, session: Session) -> None:
        if self.index is None or len(self.index) - self.saved_rows < SAVE_EVERY_ROWS:
            return
        try:
            if self.index.save(self.path):
                meta = {
                    "last_row": self.last_row,
                    "dim": self.index.dim,
                    "stamp": self._stamp(session, self.last_row),
                }
                self.path.with_suffix(".json").write_text(json.dumps(meta))
                self.saved_rows = len(self.index)
        except OSError as exc:  # a full or read-only cache folder only costs a rebuild next time
            log.warning("could not save the similar-specimen index to %s (%s)", self.path, exc)


_cache: dict[tuple[str, str], _CachedIndex] = {}
_cache_lock = threading.Lock()


def catalogue_index(catalog: Catalog, model_sha256: str) -> EmbeddingIndex | None:
    """The search index over a catalogue's embeddings for one model, kept up to date incrementally.

    Loaded once (in chunks; a large HNSW index from the cache folder, where it was saved) and then only
    the rows added since; rows of deleted photos stay in the index and are dropped when their facts are
    looked up. ``None`` when no photo has an embedding yet.
    """
    with _cache_lock:
        key = (catalog.url, model_sha256)
        cached = _cache.get(key) or _cache.setdefault(key, _CachedIndex(*key))
        with catalog.session() as session:
            count, top = store.embedding_state(session, model_sha256)
            if top < cached.last_row or (cached.index is not None and count == 0):
                cached.index, cached.last_row, cached.saved_rows = None, 0, 0  # the catalogue was replaced
            if not cached.tried_disk and top >= LIBRARY_MIN_ROWS:
                cached.restore(session)
            if top > cached.last_row:
                for rows, photo_ids, vectors in store.load_embeddings(session, model_sha256, cached.last_row):
                    if cached.index is None:
                        cached.index = EmbeddingIndex(photo_ids, vectors)
                    elif vectors.shape[1] == cached.index.dim:
                        cached.index.add(photo_ids, vectors)
                    cached.last_row = int(rows[-1]) if rows.size else cached.last_row
                cached.save(session)
        return cached.index


@dataclass(frozen=True)
class SimilarSpecimen:
    """A catalogued specimen whose photo looks like the query."""

    specimen_id: int
    photo_id: int
    photo_path: str
    thumbnail: bytes | None
    catalog_number: str | None
    taxon: str | None
    rank: str | None
    checked: bool
    distance: float

    def to_dict(self) -> dict[str, object]:
        return {
            "specimen_id": self.specimen_id,
            "photo": self.photo_path,
            "catalog_number": self.catalog_number,
            "taxon": self.taxon,
            "rank": self.rank,
            "checked": self.checked,
            "distance": round(self.distance, 6),
        }


def _neighbours(
    catalog: Catalog, model_sha256: str, embedding: np.ndarray, fetch: int, exclude: set[int]
) -> list[tuple[PhotoFacts, float]]:
    """Nearest photos with their facts, one (the nearest) photo per specimen, nearest first."""
    index = catalogue_index(catalog, model_sha256)
    if index is None:
        return []
    keys, distances = index.search(embedding, fetch)
    with catalog.session() as session:
        facts = store.photo_facts(session, keys.tolist())
    seen: set[int] = set(exclude)
    out = []
    for key, distance in zip(keys.tolist(), distances.tolist()):
        fact = facts.get(key)
        if fact is None or fact.specimen_id in seen:
            continue
        seen.add(fact.specimen_id)
        out.append((fact, max(0.0, float(distance))))
    return out


def similar_specimens(
    catalog: Catalog,
    model_sha256: str,
    embedding: np.ndarray,
    count: int = SIMILAR_COUNT,
    exclude_specimens: set[int] | None = None,
) -> list[SimilarSpecimen]:
    """The specimens of the catalogue whose photos look most like ``embedding``, checked ones first.

    Args:
        catalog: the open catalogue.
        model_sha256: the model whose embeddings are compared (embeddings of other models are not).
        embedding: the query photo's (or specimen's) embedding.
        count: how many specimens to return.
        exclude_specimens: specimens not to list (the query's own).
    """
    near = _neighbours(catalog, model_sha256, embedding, count * 4 + 8, exclude_specimens or set())[:count]
    found = [
        SimilarSpecimen(
            specimen_id=f.specimen_id,
            photo_id=f.photo_id,
            photo_path=f.photo_path,
            thumbnail=f.thumbnail,
            catalog_number=f.catalog_number,
            taxon=f.taxon,
            rank=f.rank,
            checked=f.checked,
            distance=d,
        )
        for f, d in near
    ]
    return sorted(found, key=lambda s: (not s.checked, s.distance))


@dataclass(frozen=True)
class FewShotCandidate:
    """A taxon the model does not know, suggested by the user's own checked specimens."""

    taxon: str
    supporting: int
    neighbours: int
    specimen_ids: tuple[int, ...]
    distance: float

    @property
    def summary(self) -> str:
        """``"from your collection: Nerita plicata, 3 similar checked specimens"``."""
        noun = "specimen" if self.supporting == 1 else "specimens"
        return f"from your collection: {self.taxon}, {self.supporting} similar checked {noun}"

    def to_dict(self) -> dict[str, object]:
        return {
            "taxon": self.taxon,
            "supporting": self.supporting,
            "neighbours": self.neighbours,
            "specimen_ids": list(self.specimen_ids),
            "mean_distance": round(self.distance, 6),
            "summary": self.summary,
        }


def few_shot_candidates(
    catalog: Catalog,
    model_sha256: str,
    embedding: np.ndarray,
    known_taxa: set[str],
    max_distance: float | None = None,
    exclude_specimens: set[int] | None = None,
) -> list[FewShotCandidate]:
    """Taxa the model does not know that the nearest checked specimens agree on (no retraining).

    The :data:`FEW_SHOT_NEIGHBOURS` nearest checked specimens within ``max_distance`` vote; a taxon
    outside ``known_taxa`` with at least :data:`FEW_SHOT_AGREE` votes becomes a candidate.

    Args:
        known_taxa: the names the model can answer (its card's taxa); they are never candidates.
        max_distance: farther neighbours do not vote (default :data:`NEIGHBOUR_MAX_DISTANCE`).
    """
    limit = NEIGHBOUR_MAX_DISTANCE if max_distance is None else max_distance
    near = _neighbours(catalog, model_sha256, embedding, 64, exclude_specimens or set())
    checked = [(f, d) for f, d in near if f.checked and f.taxon and d <= limit][:FEW_SHOT_NEIGHBOURS]
    votes = Counter(f.taxon for f, _ in checked)
    out = []
    for taxon, n in votes.most_common():
        if taxon is None or n < FEW_SHOT_AGREE or taxon in known_taxa:
            continue
        support = [(f, d) for f, d in checked if f.taxon == taxon]
        out.append(
            FewShotCandidate(
                taxon,
                n,
                len(checked),
                tuple(f.specimen_id for f, _ in support),
                float(np.mean([d for _, d in support])),
            )
        )
    return out
