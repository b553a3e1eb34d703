"""Which open-set score tells photos of held-out taxa from known ones? The model's own k-NN score (its card)
against the alternatives, on the same photos in the same run.

Needs a run trained with ``--holdout-taxa`` (run from the folder it was trained from: its ``args.json``
rebuilds the same splits and held-out photos). Known: the test photos; unknown: the held-out taxa's photos.
Fused scores add z-scores standardised on validation photos only, so no held-out photo tunes them; the table
itself compares many scores on the held-out photos, so its best row is an optimistic bound, not a choice.

The second table asks a narrower question: can a second, tighter threshold on a score cut how often the
app names a *species* for an unknown taxon (it may still answer its genus or family)? Each gate is fitted on
validation photos only, keeping a share of the validation photos the app names to the right species.

    python bench/bench_openset_scores.py RUN_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score

from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.core.inference.bank import Bank
from shellgui.core.inference.decision import calibrated_probabilities, decide
from shellgui.core.inference.openset import knn_distances, score_open_set
from shellgui_train.cli import build_parser, load_splits
from shellgui_train.data import Sample

Scores = dict[str, np.ndarray]


def embed(
    classifier: Classifier, samples: list[Sample], labels: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw logits, embeddings and class indices (-1 for a held-out taxon) of the photos."""
    logits, embeddings, targets = [], [], []
    for i in range(0, len(samples), 16):
        chunk = samples[i : i + 16]
        out, emb = classifier.forward(np.stack([classifier.prepare(open_photo(s.path)) for s in chunk]))
        assert emb is not None, "the model has no embedding output"
        logits.append(out)
        embeddings.append(emb)
        targets += [labels.index(s.label) if s.label in labels else -1 for s in chunk]
    return np.concatenate(logits), np.concatenate(embeddings), np.array(targets)


class Scorer:
    """Every score, fitted on the training photos' embeddings (banks, class means, covariances)."""

    def __init__(self, classifier: Classifier, train_emb: np.ndarray, train_y: np.ndarray) -> None:
        self.classifier = classifier
        self.full = Bank(train_emb, train_y.astype(np.int64), "float32")
        self.classes = np.unique(train_y)
        self.means = np.stack([train_emb[train_y == c].mean(0) for c in self.classes])
        centred = train_emb - self.means[np.searchsorted(self.classes, train_y)]
        self.class_precision = LedoitWolf().fit(centred).precision_
        self.background = LedoitWolf().fit(train_emb)

    def __call__(self, logits: np.ndarray, emb: np.ndarray) -> Scores:
        card, bank = self.classifier.card, self.classifier.bank
        assert card.open_set is not None and bank is not None
        probs = calibrated_probabilities(logits, card.temperature)
        k = int(card.open_set["k"])
        scores: Scores = {
            f"the model's own: k-NN k={k}, its bank of {bank.size} rows": knn_distances(emb, bank, k)[0]
        }
        for k_full in (1, 5, 10, 50):
            scores[f"k-NN k={k_full}, every training photo"] = knn_distances(emb, self.full, k_full)[0]

        def mahalanobis(centre: np.ndarray, precision: np.ndarray) -> np.ndarray:
            distances: np.ndarray = np.einsum("ij,jk,ik->i", emb - centre, precision, emb - centre)
            return distances

        nearest_class = np.stack([mahalanobis(m, self.class_precision) for m in self.means], 1).min(1)
        scores["Mahalanobis (shared covariance)"] = nearest_class
        background = mahalanobis(self.background.location_, self.background.precision_)
        scores["relative Mahalanobis"] = nearest_class - background
        scores["1 - max softmax (calibrated)"] = 1 - probs.max(1)
        scores["-max logit (the app before the bank)"] = -logits.max(1)
        scores["entropy"] = -(probs * np.log(probs + 1e-12)).sum(1)
        first = probs.argmax(1)
        similarity = emb @ self.full.embeddings.T
        scores["distance to the nearest photo of the first answer's taxon"] = np.array(
            [1 - similarity[i, self.full.labels == first[i]].max() for i in range(len(first))]
        )
        return scores


