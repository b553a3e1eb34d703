"""The network's penultimate features: the embedding the app uses to tell "I don't know this".

The embedding is the globally pooled feature vector just before dropout and the classifier, L2-normalised
(Sun et al., ICML 2022: k-NN distance on normalised penultimate features). timm models expose it as
``forward_head(..., pre_logits=True)``; torchvision's EfficientNets as ``avgpool(features(x))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from shellgui_train.data import Sample
from shellgui_train.transforms import PhotoDataset, eval_transform, resize_for

if TYPE_CHECKING:
    from shellgui_train.train import Trainer


@dataclass(frozen=True)
class Embedded:
    """A set of photos through the trained network: logits ``(N, C)``, embeddings ``(N, D)``, targets."""

    logits: np.ndarray
    embeddings: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def pooled_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled penultimate features ``(N, D)`` of a timm or torchvision classifier."""
    if hasattr(model, "forward_head"):  # timm
        return model.forward_head(model.forward_features(x), pre_logits=True)  # type: ignore[operator]
    return torch.flatten(model.avgpool(model.features(x)), 1)  # type: ignore[operator]


def classify_features(model: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """The logits from pooled features (the classifier head only)."""
    head = model.get_classifier() if hasattr(model, "get_classifier") else model.classifier  # type: ignore[operator]
    return head(features)  # type: ignore[no-any-return]


def logits_and_embedding(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass: the logits and the L2-normalised embedding."""
    features = pooled_features(model, x)
    return classify_features(model, features), F.normalize(features.float(), dim=1)


def embedding_size(model: nn.Module) -> int:
    """D, the length of the embedding (the classifier head's input width)."""
    head = model.get_classifier() if hasattr(model, "get_classifier") else model.classifier[-1]  # type: ignore[operator,index]
    return int(head.in_features)


@torch.no_grad()
def embed_dataset(
    model: nn.Module,
    dataset: PhotoDataset,
    normalise: Callable[[torch.Tensor], torch.Tensor] | None,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
) -> Embedded:
    """Logits, embeddings and targets of a dataset (with its transform as set).

    Args:
        normalise: maps [0, 1] RGB batches to the network's input (``None``: the identity).
    """
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)
    logits, embeddings, targets = [], [], []
    for images, t in loader:
        images = images.to(device)
        if normalise is not None:
            images = normalise(images)
        out, emb = logits_and_embedding(model, images)
        logits.append(out.float().cpu().numpy())
        embeddings.append(emb.float().cpu().numpy())
        targets.append(t.numpy())
    if not logits:
        return Embedded(
            np.zeros((0, 0), dtype=np.float32),
            np.zeros((0, embedding_size(model)), dtype=np.float32),
            np.zeros(0, dtype=int),
        )
    return Embedded(np.concatenate(logits), np.concatenate(embeddings), np.concatenate(targets))


def embed_sets(trainer: Trainer, sets: dict[str, list[Sample]]) -> dict[str, Embedded]:
    """Every named set of photos through the trained network with the evaluation transform. Labels the
    model does not know (held-out taxa, outliers) get indices after its own."""
    known = trainer.splits.labels
    extra = sorted({s.label for samples in sets.values() for s in samples} - set(known))
    labels = known + extra
    out = {}
    for name, samples in sets.items():
        dataset = PhotoDataset(samples, labels, eval_transform(trainer.size), resize_for(trainer.size))
        out[name] = embed_dataset(
            trainer.model, dataset, trainer.normalise, trainer.device, workers=trainer.config.workers
        )
    return out
