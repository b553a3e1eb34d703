"""The specimen dialog: edit a specimen's collection data and see its identification history."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import VALIDATED, curation, queries
from shellgui.core.errors import ShellguiError
from shellgui.qt.context import AppContext
from shellgui.qt.similar_view import similar_to_specimen
from shellgui.qt.specimen_model import status_words


class SpecimenDialog(QDialog):
    """Edit a specimen's collection data and see its identification history."""

    def __init__(self, context: AppContext, specimen_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context, self.specimen_id = context, specimen_id
        self.setWindowTitle(f"Specimen {specimen_id}")
        self.resize(760, 520)
        detail = queries.specimen_detail(context.catalog, specimen_id)
        if detail is None:
            raise LookupError(f"specimen {specimen_id} is no longer in the catalogue")
        history = detail.history
        form = QFormLayout()
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        for label, attr in (
            ("Catalogue no.", "catalog_number"),
            ("Locality", "locality"),
            ("Collector", "collector"),
            ("Date collected", "collected_on"),
        ):
            edit = QLineEdit(detail.fields.get(attr) or "")
            self.fields[attr] = edit
            form.addRow(label, edit)
        notes = QPlainTextEdit(detail.fields.get("notes") or "")
        notes.setMaximumHeight(70)
        self.fields["notes"] = notes
        form.addRow("Notes", notes)
        table = QTableWidget(len(history), 6)
        table.setHorizontalHeaderLabels(["When", "Taxon", "Rank", "Confidence", "Status", "By / model"])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for i, h in enumerate(history):
            who = (
                h.identified_by if h.verification_status == VALIDATED else f"{h.model_name} {h.model_version}"
            )
            values = [
                h.created_at.strftime("%Y-%m-%d %H:%M"),
                h.taxon or (h.remarks or "uncertain"),
                h.rank,
                f"{h.score:.0%}" if h.score is not None else "",
                status_words(h.verification_status),
                who or "",
            ]
            for j, v in enumerate(values):
                table.setItem(i, j, QTableWidgetItem(v))
        table.setWordWrap(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Identification history (oldest first)"))
        layout.addWidget(table)
        self.similar = similar_to_specimen(context, specimen_id)
        layout.addWidget(self.similar)
        layout.addWidget(buttons)
        self.history_table = table

    def save(self) -> None:
        values = {
            k: (w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()).strip() or None
            for k, w in self.fields.items()
        }
        by = self.context.who(self)
        if by is None:
            return
        try:
            curation.edit_specimen(self.context.catalog, self.specimen_id, values, by)
        except ShellguiError as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return
        self.context.catalog_changed.emit()
        self.accept()
