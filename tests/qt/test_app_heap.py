"""The running app freezes its start-up heap, so a full garbage collection in a long batch stays short."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

HEAP_AT_EXEC = """
import gc, json, sys
from PySide6.QtWidgets import QApplication
import shellgui.app as app_module

def report(*_):
    print(json.dumps({"walked": len(gc.get_objects()), "frozen": gc.get_freeze_count()}), flush=True)
    return 0

QApplication.exec = report
sys.exit(app_module.main([]))
"""


def test_start_up_heap_is_frozen_before_the_event_loop() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(HEAP_AT_EXEC)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr
    heap = json.loads(done.stdout.strip().splitlines()[-1])
    # Nearly all of start-up (Qt, NumPy, ONNX Runtime, SQLAlchemy, the window) is frozen; a collection
    # walks only what was made after it.
    assert heap["frozen"] > 50_000
    assert heap["walked"] < heap["frozen"] / 20
