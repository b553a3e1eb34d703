"""Desktop app timings: launch to a shown window, and drop to results on a 12-megapixel JPEG.

xvfb-run -a python bench/bench_gui.py      # or QT_QPA_PLATFORM=offscreen python bench/bench_gui.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import table, twelve_megapixel_jpegs

LAUNCH = """
import time, sys
from PySide6 import QtWidgets
from PySide6.QtCore import QTimer

def run_then_report(*_):
    start = float(sys.argv[1])
    def shown():
        print("shown", time.time() - start, flush=True)
    QTimer.singleShot(0, shown)
    QTimer.singleShot(50, QtWidgets.QApplication.quit)
    return real_exec()

real_exec = QtWidgets.QApplication.exec
QtWidgets.QApplication.exec = run_then_report
from shellgui.app import main
main()
"""


def launch_times(repeat: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SHELLGUI_HOME": home}
        for _ in range(repeat):
            start = time.time()
            out = subprocess.run(
                [sys.executable, "-c", LAUNCH, str(start)],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            line = next(x for x in out.stdout.splitlines() if x.startswith("shown"))
            times.append(float(line.split()[1]))
    return times


def drop_to_results() -> tuple[float, float]:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from shellgui.core.catalog import Catalog
    from shellgui.core.settings import Settings
    from shellgui.qt.context import AppContext
    from shellgui.qt.main_window import MainWindow

    photo = twelve_megapixel_jpegs(1)[0]
    app = QApplication.instance() or QApplication([])
    QCoreApplication.setOrganizationName("shellgui-bench")
    with tempfile.TemporaryDirectory() as home:
        context = AppContext(Settings(), Catalog(os.path.join(home, "c.sqlite")))
        window = MainWindow(context)
        window.show()
        loop = QEventLoop()
        context.model_changed.connect(loop.quit)
        start = time.perf_counter()
        context.load_model()
        loop.exec()
        model_ready = time.perf_counter() - start
        panel = window.identify_panel
        runs = []
        for _ in range(3):
            done = QEventLoop()
            panel.results.table.model().rowsInserted.connect(lambda *a, d=done: QTimer.singleShot(0, d.quit))
            start = time.perf_counter()
            window.identify([str(photo)])
            done.exec()
            runs.append(time.perf_counter() - start)
            panel.results.table.model().rowsInserted.disconnect()
        window.close()
        app.processEvents()
    return model_ready, statistics.median(runs)


def main() -> None:
    launches = launch_times(5)
    model_ready, drop = drop_to_results()
    platform = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if os.environ.get("DISPLAY") else "?")
    print(f"Desktop app timings ({os.cpu_count()} CPU cores, Qt platform {platform})")
    print(
        table(
            [
                (
                    "launch to window shown (median of 5, whole process)",
                    f"{statistics.median(launches) * 1000:.0f}",
                ),
                ("default model loaded in the background after start", f"{model_ready * 1000:.0f}"),
                ("drop a 12-MP JPEG to results shown (median of 3)", f"{drop * 1000:.0f}"),
            ],
            ("measure", "ms"),
        )
    )


if __name__ == "__main__":
    main()
