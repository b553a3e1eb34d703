"""Open-set recognition: the reference bank, the k-NN score and its threshold (written into the model).

The score of a photo is the cosine distance (1 - cos) from its L2-normalised embedding to the k-th nearest
embedding in the reference bank (the training photos, or k-means prototypes per taxon when a taxon has many
photos). A photo scoring above the threshold is "not something this model knows". The threshold is fitted on
validation photos, which took no part in training, so that a stated share of them (the retention) is kept.
The bank is stored in float16 and every score here is computed with the app's own code against the bank
decoded from the very text stored in the model file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from shellgui.core.inference.bank import Bank, decode_bank, encode_bank
from shellgui.core.inference.openset import knn_distances

log = logging.getLogger(__name__)

METHOD = "knn"
SCORE = "kth_cosine_distance"
BANK_DTYPE = "float16"
DEFAULT_K = 5
DEFAULT_RETENTION = 0.95
DEFAULT_PROTOTYPES = 32  # rows per taxon at most; taxa with more training photos are k-means summarised


@dataclass(frozen=True)
class ReferenceBank:
    """The bank as the app will read it (decoded from the very text stored in the model file)."""

    bank: Bank
    photos: int  # training photos the rows stand for
    text: str  # the metadata value stored under BANK_KEY

    @property
    def size(self) -> int:
        return self.bank.size

    @property
    def stored_bytes(self) -> int:
        """Bytes of the float16 array; the base64 text in the ONNX metadata is ``len(text)``."""
        return self.bank.stored_bytes

    def distances(self, embeddings: np.ndarray, k: int) -> np.ndarray:
        """The open-set score of each embedding: cosine distance to its k-th nearest row."""
        if len(embeddings) == 0:
            return np.zeros(0)
        return knn_distances(embeddings, self.bank, k)[0]


def build_bank(
    embeddings: np.ndarray, targets: np.ndarray, max_per_taxon: int = DEFAULT_PROTOTYPES, seed: int = 0
) -> ReferenceBank:
    """The reference bank from training embeddings: every photo, or ``max_per_taxon`` k-means prototypes
    (normalised cluster centres) for a taxon with more photos than that (``max_per_taxon`` 0: keep all)."""
    from sklearn.cluster import KMeans

    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for c in np.unique(targets):
        members = embeddings[targets == c].astype(np.float64)
        if max_per_taxon and len(members) > max_per_taxon:
            km = KMeans(n_clusters=max_per_taxon, n_init=3, random_state=seed).fit(members)
            members = km.cluster_centers_
        rows.append(members)
        labels.append(np.full(len(members), c, dtype=np.int64))
    text = encode_bank(np.concatenate(rows), np.concatenate(labels), BANK_DTYPE)
    return ReferenceBank(decode_bank(text), photos=int(len(targets)), text=text)


def fit_threshold(val_scores: np.ndarray, retention: float = DEFAULT_RETENTION) -> float:
    """The score under which at least ``retention`` of the validation photos fall (the rest are refused)."""
    if len(val_scores) == 0:
        raise ValueError("no validation photos to fit the open-set threshold on")
    return float(np.quantile(val_scores, retention, method="higher"))


def card_entry(
    bank: ReferenceBank, k: int, threshold: float, retention: float, fitted_on: int, embedding: str
) -> dict[str, Any]:
    """The model card's ``open_set`` dictionary (read by :mod:`shellgui.core.modelcard`); ``embedding``
    says in words where the embedding comes from."""
    return {
        "method": METHOD,
        "score": SCORE,
        "embedding": embedding,
        "k": int(min(k, bank.size)),
        "threshold": threshold,
        "retention": retention,
        "bank_size": bank.size,
        "bank_photos": bank.photos,
        "bank_dtype": BANK_DTYPE,
        "fitted_on_validation_photos": int(fitted_on),
    }


def fit_open_set(
    train_embeddings: np.ndarray,
    train_targets: np.ndarray,
    val_embeddings: np.ndarray,
    embedding: str,
    k: int = DEFAULT_K,
    retention: float = DEFAULT_RETENTION,
    max_per_taxon: int = DEFAULT_PROTOTYPES,
    seed: int = 0,
) -> tuple[ReferenceBank, dict[str, Any] | None]:
    """The bank and the card's ``open_set`` entry (``None`` when there are no validation photos to fit the
    threshold on: the bank still travels, for similar-specimen search)."""
    bank = build_bank(train_embeddings, train_targets, max_per_taxon, seed)
    if len(val_embeddings) == 0:
        log.warning("no validation photos: the open-set threshold cannot be fitted")
        return bank, None
    if len(val_embeddings) < 20:
        log.warning(
            "only %d validation photos: the open-set threshold is a rough estimate", len(val_embeddings)
        )
    threshold = fit_threshold(bank.distances(val_embeddings, k), retention)
    return bank, card_entry(bank, k, threshold, retention, len(val_embeddings), embedding)


def fit_agreement(
    bank: ReferenceBank, val_embeddings: np.ndarray, val_logits: np.ndarray, val_targets: np.ndarray
) -> dict[str, Any]:
    """Should the app name only what the classifier and the nearest training photo agree on?

    On the validation photos where the classifier's first answer and the taxon of the nearest bank row
    differ, count how often the classifier was right: when less than half the time, naming its answer
    there does more harm than good, and ``agreement`` is set (the app then rolls such answers up to where
    the two agree: :func:`shellgui.core.inference.decision.decide`). Returns the card's entries."""
    if len(val_embeddings) == 0:
        return {"agreement": False}
    _, _, rows = knn_distances(val_embeddings, bank.bank, 1)
    nearest = np.asarray(bank.bank.labels)[rows]
    first = np.asarray(val_logits).argmax(axis=1)
    differ = nearest != first
    right = int((first[differ] == np.asarray(val_targets)[differ]).sum())
    return {
        "agreement": bool(differ.any() and right < differ.sum() / 2),
        "agreement_val_disagreements": int(differ.sum()),
        "agreement_val_classifier_right": right,
    }
