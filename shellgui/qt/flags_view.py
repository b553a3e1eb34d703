"""Collection checks for the review queue: likely mislabels and near-duplicate photos."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

from shellgui.core.memory import check_collection
from shellgui.core.review_flags import ReviewFlag
from shellgui.qt.context import AppContext
from shellgui.qt.workers import Task


class FlagsView(QGroupBox):
    """A button that compares the catalogue's photos, and the flags found; double-click opens a specimen."""

    def __init__(self, context: AppContext) -> None:
        super().__init__("Collection checks")
        self.context = context
        self.button = QPushButton("Check the collection")
        self.button.setToolTip(
            "Compare every catalogued photo (model embeddings): checked specimens that disagree with their "
            "nearest checked neighbours, and the same photo catalogued twice"
        )
        self.button.clicked.connect(self.run)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.itemDoubleClicked.connect(self._open)
        layout = QVBoxLayout(self)
        for widget in (self.button, self.note, self.list):
            layout.addWidget(widget)

    def run(self) -> None:
        classifier = self.context.classifier
        if classifier is None or not classifier.has_embedding:
            self.note.setText("The current model has no embedding output, so it cannot compare photos.")
            return
        self.button.setEnabled(False)
        self.note.setText("Comparing photos…")
        task = Task(check_collection, self.context.catalog, classifier)
        task.signals.result.connect(self.show_flags)
        task.signals.error.connect(self.note.setText)
        task.signals.finished.connect(lambda: self.button.setEnabled(True))
        self.context.keep(task)

    def show_flags(self, flags: list[ReviewFlag]) -> None:
        self.list.clear()
        self.note.setText(f"{len(flags)} thing{'s' if len(flags) != 1 else ''} to look at")
        for flag in flags:
            item = QListWidgetItem(flag.message)
            item.setData(Qt.ItemDataRole.UserRole, flag.specimen_id)
            self.list.addItem(item)

    def _open(self, item: QListWidgetItem) -> None:
        from shellgui.qt.specimen_dialog import SpecimenDialog

        SpecimenDialog(self.context, int(item.data(Qt.ItemDataRole.UserRole)), self).exec()
