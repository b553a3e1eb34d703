"""Identify: drop photos, see the answer, record it (Accept, pick an alternative, or type a taxon).

A photo already in the catalogue is announced before anything is saved, and its specimen's data fill the
form: what the curator changes there is saved as an edit of that specimen. An "uncertain" answer leaves
the taxon empty: Accept needs a typed or picked taxon (or "Not identifiable"). Ctrl+Z undoes the last save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
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

from shellgui.core.catalog import NOT_IDENTIFIABLE, VALIDATED, curation, queries
from shellgui.core.catalog.curation import Outcome
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.decisions import Decision, UndecidedError
from shellgui.core.catalog.queries import CataloguedPhoto
from shellgui.core.determinations import checked_decision
from shellgui.core.errors import ShellguiError
from shellgui.core.identify import Identified, identify_paths, record
from shellgui.core.imaging import Photo
from shellgui.core.inference import Classifier
from shellgui.core.taxonomy import WORMS_LSID, NameBackbone, load_backbone
from shellgui.qt.context import AppContext
from shellgui.qt.preview import PhotoView, load_preview
from shellgui.qt.results_view import ResultsView
from shellgui.qt.workers import Task


@dataclass
class IdentifyJob:
    """What a worker hands back for one drop."""

    results: list[Identified]
    errors: list[str]
    photos: dict[str, Photo]
    previews: dict[str, QImage] = field(default_factory=dict)
    model_line: str = ""
    #: For each result, the specimen its photos already belong to (``None``: not catalogued yet).
    known: list[CataloguedPhoto | None] = field(default_factory=list)


def run_identify(
    classifier: Classifier, catalog: Catalog, paths: Sequence[str], as_specimen: bool, top_k: int
) -> IdentifyJob:
    photos, outcome = identify_paths(classifier, paths, as_specimen=as_specimen, top_k=top_k)
    previews = {p.path: load_preview(p.path) for p in photos}
    line = f"Model {classifier.name} {classifier.version} · {classifier.device}"
    known = [queries.find_catalogued_paths(catalog, r.paths) for r in outcome.results]
    return IdentifyJob(
        list(outcome.results),
        [str(e) for e in outcome.errors],
        {p.path: p for p in photos},
        previews,
        line,
        known,
    )


def save_record(
    catalog: Catalog,
    classifier: Classifier,
    photos: list[Photo],
    result: Identified,
    decision: Decision | None,
    by: str | None,
    fields: dict[str, str | None],
    edit: bool,
) -> tuple[Outcome, CataloguedPhoto | None]:
    """Record (and check) in one transaction; hands back what the catalogue now holds for these photos."""
    done = record(
        catalog, classifier, photos, result.prediction, decision=decision, by=by, edit=edit, **fields
    )
    return done, queries.find_catalogued_paths(catalog, result.paths)


def describe_name(backbone: NameBackbone | None, typed: str) -> str:
    """The line under the taxon field: what the name backbone says about the typed name."""
    if backbone is None or not typed.strip() or typed.strip().lower() == "not identifiable":
        return ""
    check = backbone.check(typed)
    if not check.known:
        return "⚠ not in the name list: it will be recorded as typed and marked unchecked"
    worms = check.name_id.removeprefix(WORMS_LSID) if check.name_id.startswith(WORMS_LSID) else ""
    where = "".join(f" · {v}" for v in (check.family, f"WoRMS {worms}" if worms else "") if v)
    if check.note:
        return f"→ will be recorded as {check.name} (the typed name is a {check.status}){where}"
    return f"✓ {check.status} name{where}"


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
        self.known_banner = QLabel()
        self.known_banner.setWordWrap(True)
        self.known_banner.setStyleSheet(
            "background: #fff4ce; color: #4a3b00; border: 1px solid #e0c45c; padding: 6px; border-radius: 4px"
        )
        self.known_banner.hide()
        self.undo_stack: list[int] = []
        self.record_enabled = False

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
        right_layout.addWidget(self.known_banner)
        right_layout.addWidget(self._record_box())

        splitter = QSplitter()
        for w, stretch in ((left, 0), (centre, 3), (right, 2)):
            splitter.addWidget(w)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.backbone: NameBackbone | None = None
        self._set_record_enabled(False)
        context.model_changed.connect(self._model_changed)
        names = Task(load_backbone)
        names.signals.result.connect(self._names_ready)
        context.keep(names)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo_last)

    def _record_box(self) -> QGroupBox:
        box = QGroupBox("Record")
        form = QFormLayout(box)
        self.taxon = QLineEdit()
        self.taxon.setPlaceholderText("taxon (type to search the model's taxa and the name list)")
        self.taxon.textChanged.connect(self._taxon_changed)
        self.name_status = QLabel()
        self.name_status.setWordWrap(True)
        self.taxon.textChanged.connect(
            lambda text: self.name_status.setText(describe_name(self.backbone, text))
        )
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
        form.addRow("", self.name_status)
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
        self.not_identifiable_button = QPushButton("Not identifiable")
        self.not_identifiable_button.setToolTip("Record that nobody can name this specimen from these photos")
        self.not_identifiable_button.clicked.connect(lambda: self.save(validate=True, not_identifiable=True))
        self.save_button = QPushButton("Save unchecked")
        self.save_button.setToolTip("Record the model's answer for later review (PredictedByMachine)")
        self.save_button.clicked.connect(lambda: self.save(validate=False))
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.not_identifiable_button)
        buttons.addWidget(self.accept_button)
        form.addRow(buttons)
        return box

    def _set_record_enabled(self, enabled: bool) -> None:
        self.record_enabled = enabled
        for w in (self.save_button, self.not_identifiable_button):
            w.setEnabled(enabled)
        self._taxon_changed()

    def _taxon_changed(self) -> None:
        """Accept needs a decided taxon: never the empty field an "uncertain" answer leaves."""
        self.accept_button.setEnabled(self.record_enabled and bool(self.taxon.text().strip()))

    def _model_changed(self, classifier: Classifier) -> None:
        self._set_completer()

    def _names_ready(self, backbone: NameBackbone) -> None:
        self.backbone = backbone
        self._set_completer()
        self.name_status.setText(describe_name(backbone, self.taxon.text()))

    def _set_completer(self) -> None:
        """Complete from the model's taxa and the name backbone (accepted names and synonyms)."""
        names = set(self.backbone.names() if self.backbone else ())
        if self.context.classifier is not None:
            names.update(t.name for t in self.context.classifier.card.taxa)
        completer = QCompleter(sorted(names), self)
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
            run_identify, classifier, self.context.catalog, list(paths), together, self.context.settings.top_k
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
            item = QListWidgetItem(f"{label}\n→ {result.prediction.taxon or 'uncertain'}")
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

    def current_known(self) -> CataloguedPhoto | None:
        row = self.items.currentRow()
        if self.job is None or not 0 <= row < len(self.job.known):
            return None
        return self.job.known[row]

    def _show_item(self, row: int) -> None:
        result = self.current()
        if result is None or self.job is None:
            return
        self.view_index = 0
        self.next_view.setVisible(len(result.paths) > 1)
        self.next_view.setText(f"Next view (1 of {len(result.paths)})")
        self.preview.set_image(self.job.previews.get(result.paths[0]))
        self.results.show_prediction(result.prediction, self.job.model_line)
        self._show_known(self.current_known())
        known = self.current_known()
        checked = known.current if known is not None else None
        if checked is not None and checked.verification_status == VALIDATED and checked.decided:
            self.taxon.setText(checked.taxon or NOT_IDENTIFIABLE)
        else:
            # An "uncertain" answer is not pre-filled: the curator types or picks a taxon.
            self.taxon.setText(result.prediction.taxon or "")
        if result.prediction.taxon is None:
            self.taxon.setPlaceholderText("uncertain: type or pick a taxon, or press Not identifiable")
        else:
            self.taxon.setPlaceholderText("taxon (type to search the model's taxa)")
        self._set_record_enabled(True)

    def _show_known(self, known: CataloguedPhoto | None) -> None:
        """The "already catalogued" banner, and that specimen's data in the form (changes are edits)."""
        if known is None:
            self.known_banner.hide()
            self.accept_button.setText("Accept")
            return
        self.known_banner.setText(
            f"<b>This photo is {known.describe}.</b> Saving adds to that specimen; "
            "changes to the fields below are recorded as an edit of it."
        )
        self.known_banner.show()
        self.accept_button.setText("Accept (same specimen)")
        self.catalog_number.setText(known.fields.get("catalog_number") or "")
        self.locality.setText(known.fields.get("locality") or "")
        self.collector.setText(known.fields.get("collector") or "")
        self.notes.setPlainText(known.fields.get("notes") or "")
        date = QDate.fromString(known.fields.get("collected_on") or "", "yyyy-MM-dd")
        self.collected_on.setDate(date if date.isValid() else self.collected_on.minimumDate())

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

    def save(self, validate: bool, not_identifiable: bool = False) -> None:
        """Record the current result; ``validate``: as checked by the user (asks their name once)."""
        result, classifier = self.current(), self.context.classifier
        if result is None or classifier is None or self.job is None:
            return
        decision = None
        if validate:
            try:
                decision = (
                    Decision.not_identifiable()
                    if not_identifiable
                    else checked_decision(self.taxon.text(), result.prediction, backbone=self.backbone)[0]
                )
            except UndecidedError as exc:
                self.status.emit(str(exc))
                return
        known = self.current_known()
        fields = {k: v for k, v in self.form_fields().items() if v}
        by = self.context.user_name or None
        if decision is not None or known is not None:
            by = self.context.who(self)
            if by is None:
                self.status.emit("Not recorded: a checked identification needs your name.")
                return
        photos = [self.job.photos[p] for p in result.paths]
        self._set_record_enabled(False)
        row = self.items.currentRow()
        task = Task(
            save_record,
            self.context.catalog,
            classifier,
            photos,
            result,
            decision,
            by,
            fields,
            known is not None,
        )
        task.signals.result.connect(lambda answer: self._saved(row, *answer))
        task.signals.error.connect(self._save_failed)
        self.context.keep(task)

    def _saved(self, row: int, done: Outcome, known: CataloguedPhoto | None) -> None:
        self.status.emit(done.summary[:1].upper() + done.summary[1:] + ".")
        if done.action_id is not None:
            self.undo_stack.append(done.action_id)
        if self.job is not None and 0 <= row < len(self.job.known):
            self.job.known[row] = known
            if row == self.items.currentRow():
                self._show_known(known)
        self._set_record_enabled(True)
        self.context.catalog_changed.emit()
        self.recorded.emit(done.specimen_id)

    def _save_failed(self, message: str) -> None:
        self._set_record_enabled(True)
        self.errors.setText(f"Not recorded: {message}")
        self.status.emit(f"Not recorded: {message}")

    def undo_last(self) -> None:
        """Ctrl+Z: undo the last save made here (a new specimen is removed again, a check reverted)."""
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
        self.status.emit(done.summary[:1].upper() + done.summary[1:] + ".")
        if self.job is not None:
            self.job.known = [
                queries.find_catalogued_paths(self.context.catalog, r.paths) for r in self.job.results
            ]
            self._show_known(self.current_known())
        self.context.catalog_changed.emit()
