"""Batch: catalogue a whole folder with progress, ETA, cancel and resume; results stream into a table."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.batch import DONE, BatchProgress, catalogue_folder, unfinished_run
from shellgui.core.binding import PhotoBinder
from shellgui.core.errors import UsageError
from shellgui.core.percent import percent
from shellgui.qt.context import AppContext
from shellgui.qt.workers import GeneratorTask, Task


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s left"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s left"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min left"


class BatchPanel(QWidget):
    """Choose a folder, Start (which resumes an interrupted run of the same folder and model), Cancel."""

    status = Signal(str)
    finished = Signal(int)  # run id, when a run completes or is cancelled
    review_requested = Signal(int)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.task: GeneratorTask | None = None
        self.run_id: int | None = None
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Folder of photos (sub-folders included)")
        self.folder.textChanged.connect(self._describe_folder)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        self.recent = QToolButton()
        self.recent.setText("Recent")
        self.recent.setToolTip("Folders you catalogued lately")
        self.recent.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent.setMenu(QMenu(self.recent))
        self.recent.menu().aboutToShow.connect(self._fill_recent)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.review_button = QPushButton("Review low-confidence results")
        self.review_button.setEnabled(False)
        self.review_button.clicked.connect(lambda: self.review_requested.emit(self.run_id or 0))
        top = QHBoxLayout()
        top.addWidget(self.folder, 1)
        top.addWidget(browse)
        top.addWidget(self.recent)
        top.addWidget(self.start_button)
        top.addWidget(self.cancel_button)
        self.label_from_folder = QCheckBox("Folder names are the taxa: record them as checked by me")
        self.label_from_folder.setToolTip(
            "For a collection sorted into one folder per species (Genus_species): each photo's folder "
            "name is recorded as a checked identification, checked against the name list"
        )
        self.bind = QLineEdit()
        self.bind.setPlaceholderText(
            "Bind to catalogued specimens by file name, e.g. MZ-{catalog}_{view}.jpg"
        )
        self.bind.setToolTip(
            "Attach each photo to the existing specimen its name gives (several views each): a template "
            "with {catalog} and {view}, re:REGEX with (?P<catalog>...), or a CSV of file,catalogNumber"
        )
        options = QHBoxLayout()
        options.addWidget(self.label_from_folder)
        options.addWidget(self.bind, 1)
        self.hint = QLabel()
        self.hint.setStyleSheet("color: gray")
        self.progress = QProgressBar()
        self.counts = QLabel("Choose a folder to catalogue every photo in it.")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Photo", "Result", "Confidence", "Status"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(options)
        layout.addWidget(self.hint)
        layout.addWidget(self.progress)
        bottom = QHBoxLayout()
        bottom.addWidget(self.counts, 1)
        bottom.addWidget(self.review_button)
        layout.addLayout(bottom)
        layout.addWidget(self.table, 1)

    def _fill_recent(self) -> None:
        menu = self.recent.menu()
        menu.clear()
        for folder in self.context.settings.recent_folders:
            action = menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.folder.setText(f))
        if menu.isEmpty():
            menu.addAction("No folder catalogued yet").setEnabled(False)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder to catalogue", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _describe_folder(self) -> None:
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            self.hint.clear()
            return
        run = unfinished_run(self.context.catalog, folder)
        if run is not None:
            self.hint.setText(
                f"An unfinished run of this folder ({run.settled} of {run.total} photos settled) "
                "will be resumed."
            )
            self.start_button.setText("Resume")
        else:
            self.hint.setText("")
            self.start_button.setText("Start")

    def start(self) -> None:
        folder = self.folder.text().strip()
        classifier = self.context.classifier
        if not folder or not Path(folder).is_dir():
            self.status.emit("Choose an existing folder first.")
            return
        if classifier is None:
            self.status.emit("The model is not loaded yet.")
            return
        if self.task is not None:
            return
        try:
            binder = PhotoBinder.parse(self.bind.text().strip()) if self.bind.text().strip() else None
        except UsageError as exc:
            self.status.emit(str(exc))
            return
        label_by = None
        if self.label_from_folder.isChecked():
            label_by = self.context.who(self)
            if label_by is None:
                self.status.emit("Not started: folder labels are recorded with your name.")
                return
        self.table.setRowCount(0)
        settings, catalog = self.context.settings, self.context.catalog
        settings.remember_folder(str(Path(folder).resolve()))
        self.context.keep(Task(settings.save))  # a file write (with fsync) stays off the GUI thread

        def make(cancel: threading.Event):  # type: ignore[no-untyped-def]
            return catalogue_folder(
                catalog,
                classifier,
                folder,
                batch_size=settings.batch_size,
                cancel=cancel,
                top_k=settings.top_k,
                label_by=label_by,
                bind=binder,
                by=label_by or settings.user_name or None,
            )

        self.task = GeneratorTask(make)
        self.task.signals.progress.connect(self._progress)
        self.task.signals.error.connect(self._error)
        self.task.signals.finished.connect(self._finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.review_button.setEnabled(False)
        self.counts.setText("Starting…")
        self.context.keep(self.task)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.counts.setText(self.counts.text() + " · cancelling after the current batch…")

    def is_running(self) -> bool:
        return self.task is not None

    def _progress(self, p: BatchProgress) -> None:
        self.run_id = p.run_id
        self.progress.setMaximum(max(1, p.total))
        self.progress.setValue(p.settled)
        state = {
            "running": format_eta(p.eta_s),
            "completed": "finished",
            "cancelled": "cancelled — Resume to go on",
        }
        self.counts.setText(
            f"{p.settled} of {p.total} photos · {p.done} catalogued · {p.skipped} already in "
            f"catalogue · {p.failed} failed · {state.get(p.state, p.state)}"
        )
        for item in p.items:
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(Path(item.path).name)
            name.setToolTip(item.path)
            self.table.setItem(row, 0, name)
            if item.status == DONE:
                result = item.taxon or "uncertain"
                confidence = percent(item.score) if item.score is not None else ""
            else:
                result, confidence = item.reason or "", ""
            self.table.setItem(row, 1, QTableWidgetItem(result))
            self.table.setItem(row, 2, QTableWidgetItem(confidence))
            status = QTableWidgetItem(item.status + (f" · {item.label_note}" if item.label_note else ""))
            status.setToolTip(item.label_note or "")
            self.table.setItem(row, 3, status)
        if p.items:
            self.table.scrollToBottom()
        if p.state != "running":
            self.status.emit(f"Batch {p.state}: {p.done} catalogued, {p.failed} failed, {p.skipped} skipped.")

    def _error(self, message: str) -> None:
        self.counts.setText(f"Stopped: {message}")
        self.status.emit(f"Batch stopped: {message}")

    def _finished(self) -> None:
        self.task = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.review_button.setEnabled(self.run_id is not None)
        self._describe_folder()
        self.context.catalog_changed.emit()
        if self.run_id is not None:
            self.finished.emit(self.run_id)
