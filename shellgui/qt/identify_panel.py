"""Identify: drop photos, see the answer, record it (Accept, pick an alternative, or type a taxon).

A photo already in the catalogue is announced before anything is saved, and its specimen's data fill the
form: what the curator changes there is saved as an edit of that specimen. An "uncertain" answer leaves
the taxon empty: Accept needs a typed or picked taxon (or "Not identifiable"). Ctrl+Z undoes the last save.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
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
from shellgui.core.dates import collection_date
from shellgui.core.determinations import checked_decision
from shellgui.core.errors import ShellguiError
from shellgui.core.identify import (
    Identified,
    IdentifyOutcome,
    identify_paths,
    record,
    with_stored_crops,
)
from shellgui.core.imaging import Photo
from shellgui.core.inference import Classifier
from shellgui.core.memory import CollectionAnswer, consult_collection
from shellgui.core.modelcard import ModelCard
from shellgui.core.models import measured_words
from shellgui.core.taxonomy import WORMS_LSID, NameBackbone, load_backbone
from shellgui.core.views import VIEWS_ALWAYS, VIEWS_BY_NAME, VIEWS_NEVER, fuse_as_views
from shellgui.qt import help as help_keys
from shellgui.qt import theme
from shellgui.qt.autocrop_choice import AutoCropController
from shellgui.qt.context import AppContext
from shellgui.qt.cropping import CropController
from shellgui.qt.measure_tool import MeasureController
from shellgui.qt.photo_tools import ToolSwitch
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
    #: For each result, the specimen its photos already belong to (``None``: not catalogued yet).
    known: list[CataloguedPhoto | None] = field(default_factory=list)
    #: What the catalogue says about each result (similar specimens, few-shot candidates).
    memories: list[CollectionAnswer | None] = field(default_factory=list)
    #: Each result's photos as identified (cropped or whole): what is recorded.
    result_photos: list[list[Photo]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.result_photos:
            self.result_photos = [[self.photos[p] for p in r.paths] for r in self.results]


def run_identify(
    classifier: Classifier, catalog: Catalog, paths: Sequence[str], as_specimen: bool, top_k: int
) -> IdentifyJob:
    photos, outcome = identify_paths(classifier, paths, as_specimen=as_specimen, top_k=top_k)
    previews = {p.path: load_preview(p.path) for p in photos}
    line = f"Model {classifier.name} {classifier.version} · {classifier.runs_on}"
    known = [queries.find_catalogued_paths(catalog, r.paths) for r in outcome.results]
    by_path = {p.path: p for p in photos}
    # A catalogued photo is shown and identified with the crop it was recorded with.
    redone = [
        with_stored_crops(catalog, classifier, [by_path[p] for p in r.paths], r, top_k) if k else None
        for r, k in zip(outcome.results, known)
    ]
    results = [r if again is None else again[1] for r, again in zip(outcome.results, redone)]
    result_photos = [
        [by_path[p] for p in r.paths] if again is None else again[0]
        for r, again in zip(outcome.results, redone)
    ]
    return IdentifyJob(
        results, [str(e) for e in outcome.errors], by_path, previews, line, known, result_photos=result_photos
    )


def consult_job(classifier: Classifier, catalog: Catalog, job: IdentifyJob) -> list[CollectionAnswer | None]:
    """What the catalogue says about each result (a second task: the answer never waits for it)."""
    return [
        consult_collection(catalog, classifier, r.prediction, k.specimen_id if k else None)
        for r, k in zip(job.results, job.known)
    ]


def save_record(
    catalog: Catalog,
    classifier: Classifier,
    photos: list[Photo],
    result: Identified,
    decision: Decision | None,
    by: str | None,
    fields: dict[str, str | None],
    edit: bool,
    measured: tuple[float, dict[str, Any]] | None = None,
    measured_on: Photo | None = None,
) -> tuple[Outcome, CataloguedPhoto | None]:
    """Record (and check) in one transaction, then the measured shell length (mm, how) if there is one,
    linked to the photo it was measured on; hands back what the catalogue now holds for these photos."""
    done = record(
        catalog, classifier, photos, result.prediction, decision=decision, by=by, edit=edit, **fields
    )
    if measured is not None:
        mm, method = measured
        on = queries.find_catalogued_photo(catalog, measured_on) if measured_on is not None else None
        photo_id = on.photo_id if on is not None and on.specimen_id == done.specimen_id else None
        curation.add_measurement(catalog, done.specimen_id, mm, by, photo_id=photo_id, method=method)
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


def drop_hint(card: ModelCard | None) -> str:
    """The empty preview: what to do, and what the loaded model knows and where it stops."""
    do = (
        "<p style='font-size:15pt'><b>Drop photos of shells here</b></p>"
        "<p>or paste one (Ctrl+V), or File ▸ Open (Ctrl+O).<br>"
        "Drop a folder to catalogue every photo in it. Help: F1.</p>"
    )
    if card is None:
        return do + "<p><i>The model is loading…</i></p>"
    names = sorted(t.name for t in card.taxa)
    shown = ", ".join(f"<i>{n}</i>" for n in names[:6]) + (
        f" and {len(names) - 6} more" if len(names) > 6 else ""
    )
    refuses = (
        "says when a photo looks unlike everything it learned from"
        if card.open_set
        else "cannot tell a shell it never saw from one it knows: check answers outside this list"
    )
    source = card.provenance.get("data_source")
    learned = f"<br>Learned from: {html.escape(str(source))}." if source else ""
    tested = measured_words(card)
    return do + (
        f"<p>Model <b>{html.escape(card.name)} {html.escape(card.version)}</b> knows "
        f"<b>{card.num_classes} taxa</b>: {shown}.<br>"
        f"It names nothing else; it {refuses}.{learned}</p>"
        + (f"<p style='font-size:9pt'>{html.escape(tested)}</p>" if tested else "")
    )


#: How the dropped list marks what is already recorded.
RECORDED_MARK = "✓ "


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
        self.preview.placeholder.setText(drop_hint(None))
        self.together = QComboBox()
        self.together.setToolTip(
            "Photos dropped together are separate specimens unless their names say they are views of one\n"
            "(MZ-1187_A.jpg + MZ-1187_B.jpg, cowrie-dorsal.jpg + cowrie-ventral.jpg), or you choose always"
        )
        for text, choice in (
            ("Separate specimens", VIEWS_NEVER),
            ("Views of one specimen when names say so", VIEWS_BY_NAME),
            ("Always views of one specimen", VIEWS_ALWAYS),
        ):
            self.together.addItem(text, choice)
        self.together.setCurrentIndex(1)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(10)
        self.busy.hide()
        self.errors = QLabel()
        self.errors.setStyleSheet(f"color: {theme.colour('error')}")
        self.errors.setWordWrap(True)
        self.results = ResultsView()
        self.similar = SimilarView()
        self.similar.hide()
        self.results.alternative_chosen.connect(self._choose)
        self.known_banner = QLabel()
        self.known_banner.setWordWrap(True)
        self.known_banner.setStyleSheet(
            "background: #fff4ce; color: #4a3b00; border: 1px solid #e0c45c; padding: 6px; border-radius: 4px"
        )
        self.known_banner.hide()
        self.view_warning = QLabel()
        self.view_warning.setWordWrap(True)
        self.view_warning.setStyleSheet(self.known_banner.styleSheet())
        self.view_warning.hide()
        self.undo_stack: list[int] = []
        self.record_enabled = False

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Dropped"))
        left_layout.addWidget(self.items)
        # Below the list, not in the tool row: there it made the window wider than a laptop screen.
        left_layout.addWidget(QLabel("Photos dropped together:"))
        self.together.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.together.setMinimumContentsLength(12)
        self.together.setMaximumWidth(260)
        left_layout.addWidget(self.together)
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
        self.tools = ToolSwitch(self.preview)
        self.crop = CropController(self)
        self.auto_crop = AutoCropController(self)
        self.measure = MeasureController(self)
        zoom.addWidget(self.tools)
        zoom.addWidget(self.crop.clear_button)
        zoom.addWidget(self.auto_crop.button)
        zoom.addStretch(1)
        centre_layout.addLayout(zoom)
        centre_layout.addWidget(self.auto_crop.bar)
        measure_row = QHBoxLayout()
        measure_row.addWidget(self.measure.label)
        measure_row.addWidget(self.measure.recalibrate)
        measure_row.addStretch(1)
        centre_layout.addLayout(measure_row)
        centre_layout.addWidget(self.busy)
        centre_layout.addWidget(self.errors)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.results, 1)
        right_layout.addWidget(self.view_warning)
        right_layout.addWidget(self.similar)
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
        accept = QShortcut(QKeySequence(help_keys.ACCEPT), self)
        accept.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        accept.activated.connect(self._accept_key)
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
        self.collected_on = QLineEdit()
        self.collected_on.setPlaceholderText("2019, 2019-05 or 2019-05-14 (as much as you know)")
        self.collected_on.textChanged.connect(self._check_date)
        self.notes = QPlainTextEdit()
        self.notes.setMaximumHeight(60)
        # Only what the curator ticks carries over to the next specimen; the catalogue number never does.
        self.keep: dict[str, QCheckBox] = {}
        form.addRow("Taxon", self.taxon)
        form.addRow("", self.name_status)
        form.addRow("Catalogue no.", self.catalog_number)
        for label, name, widget in (
            ("Locality", "locality", self.locality),
            ("Collector", "collector", self.collector),
            ("Date collected", "collected_on", self.collected_on),
            ("Notes", "notes", self.notes),
        ):
            keep = QCheckBox("keep")
            keep.setToolTip(f"Keep this {label.lower()} for the next specimen")
            self.keep[name] = keep
            row = QHBoxLayout()
            row.addWidget(widget, 1)
            row.addWidget(keep, 0, Qt.AlignmentFlag.AlignTop)
            form.addRow(label, row)
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

    def _accept_key(self) -> None:
        """Ctrl+Return: Accept, only when Accept is possible (a decided taxon in the form)."""
        if self.accept_button.isEnabled():
            self.accept_button.click()

    def _set_record_enabled(self, enabled: bool) -> None:
        self.record_enabled = enabled
        for w in (self.save_button, self.not_identifiable_button):
            w.setEnabled(enabled)
        self._taxon_changed()

    def _taxon_changed(self) -> None:
        """Accept needs a decided taxon: never the empty field an "uncertain" answer leaves."""
        self.accept_button.setEnabled(self.record_enabled and bool(self.taxon.text().strip()))

    def _model_changed(self, classifier: Classifier) -> None:
        self.preview.placeholder.setText(drop_hint(classifier.card))
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
        together = fuse_as_views(paths, self.together.currentData())
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
        classifier = self.context.classifier
        if classifier is not None and classifier.has_embedding and job.results:
            task = Task(consult_job, classifier, self.context.catalog, job)
            task.signals.result.connect(lambda memories: self._show_memories(job, memories))
            self.context.keep(task)
        self.items.clear()
        for result in job.results:
            item = QListWidgetItem(self._item_text(result, result.note))
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

    @staticmethod
    def _item_text(result: Identified, note: str | None = None) -> str:
        label = Path(result.paths[0]).name
        if note and note.startswith("subject "):
            label += f" · shell {note.split()[1]}"
        elif len(set(result.paths)) == 1 and len(result.paths) > 1:
            label += f"\n{len(result.paths)} shells as views"
        elif len(result.paths) > 1:
            label += f"\n+ {len(result.paths) - 1} more view{'s' if len(result.paths) > 2 else ''}"
        answer = result.prediction.taxon or ("not known" if result.prediction.not_known else "uncertain")
        return f"{label}\n→ {answer}"

    def _show_memories(self, job: IdentifyJob, memories: list[CollectionAnswer | None]) -> None:
        if job is not self.job:
            return  # a newer drop replaced it
        job.memories = memories
        self._show_memory(self.items.currentRow())

    def _show_memory(self, row: int) -> None:
        job = self.job
        classifier = self.context.classifier
        if job is None or classifier is None or not classifier.has_embedding:
            self.similar.hide()
            return
        self.similar.show()
        if row < len(job.memories) and job.memories[row] is not None:
            self.similar.show_answer(job.memories[row])
        else:  # not looked up yet (a new drop, a crop or an auto-crop split is being compared)
            self.similar.clear("Looking for similar specimens in your catalogue…")

    def current(self) -> Identified | None:
        row = self.items.currentRow()
        return self.job.results[row] if self.job and 0 <= row < len(self.job.results) else None

    def current_known(self) -> CataloguedPhoto | None:
        row = self.items.currentRow()
        if self.job is None or not 0 <= row < len(self.job.known):
            return None
        return self.job.known[row]

    def _show_item(self, row: int) -> None:
        self.auto_crop.cancel()
        result = self.current()
        if result is None or self.job is None:
            return
        self.view_index = 0
        self.next_view.setVisible(len(result.paths) > 1)
        self.next_view.setText(f"Next view (1 of {len(result.paths)})")
        self._show_photo()
        self.results.show_prediction(result.prediction, self.job.model_line)
        self._show_memory(row)
        self.view_warning.setText(f"<b>{result.warning}</b>" if result.warning else "")
        self.view_warning.setVisible(bool(result.warning))
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
            self._new_specimen_form()
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
        self.collected_on.setText(known.fields.get("collected_on") or "")

    def _new_specimen_form(self) -> None:
        """A specimen not in the catalogue yet: an empty form, but for the fields marked "keep"."""
        self.catalog_number.clear()
        for name, widget in (
            ("locality", self.locality),
            ("collector", self.collector),
            ("collected_on", self.collected_on),
            ("notes", self.notes),
        ):
            if not self.keep[name].isChecked():
                widget.clear()

    def _check_date(self) -> None:
        """The same validator as the catalogue's, as the curator types: a red frame and the reason."""
        try:
            collection_date(self.collected_on.text())
        except ShellguiError as exc:
            self.collected_on.setStyleSheet(f"border: 2px solid {theme.colour('error')}")
            self.collected_on.setToolTip(str(exc))
        else:
            self.collected_on.setStyleSheet("")
            self.collected_on.setToolTip("Year, year-month or a full date: as much as you know")

    def _next_view(self) -> None:
        result = self.current()
        if result is None or self.job is None:
            return
        self.view_index = (self.view_index + 1) % len(result.paths)
        self.next_view.setText(f"Next view ({self.view_index + 1} of {len(result.paths)})")
        self._show_photo()

    def _show_photo(self) -> None:
        """The photo of the current view in the preview, with its crop."""
        photo = self.shown_photo()
        if photo is None or self.job is None:
            self.preview.set_image(None)
            self.crop.show(None)
            return
        self.preview.set_image(self.job.previews.get(photo.path), (photo.info.width, photo.info.height))
        self.crop.show(photo)

    def current_photos(self) -> list[Photo]:
        """The current result's photos as identified (cropped or whole)."""
        row = self.items.currentRow()
        if self.job is None or not 0 <= row < len(self.job.result_photos):
            return []
        return self.job.result_photos[row]

    def shown_photo(self) -> Photo | None:
        """The photo shown in the preview (one view of the current result)."""
        photos = self.current_photos()
        return photos[self.view_index] if 0 <= self.view_index < len(photos) else None

    def replace_result(self, row: int, before: Identified, photos: list[Photo], result: Identified) -> bool:
        """A result identified again (its crops changed); ``False`` when ``before`` is no longer shown."""
        job = self.job
        if job is None or not 0 <= row < len(job.results) or job.results[row] is not before:
            return False
        job.results[row] = result
        job.result_photos[row] = photos
        if row < len(job.memories):
            job.memories[row] = None
        item = self.items.item(row)
        if item is not None:
            mark = RECORDED_MARK if item.text().startswith(RECORDED_MARK) else ""
            item.setText(mark + self._item_text(result, result.note))
        if row == self.items.currentRow():
            self.results.show_prediction(result.prediction, job.model_line)
            self.crop.show(self.shown_photo())
            if not (self.current_known() and self.taxon.text()):
                self.taxon.setText(result.prediction.taxon or "")
            self._set_record_enabled(True)
        self._consult_memory(job, row, result)
        return True

    def _consult_memory(self, job: IdentifyJob, row: int, result: Identified) -> None:
        """Similar specimens and few-shot candidates for one result, off the GUI thread."""
        classifier = self.context.classifier
        if classifier is not None and classifier.has_embedding:
            known = job.known[row] if row < len(job.known) else None
            task = Task(
                consult_collection,
                self.context.catalog,
                classifier,
                result.prediction,
                known.specimen_id if known else None,
            )
            task.signals.result.connect(lambda memory: self._show_memory_of(job, row, result, memory))
            self.context.keep(task)

    def split_result(
        self, row: int, before: Identified, outcome: IdentifyOutcome, known: list[CataloguedPhoto | None]
    ) -> bool:
        """Replace a result by the results of its subjects (auto-crop): one row each in the dropped list,
        or one row for views of one specimen; ``False`` when ``before`` is no longer shown."""
        job = self.job
        if job is None or not 0 <= row < len(job.results) or job.results[row] is not before:
            return False
        count = len(outcome.results)
        job.results[row : row + 1] = outcome.results
        job.result_photos[row : row + 1] = [list(outcome.photos_of(i)) for i in range(count)]
        job.known[row : row + 1] = known if len(known) == count else [None] * count
        if row < len(job.memories):
            job.memories[row : row + 1] = [None] * count
        self.items.blockSignals(True)
        self.items.takeItem(row)
        for i, result in enumerate(outcome.results):
            item = QListWidgetItem(self._item_text(result, result.note))
            item.setToolTip("\n".join(result.paths) + (f"\n{result.note}" if result.note else ""))
            self.items.insertItem(row + i, item)
        self.items.blockSignals(False)
        self.items.setCurrentRow(row)
        self._show_item(row)
        for i, result in enumerate(outcome.results):  # each subject gets its own similar specimens
            self._consult_memory(job, row + i, result)
        return True

    def _show_memory_of(
        self, job: IdentifyJob, row: int, result: Identified, memory: CollectionAnswer | None
    ) -> None:
        if job is self.job and row < len(job.memories) and job.results[row] is result:
            job.memories[row] = memory
            if row == self.items.currentRow():
                self._show_memory(row)

    def _choose(self, name: str) -> None:
        self.taxon.setText(name)

    # -- record ------------------------------------------------------------------------------------
    def form_fields(self) -> dict[str, str | None]:
        return {
            "catalog_number": self.catalog_number.text().strip() or None,
            "locality": self.locality.text().strip() or None,
            "collector": self.collector.text().strip() or None,
            "collected_on": self.collected_on.text().strip() or None,
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
        if decision is not None or known is not None or self.measure.measured is not None:
            by = self.context.who(self)
            if by is None:
                self.status.emit("Not recorded: a checked identification needs your name.")
                return
        photos = self.current_photos()
        self._set_record_enabled(False)
        row, measured = self.items.currentRow(), self.measure.measured
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
            measured,
            self.measure.measured_on,
        )
        task.signals.result.connect(lambda answer: self.measure.saved(measured))
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
        self._mark_recorded(row, done.specimen_id)
        self.context.catalog_changed.emit()
        self.recorded.emit(done.specimen_id)

    def _mark_recorded(self, row: int, specimen_id: int) -> None:
        """Tick the item in the dropped list, then move on to the next one not recorded yet."""
        item = self.items.item(row)
        if item is None:
            return
        if not item.text().startswith(RECORDED_MARK):
            item.setText(RECORDED_MARK + item.text())
        item.setToolTip(f"recorded as specimen {specimen_id}\n" + item.toolTip())
        if row != self.items.currentRow():
            return
        for other in [*range(row + 1, self.items.count()), *range(0, row)]:
            if not self.items.item(other).text().startswith(RECORDED_MARK):
                self.items.setCurrentRow(other)
                return

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
