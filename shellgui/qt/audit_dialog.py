"""The audit log: who recorded, checked, corrected, edited, deleted or undid what, and when."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from shellgui.core.catalog import queries
from shellgui.qt.context import AppContext
from shellgui.qt.specimen_dialog import fill_table, make_table


class AuditLogDialog(QDialog):
    """The newest actions first; a deleted specimen's line says what it held (the log keeps a full copy)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit log")
        self.resize(900, 520)
        entries = queries.audit_log(context.catalog)
        self.table = make_table(["When", "Who", "Action", "Specimen", "What"])
        fill_table(
            self.table,
            [
                [
                    e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.by,
                    e.action + (" (undone)" if e.undone_by_id is not None else ""),
                    str(e.specimen_id or ""),
                    e.summary,
                ]
                for e in entries
            ],
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(entries)} most recent actions on {context.catalog.display_name}"))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
