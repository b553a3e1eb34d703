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
from shellgui_train.transforms import PhotoDataset, eval_transform

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


def _head(model: nn.Module) -> nn.Module:
    """The classifier head: timm's ``get_classifier()``, torchvision's ``classifier`` (dropout + linear)."""
    get = getattr(model, "get_classifier", None)
    head = get() if callable(get) else model.get_submodule("classifier")
    assert isinstance(head, nn.Module)
    return head


def pooled_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled penultimate features ``(N, D)`` of a timm or torchvision classifier."""
    forward_head = getattr(model, "forward_head", None)
    if callable(forward_head):  # timm
        features = forward_head(getattr(model, "forward_features")(x), pre_logits=True)  # noqa: B009
    else:  # torchvision
        pooled = model.get_submodule("avgpool")(model.get_submodule("features")(x))
        features = torch.flatten(pooled, 1)
    assert isinstance(features, torch.Tensor)
    return features


def classify_features(model: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """The logits from pooled features (the classifier head only)."""
    logits = _head(model)(features)
    assert isinstance(logits, torch.Tensor)
    return logits


def logits_and_embedding(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass: the logits and the L2-normalised embedding."""
    features = pooled_features(model, x)
    return classify_features(model, features), F.normalize(features.float(), dim=1)


def embedding_size(model: nn.Module) -> int:
    """D, the length of the embedding (the input width of the head's linear layer)."""
    linear = [m for m in _head(model).modules() if isinstance(m, nn.Linear)]
    return int(linear[0].in_features)


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
        dataset = PhotoDataset(
            samples, labels, eval_transform(trainer.size, trainer.data), trainer.data.resize_for(trainer.size)
        )
        out[name] = embed_dataset(
            trainer.model, dataset, trainer.normalise, trainer.device, workers=trainer.config.workers
        )
    return out
