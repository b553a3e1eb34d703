"""The fine-tuning recipe: head first, then the top layers, with progressive image size.

Stage 1 trains the new head on a frozen backbone; stage 2 unfreezes the top N layers (all of them when
training from scratch) with AdamW, a linear warm-up then cosine decay, label smoothing, dropout,
stochastic depth, weight decay and augmentation whose strength grows with the image size (EfficientNetV2's
progressive learning). Early stopping restores the best epoch. Resumable; seeded; DDP under torchrun.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler
from tqdm import tqdm

from shellgui.core.atomic import atomic_path
from shellgui_train.architectures import (
    Architecture,
    DataConfig,
    freeze_batchnorm_stats,
    get_architecture,
    set_trainable,
)
from shellgui_train.data import Splits
from shellgui_train.distill import DEFAULT_TEMPERATURE, DEFAULT_WEIGHT, Teacher, distillation_loss
from shellgui_train.outlier_exposure import shuffled_tiles, uniform_target_loss
from shellgui_train.transforms import PhotoDataset, eval_transform, train_transform

log = logging.getLogger(__name__)


class CheckpointError(Exception):
    """A checkpoint cannot be resumed from (unreadable, tampered with, other classes)."""


@dataclass
class TrainConfig:
    """Every knob of a run (saved as ``args.json`` in the run directory)."""

    architecture: str = "efficientnetv2_b0"
    weights: str = "none"
    image_size: int = 0  # 0: the architecture's native size
    min_image_size: int = 0  # 0: 60% of image_size (progressive learning start)
    # Progressive learning in stage 2 (None: on from scratch, off for a pretrained start; see the recipe log).
    # Off: stage 2 at the final size with the final regularisation throughout.
    progressive: bool | None = None
    head_epochs: int = 3
    epochs: int = 30
    unfreeze: int = -1  # -1: the architecture's default; 0: head only
    batch_size: int = 64
    lr: float = 1e-3
    finetune_lr: float = 3e-4
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    dropout: float = 0.3
    drop_path: float = 0.2
    augment: str = "randaugment"
    hflip: bool = False
    mixup: float = 0.0
    cutmix: float = 0.0
    # Weight of the outlier-exposure loss on synthetic outliers (shuffled tiles of the batch); 0: off.
    synthetic_outliers: float = 0.0
    # Knowledge distillation: an exported model of the same taxa whose answers the student also learns.
    teacher: str = ""
    distill_weight: float = DEFAULT_WEIGHT  # share of the loss from the teacher (the rest: the labels)
    distill_temperature: float = DEFAULT_TEMPERATURE
    balance: str = "loss"  # "loss", "sampler" or "none"
    patience: int = 8
    warmup_epochs: float = 1.0
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    max_train_batches: int = 0  # >0: cap batches per epoch (smoke tests, benchmarks)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def arch(self) -> Architecture:
        return get_architecture(self.architecture)

    @property
    def data(self) -> DataConfig:
        """Preprocessing of the weights used: the library's, or hand values from scratch."""
        return self.arch.data_config(self.weights)

    @property
    def uses_progressive(self) -> bool:
        """Progressive learning: on from scratch, off for a pretrained start, unless set."""
        return self.weights == "none" if self.progressive is None else self.progressive

    def resolved_size(self) -> int:
        return self.image_size or self.arch.image_size


