"""Composition root: build the core services and open the window."""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import cast


def main(argv: list[str] | None = None) -> int:
    """Open the main window on the user's catalogue and the chosen (or bundled default) model."""
    import onnxruntime  # noqa: F401 - load ONNX Runtime's DLLs before Qt's (Windows DLL search order)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from shellgui.core.catalog import Catalog
    from shellgui.core.errors import ShellguiError
    from shellgui.core.settings import Settings
    from shellgui.qt.context import AppContext
    from shellgui.qt.main_window import MainWindow

    logging.basicConfig(level=logging.WARNING, format="shellgui: %(levelname)s: %(message)s")
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv if argv is None else argv))
    app.setApplicationName("shellgui")
    app.setOrganizationName("shellgui")
    app.setApplicationDisplayName("shellgui")
    settings = Settings.load()
    try:
        catalog = Catalog(settings.catalog or None)
    except ShellguiError as exc:
        QMessageBox.warning(None, "Catalogue not opened", f"{exc}\n\nUsing the default catalogue instead.")
        try:
            catalog = Catalog(None)
        except ShellguiError as again:
            QMessageBox.critical(None, "shellgui cannot start", str(again))
            return 1
    context = AppContext(settings, catalog)
    window = MainWindow(context)
    window.show()
    QTimer.singleShot(0, context.load_model)
    settle_start_up_heap()
    code = app.exec()
    if not context.shutdown(0):
        # The window already waited (bounded) on close. Work still running in a pool thread would crash
        # the interpreter's own shutdown ("Fatal Python error"), so leave without it: the catalogue is
        # transactional, nothing half-written survives.
        logging.getLogger(__name__).warning("quitting while work is still running")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def settle_start_up_heap() -> None:
    """Freeze what start-up made (modules, classes, the window: about 136,000 objects, all kept for the
    app's life) so that a full garbage collection during a batch no longer walks them (measured in
    ``bench/bench_gc_pause.py``)."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
