"""How long one full garbage collection stalls the GUI thread of the running app, with the start-up heap
frozen (ours: ``shellgui.app.settle_start_up_heap``) and without (naive).

Each row starts the real app (``shellgui.app.main``, offscreen, bundled model, a fresh catalogue) in its own
process; once the window is shown and the model loaded, it times ``gc.collect()`` (a full collection, as
Python runs now and then during a long batch) several times and reports the median.

    python bench/bench_gc_pause.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import table

CHILD = """
import gc, json, statistics, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import shellgui.app as app_module
from shellgui.qt.main_window import MainWindow

if sys.argv[1] == "naive":
    app_module.settle_start_up_heap = lambda: None
real_exec = QApplication.exec

def measure():
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    deadline = time.perf_counter() + 60
    while window.context.classifier is None and time.perf_counter() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    times = []
    for _ in range(9):
        start = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - start)
    print(json.dumps({"objects": len(gc.get_objects()), "frozen": gc.get_freeze_count(),
                      "ms": 1000 * statistics.median(times)}), flush=True)
    QApplication.quit()

def exec_then_measure(*_):
    QTimer.singleShot(0, measure)
    return real_exec()

QApplication.exec = exec_then_measure
sys.exit(app_module.main([]))
"""


def run(which: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, which],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "SHELLGUI_HOME": home},
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    rows = []
    for name, which in (("naive: nothing frozen", "naive"), ("ours: start-up heap frozen", "ours")):
        r = run(which)
        rows.append((name, f"{r['objects']:,}", f"{r['frozen']:,}", f"{r['ms']:.1f}"))
    print(table(rows, ("app", "objects a collection walks", "frozen objects", "full gc.collect() ms")))


if __name__ == "__main__":
    main()
