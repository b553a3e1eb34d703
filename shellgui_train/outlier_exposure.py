"""Outlier exposure without outlier photos: synthetic outliers made from the training batch itself.

Each synthetic outlier keeps the colours and textures of real training photos but not the shape of any
subject: the image is cut into a grid of tiles, and the tiles of several photos of the batch are shuffled
together. The model is trained to answer such images with a uniform distribution (Hendrycks et al.,
"Deep Anomaly Detection with Outlier Exposure", ICLR 2019), so what makes it confident has to be the whole
subject, not a patch of shell pattern or background. No real outlier photo is used, so photos of other
things (e.g. insects) stay a fair test of what it refuses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shuffled_tiles(
    images: torch.Tensor, grid: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Images whose ``grid x grid`` tiles are drawn at random from all the tiles of the batch.

    Args:
        images: a batch ``[N, C, H, W]`` (H and W divisible by ``grid`` are used exactly; the rest is
            cropped off).
        grid: tiles per side.
        generator: for reproducible shuffles.

    Returns:
        A batch of the same size ``[N, C, grid * (H // grid), grid * (W // grid)]``, resized back to
        ``H x W`` when the sizes were not divisible.
    """
    n, c, h, w = images.shape
    th, tw = h // grid, w // grid
    cropped = images[:, :, : th * grid, : tw * grid]
    tiles = (
        cropped.reshape(n, c, grid, th, grid, tw)
        .permute(0, 2, 4, 1, 3, 5)
        .reshape(n * grid * grid, c, th, tw)
    )
    pick = torch.randperm(tiles.shape[0], generator=generator, device="cpu")[: n * grid * grid].to(
        images.device
    )
    mixed = (
        tiles[pick]
        .reshape(n, grid, grid, c, th, tw)
        .permute(0, 3, 1, 4, 2, 5)
        .reshape(n, c, th * grid, tw * grid)
    )
    if mixed.shape[-2:] != (h, w):
        mixed = F.interpolate(mixed, size=(h, w), mode="bilinear", align_corners=False)
    return mixed


def uniform_target_loss(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy to the uniform distribution over the classes (0 when the answer is uniform)."""
    return -(logits.log_softmax(dim=1).mean(dim=1)).mean() - torch.log(
        torch.tensor(float(logits.shape[1]), device=logits.device)
    )
