"""The open-set score: how far a photo's embedding lies from everything the model learned from.

Deep nearest-neighbour out-of-distribution detection (Sun et al., ICML 2022): the score of a photo is the
cosine distance (``1 - cos``) to its k-th nearest embedding in the model's reference bank. The trainer
fits the card's threshold on validation photos at a stated retention; a photo above it is "not something
this model knows".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shellgui.core.inference.bank import Bank


@dataclass(frozen=True)
class OpenSetScore:
    """Where one photo stands against the reference bank.

    Attributes:
        distance: cosine distance to the k-th nearest bank embedding (the score).
        threshold: the card's threshold; above it the photo is unknown to the model.
        k: the ``k`` of the score.
        nearest_label: the class index of the single nearest bank embedding (a hint, not an identification).
        nearest_distance: cosine distance to that nearest embedding.
        bank_photos: how many training photos the bank stands for.
    """

    distance: float
    threshold: float
    k: int
    nearest_label: int
    nearest_distance: float
    bank_photos: int

    @property
    def unknown(self) -> bool:
        """The photo lies farther from the bank than the threshold allows."""
        return self.distance > self.threshold

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "knn",
            "k": self.k,
            "distance": round(self.distance, 6),
            "threshold": round(self.threshold, 6),
            "unknown": self.unknown,
            "nearest_distance": round(self.nearest_distance, 6),
            "bank_photos": self.bank_photos,
        }


def knn_distances(queries: np.ndarray, bank: Bank, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cosine distances of each query to its k-th and its nearest bank row.

    Args:
        queries: ``(N, D)`` embeddings (normalised here; the graph already normalises them).
        bank: the reference bank.
        k: which neighbour scores the photo (clipped to the bank size).

    Returns:
        ``(kth_distance (N,), nearest_distance (N,), nearest_row (N,))``.
    """
    q = np.asarray(queries, dtype=np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    distances = 1.0 - q @ bank.embeddings.T  # (N, M)
    kk = min(max(1, k), bank.size)
    kth = np.partition(distances, kk - 1, axis=1)[:, kk - 1]
    nearest_row = distances.argmin(axis=1)
    nearest = distances[np.arange(len(q)), nearest_row]
    return kth.astype(np.float64), nearest.astype(np.float64), nearest_row


def score_open_set(
    queries: np.ndarray, bank: Bank, k: int, threshold: float, bank_photos: int | None = None
) -> list[OpenSetScore]:
    """One :class:`OpenSetScore` per query embedding."""
    kth, nearest, rows = knn_distances(queries, bank, k)
    photos = bank_photos if bank_photos is not None else bank.size
    return [
        OpenSetScore(
            distance=float(d),
            threshold=float(threshold),
            k=min(max(1, k), bank.size),
            nearest_label=int(bank.labels[r]),
            nearest_distance=float(n),
            bank_photos=int(photos),
        )
        for d, n, r in zip(kth, nearest, rows)
    ]
