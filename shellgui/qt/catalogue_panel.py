"""Catalogue: browse, search, filter and sort specimens a page at a time; open one to edit it."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from PySide6.QtCore import QDate, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import PREDICTED, VALIDATED
from shellgui.core.catalog.browse import SpecimenFilter
from shellgui.qt.context import AppContext
from shellgui.qt.specimen_dialog import SpecimenDialog
from shellgui.qt.specimen_model import THUMB, SpecimenTableModel
from shellgui.qt.workers import describe

#: Typing pauses this long before a search starts (each keystroke restarts the wait).
SEARCH_DELAY_MS = 150


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
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # an indeterminate "working" bar
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.max_conf)
        bar.addWidget(self.since)
        bar.addWidget(refresh)
        self.model = SpecimenTableModel(context.queries, context.catalog)
        self.model.loading.connect(self._loading)
        self.model.counted.connect(self._counted)
        self.model.failed.connect(self._failed)
        self.table = QTableView()
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.DescendingOrder)  # newest first until a column is chosen
        header.sortIndicatorChanged.connect(self.model.sort)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.table.verticalHeader().hide()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((THUMB + 8, 110, 220, 70, 90, 150, 200, 120, 90, 60, 130)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.doubleClicked.connect(self._open)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.busy)
        footer.addWidget(self.count, 1)
        footer.addWidget(QLabel("Double-click a specimen to edit it and see its identification history."))
        layout.addLayout(footer)
        self.search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self.refresh)
        self.status_filter.currentIndexChanged.connect(self.refresh)
        self.max_conf.valueChanged.connect(self.refresh)
        self.since.dateChanged.connect(self.refresh)
        context.catalog_changed.connect(self._catalog_changed)
        self.stale = True

    def current_filter(self) -> SpecimenFilter:
        max_score = self.max_conf.value() / 100 if self.max_conf.value() < 100 else None
        since = None
        if self.since.date() != self.since.minimumDate():
            since = datetime.combine(cast(date, self.since.date().toPython()), datetime.min.time())
        return SpecimenFilter(
            text=self.search.text().strip(),
            status=self.status_filter.currentData(),
            max_score=max_score,
            identified_since=since,
        )

    def refresh(self) -> None:
        """Query again with the current filters (off the GUI thread; an older query's answer is dropped)."""
        self.search_timer.stop()
        self.stale = False
        self.model.reload(self.current_filter(), self.context.catalog)

    def _search_changed(self, text: str) -> None:
        if text.strip():
            self.search_timer.start()  # wait for a pause in typing
        else:
            self.refresh()  # cleared: show everything at once

    def refresh_if_stale(self) -> None:
        if self.stale:
            self.refresh()

    def _catalog_changed(self) -> None:
        self.stale = True
        if self.isVisible():
            self.refresh()

    def _loading(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        if busy and not self.model.rows:
            self.count.setText("Loading…")

    def _counted(self, total: int) -> None:
        self.count.setText(f"{total:,} specimens · catalogue {self.context.catalog.display_name}")

    def _failed(self, message: str) -> None:
        self.count.setText(f"Could not read the catalogue: {message}")
        self.status.emit(message)

    def _open(self, index: QModelIndex) -> None:
        row = self.model.specimen_at(index.row())
        try:
            dialog = SpecimenDialog(self.context, row.specimen_id, self)
        except Exception as exc:  # gone meanwhile, or the catalogue is unreachable
            QMessageBox.warning(self, "Specimen", describe(exc))
            return
        dialog.exec()
