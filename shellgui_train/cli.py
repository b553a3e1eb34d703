"""``shellgui-train``: fine-tune EfficientNetV2 on labelled photos and export a model the app loads.

Examples::

    shellgui-train photos/ --out runs/my-model                         # folder per taxon
    shellgui-train --from-catalog ~/catalogue.sqlite --out runs/refresh  # validated identifications
    torchrun --nproc-per-node 2 -m shellgui_train.cli photos/ --out runs/ddp     # several processes
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DESCRIPTION = __doc__.split("\n\n")[0] if __doc__ else ""


def build_parser() -> argparse.ArgumentParser:
    from shellgui_train.architectures import REGISTRY
    from shellgui_train.data import DEFAULT_VIEW_PATTERN

    p = argparse.ArgumentParser(
        prog="shellgui-train", description=DESCRIPTION, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    src = p.add_argument_group("data")
    src.add_argument("data", nargs="?", help="folder with one sub-folder of photos per taxon")
    src.add_argument(
        "--from-catalog", metavar="DB", help="train on ValidatedByHuman photos of a shellgui catalogue"
    )
    src.add_argument(
        "--view-pattern",
        default=DEFAULT_VIEW_PATTERN,
        help="regex removed from file names to get the specimen id (views stay together)",
    )
    src.add_argument("--taxonomy", metavar="CSV", help="CSV with label,name,genus,family,... columns")
    src.add_argument("--val-fraction", type=float, default=0.15)
    src.add_argument("--test-fraction", type=float, default=0.15)
    src.add_argument("--data-source", default="", help="attribution text stored in the model card")
    src.add_argument(
        "--holdout-taxa",
        type=int,
        default=0,
        metavar="K",
        help="train without K randomly chosen taxa and report how their photos are answered (near-OOD)",
    )
    src.add_argument(
        "--outliers",
        metavar="DIR",
        help="photos of things the model must refuse: the report measures how they are answered (far-OOD)",
    )
    src.add_argument(
        "--max-outliers", type=int, default=500, help="seeded sample of the outlier photos (0: all)"
    )

    model = p.add_argument_group("model")
    model.add_argument("--arch", default="efficientnetv2_b0", choices=sorted(REGISTRY))
    model.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (cached download), 'none' (from scratch) or a local weights file",
    )
    model.add_argument(
        "--image-size", type=int, default=0, help="final training size (0: the architecture's)"
    )
    model.add_argument("--min-image-size", type=int, default=0, help="progressive learning start size")
    model.add_argument("--name", default="", help="model name in the card (default: the output folder name)")
    model.add_argument("--version", default="", help="model version (default: today's date)")

    rec = p.add_argument_group("recipe")
    rec.add_argument("--head-epochs", type=int, default=3, help="stage 1: the new head on a frozen backbone")
    rec.add_argument("--epochs", type=int, default=30, help="stage 2: top layers unfrozen")
    rec.add_argument(
        "--unfreeze", type=int, default=-1, help="top layers to unfreeze (-1: default for the size)"
    )
    rec.add_argument("--batch-size", type=int, default=64)
    rec.add_argument("--lr", type=float, default=1e-3)
    rec.add_argument("--finetune-lr", type=float, default=3e-4)
    rec.add_argument("--weight-decay", type=float, default=0.05)
    rec.add_argument("--label-smoothing", type=float, default=0.1)
    rec.add_argument("--dropout", type=float, default=0.3)
    rec.add_argument("--drop-path", type=float, default=0.2, help="stochastic depth rate")
    rec.add_argument("--augment", choices=("randaugment", "trivialaugment", "none"), default="randaugment")
    rec.add_argument(
        "--hflip", action="store_true", help="mirror flips (off: mirroring reverses shell coiling)"
    )
    rec.add_argument("--mixup", type=float, default=0.0)
    rec.add_argument("--cutmix", type=float, default=0.0)
    rec.add_argument("--balance", choices=("loss", "sampler", "none"), default="loss")
    rec.add_argument("--patience", type=int, default=8)
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--workers", type=int, default=0, help="data loader processes")
    rec.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    rec.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    rec.add_argument("--max-train-batches", type=int, default=0, help=argparse.SUPPRESS)

    out = p.add_argument_group("output")
    out.add_argument("--out", default="", help="run folder (default runs/<date-time>)")
    out.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    out.add_argument(
        "--install", action="store_true", help="install the model where 'shellgui models' finds it"
    )
    out.add_argument(
        "--ood-percentile",
        type=float,
        default=0.0,
        help="percent of validation photos allowed below an extra max-logit floor (0: the k-NN guard only)",
    )
    out.add_argument(
        "--knn-k", type=int, default=5, help="open-set score: distance to the k-th nearest training photo"
    )
    out.add_argument(
        "--retention",
        type=float,
        default=0.95,
        help="share of validation photos the open-set threshold keeps",
    )
    out.add_argument(
        "--bank-prototypes",
        type=int,
        default=32,
        help="reference embeddings per taxon at most (k-means prototypes beyond that; 0: every photo)",
    )
    out.add_argument(
        "--target-precision",
        type=float,
        default=0.9,
        help="precision the decision thresholds aim for on validation photos",
    )
    return p


def _fail(message: str) -> int:
    print(f"shellgui-train: error: {message}", file=sys.stderr)
    return 2


def config_from_args(args: argparse.Namespace) -> Any:
    from shellgui_train.train import TrainConfig

    return TrainConfig(
        architecture=args.arch,
        weights=args.weights,
        image_size=args.image_size,
        min_image_size=args.min_image_size,
        head_epochs=args.head_epochs,
        epochs=args.epochs,
        unfreeze=args.unfreeze,
        batch_size=args.batch_size,
        lr=args.lr,
        finetune_lr=args.finetune_lr,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        dropout=args.dropout,
        drop_path=args.drop_path,
        augment=args.augment,
        hflip=args.hflip,
        mixup=args.mixup,
        cutmix=args.cutmix,
        balance=args.balance,
        patience=args.patience,
        seed=args.seed,
        workers=args.workers,
        device=args.device,
        amp=not args.no_amp,
        max_train_batches=args.max_train_batches,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shellgui-train``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="shellgui-train: %(levelname)s: %(message)s")
    from shellgui_train.architectures import WeightsError
    from shellgui_train.data import DataError
    from shellgui_train.export import ExportError

    if args.resume:
        saved = json.loads((Path(args.resume) / "args.json").read_text())
        args = parser.parse_args(saved["argv"] + ["--out", args.resume])
        args.resume = args.out
    elif not args.data and not args.from_catalog:
        parser.print_usage(sys.stderr)
        return _fail("give a folder of photos (one sub-folder per taxon) or --from-catalog DB")
    if not 0 < args.retention <= 1:
        return _fail(f"--retention {args.retention} must be a share above 0 and at most 1 (e.g. 0.95)")
    if args.knn_k < 1 or args.holdout_taxa < 0 or args.bank_prototypes < 0 or args.max_outliers < 0:
        return _fail(
            "--knn-k must be at least 1; --holdout-taxa, --bank-prototypes, --max-outliers not negative"
        )
    try:
        return run(args, argv if argv is not None else sys.argv[1:])
    except (DataError, WeightsError, ExportError) as exc:
        return _fail(str(exc)) - 1
    except KeyboardInterrupt:
        print("\nInterrupted: continue with  shellgui-train --resume RUN_DIR", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, argv: list[str]) -> int:
    import numpy as np
    import torch

    from shellgui.core.inference.bank import BANK_KEY
    from shellgui.core.modelcard import ModelCard, Preprocessing
    from shellgui_train import data as D
    from shellgui_train.calibration import (
        expected_calibration_error,
        fit_ood_floor,
        fit_temperature,
        fit_thresholds,
    )
    from shellgui_train.embedding import embed_sets
    from shellgui_train.export import NormalisedModel, export_onnx, verify_export
    from shellgui_train.openset import fit_open_set
    from shellgui_train.openset_eval import evaluate as evaluate_open_set
    from shellgui_train.openset_eval import open_set_metrics
    from shellgui_train.report import (
        classification_metrics,
        plot_confusion,
        plot_curves,
        plot_reliability,
        write_report,
    )
    from shellgui_train.train import Trainer, seed_everything
    from shellgui_train.transforms import resize_for

    config = config_from_args(args)
    seed_everything(config.seed)
    run_dir = Path(args.out or f"runs/{datetime.now():%Y%m%d-%H%M%S}")
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.from_catalog:
        samples = D.samples_from_catalog(args.from_catalog)
        source = args.data_source or f"ValidatedByHuman identifications in {args.from_catalog}"
    else:
        samples = D.samples_from_folders(Path(args.data), args.view_pattern)
        source = args.data_source or f"folder {Path(args.data).name}"
    samples = D.check_readable(samples)
    samples, held_out = D.hold_out_taxa(samples, args.holdout_taxa, config.seed)
    outliers = D.outlier_samples(Path(args.outliers), args.max_outliers, config.seed) if args.outliers else []
    splits = D.split_by_specimen(samples, args.val_fraction, args.test_fraction, config.seed)
    splits.taxa = D.build_taxa(
        splits.labels, D.read_taxonomy_csv(Path(args.taxonomy) if args.taxonomy else None)
    )
    trainer = Trainer(config, splits, run_dir)
    main_rank = trainer.rank == 0
    warnings: list[str] = []
    if main_rank:
        warnings = D.report_counts(splits, run_dir / "class_counts.json")
        (run_dir / "args.json").write_text(
            json.dumps({"argv": [a for a in argv if a != "--install"], "config": asdict(config)}, indent=2)
        )
        (run_dir / "splits.json").write_text(
            json.dumps({k: [s.path for s in getattr(splits, k)] for k in ("train", "val", "test")}, indent=1)
        )
        if config.weights == "none":
            warnings.append(
                "trained from scratch (no ImageNet weights): expect much lower accuracy than a "
                "pretrained start"
            )
    resume = run_dir / "checkpoint.pt" if args.resume and (run_dir / "checkpoint.pt").exists() else None
    started = time.monotonic()
    state = trainer.fit(resume_from=resume)
    if not main_rank:
        return 0

    size = trainer.size
    embedded = embed_sets(
        trainer,
        {
            "train": splits.train,
            "val": splits.val,
            "test": splits.test,
            "held_out": held_out,
            "outliers": outliers,
        },
    )
    val_logits, val_targets = embedded["val"].logits, embedded["val"].targets
    test_logits, test_targets = embedded["test"].logits, embedded["test"].targets
    bank, open_set = fit_open_set(
        embedded["train"].embeddings,
        embedded["train"].targets,
        embedded["val"].embeddings,
        args.knn_k,
        args.retention,
        args.bank_prototypes,
        config.seed,
    )
    temperature = fit_temperature(val_logits, val_targets)
    from shellgui.core.inference.decision import calibrated_probabilities

    val_before = calibrated_probabilities(val_logits, 1.0)
    val_after = calibrated_probabilities(val_logits, temperature)
    thresholds = fit_thresholds(val_after, val_targets, splits.taxa, args.target_precision)
    ood_floor = fit_ood_floor(val_logits, args.ood_percentile)
    test_probs = calibrated_probabilities(test_logits, temperature)
    test_metrics = classification_metrics(test_probs, test_targets, splits.labels)
    val_metrics = classification_metrics(val_after, val_targets, splits.labels)
    calibration = {
        "temperature": temperature,
        "thresholds": thresholds,
        "target_precision": args.target_precision,
        "ece_before": expected_calibration_error(val_before, val_targets),
        "ece_after": expected_calibration_error(val_after, val_targets),
        "ood_logit_floor": ood_floor,
        "ood_percentile": args.ood_percentile,
        "test_flagged_unfamiliar": float((test_logits.max(axis=1) < ood_floor).mean())
        if ood_floor is not None and len(test_logits)
        else 0.0,
    }
    arch = config.arch
    card = ModelCard(
        name=args.name or run_dir.name,
        version=args.version or datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        taxa=tuple(splits.taxa),
        preprocessing=Preprocessing(
            input_size=size,
            resize_size=resize_for(size),
            interpolation="bilinear",
            mean=arch.mean,
            std=arch.std,
            normalize_in_graph=True,
        ),
        temperature=temperature,
        thresholds=thresholds,
        ood_logit_floor=ood_floor,
        embedding_size=bank.bank.dim,
        open_set=open_set,
        metrics={
            "test_top1": test_metrics["top1"],
            "test_top3": test_metrics["top3"],
            "test_macro_f1": test_metrics["macro_f1"],
            "val_top1": val_metrics["top1"],
            "test_photos": float(test_metrics["n"]),
            "ece_after": calibration["ece_after"],
        },
        provenance={
            "architecture": config.architecture,
            "weights": config.weights,
            "training_data_hash": splits.data_hash(),
            "data_source": source,
            "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "split": "by specimen",
            "versions": {"torch": torch.__version__, "shellgui-train": "0.1.0", "numpy": np.__version__},
            "classes": len(splits.labels),
            "train_photos": len(splits.train),
            **({"held_out_taxa": sorted({s.label for s in held_out})} if held_out else {}),
        },
    )
    unknowns = {"near_ood": embedded["held_out"], "far_ood": embedded["outliers"]}
    what = {
        "near_ood": f"held-out taxa ({', '.join(sorted({s.label for s in held_out}))})",
        "far_ood": f"outliers ({args.outliers})",
    }
    evaluation = evaluate_open_set(card, bank, embedded["test"], unknowns, what, run_dir)
    card = replace(card, metrics={**card.metrics, **open_set_metrics(evaluation)})
    wrapped = NormalisedModel(trainer.model, arch.mean, arch.std)
    onnx_path = export_onnx(wrapped, card, run_dir / "model.onnx", {BANK_KEY: bank.text})
    check = verify_export(onnx_path, wrapped, (splits.val or splits.train)[:16], size)
    print(
        f"Export verified on {check['photos']} photos: logits within "
        f"{check['max_abs_logit_diff_onnx_vs_torch']:.1e}, "
        f"app preprocessing within {check['mean_abs_pixel_diff_app_vs_trainer']:.4f} per pixel"
    )
    plot_confusion(test_metrics["confusion"], splits.labels, run_dir / "confusion_test.png", "Test photos")
    if state["history"]:
        plot_curves(state["history"], run_dir / "curves.png")
    if len(val_targets):
        plot_reliability(val_before, val_after, val_targets, run_dir / "calibration.png")
    summary = {
        "model_name": card.name,
        "model_version": card.version,
        "architecture": config.architecture,
        "weights": config.weights,
        "image_size": size,
        "data_source": source,
        "num_classes": len(splits.labels),
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "epochs_run": len(state["history"]),
        "best_epoch": state["best_epoch"],
        "train_seconds": state["train_seconds"],
        "wall_seconds": time.monotonic() - started,
        "device": str(trainer.device),
        "test": test_metrics,
        "val": val_metrics,
        "calibration": calibration,
        "export_check": check,
        "warnings": warnings,
        **evaluation,
    }
    report = write_report(run_dir, summary)
    print(
        f"Test (held-out specimens): top-1 {test_metrics['top1']:.3f}, top-3 {test_metrics['top3']:.3f}, "
        f"macro-F1 {test_metrics['macro_f1']:.3f} on {test_metrics['n']} photos"
    )
    print(f"Model: {onnx_path}\nReport: {report}")
    if args.install:
        from shellgui.core.models import install_model

        print(f"Installed: {install_model(onnx_path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
