"""From logits to an answer a curator can trust: calibrated top-k, rank roll-up and the decision.

The decision is made at the finest rank whose probability clears the card's threshold for that rank
(species, then genus, then family). When none does, the answer is "uncertain — possibly not a taxon this
model knows": the thresholds were fitted on validation photos by the trainer, so this means something.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from shellgui.core.inference.openset import OpenSetScore
from shellgui.core.modelcard import ModelCard, Taxon
from shellgui.core.percent import percent

UNCERTAIN = "uncertain — possibly not a taxon this model knows"
NOT_KNOWN = "not something this model knows"
#: Uncertain because the most similar training photo contradicts the classifier (the agreement rule).
DISPUTED = "uncertain — the model's best guess and the most similar photo it learned from disagree"
#: The rank of an open-set refusal: the photo is far from every photo the model learned from.
UNKNOWN_RANK = "unknown"
#: How a refusal's hint is introduced: the taxon of the most similar photo it learned from, which need not
#: be the classifier's first score (the scores rank only the taxa it knows).
HINT = "the most similar photo it learned from is"
#: Said over the classifier's scores when the photo was refused: they are not an answer.
SCORES_NOT_AN_ANSWER = "The scores below rank only the taxa this model knows: none of them is an answer."


def not_known_words(bank_photos: int) -> str:
    """The plain-words reason of an open-set refusal."""
    return f"{NOT_KNOWN} — looks unlike any of the {bank_photos} photos this model learned from"


@dataclass(frozen=True)
class TaxonScore:
    """One candidate: a label (or a genus/family name for rolled-up ranks) and its probability."""

    name: str
    rank: str
    probability: float
    label: str = ""


@dataclass(frozen=True)
class Prediction:
    """The full answer for one photo or one specimen.

    Attributes:
        top_k: the most probable labels, best first (calibrated probabilities).
        genera, families: the probabilities rolled up to genus and family, best first.
        taxon: the decided name, or ``None`` when uncertain.
        rank: the rank of the decision (``"species"``, ``"genus"``, ``"family"``) or ``"uncertain"``.
        score: the probability of the decided taxon (or of the best label when uncertain).
        certainty: plain words: ``"confident"``, ``"likely"`` or the uncertain message.
        unfamiliar: the photo looks unlike anything the model was trained on (its logits are below the
            card's out-of-distribution floor, or it is far from the model's reference bank), so it is not
            named whatever the percentages say.
        open_set: the k-NN distance to the model's reference bank (models with an embedding and a bank).
        hint: for an open-set refusal, the nearest known taxon: a hint, never an identification.
        disputed_by: the most similar training photo's taxon when it contradicted the classifier's answer
            (cards with the agreement rule), so the answer was rolled up or left "uncertain".
        embeddings: ``(views, D)`` embeddings of the photos behind this answer (models with an embedding
            output); not part of the answer's equality or its JSON.
        view_probabilities: for several views fused into one answer, each view's own ``(views, classes)``
            probabilities (to tell when they contradict each other); not part of equality or JSON.
    """

    top_k: tuple[TaxonScore, ...]
    genera: tuple[TaxonScore, ...]
    families: tuple[TaxonScore, ...]
    taxon: str | None
    rank: str
    score: float
    certainty: str
    unfamiliar: bool = False
    open_set: OpenSetScore | None = None
    hint: str | None = None
    disputed_by: str | None = None
    embeddings: np.ndarray | None = field(default=None, compare=False, repr=False)
    view_probabilities: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def not_known(self) -> bool:
        """The open-set answer: the photo is far from everything the model learned from."""
        return self.rank == UNKNOWN_RANK

    @property
    def embedding(self) -> np.ndarray | None:
        """One L2-normalised ``(D,)`` embedding for the answer (the views' mean for a specimen)."""
        if self.embeddings is None or len(self.embeddings) == 0:
            return None
        mean = np.asarray(self.embeddings, dtype=np.float32).mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    @property
    def summary(self) -> str:
        """One line: ``"Bistolida diauges (species, 93%, confident)"`` or the uncertain message."""
        if self.not_known:
            hint = f" ({HINT} {self.hint}: a hint, not an identification)" if self.hint else ""
            return f"{self.certainty}{hint}"
        disputed = f"; the most similar training photo is {self.disputed_by}" if self.disputed_by else ""
        if self.taxon is None:
            best = self.top_k[0]
            unlike = "; the photo looks unlike the training photos" if self.unfamiliar else ""
            return f"{self.certainty} (best guess {best.name}, {percent(best.probability)}{unlike}{disputed})"
        return f"{self.taxon} ({self.rank}, {percent(self.score)}, {self.certainty}{disputed})"

    def to_dict(self) -> dict[str, object]:
        return {
            "taxon": self.taxon,
            "rank": self.rank,
            "score": round(self.score, 6),
            "certainty": self.certainty,
            "unfamiliar": self.unfamiliar,
            "not_known": self.not_known,
            "hint": self.hint,
            "disputed_by": self.disputed_by,
            "open_set": None if self.open_set is None else self.open_set.to_dict(),
            "top_k": [
                {"name": t.name, "label": t.label, "rank": t.rank, "probability": round(t.probability, 6)}
                for t in self.top_k
            ],
            "genus": [{"name": t.name, "probability": round(t.probability, 6)} for t in self.genera[:3]],
            "family": [{"name": t.name, "probability": round(t.probability, 6)} for t in self.families[:3]],
        }


def calibrated_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` along the last axis, numerically stable."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def fuse_views(probabilities: np.ndarray) -> np.ndarray:
    """Several photos of one specimen -> one distribution (the mean: robust to one poor view)."""
    probs = np.atleast_2d(probabilities)
    fused = probs.mean(axis=0)
    return fused / fused.sum()


def _roll_up(probs: np.ndarray, card: ModelCard, rank: str) -> list[TaxonScore]:
    totals: dict[str, float] = defaultdict(float)
    for p, taxon in zip(probs, card.taxa):
        key = taxon.genus if rank == "genus" else taxon.family
        if key:
            totals[key] += float(p)
    return sorted((TaxonScore(n, rank, v) for n, v in totals.items()), key=lambda t: -t.probability)


def certainty_words(probability: float, threshold: float) -> str:
    """Plain language for a decided answer: well clear of the threshold is "confident", else "likely"."""
    return "confident" if probability >= max(threshold, 0.9) else "likely"


def decide(
    probabilities: np.ndarray,
    card: ModelCard,
    top_k: int = 5,
    max_logit: float | None = None,
    open_set: OpenSetScore | None = None,
    embeddings: np.ndarray | None = None,
) -> Prediction:
    """Build the answer for one calibrated probability vector.

    The open-set check comes first: a photo farther from the reference bank than the card's threshold is
    answered "not something this model knows" (rank ``"unknown"``), with the nearest known taxon as a hint
    only. Then the max-logit floor, then the finest rank whose probability clears its threshold.

    Args:
        probabilities: shape ``(num_classes,)``, summing to 1.
        card: the model card (taxonomy and thresholds).
        top_k: how many labels to list.
        max_logit: the highest raw logit, checked against the card's out-of-distribution floor.
        open_set: the photo's k-NN distance to the model's reference bank, when the model has one.
        embeddings: the photos' embeddings, carried on the answer for similar-specimen search.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
    top = tuple(
        TaxonScore(card.taxa[i].name, card.taxa[i].rank, float(probs[i]), card.taxa[i].label) for i in order
    )
    genera = tuple(_roll_up(probs, card, "genus"))
    families = tuple(_roll_up(probs, card, "family"))
    taxon, rank, score, certainty = _decision(top[0], genera, families, card)
    unfamiliar, hint, disputed_by = False, None, None
    if open_set is not None and not open_set.unknown and (card.open_set or {}).get("agreement"):
        nearest = card.taxa[open_set.nearest_label]
        agreed = _decision(top[0], genera, families, card, _agrees_with(nearest))
        if agreed[:2] != (taxon, rank):
            taxon, rank, score, certainty = agreed
            disputed_by = nearest.name
            certainty = DISPUTED if taxon is None else certainty
    floor = card.ood_logit_floor
    if open_set is not None and open_set.unknown:
        taxon, rank, score = None, UNKNOWN_RANK, top[0].probability
        certainty, unfamiliar = not_known_words(open_set.bank_photos), True
        hint = card.taxa[open_set.nearest_label].name
    elif floor is not None and max_logit is not None and max_logit < floor:
        taxon, rank, score, certainty, unfamiliar = None, "uncertain", top[0].probability, UNCERTAIN, True
    return Prediction(
        top,
        genera,
        families,
        taxon,
        rank,
        score,
        certainty,
        unfamiliar=unfamiliar,
        open_set=open_set,
        hint=hint,
        disputed_by=disputed_by,
        embeddings=embeddings,
    )


def _decision(
    best: TaxonScore,
    genera: tuple[TaxonScore, ...],
    families: tuple[TaxonScore, ...],
    card: ModelCard,
    agrees: Callable[[str, TaxonScore], bool] | None = None,
) -> tuple[str | None, str, float, str]:
    """The finest rank whose probability clears the card's threshold (and, with ``agrees``, whose winner
    the nearest known photo agrees with): (taxon, rank, score, certainty)."""
    thresholds = card.thresholds
    ok = agrees or (lambda _rank, _winner: True)
    if best.rank == "species" and best.probability >= thresholds.get("species", 1.01) and ok("species", best):
        words = certainty_words(best.probability, thresholds["species"])
        return best.name, "species", best.probability, words
    for rank, ranked in (("genus", genera), ("family", families)):
        if ranked and ranked[0].probability >= thresholds.get(rank, 1.01) and ok(rank, ranked[0]):
            winner = ranked[0]
            name = f"{winner.name} sp." if rank == "genus" else winner.name
            return name, rank, winner.probability, certainty_words(winner.probability, thresholds[rank])
    return None, "uncertain", best.probability, UNCERTAIN


def _agrees_with(nearest: Taxon) -> Callable[[str, TaxonScore], bool]:
    """The agreement rule (cards whose ``open_set`` has ``agreement``: the trainer sets it when, on
    validation photos, the classifier was more often wrong than right where it disagreed with the nearest
    training photo): a rank's winner counts only when it is the nearest known photo's taxon at that rank,
    so a contradicted species rolls up to the genus or family both share, or is "uncertain"."""

    def agrees(rank: str, winner: TaxonScore) -> bool:
        if rank == "species":
            return winner.label == nearest.label
        return winner.name == (nearest.genus if rank == "genus" else nearest.family)

    return agrees
