"""Evaluation metrics, plots and a report a curator can read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def classification_metrics(probs: np.ndarray, targets: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Top-1, top-3, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    n = len(labels)
    if len(targets) == 0:
        return {
            "top1": 0.0,
            "top3": 0.0,
            "macro_f1": 0.0,
            "per_class": {},
            "confusion": [[0] * n] * n,
            "n": 0,
        }
    pred = probs.argmax(axis=1)
    top3 = np.argsort(-probs, axis=1)[:, :3]
    confusion = np.zeros((n, n), dtype=int)
    for t, p in zip(targets, pred):
        confusion[t, p] += 1
    per_class = {}
    f1s = []
    for i, label in enumerate(labels):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        recall = tp / confusion[i].sum() if confusion[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(confusion[i].sum()),
        }
        if confusion[i].sum():
            f1s.append(f1)
    return {
        "top1": float((pred == targets).mean()),
        "top3": float((top3 == targets[:, None]).any(axis=1).mean()),
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "n": int(len(targets)),
    }


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(confusion: list[list[int]], labels: list[str], out: Path, title: str) -> None:
    plt = _plt()
    matrix = np.array(confusion)
    size = max(5.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black",
                )
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_curves(history: list[dict[str, Any]], out: Path) -> None:
    plt = _plt()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    a.plot(epochs, [h["val_loss"] for h in history], label="validation loss")
    a.set_xlabel("epoch")
    a.legend()
    b.plot(epochs, [h["val_top1"] for h in history], label="validation top-1")
    b.plot(epochs, [h["val_macro_f1"] for h in history], label="validation macro-F1")
    b.set_ylim(0, 1)
    b.set_xlabel("epoch")
    b.legend()
    for ax in (a, b):
        for h in history:
            if h.get("stage_start"):
                ax.axvline(h["epoch"] - 0.5, color="grey", linestyle=":", linewidth=1)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_reliability(before: np.ndarray, after: np.ndarray, targets: np.ndarray, out: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    edges = np.linspace(0, 1, 11)
    for probs, name in ((before, "before temperature scaling"), (after, "after")):
        conf, correct = probs.max(axis=1), probs.argmax(axis=1) == targets
        xs, ys = [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            mask = (conf > lo) & (conf <= hi)
            if mask.any():
                xs.append(conf[mask].mean())
                ys.append(correct[mask].mean())
        ax.plot(xs, ys, marker="o", label=name)
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def write_report(run_dir: Path, summary: dict[str, Any]) -> Path:
    """A Markdown report: what was trained, how well it does on photos it never saw, what to watch."""
    from shellgui_train.openset_eval import markdown as open_set_markdown

    test = summary["test"]
    lines = [
        f"# Training report: {summary['model_name']} {summary['model_version']}",
        "",
        f"- Architecture: `{summary['architecture']}`, start: **{summary['weights']}**, image size "
        f"{summary['image_size']} px"
        + (
            f"; also learned from the answers of the teacher {summary['teacher']}"
            if summary.get("teacher")
            else ""
        ),
        f"- Data: {summary['data_source']} ({summary['num_classes']} taxa; "
        f"{summary['n_train']} training, {summary['n_val']} validation, {summary['n_test']} test photos, "
        f"split by specimen: {summary.get('specimen_groups', '?')} specimen groups, so the views of one "
        "shell never appear in two splits)",
        f"- Trained {summary['epochs_run']} epochs in {summary['train_seconds'] / 60:.1f} min on {summary['device']}; "
        f"best epoch {summary['best_epoch']}",
        "",
        "## How good is it? (held-out test photos)",
        "",
        "| measure | value | meaning |",
        "|---|---|---|",
        f"| top-1 accuracy | {test['top1']:.3f} | the first answer is right |",
        f"| top-3 accuracy | {test['top3']:.3f} | the right taxon is among the first three |",
        f"| macro-F1 | {test['macro_f1']:.3f} | balance of precision and recall, every taxon counted equally |",
        "",
        "## Per taxon (test)",
        "",
        "| taxon | precision | recall | F1 | photos |",
        "|---|---|---|---|---|",
    ]
    for label, m in test["per_class"].items():
        lines.append(
            f"| {label} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |"
        )
    cal = summary["calibration"]
    lines += [
        "",
        "## Confidence you can read",
        "",
        f"Temperature scaling (T = {cal['temperature']:.3f}) makes the percentages honest: expected calibration "
        f"error on validation {cal['ece_before']:.3f} before, {cal['ece_after']:.3f} after (0 is perfect).",
        "",
        "The app names a species only above these confidences (fitted on validation photos so that about "
        f"{cal['target_precision']:.0%} of accepted answers are right), otherwise it rolls up to genus or family, "
        "or says *uncertain — possibly not a taxon this model knows*:",
        "",
        "| rank | threshold |",
        "|---|---|",
    ]
    lines += [f"| {rank} | {value:.2f} |" for rank, value in cal["thresholds"].items()]
    if cal.get("ood_logit_floor") is not None:
        lines += [
            "",
            f"**Unfamiliar photos.** A photo whose highest raw score (logit) is below {cal['ood_logit_floor']:.2f} — "
            f"lower than {100 - cal['ood_percentile']:.0f}% of real validation photos — is answered *uncertain* "
            f"whatever its percentages say. On the held-out test photos this flags "
            f"{cal['test_flagged_unfamiliar']:.0%} of them.",
        ]
    lines += open_set_markdown(summary)
    lines += _int8_markdown(summary.get("int8"))
    lines += [
        "",
        "![confusion matrix](confusion_test.png)",
        "",
        "![training curves](curves.png)",
        "",
        "![calibration](calibration.png)",
        "",
        "## Caveats",
        "",
    ]
    lines += [f"- {w}" for w in summary.get("warnings", [])] or ["- none recorded"]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return out


def _int8_markdown(int8: dict[str, Any] | None) -> list[str]:
    """The int8 twin's parity with the fp32 model, or why it was not written."""
    if not int8:
        return []
    lines = ["", "## The int8 model for CPUs", ""]
    if "top1_agreement" not in int8:
        return [*lines, f"Not written: {int8['reason']}."]
    ece = (
        f"; calibration error {int8['ece_fp32']:.3f} (fp32) -> {int8['ece_int8']:.3f} (int8)"
        if int8.get("ece_fp32") is not None and int8.get("ece_int8") is not None
        else ""
    )
    verdict = (
        f"written as `{int8['written']}` (the app runs it on a CPU)"
        if int8["written"]
        else f"**not written**: {int8['reason']}"
    )
    return [
        *lines,
        f"Static QDQ int8, per-channel weights, calibrated on {int8['calibration_photos']} validation photos; on "
        f"{int8['check_photos']} others its top-1 agrees with the fp32 model's on {int8['top1_agreement']:.1%}{ece}: "
        f"{verdict}.",
    ]
