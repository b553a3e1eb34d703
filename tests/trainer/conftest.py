from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("timm")

SHELLS = Path(__file__).parents[1] / "fixtures" / "shells"


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.torch)


@pytest.fixture
def shells() -> Path:
    return SHELLS


SMALL = [
    "--arch",
    "efficientnetv2_b0",
    "--image-size",
    "64",
    "--min-image-size",
    "48",
    "--batch-size",
    "8",
    "--patience",
    "5",
    "--val-fraction",
    "0.25",
    "--test-fraction",
    "0.25",
]
