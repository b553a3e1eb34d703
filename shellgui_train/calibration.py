"""Temperature scaling and decision thresholds, fitted on validation logits and written into the card."""

from __future__ import annotations

import numpy as np

from shellgui.core.inference.decision import calibrated_probabilities
from shellgui.core.modelcard import Taxon

DEFAULT_THRESHOLDS = {"species": 0.6, "genus": 0.7, "family": 0.8}


def fit_ood_floor(logits: np.ndarray, percentile: float = 5.0) -> float | None:
    """The out-of-distribution floor: this percentile of the validation photos' highest raw logits.

    A photo scoring below it looks less like the training taxa than 95% (by default) of real validation
    photos; MaxLogit separates unfamiliar photos better than the softmax does. ``None`` when disabled or
    when there are too few validation photos to estimate it.
    """
    if percentile <= 0 or len(logits) < 10:
        return None
    return round(float(np.percentile(logits.max(axis=1), percentile)), 4)


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    probs = calibrated_probabilities(logits, temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(targets)), targets], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising validation NLL (a coarse log grid, then a fine one)."""
    if len(targets) == 0:
        return 1.0
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    best = min(grid, key=lambda t: nll(logits, targets, t))
    fine = best * np.exp(np.linspace(-0.05, 0.05, 41))
    return float(min(fine, key=lambda t: nll(logits, targets, t)))


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    if len(targets) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def _rank_scores(
    probs: np.ndarray, targets: np.ndarray, taxa: list[Taxon], rank: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: the best probability at ``rank`` and whether that group contains the true label."""
    if rank == "species":
        return probs.max(axis=1), probs.argmax(axis=1) == targets
    keys = [t.genus if rank == "genus" else t.family for t in taxa]
    groups = sorted({k for k in keys if k})
    if not groups:
        return np.zeros(len(targets)), np.zeros(len(targets), dtype=bool)
    member = np.array([[k == g for k in keys] for g in groups], dtype=float)  # groups x classes
    grouped = probs @ member.T
    best = grouped.argmax(axis=1)
    truth = np.array([groups.index(keys[t]) if keys[t] else -1 for t in targets])
    return grouped.max(axis=1), best == truth


def fit_thresholds(
    probs: np.ndarray,
    targets: np.ndarray,
    taxa: list[Taxon],
    target_precision: float = 0.9,
    min_support: int = 3,
    floor: float = 0.4,
) -> dict[str, float]:
    """Per rank, the lowest threshold whose accepted validation answers are at least ``target_precision``
    correct. With too little validation data the conservative defaults are kept."""
    thresholds = dict(DEFAULT_THRESHOLDS)
    if len(targets) < 10:
        return thresholds
    for rank in ("species", "genus", "family"):
        scores, correct = _rank_scores(probs, targets, taxa, rank)
        if not scores.any():
            continue
        chosen = 0.99
        for t in np.unique(np.round(scores, 4)):
            accepted = scores >= t
            if accepted.sum() >= min_support and correct[accepted].mean() >= target_precision:
                chosen = float(t)
                break
        thresholds[rank] = round(max(chosen, floor), 4)
    return thresholds
