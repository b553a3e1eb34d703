"""Qt tests run offscreen; each gets a fresh catalogue and the tiny model already loaded."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest.importorskip("PySide6")


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def settled_heap() -> Iterator[None]:
    """For timing tests: what is timed is the app, not the test suite. By the Qt tests the suite's own heap
    holds ~475,000 objects, and a full garbage collection over them paused the GUI thread 330-560 ms (a CI
    failure); they are collected once and frozen out of later collections for the test."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture
def window(qtbot, tmp_path: Path, tiny_model: Path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication

    from shellgui.core.catalog import Catalog
    from shellgui.core.settings import Settings
    from shellgui.qt.context import AppContext
    from shellgui.qt.main_window import MainWindow

    QCoreApplication.setOrganizationName("shellgui-tests")
    settings = Settings(model=str(tiny_model), user_name="tester")
    context = AppContext(settings, Catalog(tmp_path / "gui.sqlite"))
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(context.model_changed, timeout=10000):
        context.load_model()
    yield win
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(10000)
