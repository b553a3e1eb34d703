"""How the exported model answers: the answer mix on test photos, and open-set figures (OpenOOD protocol).

Near-OOD: photos of taxa held out of training (``--holdout-taxa``). Far-OOD: photos of things the model must
refuse (``--outliers``). For each: AUROC (in-distribution test photos against the unknowns, by the k-NN score
and, for comparison, by the max-logit score the app used before), FPR at 95 % TPR, the share of unknown photos
the app would answer at species level or with any taxon, and the share of known test photos it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shellgui.core.inference.decision import UNKNOWN_RANK, Prediction, calibrated_probabilities, decide
from shellgui.core.inference.openset import OpenSetScore, score_open_set
from shellgui.core.modelcard import ModelCard, Taxon
from shellgui_train.embedding import OWN_EMBEDDING, Embedded
from shellgui_train.openset import ReferenceBank

RANKS_ANSWERED = ("species", "genus", "family")
ANSWER_KINDS = (*RANKS_ANSWERED, "uncertain", UNKNOWN_RANK)
KIND_NAMES = {"near_ood": "near-OOD", "far_ood": "far-OOD"}


@dataclass(frozen=True)
class Scored:
    """What the app would say about a set of photos: logits, open-set scores and its answers."""

    logits: np.ndarray
    scores: np.ndarray  # k-NN distance to the bank (0 when the model cannot refuse)
    predictions: list[Prediction]

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def kinds(self) -> list[str]:
        """Each photo's answer: species, genus, family, uncertain or unknown (refused by the open-set guard)."""
        return [p.rank for p in self.predictions]

    @classmethod
    def of(cls, embedded: Embedded, bank: ReferenceBank, card: ModelCard) -> Scored:
        """The app's decision (:func:`shellgui.core.inference.decision.decide`) for each photo."""
        probs = calibrated_probabilities(embedded.logits, card.temperature)
        entry = card.open_set
        refusals: list[OpenSetScore | None] = [None] * len(probs)
        scores = np.zeros(len(probs))
        if entry is not None and len(probs):
            refusals = list(
                score_open_set(
                    embedded.embeddings, bank.bank, int(entry["k"]), float(entry["threshold"]), bank.photos
                )
            )
            scores = np.array([r.distance for r in refusals if r is not None])
        predictions = [
            decide(p, card, 3, float(logits.max()), refusal)
            for p, logits, refusal in zip(probs, embedded.logits, refusals)
        ]
        return cls(embedded.logits, scores, predictions)


def _right(kind: str, prediction: Prediction, truth: Taxon) -> bool:
    if kind == "species":
        return prediction.top_k[0].label == truth.label
    if kind == "genus":
        return bool(truth.genus) and prediction.taxon == f"{truth.genus} sp."
    if kind == "family":
        return bool(truth.family) and prediction.taxon == truth.family
    return False


def answer_mix(scored: Scored, targets: np.ndarray, card: ModelCard) -> dict[str, Any]:
    """How many known test photos end at each answer kind, and how often each kind is right."""
    n = max(1, len(scored))
    given = list(zip(scored.kinds, scored.predictions, (card.taxa[t] for t in targets)))
    mix: dict[str, Any] = {}
    for kind in ANSWER_KINDS:
        picked = [(p, truth) for k, p, truth in given if k == kind]
        mix[kind] = {
            "photos": len(picked),
            "share": len(picked) / n,
            "right": sum(_right(kind, p, truth) for p, truth in picked) if kind in RANKS_ANSWERED else None,
        }
    answered = [(k, p, truth) for k, p, truth in given if k in RANKS_ANSWERED]
    mix["answered"] = len(answered) / n
    mix["answered_right"] = sum(_right(k, p, t) for k, p, t in answered) / max(1, len(answered))
    mix["kept"] = 1.0 - mix[UNKNOWN_RANK]["share"]
    kept = np.array([k != UNKNOWN_RANK for k in scored.kinds], dtype=bool)
    mix["top1_kept"] = float((scored.logits[kept].argmax(1) == targets[kept]).mean()) if kept.any() else 0.0
    mix["n"] = len(scored)
    return mix


