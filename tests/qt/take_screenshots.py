"""Save a screenshot of each main view of the real window under a real X server (Xvfb).

    xvfb-run -s "-screen 0 1400x900x24" python tests/qt/take_screenshots.py OUT_DIR

Uses the bundled default model, a throw-away SHELLGUI_HOME and the attributed fixture photos.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = ROOT / "tests" / "fixtures" / "shells"


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="shellgui-shots-"))
    os.environ["SHELLGUI_HOME"] = str(home)
    os.environ.setdefault("SHELLGUI_PROVIDER", "cpu")
    drawer = home / "drawer"
    shutil.copytree(SHELLS, drawer)
    (drawer / "damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")

    import onnxruntime  # noqa: F401
    from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QThreadPool, QTimer
    from PySide6.QtWidgets import QApplication

    from shellgui.core.catalog import Catalog
    from shellgui.core.settings import Settings
    from shellgui.qt.context import AppContext
    from shellgui.qt.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName("shellgui-screenshots")
    context = AppContext(Settings(user_name="curator"), Catalog(home / "catalogue.sqlite"))
    window = MainWindow(context)
    window.resize(1360, 860)
    window.show()

    def wait(ms: int = 300, until=None, timeout_ms: int = 60000) -> None:  # type: ignore[no-untyped-def]
        waited = 0
        while True:
            loop = QEventLoop()
            QTimer.singleShot(ms, loop.quit)
            loop.exec()
            waited += ms
            if until is None or until() or waited >= timeout_ms:
                return

    def shot(name: str, widget=None) -> None:  # type: ignore[no-untyped-def]
        wait(300)
        target = widget or window
        screen = app.primaryScreen()
        pixmap = screen.grabWindow(
            0, target.x(), target.y(), target.frameGeometry().width(), target.frameGeometry().height()
        )
        pixmap.save(str(out / f"{name}.png"))
        print(out / f"{name}.png")

    context.load_model()
    wait(until=lambda: context.classifier is not None)
    shot("0-start")
    panel = window.identify_panel
    photos = sorted(SHELLS.glob("Bistolida_diauges/*_1_*.jpg"))
    window.identify([str(p) for p in photos])
    wait(until=lambda: panel.results.prediction is not None)
    panel.catalog_number.setText("MZ-2024-0117")
    panel.locality.setText("Sanya, Hainan")
    panel.collector.setText("J. Curator")
    shot("1-identify")
    panel.save(validate=True)
    wait(until=lambda: QThreadPool.globalInstance().activeThreadCount() == 0)
    window.identify([str(p) for p in photos])  # the same photos again: announced as already catalogued
    wait(until=lambda: panel.known_banner.isVisible())
    shot("1b-already-catalogued")

    # A photo of something the model never learned (a ground beetle): "not something this model knows".
    beetle = sorted((ROOT / "tests" / "fixtures" / "beetles").glob("*.jpg"))[0]
    before = panel.results.prediction
    window.identify([str(beetle)])
    wait(until=lambda: panel.results.prediction is not before and panel.results.prediction is not None)
    shot("1a-not-known")

    # A test photo where the most similar training photo contradicts the classifier: "uncertain", and why.
    disputed = SHELLS / "Bistolida_diauges" / "Bistolida_diauges_2_B.jpg"
    before = panel.results.prediction
    window.identify([str(disputed)])
    wait(until=lambda: panel.results.prediction is not before and panel.results.prediction is not None)
    shot("1f-disputed")

    # A collector's photo: two shells small on paper, beside a ruler. Crop one by hand, then auto-crop.
    from PIL import Image, ImageDraw

    from shellgui.core.crops import Crop

    tray = home / "tray.jpg"
    canvas = Image.new("RGB", (3000, 2000), (236, 232, 222))
    pasted = []
    for (x, y), shell in zip(((500, 650), (1800, 500)), sorted(SHELLS.glob("*/*_A.jpg"))[1:3]):
        image = Image.open(shell).convert("RGB")
        image = image.resize((560, round(560 * image.height / image.width)))
        canvas.paste(image, (x, y))
        pasted.append(Crop(x, y, image.width, image.height))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((150, 1760, 2850, 1840), fill=(246, 226, 96), outline=(90, 80, 40), width=3)
    for x in range(150, 2850, 20):
        draw.line((x, 1760, x, 1760 + (30 if x % 100 else 55)), fill=(25, 25, 25), width=3)
    canvas.save(tray, quality=92)
    window.identify([str(tray)])
    wait(until=lambda: panel.shown_photo() is not None and panel.accept_button.isEnabled())
    panel.crop.button.click()
    first = pasted[0]
    panel.crop.apply(Crop(first.x - 60, first.y - 60, first.width + 120, first.height + 120))
    wait(until=lambda: panel.shown_photo() is not None and panel.shown_photo().crop is not None)
    wait(until=lambda: panel.accept_button.isEnabled())
    shot("1c-crop-tool")
    panel.crop.button.click()
    panel.crop.clear()
    wait(until=lambda: panel.shown_photo().crop is None and panel.accept_button.isEnabled())
    panel.auto_crop.button.click()
    wait(until=lambda: panel.auto_crop.bar.isVisible())
    shot("1d-auto-crop-choice")
    panel.auto_crop.separate_button.click()
    wait(until=lambda: panel.accept_button.isEnabled())
    shot("1e-auto-crop-separate")

    window.tabs.setCurrentWidget(window.batch_panel)
    window.batch_panel.folder.setText(str(drawer))
    window.batch_panel.start()
    wait(until=lambda: not window.batch_panel.is_running())
    shot("2-batch")
    window.review_run(window.batch_panel.run_id or 0)
    wait(until=lambda: window.review_panel.queue.rowCount() > 0, timeout_ms=5000)
    wait(800)
    shot("3-review")
    window.tabs.setCurrentWidget(window.catalogue_panel)
    wait(until=lambda: window.catalogue_panel.model.rowCount() > 0, timeout_ms=5000)
    shot("4-catalogue")

    from PySide6.QtWidgets import QTextBrowser

    from shellgui.qt.dialogs import card_html

    browser = QTextBrowser()
    browser.setWindowTitle("Model card")
    browser.setHtml(card_html(context.classifier.card, context.classifier.path, context.classifier.device))
    browser.resize(560, 700)
    browser.show()
    shot("5-model-card", browser)
    browser.close()

    from shellgui.core.catalog import queries
    from shellgui.qt.audit_dialog import AuditLogDialog
    from shellgui.qt.dialogs import PreferencesDialog
    from shellgui.qt.help import show_help
    from shellgui.qt.specimen_dialog import SpecimenDialog

    specimen = queries.list_specimens(context.catalog, text="MZ-2024")[0].specimen_id
    history = SpecimenDialog(context, specimen, window)
    history.show()
    wait(800)
    shot("6-specimen-history", history)
    history.close()
    log = AuditLogDialog(context, window)
    log.show()
    shot("8-audit-log", log)
    log.close()
    prefs = PreferencesDialog(context.settings, context.catalog.display_name, window)
    prefs.show()
    shot("7-preferences", prefs)
    prefs.close()
    help_dialog = show_help(window)
    shot("8-help", help_dialog)
    help_dialog.close()

    # The Catalogue tab on a museum-sized catalogue (100,000 synthetic specimens), searched and sorted.
    sys.path.insert(0, str(ROOT / "tests"))
    from bigcatalog import build_catalog

    big = build_catalog(home / "museum.sqlite", 100_000)
    context.use_catalog(big)
    catalogue = window.catalogue_panel
    window.tabs.setCurrentWidget(catalogue)
    catalogue.search.setText("Harpa")
    wait(until=lambda: not catalogue.model.busy and not catalogue.search_timer.isActive())
    catalogue.table.horizontalHeader().setSortIndicator(4, Qt.SortOrder.AscendingOrder)
    wait(until=lambda: not catalogue.model.busy and catalogue.model.sort_by.key == "score")
    wait(800)  # thumbnails of the rows on screen
    shot("9-catalogue-100k")

    # A dark desktop theme: the same Identify tab.
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    dark = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#eeeeee"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.AlternateBase, "#2f2f2f"),
        (QPalette.ColorRole.Text, "#eeeeee"),
        (QPalette.ColorRole.Button, "#3a3a3a"),
        (QPalette.ColorRole.ButtonText, "#eeeeee"),
        (QPalette.ColorRole.Highlight, "#2f6f8f"),
    ):
        dark.setColor(role, QColor(colour))
    app.setPalette(dark)
    window.tabs.setCurrentWidget(panel)
    uncertain = sorted(SHELLS.glob("*/*.jpg"))[-1]
    window.identify([str(uncertain), str(photos[0])])
    wait(until=lambda: panel.items.count() == 2)
    panel.items.setCurrentRow(0)
    shot("10-identify-dark-theme")
    QThreadPool.globalInstance().waitForDone(10000)
    context.shutdown(10000)
    window.close()
    context.catalog.close()
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
