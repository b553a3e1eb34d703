"""The specimen dialog: its photos, collection data, identification history, measurements and change
history, and the curator's actions on it (re-identify, withdraw a check, undo the last change, remove a
photo, delete a measurement, delete the specimen)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import VALIDATED, curation, queries
from shellgui.core.catalog.decisions import Decision
from shellgui.core.catalog.queries import SpecimenDetail
from shellgui.core.catalog.repository import IdentificationRecord
from shellgui.core.errors import ShellguiError
from shellgui.core.percent import percent
from shellgui.qt.context import AppContext
from shellgui.qt.preview import PhotoView, load_preview
from shellgui.qt.similar_view import similar_to_specimen
from shellgui.qt.specimen_model import status_words
from shellgui.qt.workers import Task

FIELDS = (
    ("Catalogue no.", "catalog_number"),
    ("Locality", "locality"),
    ("Collector", "collector"),
    ("Date collected", "collected_on"),
)
THUMB = 96


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask before something is deleted; No is the default."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def make_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def fill_table(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for i, values in enumerate(rows):
        for j, value in enumerate(values):
            table.setItem(i, j, QTableWidgetItem(value))


class SpecimenDialog(QDialog):
    """One specimen in full. Each button is one core action; the dialog reloads after each.

    Signals:
        changed(): the catalogue was written to.
    """

    changed = Signal()

    def __init__(self, context: AppContext, specimen_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context, self.specimen_id = context, specimen_id
        self.detail: SpecimenDetail | None = None
        self.setWindowTitle(f"Specimen {specimen_id}")
        self.resize(1000, 700)

        self.preview = PhotoView()
        self.preview.setMinimumSize(280, 220)
        self.photos = QListWidget()
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(QSize(THUMB, THUMB))
        self.photos.setFlow(QListView.Flow.LeftToRight)
        self.photos.setWrapping(False)
        self.photos.setFixedHeight(THUMB + 44)
        self.photos.currentRowChanged.connect(self._show_photo)
        self.remove_photo_button = QPushButton("Remove photo…")
        self.remove_photo_button.setToolTip(
            "Remove the selected photo from this specimen (the file stays on disk)"
        )
        self.remove_photo_button.clicked.connect(self.remove_photo)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.preview, 1)
        left_layout.addWidget(self.photos)
        photo_bar = QHBoxLayout()
        self.photo_count = QLabel()
        photo_bar.addWidget(self.photo_count, 1)
        photo_bar.addWidget(self.remove_photo_button)
        left_layout.addLayout(photo_bar)

        form = QFormLayout()
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        for label, attr in FIELDS:
            self.fields[attr] = QLineEdit()
            form.addRow(label, self.fields[attr])
        notes = QPlainTextEdit()
        notes.setMaximumHeight(60)
        self.fields["notes"] = notes
        form.addRow("Notes", notes)

        ident_box = QGroupBox("Identification")
        ident_layout = QVBoxLayout(ident_box)
        self.current_label = QLabel()
        self.current_label.setWordWrap(True)
        self.current_label.setTextFormat(Qt.TextFormat.RichText)
        self.taxon = QLineEdit()
        self.taxon.setPlaceholderText("taxon, or “not identifiable”")
        if context.classifier is not None:
            completer = QCompleter(sorted(t.name for t in context.classifier.card.taxa), self)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.taxon.setCompleter(completer)
        self.reidentify_button = QPushButton("Re-identify")
        self.reidentify_button.setToolTip("Record this taxon as checked by you (a new history entry)")
        self.reidentify_button.clicked.connect(self.reidentify)
        self.taxon.returnPressed.connect(self.reidentify)
        self.withdraw_button = QPushButton("Withdraw check…")
        self.withdraw_button.setToolTip("The model's answer becomes current again, unchecked, for review")
        self.withdraw_button.clicked.connect(self.withdraw)
        row = QHBoxLayout()
        row.addWidget(self.taxon, 1)
        row.addWidget(self.reidentify_button)
        row.addWidget(self.withdraw_button)
        ident_layout.addWidget(self.current_label)
        ident_layout.addLayout(row)

        self.history_table = make_table(
            ["When", "Taxon", "Rank", "Confidence", "Status", "Identified by", "Note"]
        )
        self.log_table = make_table(["When", "Who", "What"])
        self.measurement_table = make_table(["When", "Measurement", "Measured by", "How"])
        self.measurement_table.itemSelectionChanged.connect(self._measurement_selected)
        self.delete_measurement_button = QPushButton("Delete measurement…")
        self.delete_measurement_button.setToolTip(
            "Delete the selected measurement (the audit log keeps it; Undo last change brings it back)"
        )
        self.delete_measurement_button.clicked.connect(self.delete_measurement)
        measurements = QWidget()
        measurement_layout = QVBoxLayout(measurements)
        measurement_layout.setContentsMargins(0, 0, 0, 0)
        measurement_layout.addWidget(self.measurement_table, 1)
        measurement_bar = QHBoxLayout()
        measurement_bar.addStretch(1)
        measurement_bar.addWidget(self.delete_measurement_button)
        measurement_layout.addLayout(measurement_bar)
        self.tabs = tabs = QTabWidget()
        tabs.addTab(self.history_table, "Identification history")
        tabs.addTab(measurements, "Measurements")
        tabs.addTab(self.log_table, "Changes (audit log)")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(form)
        right_layout.addWidget(ident_box)
        right_layout.addWidget(tabs, 1)
        self.similar = similar_to_specimen(context, specimen_id)
        self.similar.setMaximumHeight(200)  # the histories keep most of the height
        right_layout.addWidget(self.similar)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([380, 620])

        self.delete_button = QPushButton("Delete specimen…")
        self.delete_button.clicked.connect(self.delete_specimen)
        self.undo_button = QPushButton("Undo last change")
        self.undo_button.clicked.connect(self.undo_last)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.delete_button)
        bottom.addWidget(self.undo_button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        self.reload()

    # -- show --------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the specimen again (after an action here, or elsewhere)."""
        detail = queries.specimen_detail(self.context.catalog, self.specimen_id)
        if detail is None:
            self.detail = None
            self.setEnabled(False)
            self.current_label.setText("This specimen is no longer in the catalogue.")
            return
        self.detail = detail
        for attr, widget in self.fields.items():
            value = detail.fields.get(attr) or ""
            if isinstance(widget, QPlainTextEdit):
                widget.setPlainText(value)
            else:
                widget.setText(value)
        self._show_photos(detail)
        self._show_current(detail)
        fill_table(
            self.history_table,
            [
                [
                    h.created_at.strftime("%Y-%m-%d %H:%M"),
                    h.answer,
                    h.rank,
                    percent(h.score) if h.score is not None else "",
                    status_words(h.verification_status),
                    h.identified_by or f"{h.model_name or ''} {h.model_version or ''}".strip(),
                    _note(h),
                ]
                for h in detail.history
            ],
        )
        fill_table(
            self.log_table,
            [
                [
                    e.at.strftime("%Y-%m-%d %H:%M"),
                    e.by,
                    e.summary + (" (undone)" if e.undone_by_id is not None else ""),
                ]
                for e in detail.log
            ],
        )
        fill_table(
            self.measurement_table,
            [
                [m.measured_at.strftime("%Y-%m-%d %H:%M"), m.describe(), m.measured_by or "", m.how]
                for m in detail.measurements
            ],
        )
        self.tabs.setTabText(1, f"Measurements ({len(detail.measurements)})")
        self._measurement_selected()
        self.undo_button.setEnabled(self._undoable() is not None)

    def _measurement_selected(self) -> None:
        self.delete_measurement_button.setEnabled(self._selected_measurement() is not None)

    def _selected_measurement(self) -> queries.MeasurementRecord | None:
        rows = self.measurement_table.selectionModel().selectedRows()
        measurements = self.detail.measurements if self.detail else ()
        return measurements[rows[0].row()] if rows and rows[0].row() < len(measurements) else None

    def _show_photos(self, detail: SpecimenDetail) -> None:
        self.photos.clear()
        for photo in detail.photos:
            item = QListWidgetItem(Path(photo.path).name)
            if photo.thumbnail:
                item.setIcon(QIcon(QPixmap.fromImage(QImage.fromData(photo.thumbnail))))
            item.setToolTip(f"{photo.path}\n{photo.width} × {photo.height}")
            item.setData(Qt.ItemDataRole.UserRole, photo.id)
            self.photos.addItem(item)
        count = len(detail.photos)
        self.photo_count.setText(f"{count} photo{'s' if count != 1 else ''}")
        self.remove_photo_button.setEnabled(count > 0)
        if count:
            self.photos.setCurrentRow(0)
        else:
            self.preview.set_image(None)

    def _show_photo(self, row: int) -> None:
        if self.detail is None or not 0 <= row < len(self.detail.photos):
            return
        path = self.detail.photos[row].path
        if not Path(path).exists():
            thumb = self.detail.photos[row].thumbnail
            self.preview.set_image(QImage.fromData(thumb) if thumb else None)
            return
        task = Task(load_preview, path)
        task.signals.result.connect(lambda image, r=row: self._preview_ready(r, image))
        self.context.keep(task)

    def _preview_ready(self, row: int, image: QImage) -> None:
        if self.photos.currentRow() == row:
            self.preview.set_image(image)

    def _show_current(self, detail: SpecimenDetail) -> None:
        current = detail.current
        if current is None:
            text = "Not identified yet."
        else:
            name = current.answer
            who = (
                f"checked by {current.identified_by}"
                if current.verification_status == VALIDATED
                else "model answer, unchecked"
            )
            text = f"Current: <b>{name}</b> ({current.rank}) — {who}, {current.created_at:%Y-%m-%d %H:%M}"
        self.current_label.setText(text)
        self.withdraw_button.setEnabled(current is not None and current.verification_status == VALIDATED)

    def _undoable(self) -> int | None:
        """The newest action on this specimen that can still be undone."""
        if self.detail is None:
            return None
        for entry in self.detail.log:
            if entry.action == curation.UNDO:
                continue
            if entry.undone_by_id is None:
                return entry.id if entry.action in curation.UNDOABLE else None
        return None

    # -- act ---------------------------------------------------------------------------------------
    def _run(self, action, *args) -> bool:  # type: ignore[no-untyped-def]
        """Run one core action with the user's name; report, reload and tell the window."""
        by = self.context.who(self)
        if by is None:
            return False
        try:
            done = action(self.context.catalog, *args, by)
        except ShellguiError as exc:
            QMessageBox.warning(self, "Not done", str(exc))
            return False
        self.setToolTip(done.summary)
        self.changed.emit()
        self.context.catalog_changed.emit()
        self.reload()
        return True

    def save(self) -> None:
        values = {
            k: (w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()).strip() or None
            for k, w in self.fields.items()
        }
        if self._run(curation.edit_specimen, self.specimen_id, values):
            self.accept()

    def reidentify(self) -> None:
        try:
            decision = Decision.named(
                self.taxon.text(),
                listed=self.detail.current.top_k if self.detail and self.detail.current else (),
            )
        except ShellguiError as exc:
            QMessageBox.information(self, "Re-identify", str(exc))
            return
        if self._run(curation.decide, self.specimen_id, decision):
            self.taxon.clear()

    def withdraw(self) -> None:
        if confirm(
            self,
            "Withdraw the check",
            "Withdraw the checked identification? The model's answer becomes current again, unchecked, "
            "and the specimen returns to the review queue. The history keeps both.",
        ):
            self._run(curation.withdraw, self.specimen_id)

    def undo_last(self) -> None:
        action_id = self._undoable()
        if action_id is not None:
            self._run(lambda catalog, by: curation.undo(catalog, action_id, by))
            if self.detail is None:
                self.accept()

    def remove_photo(self) -> None:
        item = self.photos.currentItem()
        if item is None:
            return
        if confirm(
            self,
            "Remove photo",
            f"Remove {item.toolTip().splitlines()[0]} from specimen {self.specimen_id}?\n"
            "The file stays on disk; the audit log keeps a record of the removal.",
        ):
            self._run(curation.delete_photo, int(item.data(Qt.ItemDataRole.UserRole)))

    def delete_measurement(self) -> None:
        measurement = self._selected_measurement()
        if measurement is not None and confirm(
            self,
            "Delete measurement",
            f"Delete the {measurement.describe()} measured by {measurement.measured_by or 'someone'}?\n"
            "The audit log keeps it; Undo last change brings it back.",
        ):
            self._run(curation.delete_measurement, measurement.id)

    def delete_specimen(self) -> None:
        detail = self.detail
        if detail is None:
            return
        name = detail.fields.get("catalog_number") or f"specimen {self.specimen_id}"
        if confirm(
            self,
            "Delete specimen",
            f"Delete {name} with its {len(detail.photos)} photo record(s) and {len(detail.history)} "
            "identification(s)?\nThe photo files stay on disk; the audit log keeps a full copy of what "
            "is deleted.",
        ) and self._run(curation.delete_specimen, self.specimen_id):
            self.accept()


def _note(entry: IdentificationRecord) -> str:
    """Remarks, and who entered the line when that is not the identifier (a withdrawal, an undo)."""
    remarks = "" if entry.not_identifiable else entry.remarks or ""
    who = entry.decided_by
    if who and who != entry.identified_by and who not in remarks:
        return f"{remarks}; entered by {who}" if remarks else f"entered by {who}"
    return remarks
