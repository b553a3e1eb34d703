"""Image transforms and the dataset: the training augmentation and the evaluation transform.

The evaluation transform is exactly what the model card tells the app to do (resize the shorter side,
centre-crop, scale to [0, 1]), with the resize ratio and interpolation of the weights' own library
(:class:`~shellgui_train.architectures.DataConfig`); normalisation lives inside the exported graph.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T

from shellgui.core.imaging import open_photo
from shellgui_train.architectures import DataConfig
from shellgui_train.data import Sample


def eval_transform(size: int, data: DataConfig) -> Callable[[Image.Image], torch.Tensor]:
    """The evaluation transform, in [0, 1] (the exported graph normalises)."""
    return T.Compose(
        [
            T.Resize(
                data.resize_for(size), interpolation=T.InterpolationMode(data.interpolation), antialias=True
            ),
            T.CenterCrop(size),
            T.ToTensor(),
        ]
    )


def train_transform(
    size: int, magnitude: int, hflip: bool, augment: str, erase: float, interpolation: str = "bilinear"
) -> Callable[[Image.Image], torch.Tensor]:
    """Training augmentation whose strength grows with ``magnitude`` (progressive learning).

    Mirror flips are off by default: a mirrored gastropod coils the other way (sinistral vs dextral),
    which is itself a taxonomic character. ``hflip`` adds them to the rotation, for subjects whose
    mirror image is the same taxon.
    """
    ops: list[Callable[..., object]] = [
        T.RandomResizedCrop(
            size, scale=(0.35, 1.0), interpolation=T.InterpolationMode(interpolation), antialias=True
        ),
        T.RandomRotation(20),
    ]
    if hflip:
        ops.append(T.RandomHorizontalFlip())
    ops.append(T.ColorJitter(0.25, 0.25, 0.2, 0.02))
    if augment == "randaugment":
        ops.append(T.RandAugment(num_ops=2, magnitude=magnitude))
    elif augment == "trivialaugment":
        ops.append(T.TrivialAugmentWide())
    ops.append(T.ToTensor())
    if erase > 0:
        ops.append(T.RandomErasing(p=erase, value="random"))
    return T.Compose(ops)


class PhotoDataset(Dataset[tuple[torch.Tensor, int]]):
    """Photos decoded once with shellgui's own loader (EXIF, colour modes) and cached in memory."""

    def __init__(
        self,
        samples: list[Sample],
        labels: list[str],
        transform: Callable[[Image.Image], torch.Tensor],
        decode_side: int,
        cache: bool = True,
    ) -> None:
        self.samples = samples
        self.index = {label: i for i, label in enumerate(labels)}
        self.transform = transform
        self.decode_side = decode_side
        self.cache: dict[int, Image.Image] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, i: int) -> Image.Image:
        if self.cache is not None and i in self.cache:
            return self.cache[i]
        img = open_photo(self.samples[i].path, min_side=self.decode_side).image
        if self.cache is not None:
            self.cache[i] = img
        return img

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.image(i)), self.index[self.samples[i].label]

    @property
    def targets(self) -> list[int]:
        return [self.index[s.label] for s in self.samples]
