"""The main window: layout, menus and the status bar only; each panel lives in its own module."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget

from shellgui.core import paths
from shellgui.core.catalog import Catalog
from shellgui.core.catalog.browse import SpecimenFilter
from shellgui.core.imaging import PHOTO_EXTENSIONS
from shellgui.core.inference import Classifier
from shellgui.core.modelcard import ModelCard
from shellgui.core.models import installed_models
from shellgui.core.text import one_line
from shellgui.qt import help as keys
from shellgui.qt import theme
from shellgui.qt.audit_dialog import AuditLogDialog
from shellgui.qt.batch_panel import BatchPanel
from shellgui.qt.catalogue_panel import CataloguePanel
from shellgui.qt.context import AppContext
from shellgui.qt.dialogs import PreferencesDialog, show_about, show_card
from shellgui.qt.help import show_help
from shellgui.qt.identify_panel import IdentifyPanel
from shellgui.qt.import_dialog import ImportDialog
from shellgui.qt.review_panel import ReviewPanel
from shellgui.qt.workers import Task

log = logging.getLogger(__name__)
#: How long quitting waits for running work (a batch stops at its next photo; queries end in milliseconds).
QUIT_WAIT_MS = 5000
PHOTO_FILTER = "Photos (" + " ".join(f"*{e}" for e in sorted(PHOTO_EXTENSIONS)) + ");;All files (*)"


def window_settings() -> QSettings:
    """Window geometry and layout, in an INI file in the config folder (so ``SHELLGUI_HOME`` moves it)."""
    return QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle("shellgui — shell identification and catalogue")
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        self.identify_panel = IdentifyPanel(context)
        self.catalogue_panel = CataloguePanel(context)
        self.batch_panel = BatchPanel(context)
        self.review_panel = ReviewPanel(context)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.identify_panel, "Identify")
        self.tabs.addTab(self.catalogue_panel, "Catalogue")
        self.tabs.addTab(self.batch_panel, "Batch")
        self.tabs.addTab(self.review_panel, "Review")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)
        self.model_label = QLabel("Model: loading…")
        self.statusBar().addPermanentWidget(self.model_label)
        for panel in (self.identify_panel, self.catalogue_panel, self.batch_panel, self.review_panel):
            panel.status.connect(self.show_status)
        self.batch_panel.review_requested.connect(self.review_run)
        context.model_loading.connect(lambda p: self.model_label.setText(f"Model: loading {Path(p).name}…"))
        context.model_changed.connect(self._model_changed)
        context.model_failed.connect(self._model_failed)
        self.catalog_opening = False
        self._build_menus()
        self._restore_geometry()

    # -- menus -------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open photos…", self.open_photos, keys.OPEN)
        self._action(file_menu, "&Paste photo", self.paste, keys.PASTE)
        self._action(file_menu, "Catalogue a &folder…", lambda: self.tabs.setCurrentWidget(self.batch_panel))
        file_menu.addSeparator()
        self._action(file_menu, "&Import records…", self.import_records)
        self._action(file_menu, "Export &CSV…", lambda: self.export("csv"), keys.EXPORT_CSV)
        self._action(file_menu, "Export &Darwin Core archive…", lambda: self.export("dwc"), keys.EXPORT_DWC)
        file_menu.addSeparator()
        self._action(file_menu, "Audit &log…", lambda: AuditLogDialog(self.context, self).exec())
        self._action(file_menu, "P&references…", self.preferences, keys.PREFERENCES)
        self._action(file_menu, "&Quit", self.close, keys.QUIT)
        view_menu = self.menuBar().addMenu("&View")
        for index, key in enumerate(keys.TABS):
            self._action(
                view_menu,
                self.tabs.tabText(index),
                lambda _=False, i=index: self.tabs.setCurrentIndex(i),
                key,
            )
        self.models_menu = self.menuBar().addMenu("&Models")
        self.models_menu.aboutToShow.connect(self._fill_models_menu)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "shellgui &help", lambda: show_help(self), keys.HELP)
        self._action(help_menu, "&About shellgui", lambda: show_about(self, self._card()))

    def _action(self, menu, text, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _card(self) -> ModelCard | None:
        return self.context.classifier.card if self.context.classifier else None

    def _fill_models_menu(self) -> None:
        self.models_menu.clear()
        group = QActionGroup(self.models_menu)
        current = self.context.model_path()
        for model in installed_models():
            action = QAction(model.label, self.models_menu, checkable=True)
            action.setEnabled(model.card is not None)
            action.setChecked(current is not None and model.path.resolve() == current.resolve())
            action.triggered.connect(lambda _=False, p=str(model.path): self.choose_model(p))
            group.addAction(action)
            self.models_menu.addAction(action)
        self.models_menu.addSeparator()
        self._action(self.models_menu, "Open model file…", self._open_model_file)
        card_action = self._action(self.models_menu, "Model &card…", self._show_card)
        card_action.setEnabled(self.context.classifier is not None)

    def choose_model(self, path: str) -> None:
        """Switch to a model; it is remembered only once it has loaded."""
        self.context.load_model(path, remember=True)

    def _open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model", "", "ONNX models (*.onnx)")
        if path:
            self.choose_model(path)

    def _show_card(self) -> None:
        c = self.context.classifier
        if c is not None:
            show_card(c.card, c.path, f"{c.runs_on} ({', '.join(c.providers)})", self)

    # -- status ------------------------------------------------------------------------------------
    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    def _model_changed(self, classifier: Classifier) -> None:
        self.model_label.setText(f"Model: {classifier.name} {classifier.version} · {classifier.runs_on}")
        self.model_label.setToolTip(classifier.provider_reason)
        self.show_status(
            f"Model {classifier.name} ready ({classifier.card.num_classes} taxa, {classifier.runs_on})"
        )

    def _model_failed(self, message: str) -> None:
        self.model_label.setText("Model: none")
        QMessageBox.warning(
            self, "Model not loaded", f"{one_line(message)}\n\nChoose another model in the Models menu."
        )

    def _tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget is self.catalogue_panel:
            self.catalogue_panel.refresh_if_stale()
        elif widget is self.review_panel:
            self.review_panel.load(self.review_panel.run_id)

    def review_run(self, run_id: int) -> None:
        self.review_panel.show_run(run_id)
        if self.tabs.currentWidget() is self.review_panel:
            self.review_panel.load()
        self.tabs.setCurrentWidget(self.review_panel)

    # -- photos in ---------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        folders = [f for f in files if Path(f).is_dir()]
        if len(folders) == 1 and len(files) == 1:
            self.batch_panel.folder.setText(folders[0])
            self.tabs.setCurrentWidget(self.batch_panel)
        elif files:
            self.identify(files)
        event.acceptProposedAction()

    def identify(self, files: list[str]) -> None:
        self.tabs.setCurrentWidget(self.identify_panel)
        self.identify_panel.identify(files)

    def open_photos(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Photos of one or more shells", "", PHOTO_FILTER)
        if files:
            self.identify(files)

    def paste(self) -> None:
        data = QApplication.clipboard().mimeData()
        files = [u.toLocalFile() for u in data.urls() if u.isLocalFile()]
        if files:
            self.identify(files)
        elif data.hasImage():
            folder = paths.data_dir() / "pasted"
            folder.mkdir(parents=True, exist_ok=True)
            target = tempfile.NamedTemporaryFile(
                dir=folder, prefix="pasted-", suffix=".png", delete=False
            ).name
            QApplication.clipboard().image().save(target, b"PNG")
            self.identify([target])
        else:
            self.show_status("The clipboard holds no photo.")

    # -- export and preferences --------------------------------------------------------------------
    def export(self, fmt: str) -> None:
        suffix, kind = (".csv", "CSV (*.csv)") if fmt == "csv" else (".zip", "Darwin Core archive (*.zip)")
        path, _ = QFileDialog.getSaveFileName(self, "Export catalogue", f"shellgui-export{suffix}", kind)
        if not path:
            return
        from shellgui.core.dwc import options_from_settings
        from shellgui.core.export import export

        where = self.ask_export_scope(self.catalogue_panel.current_filter())
        if where is None:
            return
        options = options_from_settings(self.context.settings) if fmt == "dwc" else None
        task = Task(export, self.context.catalog, fmt, path, options, where)
        task.signals.result.connect(lambda n: self.show_status(f"Exported {n} specimens to {path}"))
        task.signals.error.connect(lambda m: QMessageBox.warning(self, "Export failed", m))
        self.context.keep(task)

    def ask_export_scope(self, shown: SpecimenFilter) -> SpecimenFilter | None:
        """Export everything, or (when the Catalogue tab is filtered: a search, checked only, a date) only
        what it shows; ``None``: cancelled."""
        if shown == SpecimenFilter():
            return shown
        box = QMessageBox(self)
        box.setWindowTitle("Export catalogue")
        box.setText(
            "The Catalogue tab is filtered (search, status, confidence or date).\n"
            "Export only the specimens it shows, or the whole catalogue?"
        )
        only = box.addButton("Only what the Catalogue tab shows", QMessageBox.ButtonRole.AcceptRole)
        everything = box.addButton("The whole catalogue", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return shown if clicked is only else SpecimenFilter() if clicked is everything else None

    def import_records(self) -> None:
        """File ▸ Import records…: a spreadsheet or a Darwin Core archive, with its mapping and a dry run."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Import records", "", "Records (*.csv *.tsv *.txt *.xlsx *.zip);;All files (*)"
        )
        if not path:
            return
        dialog = ImportDialog(self.context, path, self)
        dialog.imported.connect(self.show_status)
        dialog.open()
        self.import_dialog = dialog

    def preferences(self) -> None:
        settings = self.context.settings
        dialog = PreferencesDialog(settings, self.context.catalog.display_name, self)
        if not dialog.exec():
            return
        old_provider, old_int8, old_catalog = settings.provider, settings.prefer_int8, settings.catalog
        dialog.apply_to(settings)
        if settings.catalog != old_catalog and settings.catalog != self.context.catalog.display_name:
            self._open_catalog(settings.catalog, old_catalog)
        settings.save()
        if (settings.provider, settings.prefer_int8) != (old_provider, old_int8):
            self.context.load_model()

    def _open_catalog(self, wanted: str, old: str) -> None:
        """Open another catalogue off the GUI thread (a server may take seconds to answer, or never)."""
        self.show_status(f"Opening catalogue {wanted}…")
        self.catalog_opening = True

        def opened(catalog: Catalog) -> None:
            self.catalog_opening = False
            self.context.use_catalog(catalog)
            self.show_status(f"Catalogue {catalog.display_name}")

        def failed(message: str) -> None:
            self.catalog_opening = False
            self.context.settings.catalog = old
            self.context.settings.save()
            QMessageBox.warning(
                self, "Catalogue not opened", f"{message}\n\nStill using {old or 'the default catalogue'}."
            )

        task = Task(Catalog, wanted or None)
        task.signals.result.connect(opened)
        task.signals.error.connect(failed)
        self.context.keep(task)

    # -- geometry ----------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = window_settings().value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.batch_panel.is_running():
            self.batch_panel.cancel()
        window_settings().setValue("window/geometry", self.saveGeometry())
        self.hide()
        if not self.context.shutdown(QUIT_WAIT_MS):
            log.warning("work still running after %.0f s; quitting without it", QUIT_WAIT_MS / 1000)
        super().closeEvent(event)
