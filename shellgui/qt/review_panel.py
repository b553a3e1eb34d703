"""Review: unchecked machine identifications, lowest confidence first, with a keyboard flow.

Enter accepts the model's answer only when it decided one (or the taxon typed in the field); 1-9 picks an
alternative, T types a taxon, N marks "not identifiable", S skips, Up/Down move, Ctrl+Z undoes the last
decision. Every decision is stored as ``ValidatedByHuman`` with the curator's name, so
``shellgui-train --from-catalog`` learns only from what a person decided.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import curation, queries
from shellgui.core.catalog.decisions import Decision, UndecidedError
from shellgui.core.catalog.repository import IdentificationRecord, SpecimenRow
from shellgui.core.errors import ShellguiError
from shellgui.core.inference import Classifier
from shellgui.qt.context import AppContext
from shellgui.qt.flags_view import FlagsView
from shellgui.qt.preview import PhotoView, load_preview
from shellgui.qt.workers import Task

HELP = (
    "<b>Enter</b> accept a decided answer · <b>1–9</b> pick alternative · <b>T</b> type a taxon · "
    "<b>N</b> not identifiable · <b>S</b> skip · <b>↑/↓</b> move · <b>Ctrl+Z</b> undo"
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
        self.typed = QLineEdit()
        self.typed.setPlaceholderText("T: type a taxon, then Enter")
        self.undo_stack: list[int] = []
        context.model_changed.connect(self._model_changed)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.preview, 1)
        right_layout.addWidget(QLabel("Alternatives (press the number):"))
        right_layout.addWidget(self.alternatives)
        right_layout.addWidget(self.typed)
        self.flags = FlagsView(context)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.queue, 3)
        left_layout.addWidget(self.flags, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
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
        bind("T", self.typed.setFocus)
        bind(QKeySequence.StandardKey.Undo, self.undo_last)  # type: ignore[arg-type]
        for n in range(1, 10):
            bind(str(n), lambda n=n: self.pick(n))

    def _model_changed(self, classifier: Classifier) -> None:
        completer = QCompleter(sorted(t.name for t in classifier.card.taxa), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.typed.setCompleter(completer)

    # -- queue -------------------------------------------------------------------------------------
    def load(self, run_id: int | None = None) -> None:
        self.run_id = run_id or None
        self.rows = queries.review_queue(self.context.catalog, run_id=self.run_id)
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
        self.current = queries.current_identification(self.context.catalog, item.specimen_id)
        self.typed.clear()
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
    def _decide(self, decision: Decision) -> None:
        row = self.queue.currentRow()
        if not 0 <= row < len(self.rows):
            return
        by = self.context.who(self)
        if by is None:
            self.status.emit("Not saved: a decision needs your name.")
            return
        specimen_id = self.rows[row].specimen_id
        try:
            done = curation.decide(self.context.catalog, specimen_id, decision, by)
        except ShellguiError as exc:
            self.status.emit(f"Not saved: {exc}")
            return
        except Exception as exc:
            from shellgui.qt.workers import describe

            self.status.emit(f"Not saved: {describe(exc)}")
            return
        if done.action_id is not None:
            self.undo_stack.append(done.action_id)
        self.status.emit(done.summary[:1].upper() + done.summary[1:] + " · Ctrl+Z undoes")
        del self.rows[row]
        self.queue.removeRow(row)
        self._update_progress()
        self.reviewed.emit(specimen_id)
        self.queue.setFocus()
        if self.rows:
            self.queue.setCurrentCell(min(row, len(self.rows) - 1), 0)
            self._show(self.queue.currentRow())
        else:
            self.load(self.run_id)

    def accept_current(self) -> None:
        """Enter: the taxon typed in the field, else the model's answer, only when it decided one."""
        if self.current is None or not self.rows:
            return
        try:
            if self.typed.text().strip():
                decision = Decision.named(self.typed.text(), listed=self.current.top_k)
            else:
                decision = Decision.accept(self.current.taxon, self.current.rank, self.current.score)
        except UndecidedError:
            self.status.emit(
                "The model is uncertain: pick an alternative (1–9), type a taxon (T) "
                "or press N for not identifiable. Enter only accepts a decided answer."
            )
            return
        self._decide(decision)

    def pick(self, n: int) -> None:
        if self.current is None or not 0 < n <= len(self.current.top_k):
            return
        alt = self.current.top_k[n - 1]
        self._decide(Decision(str(alt["name"]), str(alt.get("rank", "species")), float(alt["probability"])))  # type: ignore[arg-type]

    def not_identifiable(self) -> None:
        self._decide(Decision.not_identifiable())

    def skip(self) -> None:
        row = self.queue.currentRow()
        if row + 1 < len(self.rows):
            self.queue.setCurrentCell(row + 1, 0)

    def undo_last(self) -> None:
        """Ctrl+Z: undo the last decision made here; the specimen comes back to the queue."""
        if not self.undo_stack:
            self.status.emit("Nothing to undo.")
            return
        by = self.context.who(self)
        if by is None:
            return
        action_id = self.undo_stack.pop()
        try:
            done = curation.undo(self.context.catalog, action_id, by)
        except ShellguiError as exc:
            self.status.emit(f"Not undone: {exc}")
            return
        self.load(self.run_id)
        for i, row in enumerate(self.rows):
            if row.specimen_id == done.specimen_id:
                self.queue.setCurrentCell(i, 0)
        self.status.emit(done.summary[:1].upper() + done.summary[1:] + ".")
        self.context.catalog_changed.emit()
