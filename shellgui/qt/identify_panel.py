"""Identify: drop photos, see the answer, record it (Accept, pick an alternative, or type a taxon)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.database import Catalog
from shellgui.core.identify import Identified, identify_paths, record
from shellgui.core.imaging import Photo
from shellgui.core.inference import Classifier
from shellgui.core.memory import CollectionAnswer, consult_collection
from shellgui.qt.context import AppContext
from shellgui.qt.preview import PhotoView, load_preview
from shellgui.qt.results_view import ResultsView
from shellgui.qt.similar_view import SimilarView
from shellgui.qt.workers import Task


@dataclass
class IdentifyJob:
    """What a worker hands back for one drop."""

    results: list[Identified]
    errors: list[str]
    photos: dict[str, Photo]
    previews: dict[str, QImage] = field(default_factory=dict)
    model_line: str = ""
    #: What the catalogue says about each result (similar specimens, few-shot candidates).
    memories: list[CollectionAnswer | None] = field(default_factory=list)


def run_identify(
    classifier: Classifier,
    paths: Sequence[str],
    as_specimen: bool,
    top_k: int,
    catalog: Catalog | None = None,
) -> IdentifyJob:
    photos, outcome = identify_paths(classifier, paths, as_specimen=as_specimen, top_k=top_k)
    previews = {p.path: load_preview(p.path) for p in photos}
    line = f"Model {classifier.name} {classifier.version} · {classifier.device}"
    memories = [
        consult_collection(catalog, classifier, r.prediction) if catalog is not None else None
        for r in outcome.results
    ]
    return IdentifyJob(
        list(outcome.results),
        [str(e) for e in outcome.errors],
        {p.path: p for p in photos},
        previews,
        line,
        memories,
    )


def save_record(
    context: AppContext,
    classifier: Classifier,
    photos: list[Photo],
    result: Identified,
    taxon: str | None,
    fields: dict[str, str | None],
    validate: bool,
) -> int:
    specimen_id = record(context.catalog, classifier, photos, result.prediction, **fields)
    if validate and taxon:
        rank = "species"
        for t in result.prediction.top_k:
            if t.name == taxon:
                rank = t.rank
        if taxon == result.prediction.taxon:
            rank = result.prediction.rank
        with context.catalog.session() as session, session.begin():
            repo.validate_identification(
                session,
                specimen_id,
                taxon,
                rank=rank,
                by=context.user_name,
                score=next((t.probability for t in result.prediction.top_k if t.name == taxon), None),
            )
    return specimen_id


def describe_results(results: Sequence[Identified]) -> str:
    photos = sum(len(r.paths) for r in results)
    if len(results) == 1 and photos > 1:
        return f"1 specimen from {photos} photos"
    return f"{len(results)} photo{'s' if len(results) > 1 else ''}"


class IdentifyPanel(QWidget):
    """The first tab. ``identify(paths)`` is what a drop, a paste or File ▸ Open calls."""

    status = Signal(str)
    recorded = Signal(int)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.job: IdentifyJob | None = None
        self.items = QListWidget()
        self.items.setMaximumWidth(260)
        self.items.currentRowChanged.connect(self._show_item)
        self.preview = PhotoView()
        self.together = QCheckBox("Photos dropped together are views of one specimen")
        self.together.setChecked(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(10)
        self.busy.hide()
        self.errors = QLabel()
        self.errors.setStyleSheet("color: #b3261e")
        self.errors.setWordWrap(True)
        self.results = ResultsView()
        self.results.alternative_chosen.connect(self._choose)
        self.similar = SimilarView()
        self.similar.hide()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Dropped"))
        left_layout.addWidget(self.items)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.preview, 1)
        zoom = QHBoxLayout()
        self.next_view = QPushButton("Next view")
        self.next_view.setToolTip("Show the other photos of this specimen")
        self.next_view.clicked.connect(self._next_view)
        self.next_view.hide()
        self.view_index = 0
        zoom.addWidget(self.next_view)
        for text, slot in (
            ("−", lambda: self.preview.zoom(0.8)),
            ("+", lambda: self.preview.zoom(1.25)),
            ("Fit", self.preview.fit),
        ):
            button = QPushButton(text)
            button.setMaximumWidth(60)
            button.clicked.connect(slot)
            zoom.addWidget(button)
        zoom.addStretch(1)
        zoom.addWidget(self.together)
        centre_layout.addLayout(zoom)
        centre_layout.addWidget(self.busy)
        centre_layout.addWidget(self.errors)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.results, 1)
        right_layout.addWidget(self.similar)
        right_layout.addWidget(self._record_box())

        splitter = QSplitter()
        for w, stretch in ((left, 0), (centre, 3), (right, 2)):
            splitter.addWidget(w)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._set_record_enabled(False)
        context.model_changed.connect(self._model_changed)

    def _record_box(self) -> QGroupBox:
        box = QGroupBox("Record")
        form = QFormLayout(box)
        self.taxon = QLineEdit()
        self.taxon.setPlaceholderText("taxon (type to search the model's taxa)")
        self.catalog_number = QLineEdit()
        self.locality = QLineEdit()
        self.collector = QLineEdit()
        self.collected_on = QDateEdit()
        self.collected_on.setCalendarPopup(True)
        self.collected_on.setDisplayFormat("yyyy-MM-dd")
        self.collected_on.setSpecialValueText("unknown")
        self.collected_on.setMinimumDate(QDate(1700, 1, 1))
        self.collected_on.setDate(self.collected_on.minimumDate())
        self.notes = QPlainTextEdit()
        self.notes.setMaximumHeight(60)
        form.addRow("Taxon", self.taxon)
        form.addRow("Catalogue no.", self.catalog_number)
        form.addRow("Locality", self.locality)
        form.addRow("Collector", self.collector)
        form.addRow("Date collected", self.collected_on)
        form.addRow("Notes", self.notes)
        buttons = QHBoxLayout()
        self.accept_button = QPushButton("Accept")
        self.accept_button.setDefault(True)
        self.accept_button.setToolTip("Record this taxon as checked by you (ValidatedByHuman)")
        self.accept_button.clicked.connect(lambda: self.save(validate=True))
        self.save_button = QPushButton("Save unchecked")
        self.save_button.setToolTip("Record the model's answer for later review (PredictedByMachine)")
        self.save_button.clicked.connect(lambda: self.save(validate=False))
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.accept_button)
        form.addRow(buttons)
        return box

    def _set_record_enabled(self, enabled: bool) -> None:
        for w in (self.accept_button, self.save_button):
            w.setEnabled(enabled)

    def _model_changed(self, classifier: Classifier) -> None:
        completer = QCompleter(sorted(t.name for t in classifier.card.taxa), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.taxon.setCompleter(completer)

    # -- identify ----------------------------------------------------------------------------------
    def identify(self, paths: Sequence[str]) -> None:
        classifier = self.context.classifier
        if not paths:
            return
        if classifier is None:
            self.status.emit("The model is still loading (or failed to load); try again in a moment.")
            return
        self.busy.show()
        self.errors.clear()
        self.results.clear("Identifying…")
        self._set_record_enabled(False)
        together = self.together.isChecked() and len(paths) > 1
        task = Task(
            run_identify, classifier, list(paths), together, self.context.settings.top_k, self.context.catalog
        )
        task.signals.result.connect(self._show_job)
        task.signals.error.connect(self._failed)
        task.signals.finished.connect(self.busy.hide)
        self.context.keep(task)

    def _failed(self, message: str) -> None:
        self.results.clear("Could not identify.")
        self.errors.setText(message)
        self.status.emit(message)

    def _show_job(self, job: IdentifyJob) -> None:
        self.job = job
        self.items.clear()
        for result in job.results:
            label = Path(result.paths[0]).name
            if len(result.paths) > 1:
                label += f"\n+ {len(result.paths) - 1} more view{'s' if len(result.paths) > 2 else ''}"
            answer = result.prediction.taxon or ("not known" if result.prediction.not_known else "uncertain")
            item = QListWidgetItem(f"{label}\n→ {answer}")
            item.setToolTip("\n".join(result.paths))
            self.items.addItem(item)
        self.errors.setText("\n".join(job.errors))
        if job.results:
            self.items.setCurrentRow(0)
            self.status.emit(
                f"Identified {describe_results(job.results)}"
                + (f"; {len(job.errors)} file(s) could not be read" if job.errors else "")
            )
        else:
            self.results.clear("None of the dropped files is a readable photo.")
            self.preview.set_image(None)

    def current(self) -> Identified | None:
        row = self.items.currentRow()
        return self.job.results[row] if self.job and 0 <= row < len(self.job.results) else None

    def _show_item(self, row: int) -> None:
        result = self.current()
        if result is None or self.job is None:
            return
        self.view_index = 0
        self.next_view.setVisible(len(result.paths) > 1)
        self.next_view.setText(f"Next view (1 of {len(result.paths)})")
        self.preview.set_image(self.job.previews.get(result.paths[0]))
        self.results.show_prediction(result.prediction, self.job.model_line)
        memory = self.job.memories[row] if row < len(self.job.memories) else None
        self.similar.setVisible(memory is not None)
        self.similar.show_answer(memory)
        best = result.prediction.taxon or result.prediction.top_k[0].name
        self.taxon.setText(best)
        self._set_record_enabled(True)

    def _next_view(self) -> None:
        result = self.current()
        if result is None or self.job is None:
            return
        self.view_index = (self.view_index + 1) % len(result.paths)
        self.next_view.setText(f"Next view ({self.view_index + 1} of {len(result.paths)})")
        self.preview.set_image(self.job.previews.get(result.paths[self.view_index]))

    def _choose(self, name: str) -> None:
        self.taxon.setText(name)

    # -- record ------------------------------------------------------------------------------------
    def form_fields(self) -> dict[str, str | None]:
        date = self.collected_on.date()
        return {
            "catalog_number": self.catalog_number.text().strip() or None,
            "locality": self.locality.text().strip() or None,
            "collector": self.collector.text().strip() or None,
            "collected_on": None if date == self.collected_on.minimumDate() else date.toString("yyyy-MM-dd"),
            "notes": self.notes.toPlainText().strip() or None,
        }

    def save(self, validate: bool) -> None:
        result, classifier = self.current(), self.context.classifier
        if result is None or classifier is None or self.job is None:
            return
        photos = [self.job.photos[p] for p in result.paths]
        taxon = self.taxon.text().strip() or None
        fields = {k: v for k, v in self.form_fields().items() if v}
        self._set_record_enabled(False)
        task = Task(save_record, self.context, classifier, photos, result, taxon, fields, validate)
        task.signals.result.connect(lambda sid: self._saved(sid, validate, taxon))
        task.signals.error.connect(self._save_failed)
        self.context.keep(task)

    def _saved(self, specimen_id: int, validate: bool, taxon: str | None) -> None:
        what = f"as {taxon} (checked)" if validate and taxon else "with the model's answer (unchecked)"
        self.status.emit(f"Recorded specimen {specimen_id} {what}.")
        self.catalog_number.clear()
        self.notes.clear()
        self._set_record_enabled(True)
        self.context.catalog_changed.emit()
        self.recorded.emit(specimen_id)

    def _save_failed(self, message: str) -> None:
        self._set_record_enabled(True)
        self.errors.setText(f"Not recorded: {message}")
        self.status.emit(f"Not recorded: {message}")
