"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 does not, and the window then dies with
"Fatal Python error: none_dealloc" after a few thousand ordinary calls (the quit and catalogue crashes of
issue 10). pyproject.toml excludes that release; this test refuses any other release with the same bug."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QLabel


def test_void_methods_keep_the_reference_to_none(qapp) -> None:  # type: ignore[no-untyped-def]
    label, timer = QLabel(), QTimer()
    calls = (QCoreApplication.processEvents, lambda: label.setText("x"), lambda: timer.start(10), timer.stop)
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(200):
        for call in calls:
            call()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    # None, True and False are immortal from Python 3.12 on (their count is a constant); before that a
    # binding that drops references makes the counts fall by one per call.
    assert all(a >= b - 50 for a, b in zip(after, before)), (before, after)