FUSED = (
    ("k-NN k=10, every training photo", "1 - max softmax (calibrated)"),
    ("relative Mahalanobis", "1 - max softmax (calibrated)"),
)


GATES = (
    "k-NN k=10, every training photo",
    "distance to the nearest photo of the first answer's taxon",
    "relative Mahalanobis",
)


def named_species(classifier: Classifier, logits: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """The class index the app names at species level for each photo (its real decision), or -1."""
    card, bank = classifier.card, classifier.bank
    assert card.open_set is not None and bank is not None
    probs = calibrated_probabilities(logits, card.temperature)
    scores = score_open_set(emb, bank, int(card.open_set["k"]), float(card.open_set["threshold"]))
    answers = [decide(p, card, open_set=o) for p, o in zip(probs, scores)]
    return np.array([int(p.argmax()) if a.rank == "species" else -1 for p, a in zip(probs, answers)])


Embedded = tuple[np.ndarray, np.ndarray, np.ndarray]


def species_gate_table(
    classifier: Classifier, photos: dict[str, Embedded], scores: dict[str, Scores]
) -> None:
    """Known test photos named to the right species, and unknown photos named to any species, under a
    species gate fitted on validation photos at several retentions."""
    named = {split: named_species(classifier, *photos[split][:2]) for split in photos}
    right = {split: named[split] == photos[split][2] for split in ("val", "test")}
    known_rate, unknown_rate = right["test"].mean(), (named["unknown"] >= 0).mean()
    print(
        f"\nWithout a gate: {known_rate:.0%} of known test photos named to the right species, "
        f"{unknown_rate:.0%} of unknown-taxon photos named to a species.\n"
        "\n| gate score | keeps (validation) | known: right species | unknown: any species |"
        "\n|---|---|---|---|"
    )
    for gate in GATES:
        for keep in (0.95, 0.9, 0.8, 0.6):
            limit = np.quantile(scores["val"][gate][right["val"]], keep)
            known = (right["test"] & (scores["test"][gate] <= limit)).mean()
            unknown = ((named["unknown"] >= 0) & (scores["unknown"][gate] <= limit)).mean()
            print(f"| {gate} | {keep:.0%} | {known:.0%} | {unknown:.0%} |")


def main(run: Path) -> int:
    saved = json.loads((run / "args.json").read_text())
    args = build_parser().parse_args(saved["argv"])
    splits, _, held_out = load_splits(args, saved["config"]["seed"])
    if not held_out:
        print(f"{run}: trained without --holdout-taxa: no unknown taxa to score", file=sys.stderr)
        return 2
    classifier = Classifier(str(run / "model.onnx"), provider="cpu", prefer_int8=False)
    started = time.perf_counter()
    train = embed(classifier, splits.train, splits.labels)
    val, test, unknown = (embed(classifier, s, splits.labels) for s in (splits.val, splits.test, held_out))
    print(
        f"{len(train[2])} training, {len(val[2])} validation, {len(test[2])} test photos of "
        f"{len(splits.labels)} known taxa; {len(unknown[2])} photos of held-out taxa; "
        f"embedded in {time.perf_counter() - started:.0f} s"
    )
    scorer = Scorer(classifier, train[1], train[2])
    on_val, on_test, on_unknown = scorer(*val[:2]), scorer(*test[:2]), scorer(*unknown[:2])
    for parts in FUSED:
        name = " + ".join(parts)
        for scores in (on_test, on_unknown):
            scores[name] = sum((scores[p] - on_val[p].mean()) / (on_val[p].std() + 1e-9) for p in parts)
    print("\n| score | AUROC | FPR@95%TPR |\n|---|---|---|")
    for name, known in on_test.items():
        unknown_scores = on_unknown[name]
        truth = np.r_[np.zeros(len(known)), np.ones(len(unknown_scores))]
        auroc = roc_auc_score(truth, np.r_[known, unknown_scores])
        fpr = float((unknown_scores <= np.quantile(known, 0.95)).mean())
        print(f"| {name} | {auroc:.3f} | {fpr:.3f} |")
    species_gate_table(
        classifier,
        {"val": val, "test": test, "unknown": unknown},
        {"val": on_val, "test": on_test, "unknown": on_unknown},
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(Path(sys.argv[1])))
