"""Auto-crop in the Identify view: find the shells of the shown photo; several are offered as separate
specimens or as views of one specimen (a bar under the preview, the boxes numbered on the photo).

Only forwarding here: :func:`shellgui.core.identify.identify_subjects_of` finds and identifies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from shellgui.core.catalog import queries
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.queries import CataloguedPhoto
from shellgui.core.identify import Identified, IdentifyOutcome, identify_subjects_of
from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui.qt import help as help_keys
from shellgui.qt.cropping import crop_rect
from shellgui.qt.workers import Task

if TYPE_CHECKING:
    from shellgui.qt.identify_panel import IdentifyPanel


@dataclass(frozen=True)
class SubjectChoice:
    """Both readings of a photo's subjects: each a specimen of its own, and all views of one."""

    separate: IdentifyOutcome
    views: IdentifyOutcome | None
    #: For each result of ``separate`` / ``views``: the specimen it is already catalogued as.
    separate_known: list[CataloguedPhoto | None]
    views_known: list[CataloguedPhoto | None]


def find_and_identify(classifier: Classifier, catalog: Catalog, path: str, top_k: int) -> SubjectChoice:
    """Open the photo at full resolution, find its subjects and identify them both ways (worker thread)."""
    photo = open_photo(path)
    separate = identify_subjects_of(classifier, photo, as_views=False, top_k=top_k)
    views = None
    if len(separate.results) > 1:
        views = identify_subjects_of(classifier, photo, as_views=True, top_k=top_k)

    def known(outcome: IdentifyOutcome | None) -> list[CataloguedPhoto | None]:
        if outcome is None:
            return []
        return [
            queries.find_catalogued_photo(catalog, outcome.photos_of(i)[0])
            for i in range(len(outcome.results))
        ]

    return SubjectChoice(separate, views, known(separate), known(views))


class AutoCropController(QObject):
    """The "Auto-crop" button and the choice bar shown when several subjects are found."""

    def __init__(self, panel: IdentifyPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.button = QPushButton("Auto-crop")
        self.button.setShortcut(help_keys.AUTO_CROP)
        self.button.setToolTip(
            "Find the shells on a plain background and identify each (rulers and specks are ignored)"
            f" ({help_keys.AUTO_CROP})"
        )
        self.button.clicked.connect(self.run)
        self.bar = QFrame()
        self.bar.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self.bar)
        layout.setContentsMargins(6, 2, 6, 2)
        self.question = QLabel()
        self.separate_button = QPushButton("Separate specimens")
        self.separate_button.setToolTip("Each shell becomes a specimen of its own in the dropped list")
        self.views_button = QPushButton("Views of one specimen")
        self.views_button.setToolTip("One specimen identified from all the shells found")
        self.cancel_button = QPushButton("Cancel")
        for widget in (self.question, self.separate_button, self.views_button, self.cancel_button):
            layout.addWidget(widget)
        layout.insertStretch(1, 1)
        self.separate_button.clicked.connect(lambda: self._choose(views=False))
        self.views_button.clicked.connect(lambda: self._choose(views=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.bar.hide()
        self.choice: SubjectChoice | None = None
        self._target: tuple[int, Identified] | None = None

    def run(self) -> None:
        panel, classifier = self.panel, self.panel.context.classifier
        photo, result = panel.shown_photo(), panel.current()
        if photo is None or result is None or classifier is None:
            return
        if len(set(result.paths)) > 1:
            panel.status.emit("Auto-crop works on a photo of its own, not on views already joined.")
            return
        self.cancel()
        self._target = (panel.items.currentRow(), result)
        panel.results.clear("Looking for shells…")
        task = Task(
            find_and_identify, classifier, panel.context.catalog, photo.path, panel.context.settings.top_k
        )
        task.signals.result.connect(self._found)
        task.signals.error.connect(self._failed)
        panel.context.keep(task)

    def _still_shown(self) -> bool:
        target = self._target
        return target is not None and self.panel.current() is target[1]

    def _found(self, choice: SubjectChoice) -> None:
        if not self._still_shown():
            return
        panel = self.panel
        results = choice.separate.results
        if len(results) == 1:
            self._apply(choice.separate, choice.separate_known)
            note = results[0].note or ""
            panel.status.emit(
                note[:1].upper() + note[1:] if "whole" in note else "Auto-crop: one shell found."
            )
            return
        self.choice = choice
        photos = choice.separate.photos_flat
        panel.crop.tool.show_crop(None)
        panel.crop.tool.show_subjects([r for p in photos if (r := crop_rect(p.crop)) is not None])
        self.question.setText(f"<b>{len(results)} shells found</b> in this photo: record them as")
        self.bar.show()
        panel.results.show_prediction(
            results[0].prediction, "Shell 1 of the ones found (numbered on the photo)"
        )

    def _choose(self, views: bool) -> None:
        choice = self.choice
        if choice is None or not self._still_shown():
            self.cancel()
            return
        if views and choice.views is not None:
            self._apply(choice.views, choice.views_known)
        else:
            self._apply(choice.separate, choice.separate_known)
        count = len(choice.separate.results)
        self.panel.status.emit(
            f"{count} shells: one specimen from {count} views"
            if views
            else f"{count} shells: {count} specimens in the dropped list"
        )
        self.cancel()

    def _apply(self, outcome: IdentifyOutcome, known: list[CataloguedPhoto | None]) -> None:
        assert self._target is not None
        row, before = self._target
        self.panel.split_result(row, before, outcome, known)

    def cancel(self) -> None:
        """Forget the subjects found (the photo stays as it was)."""
        if self.choice is not None and self._still_shown():
            self.panel.crop.show(self.panel.shown_photo())
            result = self.panel.current()
            if result is not None and self.panel.job is not None:
                self.panel.results.show_prediction(result.prediction, self.panel.job.model_line)
        self.choice = None
        self.bar.hide()

    def _failed(self, message: str) -> None:
        self.panel.results.clear("Could not auto-crop.")
        self.panel.status.emit(f"Not cropped: {message}")
