"""Outlier exposure on synthetic outliers: tiles shuffled across the batch, answered uniformly."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from shellgui_train.cli import main
from shellgui_train.outlier_exposure import shuffled_tiles, uniform_target_loss
from tests.trainer.test_openset_export import TINY, _photos


def test_shuffled_tiles_keep_the_pixels_but_not_the_pictures() -> None:
    images = torch.arange(4 * 3 * 16 * 16, dtype=torch.float32).reshape(4, 3, 16, 16)
    mixed = shuffled_tiles(images, grid=4, generator=torch.Generator().manual_seed(0))
    assert mixed.shape == images.shape
    assert torch.equal(mixed.flatten().sort().values, images.flatten().sort().values)  # same pixels
    assert not torch.equal(mixed, images)
    odd = shuffled_tiles(torch.rand(2, 3, 18, 17), grid=4)
    assert odd.shape == (2, 3, 18, 17)


def test_uniform_target_loss_is_zero_only_for_a_uniform_answer() -> None:
    assert abs(uniform_target_loss(torch.zeros(3, 8)).item()) < 1e-5
    assert uniform_target_loss(torch.tensor([[9.0, 0.0, 0.0, 0.0]])).item() > 1.0


def test_training_with_synthetic_outliers_records_the_option(tmp_path: Path) -> None:
    data = _photos(tmp_path / "photos")
    out = tmp_path / "run"
    assert main([str(data), *TINY, "--synthetic-outliers", "0.5", "--out", str(out)]) == 0
    args = json.loads((out / "args.json").read_text())
    assert args["config"]["synthetic_outliers"] == 0.5
    assert (out / "model.onnx").is_file()
