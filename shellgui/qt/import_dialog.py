"""File ▸ Import records…: the column mapping (editable), a preview of the mapped records and the dry run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog.database import Catalog
from shellgui.core.importing import ImportPlan, Table, apply_import, plan_import, read_records
from shellgui.core.importing.tables import TERMS
from shellgui.qt.context import AppContext
from shellgui.qt.workers import Task

NOT_READ = "(not read)"
PREVIEW_ROWS = 20


def read_and_plan(catalog: Catalog, path: str, mapping: dict[str, str] | None) -> tuple[Table, ImportPlan]:
    """Worker: read the file with a mapping (``None``: guessed) and work out what importing would do."""
    table = read_records(path, mapping=mapping)
    return table, plan_import(catalog, table)


def describe_plan(plan: ImportPlan) -> str:
    """The dry run as text: totals, then every change, conflict and skipped record."""
    lines = [
        f"{plan.new} new specimens, {plan.updated} updated, {plan.unchanged} unchanged, "
        f"{len(plan.conflicts)} conflicts (not imported), {len(plan.skipped)} records skipped",
        "",
    ]
    lines += [c.summary() for c in plan.changes if c.changes_something]
    lines += [f"{c.label}: {note}" for c in plan.changes for note in c.notes]
    lines += [f"CONFLICT {text}" for text in plan.conflicts]
    lines += [f"SKIPPED {text}" for text in plan.skipped]
    return "\n".join(lines)


class ImportDialog(QDialog):
    """Shows how the file's columns map to Darwin Core terms (change a column to re-check), the first
    records as they will be read, and the dry run; Import writes exactly that plan."""

    imported = Signal(str)

    def __init__(self, context: AppContext, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context, self.path = context, path
        self.table: Table | None = None
        self.plan: ImportPlan | None = None
        self.setWindowTitle(f"Import records from {path}")
        self.resize(900, 640)
        self.mapping = QTableWidget(len(TERMS), 2)
        self.mapping.setHorizontalHeaderLabels(["Darwin Core term", "read from column"])
        self.mapping.horizontalHeader().setStretchLastSection(True)
        self.mapping.verticalHeader().hide()
        self.preview = QTableWidget()
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.message = QLabel("Reading…")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self._import)
        self.buttons.rejected.connect(self.reject)
        splitter = QSplitter()
        splitter.addWidget(self.mapping)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.preview)
        right.addWidget(self.report)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([400, 500])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._check(None)

    def _check(self, mapping: dict[str, str] | None) -> None:
        self.import_button.setEnabled(False)
        self.message.setText("Checking what the import would change…")
        task = Task(read_and_plan, self.context.catalog, self.path, mapping)
        task.signals.result.connect(self._show)
        task.signals.error.connect(self._failed)
        self.context.keep(task)

    def _failed(self, message: str) -> None:
        self.message.setText(f"Cannot import: {message}")

    def _show(self, result: tuple[Table, ImportPlan]) -> None:
        self.table, self.plan = result
        self._show_mapping(self.table)
        self._show_preview(self.table)
        self.report.setPlainText(describe_plan(self.plan))
        self.message.setText(
            f"{len(self.table.records)} records. Change a column on the left to re-check; "
            "Import writes what is listed (conflicts are left out)."
        )
        self.import_button.setEnabled(True)

    def _show_mapping(self, table: Table) -> None:
        """Build the column choosers once; later checks only show the mapping they used."""
        archive = self.path.lower().endswith(".zip")
        for row, term in enumerate(TERMS):
            box = self.mapping.cellWidget(row, 1)
            if not isinstance(box, QComboBox):
                self.mapping.setItem(row, 0, QTableWidgetItem(term))
                box = QComboBox()
                box.addItems([NOT_READ, *table.headers])
                box.setEnabled(not archive)  # an archive's meta.xml says what its columns are
                box.currentTextChanged.connect(lambda _text: self._check(self.current_mapping()))
                self.mapping.setCellWidget(row, 1, box)
            box.blockSignals(True)
            box.setCurrentText(table.mapping.get(term, NOT_READ))
            box.blockSignals(False)
        self.mapping.resizeColumnToContents(0)

    def current_mapping(self) -> dict[str, str]:
        """The mapping as the combo boxes show it."""
        mapping = {}
        for row, term in enumerate(TERMS):
            box = self.mapping.cellWidget(row, 1)
            if isinstance(box, QComboBox) and box.currentText() != NOT_READ:
                mapping[term] = box.currentText()
        return mapping

    def _show_preview(self, table: Table) -> None:
        terms = list(table.mapping)
        self.preview.clear()
        self.preview.setColumnCount(len(terms))
        self.preview.setHorizontalHeaderLabels(terms)
        records = table.records[:PREVIEW_ROWS]
        self.preview.setRowCount(len(records))
        for r, record in enumerate(records):
            for c, term in enumerate(terms):
                self.preview.setItem(r, c, QTableWidgetItem(record.terms.get(term, "")))

    def _import(self) -> None:
        if self.plan is None:
            return
        by = self.context.who(self)
        if by is None:
            self.message.setText("Not imported: an import needs your name.")
            return
        self.import_button.setEnabled(False)
        plan = self.plan
        task = Task(apply_import, self.context.catalog, plan, by)
        task.signals.result.connect(lambda outcomes: self._done(plan, len(outcomes)))
        task.signals.error.connect(self._failed)
        self.context.keep(task)

    def _done(self, plan: ImportPlan, written: int) -> None:
        conflicts = f"; {len(plan.conflicts)} conflicts not imported" if plan.conflicts else ""
        self.imported.emit(f"Imported {written} specimens from {self.path}{conflicts}")
        self.context.catalog_changed.emit()
        self.accept()