def _auroc_fpr(known: np.ndarray, unknown: np.ndarray) -> tuple[float, float]:
    """AUROC of telling unknown (higher score) from known photos, and the share of unknowns accepted at the
    score that keeps 95 % of the known photos."""
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(len(known)), np.ones(len(unknown))]
    auroc = float(roc_auc_score(y, np.r_[known, unknown]))
    keep95 = np.quantile(known, 0.95, method="higher")
    return auroc, float((unknown <= keep95).mean())


def open_set_figures(known: Scored, unknown: Scored) -> dict[str, Any]:
    """AUROC / FPR@95%TPR (k-NN and max-logit) and how the app answers the unknown photos."""
    knn_auroc, knn_fpr = _auroc_fpr(known.scores, unknown.scores)
    logit_auroc, logit_fpr = _auroc_fpr(-known.logits.max(1), -unknown.logits.max(1))
    kinds = unknown.kinds
    return {
        "photos": len(unknown),
        "auroc": knn_auroc,
        "fpr_at_95_tpr": knn_fpr,
        "auroc_max_logit": logit_auroc,
        "fpr_at_95_tpr_max_logit": logit_fpr,
        "answered_species": kinds.count("species") / max(1, len(kinds)),
        "answered_any_taxon": sum(k in RANKS_ANSWERED for k in kinds) / max(1, len(kinds)),
        "refused_unknown": kinds.count(UNKNOWN_RANK) / max(1, len(kinds)),
    }


