"""Review: unchecked machine identifications, lowest confidence first, with a keyboard flow.

Enter accepts the model's answer, 1-9 picks an alternative, Up/Down move, N marks "not identifiable",
S skips. Every decision is stored as ``ValidatedByHuman``, so ``shellgui-train --from-catalog`` learns
from it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.repository import IdentificationRecord, SpecimenRow
from shellgui.qt.context import AppContext
from shellgui.qt.preview import PhotoView, load_preview
from shellgui.qt.workers import Task

HELP = (
    "<b>Enter</b> accept · <b>1–9</b> pick alternative · <b>↑/↓</b> move · "
    "<b>N</b> not identifiable · <b>S</b> skip"
)


class ReviewPanel(QWidget):
    """The review queue. ``load(run_id)`` fills it (0 or ``None``: every unchecked identification)."""

    status = Signal(str)
    reviewed = Signal(int)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.rows: list[SpecimenRow] = []
        self.current: IdentificationRecord | None = None
        self.run_id: int | None = None
        self.queue = QTableWidget(0, 3)
        self.queue.setHorizontalHeaderLabels(["Photo", "Model says", "Confidence"])
        self.queue.verticalHeader().hide()
        self.queue.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.queue.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.queue.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.queue.setWordWrap(False)
        self.queue.setMinimumWidth(420)
        self.queue.currentCellChanged.connect(lambda row, *_: self._show(row))
        self.preview = PhotoView()
        self.alternatives = QListWidget()
        self.alternatives.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.alternatives.setMaximumHeight(200)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.help = QLabel(HELP)
        self.help.setTextFormat(Qt.TextFormat.RichText)
        self.progress = QLabel()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.preview, 1)
        right_layout.addWidget(QLabel("Alternatives (press the number):"))
        right_layout.addWidget(self.alternatives)
        splitter = QSplitter()
        splitter.addWidget(self.queue)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([460, 900])
        top = QHBoxLayout()
        top.addWidget(self.help, 1)
        top.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._shortcuts()

    def _shortcuts(self) -> None:
        def bind(key: str | Qt.Key, slot) -> None:  # type: ignore[no-untyped-def]
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        bind(Qt.Key.Key_Return, self.accept_current)
        bind(Qt.Key.Key_Enter, self.accept_current)
        bind("N", self.not_identifiable)
        bind("S", self.skip)
        for n in range(1, 10):
            bind(str(n), lambda n=n: self.pick(n))

    # -- queue -------------------------------------------------------------------------------------
    def load(self, run_id: int | None = None) -> None:
        self.run_id = run_id or None
        with self.context.catalog.session() as session:
            self.rows = repo.review_queue(session, run_id=self.run_id)
        self.queue.setRowCount(0)
        for i, row in enumerate(self.rows):
            self.queue.insertRow(i)
            name = QTableWidgetItem(Path(row.photo_path or "").name)
            name.setToolTip(row.photo_path or "")
            self.queue.setItem(i, 0, name)
            self.queue.setItem(i, 1, QTableWidgetItem(row.taxon or "uncertain"))
            self.queue.setItem(i, 2, QTableWidgetItem(f"{row.score:.0%}" if row.score is not None else ""))
        self._update_progress()
        if self.rows:
            self.queue.setCurrentCell(0, 0)
            self.queue.setFocus()
        else:
            self.title.setText("Nothing to review: every identification has been checked.")
            self.alternatives.clear()
            self.preview.set_image(None)

    def _update_progress(self) -> None:
        scope = f"run {self.run_id}" if self.run_id else "whole catalogue"
        self.progress.setText(f"{len(self.rows)} to review ({scope})")

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        item = self.rows[row]
        with self.context.catalog.session() as session:
            self.current = repo.current_identification(session, item.specimen_id)
        taxon = item.taxon or "uncertain — possibly not a taxon this model knows"
        score = f"{item.score:.0%}" if item.score is not None else ""
        self.title.setText(f"<b>{taxon}</b> {score} · specimen {item.specimen_id}")
        self.alternatives.clear()
        for i, alt in enumerate((self.current.top_k if self.current else ())[:9]):
            self.alternatives.addItem(f"{i + 1}  {alt['name']}  ({float(alt['probability']):.0%})")  # type: ignore[arg-type]
        self.preview.set_image(None)
        if item.photo_path:
            task = Task(load_preview, item.photo_path)
            task.signals.result.connect(lambda image, sid=item.specimen_id: self._preview_ready(sid, image))
            self.context.keep(task)

    def _preview_ready(self, specimen_id: int, image: object) -> None:
        row = self.queue.currentRow()
        if 0 <= row < len(self.rows) and self.rows[row].specimen_id == specimen_id:
            self.preview.set_image(image)  # type: ignore[arg-type]

    # -- decisions ---------------------------------------------------------------------------------
    def _decide(self, taxon: str | None, rank: str, score: float | None, remarks: str | None = None) -> None:
        row = self.queue.currentRow()
        if not 0 <= row < len(self.rows):
            return
        specimen_id = self.rows[row].specimen_id
        try:
            with self.context.catalog.session() as session, session.begin():
                if taxon is None:
                    repo.mark_not_identifiable(session, specimen_id, by=self.context.user_name)
                else:
                    repo.validate_identification(
                        session,
                        specimen_id,
                        taxon,
                        rank=rank,
                        by=self.context.user_name,
                        score=score,
                        remarks=remarks,
                    )
        except Exception as exc:
            from shellgui.qt.workers import describe

            self.status.emit(f"Not saved: {describe(exc)}")
            return
        self.status.emit(f"Specimen {specimen_id}: {taxon or 'not identifiable'} (checked)")
        del self.rows[row]
        self.queue.removeRow(row)
        self._update_progress()
        self.reviewed.emit(specimen_id)
        if self.rows:
            self.queue.setCurrentCell(min(row, len(self.rows) - 1), 0)
            self._show(self.queue.currentRow())
        else:
            self.load(self.run_id)

    def accept_current(self) -> None:
        """Enter: the model's answer (its best guess when it was uncertain)."""
        if self.current is None or not self.rows:
            return
        if self.current.taxon:
            self._decide(self.current.taxon, self.current.rank, self.current.score)
        else:
            self.pick(1)

    def pick(self, n: int) -> None:
        if self.current is None or not 0 < n <= len(self.current.top_k):
            return
        alt = self.current.top_k[n - 1]
        self._decide(str(alt["name"]), str(alt.get("rank", "species")), float(alt["probability"]))  # type: ignore[arg-type]

    def not_identifiable(self) -> None:
        self._decide(None, "none", None)

    def skip(self) -> None:
        row = self.queue.currentRow()
        if row + 1 < len(self.rows):
            self.queue.setCurrentCell(row + 1, 0)
