"""Review: unchecked machine identifications, lowest confidence first, with a keyboard flow.

Enter accepts the model's answer only when it decided one (or the taxon typed in the field); 1-9 picks an
alternative, T types a taxon, N marks "not identifiable", S skips, Up/Down move, Ctrl+Z undoes the last
decision. Every decision is stored as ``ValidatedByHuman`` with the curator's name, so
``shellgui-train --from-catalog`` learns only from what a person decided.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import PREDICTED, curation, queries
from shellgui.core.catalog.browse import SpecimenFilter
from shellgui.core.catalog.decisions import Decision, UndecidedError
from shellgui.core.catalog.repository import IdentificationRecord, SpecimenRow
from shellgui.core.errors import ShellguiError
from shellgui.core.inference import Classifier
from shellgui.core.percent import percent
from shellgui.qt.context import AppContext
from shellgui.qt.flags_view import FlagsView
from shellgui.qt.preview import PhotoView, load_preview
from shellgui.qt.workers import Task

#: The queue shows this many at a time (the count above it is always the true one).
REVIEW_PAGE = 500
THIS_RUN, ALL_UNCHECKED, BELOW = "run", "all", "below"

HELP = (
    "<b>Enter</b> accept a decided answer · <b>1–9</b> pick alternative · <b>T</b> type a taxon · "
    "<b>N</b> not identifiable · <b>S</b> skip · <b>↑/↓</b> move · <b>Ctrl+Z</b> undo"
)


class ReviewPanel(QWidget):
    """The review queue. ``load(run_id)`` fills it (0 or ``None``: every unchecked identification)."""

    status = Signal(str)
    reviewed = Signal(int)
    loaded = Signal()  # the queue shows the catalogue as of the last load()

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.rows: list[SpecimenRow] = []
        self.current: IdentificationRecord | None = None
        self.run_id: int | None = None
        self._load_seq = 0
        self._select_after_load: int | None = None  # an undone specimen, selected when it is back
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
        self.undo_stack: list[list[int]] = []
        self.total = 0
        self.scope = QComboBox()
        self.scope.addItem("This run", THIS_RUN)
        self.scope.addItem("All unchecked", ALL_UNCHECKED)
        self.scope.addItem("Unchecked below a confidence", BELOW)
        self.scope.setCurrentIndex(1)
        self.below = QDoubleSpinBox()
        self.below.setRange(1, 100)
        self.below.setDecimals(0)
        self.below.setValue(50)
        self.below.setSuffix(" %")
        self.below.setPrefix("below ")
        self.scope.currentIndexChanged.connect(lambda _i: self.load(self.run_id))
        self.below.valueChanged.connect(lambda _v: self.load(self.run_id))
        self.bulk_level = QDoubleSpinBox()
        self.bulk_level.setRange(50, 100)
        self.bulk_level.setDecimals(0)
        self.bulk_level.setValue(95)
        self.bulk_level.setSuffix(" %")
        self.bulk_level.setPrefix("≥ ")
        bulk = QPushButton("Accept all decided answers")
        bulk.setToolTip(
            "Accept every decided (not uncertain) answer in this scope at or above the confidence"
        )
        bulk.clicked.connect(self.accept_all_decided)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for text, slot, tip in (
            ("Accept", self.accept_current, "Enter: accept the model's decided answer (or the typed taxon)"),
            ("Use alternative", self._pick_selected, "1–9, or click an alternative above, then this"),
            ("Not identifiable", self.not_identifiable, "N"),
            ("Skip", self.skip, "S"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[text] = button
        context.model_changed.connect(self._model_changed)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.preview, 1)
        right_layout.addWidget(QLabel("Alternatives (press the number, or double-click one):"))
        right_layout.addWidget(self.alternatives)
        right_layout.addWidget(self.typed)
        right_layout.addLayout(buttons)
        self.alternatives.itemDoubleClicked.connect(lambda item: self.pick(self.alternatives.row(item) + 1))
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
        top.addWidget(QLabel("Review:"))
        top.addWidget(self.scope)
        top.addWidget(self.below)
        top.addWidget(self.progress, 1)
        top.addWidget(bulk)
        top.addWidget(self.bulk_level)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.help)
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
    def current_filter(self) -> SpecimenFilter:
        scope = self.scope.currentData()
        if scope == THIS_RUN and self.run_id:
            return SpecimenFilter(status=PREDICTED, run_id=self.run_id)
        if scope == BELOW:
            return SpecimenFilter(status=PREDICTED, max_score=self.below.value() / 100)
        return SpecimenFilter(status=PREDICTED)

    def show_run(self, run_id: int | None) -> None:
        """Review one cataloguing run next (``None``: everything unchecked)."""
        self.run_id = run_id or None
        self.scope.blockSignals(True)
        self.scope.setCurrentIndex(self.scope.findData(THIS_RUN if self.run_id else ALL_UNCHECKED))
        self.scope.blockSignals(False)

    def load(self, run_id: int | None = None) -> None:
        """Fill the queue for the chosen scope, lowest confidence first (``run_id``: "This run").

        The queries run off the GUI thread (a queue of 100,000 unchecked answers takes over 100 ms to
        count); a newer load makes an older one's answer moot; :attr:`loaded` says when it is shown."""
        self.run_id = run_id or self.run_id
        self.scope.model().item(0).setEnabled(bool(self.run_id))  # type: ignore[attr-defined]
        self.below.setVisible(self.scope.currentData() == BELOW)
        self._load_seq += 1
        seq = self._load_seq
        self.progress.setText("Loading the review queue…")

        def shown(found: queries.ReviewPage) -> None:
            self._loaded(seq, found)

        def failed(message: str) -> None:
            self._load_failed(seq, message)

        self.context.queries.submit(
            queries.review_page,
            self.context.catalog,
            self.current_filter(),
            self.scope.currentData() == THIS_RUN,
            REVIEW_PAGE,
            on_result=shown,
            on_error=failed,
        )

    def _load_failed(self, seq: int, message: str) -> None:
        if seq == self._load_seq:
            self.progress.setText("")
            self.status.emit(f"The review queue could not be read: {message}")

    def _loaded(self, seq: int, found: queries.ReviewPage) -> None:
        if seq != self._load_seq:
            return  # a newer load is on its way
        if found.unchecked_elsewhere:  # the run is done but the catalogue is not: never stay on an empty run
            self.status.emit(
                f"Nothing left to review in run {self.run_id}; showing all {found.unchecked_elsewhere:,}."
            )
            self.scope.setCurrentIndex(self.scope.findData(ALL_UNCHECKED))  # reloads
            return
        self.total, self.rows = found.total, found.rows
        self.queue.setRowCount(0)
        for i, row in enumerate(self.rows):
            self.queue.insertRow(i)
            name = QTableWidgetItem(Path(row.photo_path or "").name)
            name.setToolTip(row.photo_path or "")
            self.queue.setItem(i, 0, name)
            self.queue.setItem(i, 1, QTableWidgetItem(row.taxon or "uncertain"))
            self.queue.setItem(i, 2, QTableWidgetItem(percent(row.score) if row.score is not None else ""))
        self._update_progress()
        if self.rows:
            self.queue.setCurrentCell(0, 0)
            self.queue.setFocus()
        else:
            self.title.setText("Nothing to review here: every identification in this scope has been checked.")
            self.alternatives.clear()
            self.preview.set_image(None)
        if self._select_after_load is not None:
            for i, row in enumerate(self.rows):
                if row.specimen_id == self._select_after_load:
                    self.queue.setCurrentCell(i, 0)
            self._select_after_load = None
        self.loaded.emit()

    def _update_progress(self) -> None:
        shown = f" (the {len(self.rows):,} least confident shown)" if self.total > len(self.rows) else ""
        self.progress.setText(f"<b>{self.total:,}</b> to review{shown}")

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        item = self.rows[row]
        self.current = queries.current_identification(self.context.catalog, item.specimen_id)
        self.typed.clear()
        taxon = item.taxon or "uncertain — possibly not a taxon this model knows"
        score = percent(item.score) if item.score is not None else ""
        self.title.setText(f"<b>{taxon}</b> {score} · specimen {item.specimen_id}")
        self.alternatives.clear()
        for i, alt in enumerate((self.current.top_k if self.current else ())[:9]):
            self.alternatives.addItem(f"{i + 1}  {alt['name']}  ({percent(float(alt['probability']))})")  # type: ignore[arg-type]
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
            self.undo_stack.append([done.action_id])
        self.total = max(0, self.total - 1)
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

    def _pick_selected(self) -> None:
        row = self.alternatives.currentRow()
        if row < 0:
            self.status.emit("Click an alternative first (or press its number).")
            return
        self.pick(row + 1)

    def accept_all_decided(self) -> None:
        """Accept every decided answer in this scope at or above the chosen level, after a confirmation."""
        level = self.bulk_level.value() / 100
        scope = self.current_filter()
        candidates, _ = queries.catalogue_page(
            self.context.catalog,
            dataclasses.replace(scope, decided=True, min_score=level),
            limit=0,
            count=True,
        )
        if not candidates:
            self.status.emit(f"No decided answer at or above {level:.0%} in this scope.")
            return
        answer = QMessageBox.question(
            self,
            "Accept decided answers",
            f"Accept {candidates:,} answers the model decided at {level:.0%} or more as checked by you?\n"
            "Uncertain answers are left for you. Ctrl+Z undoes the whole step.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        by = self.context.who(self)
        if by is None:
            return

        def accepted(done: list[curation.Outcome]) -> None:
            self.undo_stack.append([d.action_id for d in done if d.action_id is not None])
            self.status.emit(
                f"Accepted {len(done):,} decided answers at or above {level:.0%} · Ctrl+Z undoes"
            )

        self._write_then_reload(
            f"Accepting {candidates:,} answers…",
            accepted,
            curation.accept_decided,
            self.context.catalog,
            level,
            by,
            scope,
        )

    def _write_then_reload(
        self, doing: str, then: Callable[[Any], None], write: Callable[..., Any], *args: Any
    ) -> None:
        """Run a catalogue write of many rows on the pool (10,000 acceptances take ~15 s), the queue's
        actions disabled meanwhile; then ``then(result)`` and a reload. A failure changes nothing (one
        transaction) and says so in a line."""
        self.setEnabled(False)
        self.progress.setText(doing)
        task = Task(write, *args)

        def done(result: Any) -> None:
            then(result)
            self.context.catalog_changed.emit()

        def failed(message: str) -> None:
            self.status.emit(f"Not saved: {message}")

        def finished() -> None:
            self.setEnabled(True)
            self.load(self.run_id)

        task.signals.result.connect(done)
        task.signals.error.connect(failed)
        task.signals.finished.connect(finished)
        self.context.keep(task)

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
        action_ids = self.undo_stack.pop()

        def undone_now(result: tuple[list[curation.Outcome], list[str]]) -> None:
            undone, refused = result
            if refused:
                self.status.emit(
                    f"Not undone: {refused[0]}"
                    + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else "")
                )
            if undone:
                self._select_after_load = undone[-1].specimen_id
            if undone and not refused:
                summary = undone[0].summary if len(undone) == 1 else f"undid {len(undone):,} decisions"
                self.status.emit(summary[:1].upper() + summary[1:] + ".")

        self._write_then_reload(
            f"Undoing {len(action_ids):,} decisions…",
            undone_now,
            curation.undo_many,
            self.context.catalog,
            action_ids,
            by,
        )