def plot_open_set(known: Scored, unknowns: dict[str, Scored], threshold: float | None, out: Path) -> None:
    """Score histograms (known test photos against each unknown set) and the ROC curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    everything = np.concatenate([known.scores] + [u.scores for u in unknowns.values()])
    bins = np.linspace(float(everything.min()), float(everything.max()) + 1e-9, 31)
    a.hist(known.scores, bins=bins, alpha=0.6, density=True, label="known taxa (test photos)")
    for name, u in unknowns.items():
        a.hist(u.scores, bins=bins, alpha=0.5, density=True, label=name)
        fpr, tpr, _ = roc_curve(np.r_[np.zeros(len(known)), np.ones(len(u))], np.r_[known.scores, u.scores])
        b.plot(fpr, tpr, label=name)
    if threshold is not None:
        a.axvline(threshold, color="k", linestyle="--", label="threshold (refused above)")
    a.set_xlabel("k-NN cosine distance to the training photos")
    a.set_ylabel("density")
    a.legend(fontsize=8)
    b.plot([0, 1], [0, 1], "k:")
    b.set_xlabel("known photos refused (false positive rate)")
    b.set_ylabel("unknown photos refused (true positive rate)")
    b.set_title("ROC: telling unknown photos apart")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def markdown(summary: dict[str, Any]) -> list[str]:
    """The report's answer-mix and open-set sections."""
    lines: list[str] = []
    mix = summary.get("answer_mix")
    if mix:
        lines += [
            "",
            "## How the app answers the test photos",
            "",
            f"All {mix['n']} held-out test photos are of taxa the model knows. The app answers each at the finest "
            "rank whose calibrated confidence clears its threshold, says *uncertain* when none does, and "
            "*not something this model knows* when the photo is far from every training photo (open-set guard):",
            "",
            "| answer | photos | share | right |",
            "|---|---|---|---|",
        ]
        for kind in ANSWER_KINDS:
            m = mix[kind]
            right = f"{m['right']}/{m['photos']}" if m["right"] is not None and m["photos"] else "–"
            lines.append(f"| {kind} | {m['photos']} | {m['share']:.0%} | {right} |")
        lines += [
            "",
            f"Answered with a taxon: {mix['answered']:.0%} of the test photos ({mix['answered_right']:.0%} of those "
            f"answers right); kept by the open-set guard: {mix['kept']:.0%} (top-1 among them {mix['top1_kept']:.3f}).",
        ]
    osr = summary.get("open_set")
    if osr:
        lines += [
            "",
            "## Photos of things it does not know (open set)",
            "",
            f"Method: the cosine distance to the {_ordinal(osr['k'])} nearest of {osr['bank_size']} reference embeddings "
            f"(embeddings: {osr.get('embedding', OWN_EMBEDDING)}; "
            f"{osr['bank_photos']} training photos, stored float16 in the model file: "
            f"{osr['bank_bytes'] / 1024:.0f} KiB, {osr['bank_metadata_bytes'] / 1024:.0f} KiB as base64). "
            f"Photos above {osr['threshold']:.4f} are refused; the threshold keeps {osr['retention']:.0%} of the "
            f"{osr['fitted_on_validation_photos']} validation photos.",
        ]
        if "agreement_val_disagreements" in osr:
            n, right = osr["agreement_val_disagreements"], osr["agreement_val_classifier_right"]
            lines += [
                "",
                f"Agreement: on {n} validation photos the classifier's first answer and the nearest training "
                f"photo's taxon differed, and the classifier was right on {right} of them. "
                + (
                    "So the app names a species only when the nearest known photo agrees, and otherwise rolls "
                    "up to the rank where they agree (or says uncertain)."
                    if osr.get("agreement")
                    else "So the app names the classifier's answer whatever the nearest photo is."
                ),
            ]
        sets = osr.get("sets", {})
        if sets:
            lines += [
                "",
                "| unknown photos | photos | AUROC (k-NN) | FPR@95%TPR | AUROC (max-logit, before) | "
                "answered at species | answered with any taxon | refused as unknown |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for name, s in sets.items():
                lines.append(
                    f"| {KIND_NAMES.get(name, name)}: {s['what']} | {s['photos']} | {s['auroc']:.3f} | {s['fpr_at_95_tpr']:.3f} | "
                    f"{s['auroc_max_logit']:.3f} | {s['answered_species']:.0%} | {s['answered_any_taxon']:.0%} | "
                    f"{s['refused_unknown']:.0%} |"
                )
            lines += [
                "",
                "AUROC: chance that an unknown photo scores farther than a known test photo (1 is perfect, 0.5 "
                "chance). FPR@95%TPR: share of unknown photos still accepted when 95% of known test photos are.",
                "",
                "![open-set scores](openset.png)",
            ]
        else:
            lines += [
                "",
                "No unknown photos were given: pass `--holdout-taxa K` (near-OOD) and/or `--outliers DIR` "
                "(far-OOD) to measure how well the model refuses what it does not know.",
            ]
    return lines


def evaluate(
    card: ModelCard,
    bank: ReferenceBank,
    test: Embedded,
    unknowns: dict[str, Embedded],
    what: dict[str, str],
    run_dir: Path,
) -> dict[str, Any]:
    """The report's ``answer_mix`` and ``open_set`` sections, and ``openset.png`` when there are unknowns.

    Args:
        unknowns: photos of things the model does not know by kind (``near_ood``, ``far_ood``); empty
            sets are skipped.
        what: a description of each kind's photos for the report.
    """
    known = Scored.of(test, bank, card)
    result: dict[str, Any] = {"answer_mix": answer_mix(known, test.targets, card) if len(test) else None}
    if card.open_set is None:
        return result
    scored = {name: Scored.of(e, bank, card) for name, e in unknowns.items() if len(e)}
    sets = {name: {"what": what.get(name, name), **open_set_figures(known, s)} for name, s in scored.items()}
    sets = sets if len(known) else {}
    result["open_set"] = {
        **card.open_set,
        "bank_bytes": bank.stored_bytes,
        "bank_metadata_bytes": len(bank.text),
        "sets": sets,
    }
    if sets:
        labelled = {f"{KIND_NAMES.get(n, n)}: {sets[n]['what']}": s for n, s in scored.items()}
        plot_open_set(known, labelled, float(card.open_set["threshold"]), run_dir / "openset.png")
    return result


def open_set_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    """The headline figures for the model card's ``metrics`` (what the app shows a first-time user)."""
    out: dict[str, float] = {}
    mix = evaluation.get("answer_mix")
    if mix:
        out["test_answered"] = mix["answered"]
        out["test_kept_open_set"] = mix["kept"]
    for kind, figures in (evaluation.get("open_set") or {}).get("sets", {}).items():
        for key in ("photos", "auroc", "fpr_at_95_tpr", "answered_species", "answered_any_taxon"):
            out[f"{kind}_{key}"] = figures[key]
    return out
