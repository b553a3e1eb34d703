"""Similar specimens from the user's own catalogue (checked first), and few-shot candidates."""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from shellgui.core.memory import CollectionAnswer, consult_for_specimen
from shellgui.core.similar import SimilarSpecimen
from shellgui.qt.context import AppContext
from shellgui.qt.workers import Task

THUMB = 56
NO_EMBEDDING = "This model has no embedding output, so it cannot find similar specimens."


def similar_line(s: SimilarSpecimen) -> str:
    """Two lines for one similar specimen: taxon and check state; number and distance."""
    taxon = s.taxon or "no taxon"
    state = "checked" if s.checked else "unchecked"
    number = s.catalog_number or f"specimen {s.specimen_id}"
    return f"{taxon} ({state})\n{number} · distance {s.distance:.3f}"


def candidates_html(answer: CollectionAnswer) -> str:
    return "<br>".join(
        f"<b>{html.escape(c.summary.split(': ', 1)[0])}:</b> <i>{html.escape(c.taxon)}</i>, "
        f"{c.supporting} similar checked specimen{'s' if c.supporting != 1 else ''}"
        for c in answer.candidates
    )


class SimilarView(QWidget):
    """A titled list of similar specimens with thumbnails (the photo's path as a tooltip)."""

    def __init__(self, title: str = "Similar specimens in your catalogue") -> None:
        super().__init__()
        self.title = QLabel(f"<b>{html.escape(title)}</b> <small>(checked first)</small>")
        self.candidates = QLabel()
        self.candidates.setWordWrap(True)
        self.candidates.hide()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setMinimumHeight(3 * (THUMB + 8))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.candidates, self.note, self.list):
            layout.addWidget(widget)

    def clear(self, note: str = "") -> None:
        self.list.clear()
        self.candidates.hide()
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def show_answer(self, answer: CollectionAnswer | None, none_means: str = NO_EMBEDDING) -> None:
        """Show what the catalogue says; ``None`` shows ``none_means``."""
        if answer is None:
            self.clear(none_means)
            return
        self.clear("" if answer.similar else "No catalogued photo to compare with yet.")
        if answer.candidates:
            self.candidates.setText(candidates_html(answer))
            self.candidates.show()
        for s in answer.similar:
            item = QListWidgetItem(similar_line(s))
            item.setData(Qt.ItemDataRole.UserRole, s.specimen_id)
            item.setToolTip(s.photo_path)
            if s.thumbnail:
                pixmap = QPixmap()
                if pixmap.loadFromData(s.thumbnail):
                    item.setIcon(QIcon(pixmap))
            self.list.addItem(item)


def similar_to_specimen(context: AppContext, specimen_id: int) -> SimilarView:
    """A :class:`SimilarView` filled in the background from a catalogued specimen's stored embeddings."""
    view = SimilarView("Similar specimens in your catalogue")
    classifier = context.classifier
    if classifier is None or not classifier.has_embedding:
        view.clear("The model is still loading." if classifier is None else NO_EMBEDDING)
        return view
    view.clear("Looking for similar specimens…")
    task = Task(consult_for_specimen, context.catalog, classifier, specimen_id)
    task.signals.result.connect(
        lambda answer: view.show_answer(answer, "None of this specimen's photos can be read.")
    )
    task.signals.error.connect(view.clear)
    context.keep(task)
    return view
