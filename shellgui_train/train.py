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
import random
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
from shellgui_train.architectures import Architecture, freeze_batchnorm_stats, get_architecture, set_trainable
from shellgui_train.data import Splits
from shellgui_train.transforms import PhotoDataset, eval_transform, resize_for, train_transform

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every knob of a run (saved as ``args.json`` in the run directory)."""

    architecture: str = "efficientnetv2_b0"
    weights: str = "none"
    image_size: int = 0  # 0: the architecture's native size
    min_image_size: int = 0  # 0: 60% of image_size (progressive learning start)
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
        self.val_set = PhotoDataset(
            splits.val, splits.labels, eval_transform(self.size), resize_for(self.size)
        )
        self.train_set = PhotoDataset(
            splits.train, splits.labels, eval_transform(self.size), resize_for(self.size)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.is_cuda and config.amp)
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None

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
        self.train_set.transform = train_transform(size, magnitude, cfg.hflip, cfg.augment, erase)
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
        bar = tqdm(loader, desc=desc, leave=False, disable=self.rank != 0, unit="batch")
        for i, (images, targets) in enumerate(bar):
            if cfg.max_train_batches and i >= cfg.max_train_batches:
                break
            images = images.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            if self.is_cuda and cfg.channels_last:
                images = images.to(memory_format=torch.channels_last)
            images = self.normalise(images)
            if mix is not None:
                images, soft = mix(images, targets)
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.is_cuda and cfg.amp):
                logits = model(images)
                loss = criterion(logits, soft if mix is not None else targets)
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
        arch = self.config.arch
        mean = torch.tensor(arch.mean, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(arch.std, device=images.device).view(1, 3, 1, 1)
        return (images - mean) / std

    @torch.no_grad()
    def predict(self, dataset: PhotoDataset, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Logits and targets for a dataset with the evaluation transform."""
        self.model.eval()
        dataset.transform = eval_transform(self.size)
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
    def save_checkpoint(self, best_state: dict[str, torch.Tensor] | None) -> None:
        if self.rank != 0:
            return
        payload = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "state": asdict(self.state),
            "best_state": best_state,
            "labels": self.splits.labels,
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
        }
        with atomic_path(self.run_dir / "checkpoint.pt") as tmp:
            torch.save(payload, tmp)

    def load_checkpoint(self, path: Path) -> dict[str, torch.Tensor] | None:
        payload = torch.load(path, map_location=self.device, weights_only=False)
        if payload["labels"] != self.splits.labels:
            raise ValueError("the checkpoint was trained on different classes; start a new run")
        self.model.load_state_dict(payload["model"])
        self.state = TrainState(**payload["state"])
        self.prepare_stage(self.state.stage)
        assert self.optimizer is not None and self.scheduler is not None
        if payload["optimizer"]:
            self.optimizer.load_state_dict(payload["optimizer"])
            self.scheduler.load_state_dict(payload["scheduler"])
        torch.set_rng_state(payload["rng"]["torch"])
        np.random.set_state(payload["rng"]["numpy"])
        random.setstate(payload["rng"]["python"])
        best: dict[str, torch.Tensor] | None = payload["best_state"]
        return best

    # -- the whole recipe --------------------------------------------------------------------------
    def fit(self, resume_from: Path | None = None) -> dict[str, Any]:
        """Train both stages with early stopping; the best epoch's weights are restored at the end."""
        from shellgui_train.report import classification_metrics

        best_state: dict[str, torch.Tensor] | None = None
        if resume_from is not None:
            best_state = self.load_checkpoint(resume_from)
            if self.rank == 0:
                print(f"Resuming stage {self.state.stage} after epoch {self.state.epoch}")
        else:
            self.prepare_stage(self.state.stage)
        while self.state.stage <= 2:
            stage = self.state.stage
            model: nn.Module = self.model
            if self.world > 1:
                model = nn.parallel.DistributedDataParallel(
                    self.model, device_ids=[self.device.index] if self.is_cuda else None
                )
            epochs = self.stage_epochs(stage)
            stopped = False
            while self.state.epoch < epochs and not stopped:
                start = time.monotonic()
                if stage == 2:
                    size, strength = progressive_schedule(self.state.epoch, epochs, self.min_size, self.size)
                else:
                    size, strength = self.size, 0.0
                self.set_dropout(strength)
                loader = self.train_loader(size, strength)
                label = f"stage {stage} epoch {self.state.epoch + 1}/{epochs} @{size}px"
                train_loss = self.run_epoch(model, loader, label)
                self.state.train_seconds += time.monotonic() - start
                self.state.epoch += 1
                self.state.global_epoch += 1
                stop_flag = torch.zeros(1)
                if self.rank == 0:
                    logits, targets = self.predict(self.val_set)
                    val_loss = (
                        float(
                            nn.functional.cross_entropy(
                                torch.from_numpy(logits), torch.from_numpy(targets)
                            ).item()
                        )
                        if len(targets)
                        else train_loss
                    )
                    metrics = classification_metrics(logits, targets, self.splits.labels)
                    record = {
                        "epoch": self.state.global_epoch,
                        "stage": stage,
                        "size": size,
                        "train_loss": train_loss,
                        "val_loss": val_loss,
                        "val_top1": metrics["top1"],
                        "val_macro_f1": metrics["macro_f1"],
                        "seconds": time.monotonic() - start,
                        "stage_start": self.state.epoch == 1,
                    }
                    self.state.history.append(record)
                    improved = val_loss < self.state.best_loss - 1e-4
                    if improved:
                        self.state.best_loss, self.state.best_epoch, self.state.bad_epochs = (
                            val_loss,
                            self.state.global_epoch,
                            0,
                        )
                        best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                    else:
                        self.state.bad_epochs += 1
                    tqdm.write(
                        f"epoch {self.state.global_epoch:3d} stage {stage} {size}px  train loss "
                        f"{train_loss:.3f}  val loss {val_loss:.3f}  val top-1 {metrics['top1']:.3f}  "
                        f"macro-F1 {metrics['macro_f1']:.3f}{'  *' if improved else ''}  "
                        f"{self.eta(record['seconds'])}"
                    )
                    with open(self.run_dir / "metrics.jsonl", "a") as fh:
                        fh.write(json.dumps(record) + "\n")
                    # Armed only at the final image size: smaller progressive phases are expected to plateau.
                    final_phase = size >= self.size
                    if stage == 2 and final_phase and self.state.bad_epochs >= self.config.patience:
                        tqdm.write(
                            f"Early stopping: no better validation loss for {self.config.patience} epochs"
                        )
                        stop_flag[0] = 1
                if self.world > 1:
                    dist.broadcast(stop_flag, 0)
                stopped = bool(stop_flag[0])
                self.save_checkpoint(best_state)
            self.state.stage += 1
            self.state.epoch = 0
            if self.state.stage == 2:
                self.prepare_stage(2)
            self.save_checkpoint(best_state)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        if self.world > 1:
            for tensor in self.model.state_dict().values():
                dist.broadcast(tensor, 0)
        return asdict(self.state)
