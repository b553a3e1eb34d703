"""Catalogue: browse, search, filter, sort and edit specimens; see a specimen's identification history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import PREDICTED, VALIDATED
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.repository import SpecimenRow
from shellgui.qt.context import AppContext
from shellgui.qt.similar_view import similar_to_specimen
from shellgui.qt.workers import Task

COLUMNS = [
    ("", None),
    ("Catalogue no.", "catalog_number"),
    ("Taxon", "taxon"),
    ("Rank", "rank"),
    ("Confidence", "score"),
    ("Status", "verification_status"),
    ("Locality", "locality"),
    ("Collector", "collector"),
    ("Collected", "collected_on"),
    ("Photos", "photo_count"),
    ("Identified", "identified_at"),
]
STATUS_WORDS = {PREDICTED: "model (unchecked)", VALIDATED: "checked by a person"}
THUMB = 56


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", status or "")


class SpecimenTableModel(QAbstractTableModel):
    """Rows are :class:`SpecimenRow` snapshots; thumbnails are decoded once and cached."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[SpecimenRow] = []
        self._thumbs: dict[int, QPixmap] = {}

    def set_rows(self, rows: list[SpecimenRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self._thumbs.clear()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        row = self.rows[index.row()]
        attr = COLUMNS[index.column()][1]
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            return self._thumb(row)
        if role == Qt.ItemDataRole.SizeHintRole and index.column() == 0:
            return QSize(THUMB + 4, THUMB + 4)
        if attr is None:
            return None
        value = getattr(row, attr)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return value if value is not None else ""
        if role == Qt.ItemDataRole.DisplayRole:
            if attr == "score":
                return f"{value:.0%}" if value is not None else ""
            if attr == "verification_status":
                return status_words(value)
            if attr == "taxon" and value is None and row.rank:
                return "uncertain" if row.rank == "uncertain" else "not identifiable"
            if attr == "identified_at" and value is not None:
                return value.strftime("%Y-%m-%d %H:%M")
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ToolTipRole and row.photo_path:
            return row.photo_path
        return None

    def _thumb(self, row: SpecimenRow) -> QPixmap | None:
        if row.thumbnail is None:
            return None
        if row.specimen_id not in self._thumbs:
            image = QImage.fromData(row.thumbnail)
            self._thumbs[row.specimen_id] = QPixmap.fromImage(image).scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        return self._thumbs[row.specimen_id]


class SpecimenDialog(QDialog):
    """Edit a specimen's collection data and see its identification history."""

    def __init__(self, context: AppContext, specimen_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context, self.specimen_id = context, specimen_id
        self.setWindowTitle(f"Specimen {specimen_id}")
        self.resize(760, 520)
        with context.catalog.session() as session:
            row = next(r for r in repo.list_specimens(session) if r.specimen_id == specimen_id)
            history = repo.history(session, specimen_id)
        form = QFormLayout()
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        for label, attr in (
            ("Catalogue no.", "catalog_number"),
            ("Locality", "locality"),
            ("Collector", "collector"),
            ("Date collected", "collected_on"),
        ):
            edit = QLineEdit(getattr(row, attr) or "")
            self.fields[attr] = edit
            form.addRow(label, edit)
        notes = QPlainTextEdit(row.notes or "")
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
        with self.context.catalog.session() as session, session.begin():
            repo.update_specimen(session, self.specimen_id, **values)
        self.context.catalog_changed.emit()
        self.accept()


class CataloguePanel(QWidget):
    """The catalogue table with search and filters; double-click a row to edit it and see its history."""

    status = Signal(str)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search taxon, catalogue number, locality, collector, notes…")
        self.search.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItem("Any status", None)
        self.status_filter.addItem("Unchecked (model)", PREDICTED)
        self.status_filter.addItem("Checked by a person", VALIDATED)
        self.max_conf = QDoubleSpinBox()
        self.max_conf.setRange(0, 100)
        self.max_conf.setDecimals(0)
        self.max_conf.setValue(100)
        self.max_conf.setSuffix(" %")
        self.max_conf.setPrefix("confidence ≤ ")
        self.since = QDateEdit()
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.since.setMinimumDate(QDate(2000, 1, 1))
        self.since.setSpecialValueText("identified: any date")
        self.since.setDate(self.since.minimumDate())
        self.since.setToolTip("Only specimens identified on or after this date")
        self.count = QLabel()
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.max_conf)
        bar.addWidget(self.since)
        bar.addWidget(refresh)
        self.model = SpecimenTableModel()
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.doubleClicked.connect(self._open)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.count, 1)
        footer.addWidget(QLabel("Double-click a specimen to edit it and see its identification history."))
        layout.addLayout(footer)
        self.search.textChanged.connect(self.refresh)
        self.status_filter.currentIndexChanged.connect(self.refresh)
        self.max_conf.valueChanged.connect(self.refresh)
        self.since.dateChanged.connect(self.refresh)
        context.catalog_changed.connect(self.refresh)

    def refresh(self) -> None:
        text, status = self.search.text().strip(), self.status_filter.currentData()
        max_score = self.max_conf.value() / 100 if self.max_conf.value() < 100 else None
        since = None
        if self.since.date() != self.since.minimumDate():
            since = datetime.combine(cast(date, self.since.date().toPython()), datetime.min.time())
        task = Task(self._query, text, status, max_score, since)
        task.signals.result.connect(self._show)
        task.signals.error.connect(self.status.emit)
        self.context.keep(task)

    def _query(
        self, text: str, status: str | None, max_score: float | None, since: datetime | None
    ) -> list[SpecimenRow]:
        with self.context.catalog.session() as session:
            return repo.list_specimens(
                session, text=text, status=status, max_score=max_score, identified_since=since
            )

    def _show(self, rows: list[SpecimenRow]) -> None:
        self.model.set_rows(rows)
        self.count.setText(f"{len(rows)} specimens · catalogue {self.context.catalog.display_name}")

    def _open(self, index: QModelIndex) -> None:
        row = self.model.rows[self.proxy.mapToSource(index).row()]
        SpecimenDialog(self.context, row.specimen_id, self).exec()