@dataclass
class TrainState:
    stage: int = 1
    epoch: int = 0  # epochs finished in this stage
    global_epoch: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def leave_distributed() -> None:
    """Destroy the process group, if any: a process that exits holding one can abort in Gloo's threads."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local)
        return torch.device("cpu")
    return torch.device(choice)


def progressive_schedule(epoch: int, total: int, min_size: int, max_size: int) -> tuple[int, float]:
    """Image size and regularisation strength (0..1) for an epoch of stage 2: both grow together."""
    frac = epoch / max(1, total - 1)
    phases = 3
    step = min(phases - 1, int(frac * phases))
    strength = step / (phases - 1)
    size = int(round((min_size + (max_size - min_size) * strength) / 16) * 16)
    return max(32, size), strength


class Trainer:
    """Runs the recipe on prepared splits; writes checkpoints and history into ``run_dir``."""

    def __init__(self, config: TrainConfig, splits: Splits, run_dir: Path) -> None:
        self.config = config
        self.splits = splits
        self.run_dir = run_dir
        self.rank, self.world = distributed()
        self.device = pick_device(config.device)
        self.is_cuda = self.device.type == "cuda"
        self.size = config.resolved_size()
        self.data = config.data
        self.min_size = config.min_image_size or max(32, int(self.size * 0.6) // 16 * 16)
        arch = config.arch
        self.model = arch.build(len(splits.labels), config.weights, config.dropout, config.drop_path).to(
            self.device
        )
        if self.is_cuda and config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.from_scratch = config.weights == "none"
        self.unfreeze = arch.unfreeze if config.unfreeze < 0 else config.unfreeze
        counts = np.bincount(
            [splits.labels.index(s.label) for s in splits.train], minlength=len(splits.labels)
        )
        weights = counts.sum() / np.maximum(counts, 1) / len(counts)
        self.class_weights = torch.tensor(weights, dtype=torch.float32, device=self.device)
        self.state = TrainState(stage=2 if self.from_scratch or config.head_epochs == 0 else 1)
        self.teacher = (
            Teacher(Path(config.teacher), splits.labels, str(self.device)) if config.teacher else None
        )
        self.val_set = self.dataset(splits.val)
        self.train_set = self.dataset(splits.train)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.is_cuda and config.amp)
        self.optimizer: torch.optim.Optimizer | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None

    def dataset(self, samples: list[Any]) -> PhotoDataset:
        """Photos prepared with the evaluation transform at the final size."""
        transform = eval_transform(self.size, self.data)
        return PhotoDataset(samples, self.splits.labels, transform, self.data.resize_for(self.size))

    # -- stages ------------------------------------------------------------------------------------
    def stage_epochs(self, stage: int) -> int:
        return self.config.head_epochs if stage == 1 else self.config.epochs

    def prepare_stage(self, stage: int) -> None:
        cfg = self.config
        trainable = set_trainable(
            self.model, 0 if stage == 1 else (None if self.from_scratch else self.unfreeze)
        )
        lr = cfg.lr if stage == 1 or self.from_scratch else cfg.finetune_lr
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=lr,
            fused=self.is_cuda or None,
        )
        steps_per_epoch = max(1, len(self.train_loader(self.size)))
        total = steps_per_epoch * max(1, self.stage_epochs(stage))
        warmup = int(steps_per_epoch * cfg.warmup_epochs)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        if self.rank == 0:
            what = (
                "head only"
                if stage == 1
                else (
                    "all layers (from scratch)" if self.from_scratch else f"top {self.unfreeze} layers + head"
                )
            )
            print(
                f"Stage {stage}: training {what}: {trainable:,} parameters, lr {lr:g}, "
                f"{self.stage_epochs(stage)} epochs"
            )

    def train_loader(self, size: int, strength: float = 0.0) -> DataLoader[tuple[torch.Tensor, int]]:
        cfg = self.config
        magnitude = int(round(5 + 5 * strength))
        erase = 0.1 + 0.15 * strength if self.state.stage == 2 else 0.0
        self.train_set.transform = train_transform(
            size, magnitude, cfg.hflip, cfg.augment, erase, self.data.interpolation
        )
        sampler: Any = None
        if self.world > 1:
            sampler = DistributedSampler(
                self.train_set, num_replicas=self.world, rank=self.rank, shuffle=True, seed=cfg.seed
            )
            sampler.set_epoch(self.state.global_epoch)
        elif cfg.balance == "sampler":
            targets = self.train_set.targets
            counts = np.bincount(targets)
            sampler = WeightedRandomSampler(
                [1.0 / counts[t] for t in targets],
                len(targets),
                generator=torch.Generator().manual_seed(cfg.seed + self.state.global_epoch),
            )
        generator = torch.Generator().manual_seed(cfg.seed * 1000 + self.state.global_epoch)
        per_rank_batch = max(1, cfg.batch_size // self.world)
        return DataLoader(
            self.train_set,
            batch_size=per_rank_batch,
            shuffle=sampler is None,
            sampler=sampler,
            num_workers=cfg.workers,
            drop_last=len(self.train_set) > per_rank_batch,
            generator=generator,
            pin_memory=self.is_cuda,
            persistent_workers=False,
        )

    def set_dropout(self, strength: float) -> None:
        p = self.config.dropout * (0.5 + 0.5 * strength)
        for m in self.model.modules():
            if isinstance(m, nn.Dropout):
                m.p = p

    # -- one epoch ---------------------------------------------------------------------------------
    def run_epoch(self, model: nn.Module, loader: DataLoader[tuple[torch.Tensor, int]], desc: str) -> float:
        cfg = self.config
        assert self.optimizer is not None and self.scheduler is not None
        model.train()
        freeze_batchnorm_stats(self.model)
        weight = self.class_weights if cfg.balance == "loss" else None
        criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
        mix = None
        if self.state.stage == 2 and (cfg.mixup > 0 or cfg.cutmix > 0):
            from torchvision.transforms import v2

            options = []
            if cfg.mixup > 0:
                options.append(v2.MixUp(alpha=cfg.mixup, num_classes=len(self.splits.labels)))
            if cfg.cutmix > 0:
                options.append(v2.CutMix(alpha=cfg.cutmix, num_classes=len(self.splits.labels)))
            mix = v2.RandomChoice(options)
        total, count = 0.0, 0
        # A live bar on a terminal only: in a log file it would write every update (one line per epoch there).
        bar = tqdm(
            loader, desc=desc, leave=False, disable=self.rank != 0 or not sys.stderr.isatty(), unit="batch"
        )
        for i, (images, targets) in enumerate(bar):
            if cfg.max_train_batches and i >= cfg.max_train_batches:
                break
            images = images.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            if self.is_cuda and cfg.channels_last:
                images = images.to(memory_format=torch.channels_last)
            if mix is not None:  # MixUp and CutMix commute with the per-channel normalisation
                images, soft = mix(images, targets)
            # the teacher sees the very view the student sees (after MixUp/CutMix), as [0, 1] RGB
            taught = self.teacher.logits(images) if self.teacher is not None else None
            images = self.normalise(images)
            outliers = shuffled_tiles(images) if cfg.synthetic_outliers > 0 else None
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.is_cuda and cfg.amp):
                if outliers is None:
                    logits = model(images)
                    loss = criterion(logits, soft if mix is not None else targets)
                else:  # one forward pass for both, so batch-norm statistics see them together
                    both = model(torch.cat([images, outliers]))
                    logits = both[: len(images)]
                    loss = criterion(logits, soft if mix is not None else targets)
                    loss = loss + cfg.synthetic_outliers * uniform_target_loss(both[len(images) :])
                if taught is not None:
                    kd = distillation_loss(logits, taught, cfg.distill_temperature)
                    loss = (1 - cfg.distill_weight) * loss + cfg.distill_weight * kd
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            total += loss.item() * len(targets)
            count += len(targets)
            bar.set_postfix(loss=f"{total / count:.3f}")
        return total / max(1, count)

    def eta(self, last_epoch_seconds: float) -> str:
        """Time left for the whole run at the last epoch's pace (early stopping may end it sooner)."""
        left = self.stage_epochs(self.state.stage) - self.state.epoch
        if self.state.stage == 1:
            left += self.config.epochs
        minutes = left * last_epoch_seconds / 60
        return f"ETA {minutes:.0f} min" if minutes >= 1 else f"ETA {minutes * 60:.0f} s"

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.data.mean, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.data.std, device=images.device).view(1, 3, 1, 1)
        return (images - mean) / std

    @torch.no_grad()
    def predict(self, dataset: PhotoDataset, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Logits and targets for a dataset with the evaluation transform."""
        self.model.eval()
        dataset.transform = eval_transform(self.size, self.data)
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=self.config.workers)
        logits, targets = [], []
        for images, t in loader:
            images = self.normalise(images.to(self.device))
            with torch.autocast(
                self.device.type, dtype=torch.float16, enabled=self.is_cuda and self.config.amp
            ):
                logits.append(self.model(images).float().cpu().numpy())
            targets.append(t.numpy())
        if not logits:
            return np.zeros((0, len(self.splits.labels))), np.zeros(0, dtype=int)
        return np.concatenate(logits), np.concatenate(targets)

    # -- checkpoints -------------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        """Everything needed to resume, as tensors and plain Python values only (loadable weights-only)."""
        if self.rank != 0:
            return
        numpy_rng = np.random.get_state(legacy=False)
        payload = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "state": asdict(self.state),
            "best_state": self.best_state,
            "labels": self.splits.labels,
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": {
                    "key": torch.from_numpy(numpy_rng["state"]["key"].astype(np.int64)),
                    "pos": int(numpy_rng["state"]["pos"]),
                    "has_gauss": int(numpy_rng["has_gauss"]),
                    "gauss": float(numpy_rng["gauss"]),
                },
                "python": random.getstate(),
            },
        }
        with atomic_path(self.run_dir / "checkpoint.pt") as tmp:
            torch.save(payload, tmp)

    def load_checkpoint(self, path: Path) -> None:
        """Restore a checkpoint; ``weights_only``: a tampered file is refused, never run."""
        try:
            payload = torch.load(path, map_location=self.device, weights_only=True)
            labels, model, state = payload["labels"], payload["model"], payload["state"]
        except pickle.UnpicklingError:
            raise CheckpointError(
                f"{path}: not a usable shellgui-train checkpoint: it holds objects other than tensors and "
                "plain values (refused; nothing in it was run)"
            ) from None
        except (RuntimeError, KeyError, TypeError, EOFError, OSError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
            raise CheckpointError(f"{path}: not a usable shellgui-train checkpoint ({first})") from None
        if labels != self.splits.labels:
            raise CheckpointError(f"{path}: the checkpoint was trained on different classes; start a new run")
        self.model.load_state_dict(model)
        self.state = TrainState(**state)
        self.prepare_stage(self.state.stage)
        assert self.optimizer is not None and self.scheduler is not None
        if payload["optimizer"]:
            self.optimizer.load_state_dict(payload["optimizer"])
            self.scheduler.load_state_dict(payload["scheduler"])
        rng = payload["rng"]
        torch.set_rng_state(rng["torch"].cpu())
        np.random.set_state(
            (
                "MT19937",
                rng["numpy"]["key"].numpy().astype(np.uint32),
                rng["numpy"]["pos"],
                rng["numpy"]["has_gauss"],
                rng["numpy"]["gauss"],
            )
        )
        random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
        self.best_state = payload["best_state"]

    # -- the whole recipe --------------------------------------------------------------------------
    def fit(self, resume_from: Path | None = None) -> dict[str, Any]:
        """Train both stages with early stopping; the best epoch's weights are restored at the end."""
        self.start(resume_from)
        while self.state.stage <= 2:
            model = self.parallel_model()
            while self.state.epoch < self.stage_epochs(self.state.stage):
                record = self.train_one_epoch(model)
                stop = self.validate(record) if self.rank == 0 else False
                stop = self.agree_to_stop(stop)
                self.save_checkpoint()
                if stop:
                    break
            self.next_stage()
        self.restore_best()
        return asdict(self.state)

    def start(self, resume_from: Path | None) -> None:
        """Begin at the first stage, or where a checkpoint left off."""
        if resume_from is None:
            self.prepare_stage(self.state.stage)
            return
        self.load_checkpoint(resume_from)
        if self.rank == 0:
            print(f"Resuming stage {self.state.stage} after epoch {self.state.epoch}")

    def parallel_model(self) -> nn.Module:
        """The model to train this stage: wrapped in DistributedDataParallel under torchrun."""
        if self.world == 1:
            return self.model
        return nn.parallel.DistributedDataParallel(
            self.model, device_ids=[self.device.index] if self.is_cuda else None
        )

    def epoch_size(self) -> tuple[int, float]:
        """Image size and augmentation strength of the next epoch (progressive in stage 2)."""
        if self.state.stage == 2 and not self.config.uses_progressive:
            return self.size, 1.0
        if self.state.stage == 2:
            return progressive_schedule(self.state.epoch, self.stage_epochs(2), self.min_size, self.size)
        return self.size, 0.0

    def train_one_epoch(self, model: nn.Module) -> dict[str, Any]:
        start = time.monotonic()
        stage, epochs = self.state.stage, self.stage_epochs(self.state.stage)
        size, strength = self.epoch_size()
        self.set_dropout(strength)
        loader = self.train_loader(size, strength)
        label = f"stage {stage} epoch {self.state.epoch + 1}/{epochs} @{size}px"
        train_loss = self.run_epoch(model, loader, label)
        self.state.train_seconds += time.monotonic() - start
        self.state.epoch += 1
        self.state.global_epoch += 1
        return {
            "epoch": self.state.global_epoch,
            "stage": stage,
            "size": size,
            "train_loss": train_loss,
            "started": start,
        }

    def validate(self, record: dict[str, Any]) -> bool:
        """Score the epoch on validation photos, keep the best weights, log; True when it is time to stop."""
        from shellgui_train.report import classification_metrics

        logits, targets = self.predict(self.val_set)
        val_loss = (
            float(nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets)).item())
            if len(targets)
            else record["train_loss"]
        )
        metrics = classification_metrics(logits, targets, self.splits.labels)
        started = record.pop("started")
        record.update(
            val_loss=val_loss,
            val_top1=metrics["top1"],
            val_macro_f1=metrics["macro_f1"],
            seconds=time.monotonic() - started,
            stage_start=self.state.epoch == 1,
        )
        self.state.history.append(record)
        improved = val_loss < self.state.best_loss - 1e-4
        if improved:
            self.state.best_loss, self.state.best_epoch, self.state.bad_epochs = val_loss, record["epoch"], 0
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.state.bad_epochs += 1
        tqdm.write(
            f"epoch {record['epoch']:3d} stage {record['stage']} {record['size']}px  train loss "
            f"{record['train_loss']:.3f}  val loss {val_loss:.3f}  val top-1 {metrics['top1']:.3f}  "
            f"macro-F1 {metrics['macro_f1']:.3f}{'  *' if improved else ''}  {self.eta(record['seconds'])}"
        )
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        # Armed only at the final image size: smaller progressive phases are expected to plateau.
        final_phase = record["size"] >= self.size
        if record["stage"] == 2 and final_phase and self.state.bad_epochs >= self.config.patience:
            tqdm.write(f"Early stopping: no better validation loss for {self.config.patience} epochs")
            return True
        return False

    def agree_to_stop(self, stop: bool) -> bool:
        """Rank 0 decides; every process follows."""
        if self.world == 1:
            return stop
        flag = torch.tensor([float(stop)])
        dist.broadcast(flag, 0)
        return bool(flag[0])

    def next_stage(self) -> None:
        self.state.stage += 1
        self.state.epoch = 0
        if self.state.stage == 2:
            self.prepare_stage(2)
        self.save_checkpoint()

    def restore_best(self) -> None:
        """Load the best epoch's weights (on every process)."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        if self.world > 1:
            for tensor in self.model.state_dict().values():
                dist.broadcast(tensor, 0)
