"""Catalogue: browse, search, filter, sort and edit specimens; see a specimen's identification history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import PREDICTED, VALIDATED, curation, queries
from shellgui.core.catalog.repository import SpecimenRow
from shellgui.core.errors import ShellguiError
from shellgui.qt.context import AppContext
from shellgui.qt.specimen_dialog import SpecimenDialog, confirm, status_words
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
THUMB = 56


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
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.delete_selected)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.count, 1)
        footer.addWidget(
            QLabel("Double-click a specimen to see its photos and history, edit, re-identify or delete it.")
        )
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
        return queries.list_specimens(
            self.context.catalog, text=text, status=status, max_score=max_score, identified_since=since
        )

    def _show(self, rows: list[SpecimenRow]) -> None:
        self.model.set_rows(rows)
        self.count.setText(f"{len(rows)} specimens · catalogue {self.context.catalog.display_name}")

    def _open(self, index: QModelIndex) -> None:
        row = self.model.rows[self.proxy.mapToSource(index).row()]
        SpecimenDialog(self.context, row.specimen_id, self).exec()

    def selected_ids(self) -> list[int]:
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.rows[r].specimen_id for r in sorted(rows)]

    def _menu(self, pos: QPoint) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        menu = QMenu(self)
        if len(ids) == 1:
            menu.addAction("Open…", lambda: SpecimenDialog(self.context, ids[0], self).exec())
        menu.addAction(f"Delete {len(ids)} specimen{'s' if len(ids) > 1 else ''}…", self.delete_selected)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def delete_selected(self) -> None:
        """Delete the selected specimens after confirmation; each delete is logged in the audit log."""
        ids = self.selected_ids()
        if not ids:
            return
        words = f"{len(ids)} specimens" if len(ids) > 1 else f"specimen {ids[0]}"
        if not confirm(
            self,
            "Delete specimens",
            f"Delete {words} with their photo records and identification history?\n"
            "The photo files stay on disk; the audit log keeps a full copy of what is deleted.",
        ):
            return
        by = self.context.who(self)
        if by is None:
            return
        for specimen_id in ids:
            try:
                done = curation.delete_specimen(self.context.catalog, specimen_id, by)
            except ShellguiError as exc:
                self.status.emit(f"Not deleted: {exc}")
                break
            self.status.emit(done.summary[:1].upper() + done.summary[1:] + ".")
        self.context.catalog_changed.emit()
