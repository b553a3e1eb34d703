"""Desktop app timings: launch to a shown window, drop to results on a 12-megapixel JPEG, and the
Catalogue tab at 10,000 and 100,000 specimens (ours against the naive whole-catalogue path).

xvfb-run -a python bench/bench_gui.py      # or QT_QPA_PLATFORM=offscreen python bench/bench_gui.py
python bench/bench_gui.py --catalogue      # only the Catalogue tab
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from common import OUT, table, twelve_megapixel_jpegs

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


class BlockMonitor:
    """The longest the GUI thread left a 5 ms timer waiting: how long the window froze."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.worst = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last, self.worst = time.perf_counter(), 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


def _spin_until(done, timeout: float = 60.0) -> float:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication, QEventLoop

    start = time.perf_counter()
    while not done():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the catalogue view did not settle")
    return time.perf_counter() - start


def catalogue_ours(path: str) -> dict[str, tuple[float, float]]:
    """Each step through the real window: (ms to a correct view, longest GUI-thread block in ms)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from shellgui.core.catalog import Catalog
    from shellgui.core.settings import Settings
    from shellgui.qt.context import AppContext
    from shellgui.qt.main_window import MainWindow
    from shellgui.qt.specimen_dialog import SpecimenDialog

    context = AppContext(Settings(), Catalog(path))
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    panel = window.catalogue_panel

    def settled() -> bool:
        return not panel.model.busy and not panel.search_timer.isActive()

    monitor = BlockMonitor()
    results: dict[str, tuple[float, float]] = {}

    def step(name: str, action: Callable[[], object], check: Callable[[], bool]) -> None:
        monitor.start()
        start = time.perf_counter()
        action()
        _spin_until(lambda: settled() and check())
        results[name] = ((time.perf_counter() - start) * 1000, monitor.stop() * 1000)

    step(
        "open the Catalogue tab",
        lambda: window.tabs.setCurrentWidget(panel),
        lambda: panel.model.rowCount() > 0,
    )
    total = panel.model.total

    def type_search() -> None:  # a fast typist: a key every 60 ms; the clock runs from the last key
        for char in "Blasicrura":
            QTest.keyClicks(panel.search, char)
            _pause(0.06)
        nonlocal_start[0] = time.perf_counter()

    nonlocal_start = [0.0]
    monitor.start()
    type_search()
    _spin_until(lambda: settled() and panel.model.total < total)
    results["type a 10-letter search (from the last key)"] = (
        (time.perf_counter() - nonlocal_start[0]) * 1000,
        monitor.stop() * 1000,
    )
    assert all(r.taxon == "Blasicrura pallidula" for r in panel.model.rows)
    step("clear the search", panel.search.clear, lambda: panel.model.total == total)
    header = panel.table.horizontalHeader()
    step(
        "sort by taxon",
        lambda: header.setSortIndicator(2, Qt.SortOrder.AscendingOrder),
        lambda: panel.model.sort_by.key == "taxon",
    )
    specimen_id = panel.model.specimen_at(100).specimen_id
    dialogs = []

    def open_specimen() -> None:
        dialog = SpecimenDialog(context, specimen_id, window)
        dialog.show()
        dialogs.append(dialog)

    step("open a specimen", open_specimen, lambda: bool(dialogs) and dialogs[0].isVisible())
    dialogs[0].close()
    context.shutdown(10000)
    window.close()
    return results


def _pause(seconds: float) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def catalogue_naive(path: str) -> dict[str, float]:
    """The old path: every view loads the whole filtered catalogue, sorts in Python, scans for one row."""
    from shellgui.core.catalog import Catalog
    from shellgui.core.catalog import repository as repo

    catalog = Catalog(path)
    out = {}
    with catalog.session() as s:
        start = time.perf_counter()
        rows = repo.list_specimens(s)
        out["open the Catalogue tab"] = time.perf_counter() - start
        start = time.perf_counter()
        repo.list_specimens(s, text="Blasicrura")
        out["type a 10-letter search (from the last key)"] = time.perf_counter() - start
        start = time.perf_counter()
        repo.list_specimens(s)
        out["clear the search"] = time.perf_counter() - start
        start = time.perf_counter()
        sorted(rows, key=lambda r: r.taxon or "")
        out["sort by taxon"] = time.perf_counter() - start
        start = time.perf_counter()
        target = rows[len(rows) // 2].specimen_id
        next(r for r in repo.list_specimens(s) if r.specimen_id == target)
        out["open a specimen"] = time.perf_counter() - start
    catalog.close()
    return {k: v * 1000 for k, v in out.items()}


#: The largest catalogue the naive path is timed on.
NAIVE_MAX = 10_000


def catalogue_table(sizes: tuple[int, ...] = (10_000, 100_000)) -> str:
    from bigcatalog import build_catalog
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    QCoreApplication.setOrganizationName("shellgui-bench")
    rows = []
    for size in sizes:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"catalogue_{size}.sqlite"
        build_catalog(path, size).close()
        ours = catalogue_ours(str(path))
        for name, (ms, block) in ours.items():
            print(f"  {size:,} ours: {name}: {ms:.0f} ms, longest GUI block {block:.0f} ms", flush=True)
        # The naive listing is quadratic (75 s for 10,000 on the 2-core bench machine): not run beyond that.
        naive = catalogue_naive(str(path)) if size <= NAIVE_MAX else {}
        for name, (ms, block) in ours.items():
            before = f"{naive[name]:.0f}" if name in naive else "not run (quadratic)"
            print(f"  {size:,} naive: {name}: {before}", flush=True)
            rows.append((f"{size:,}", name, before, f"{ms:.0f}", f"{block:.0f}"))
    return table(
        rows,
        (
            "specimens",
            "step",
            "naive ms (GUI frozen)",
            "ours ms to correct view",
            "ours longest GUI block ms",
        ),
    )


def main() -> None:
    if "--catalogue" in sys.argv:
        print(catalogue_table())
        return
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
    print()
    print("Catalogue tab (naive: the whole filtered catalogue loaded on the GUI thread, as before)")
    print(catalogue_table())


if __name__ == "__main__":
    main()
