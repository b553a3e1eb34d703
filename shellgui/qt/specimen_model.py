"""The catalogue table's Qt model: pages of rows fetched lazily from SQL, thumbnails for the rows on screen.

Filtering, sorting and counting happen in the catalogue (:mod:`shellgui.core.catalog.browse`), on the query
runner's threads; the GUI thread only inserts finished pages. Every query carries the model's generation
number, and an answer to an older generation (a search the user has already typed past) is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from shellgui.core.catalog import PREDICTED, VALIDATED, Catalog, queries
from shellgui.core.catalog.browse import SpecimenFilter, SpecimenRow, SpecimenSort
from shellgui.core.percent import percent
from shellgui.qt.workers import QueryRunner

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
PAGE = 200
#: Decoded thumbnails kept in memory (a few screens' worth).
THUMB_CACHE = 2000


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", status or "")


def first_page(
    catalog: Catalog, where: SpecimenFilter, sort: SpecimenSort, total: int | None, generation: int
) -> tuple[int, int, list[SpecimenRow]]:
    """Worker side: the count (unless already known) and the first page."""
    counted, rows = queries.catalogue_page(catalog, where, sort, 0, PAGE, count=total is None)
    return generation, counted if counted is not None else total or 0, rows


def next_page(
    catalog: Catalog, where: SpecimenFilter, sort: SpecimenSort, offset: int, generation: int
) -> tuple[int, int, list[SpecimenRow]]:
    return generation, offset, queries.catalogue_page(catalog, where, sort, offset, PAGE)[1]


def thumbnail_images(
    catalog: Catalog, ids: list[int], generation: int
) -> tuple[int, list[int], dict[int, QImage]]:
    """Worker side: thumbnails decoded and scaled to QImages (QImage, unlike QPixmap, is thread-safe)."""
    images = {}
    for specimen_id, data in queries.catalogue_thumbnails(catalog, ids).items():
        image = QImage.fromData(data)
        if not image.isNull():
            images[specimen_id] = image.scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
    return generation, ids, images


class SpecimenTableModel(QAbstractTableModel):
    """Rows are :class:`SpecimenRow` snapshots, fetched a page at a time as the view scrolls.

    Signals:
        loading(bool): a query started / the last one finished.
        counted(int): how many specimens match the current filter.
        failed(str): a query failed (one line).
    """

    loading = Signal(bool)
    counted = Signal(int)
    failed = Signal(str)

    def __init__(self, runner: QueryRunner, catalog: Catalog) -> None:
        super().__init__()
        self.runner, self.catalog = runner, catalog
        self.rows: list[SpecimenRow] = []
        self.total = 0
        self.where = SpecimenFilter()
        self.sort_by = SpecimenSort()
        self.generation = 0
        self.busy = False
        self._row_of: dict[int, int] = {}
        self._thumbs: OrderedDict[int, QPixmap | None] = OrderedDict()
        self._wanted: set[int] = set()
        self._asked: set[int] = set()
        self._thumb_timer = QTimer(self, singleShot=True, interval=0)
        self._thumb_timer.timeout.connect(self._fetch_thumbnails)

    # -- queries ---------------------------------------------------------------------------------------
    def reload(self, where: SpecimenFilter | None = None, catalog: Catalog | None = None) -> int:
        """Query again (a new filter, a new catalogue, or fresh data); returns the new generation."""
        if catalog is not None and catalog is not self.catalog:
            self.catalog = catalog
            self._thumbs.clear()
        if where is not None:
            self.where = where
        return self._start(recount=True)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_by = SpecimenSort(
            COLUMNS[column][1] or "id" if 0 <= column < len(COLUMNS) else "id",
            order == Qt.SortOrder.DescendingOrder,
        )
        self._start(recount=False)

    def _start(self, recount: bool) -> int:
        self.generation += 1
        self.runner.drop_queued()
        self._set_busy(True)
        self.runner.submit(
            first_page,
            self.catalog,
            self.where,
            self.sort_by,
            None if recount else self.total,
            self.generation,
            on_result=self._first_page_ready,
            on_error=partial(self._failed, self.generation),
        )
        return self.generation

    def _first_page_ready(self, result: tuple[int, int, list[SpecimenRow]]) -> None:
        generation, total, rows = result
        if generation != self.generation:
            return  # an older query answered late
        self.beginResetModel()
        self.rows, self.total = rows, total
        self._row_of = {r.specimen_id: i for i, r in enumerate(rows)}
        self._wanted.clear()
        self._asked.clear()
        self.endResetModel()
        self.counted.emit(total)
        self._set_busy(False)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and not self.busy and len(self.rows) < self.total

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:
        if not self.canFetchMore(parent):
            return
        self._set_busy(True)
        self.runner.submit(
            next_page,
            self.catalog,
            self.where,
            self.sort_by,
            len(self.rows),
            self.generation,
            on_result=self._next_page_ready,
            on_error=partial(self._failed, self.generation),
        )

    def _next_page_ready(self, result: tuple[int, int, list[SpecimenRow]]) -> None:
        generation, offset, rows = result
        if generation != self.generation or offset != len(self.rows):
            return
        if rows:
            self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
            self.rows.extend(rows)
            self._row_of.update({r.specimen_id: offset + i for i, r in enumerate(rows)})
            self.endInsertRows()
        else:  # the catalogue shrank meanwhile
            self.total = len(self.rows)
        self._set_busy(False)

    def _failed(self, generation: int, message: str) -> None:
        if generation == self.generation:
            self._set_busy(False)
            self.failed.emit(message)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.loading.emit(busy)

    # -- thumbnails ------------------------------------------------------------------------------------
    def _thumb(self, row: SpecimenRow) -> QPixmap | None:
        if row.specimen_id in self._thumbs:
            self._thumbs.move_to_end(row.specimen_id)
            return self._thumbs[row.specimen_id]
        if row.specimen_id not in self._asked:
            self._wanted.add(row.specimen_id)
            self._thumb_timer.start()
        return None

    def _fetch_thumbnails(self) -> None:
        ids = sorted(self._wanted)
        self._wanted.clear()
        self._asked.update(ids)
        if ids:
            self.runner.submit(
                thumbnail_images,
                self.catalog,
                ids,
                self.generation,
                on_result=self._thumbnails_ready,
                on_error=self._thumbnail_failed,
            )

    def _thumbnail_failed(self, message: str) -> None:
        """A thumbnail that cannot be read is not worth a message; the row shows none."""

    def _thumbnails_ready(self, result: tuple[int, list[int], dict[int, QImage]]) -> None:
        generation, ids, images = result
        if generation != self.generation:
            return
        rows = []
        for specimen_id in ids:
            image = images.get(specimen_id)
            self._thumbs[specimen_id] = QPixmap.fromImage(image) if image is not None else None
            if specimen_id in self._row_of:
                rows.append(self._row_of[specimen_id])
        while len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        if rows:
            self.dataChanged.emit(
                self.index(min(rows), 0), self.index(max(rows), 0), [Qt.ItemDataRole.DecorationRole]
            )

    # -- Qt model API ----------------------------------------------------------------------------------
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
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        attr = COLUMNS[index.column()][1]
        if index.column() == 0:
            if role == Qt.ItemDataRole.DecorationRole:
                return self._thumb(row)
            if role == Qt.ItemDataRole.SizeHintRole:
                return QSize(THUMB + 4, THUMB + 4)
        if attr is None:
            return None
        value = getattr(row, attr)
        if role == Qt.ItemDataRole.DisplayRole:
            if attr == "score":
                return percent(value) if value is not None else ""
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

    def specimen_at(self, row: int) -> SpecimenRow:
        return self.rows[row]
