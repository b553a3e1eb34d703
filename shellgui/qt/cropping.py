"""The crop tool of the Identify view: drag a box, the box is identified again and saved with the record.

Only drawing and forwarding here; the box is checked by :func:`shellgui.core.crops.checked_crop` and
identified by :func:`shellgui.core.identify.identify_cropped` on a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF
from PySide6.QtWidgets import QPushButton

from shellgui.core.crops import Crop, checked_crop
from shellgui.core.errors import ShellguiError
from shellgui.core.identify import Identified, identify_cropped
from shellgui.core.imaging import Photo
from shellgui.qt import help as help_keys
from shellgui.qt.photo_tools import CropTool
from shellgui.qt.workers import Task

if TYPE_CHECKING:
    from shellgui.qt.identify_panel import IdentifyPanel


def crop_rect(crop: Crop | None) -> QRectF | None:
    """A crop as a scene rectangle (scene coordinates are full-resolution photo pixels)."""
    return None if crop is None else QRectF(crop.x, crop.y, crop.width, crop.height)


class CropController(QObject):
    """Owns the crop tool and its "Clear crop" button; identifies the shown result again when its crop
    changes."""

    def __init__(self, panel: IdentifyPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.tool = CropTool(panel.preview)
        self.button = panel.tools.add(
            self.tool,
            "✂ Crop",
            "Drag a box around the shell: only the box is identified, and it is saved with the record.\n"
            "Escape or Clear crop: the whole photo again",
            help_keys.CROP,
        )
        self.clear_button = QPushButton("Clear crop")
        self.clear_button.setToolTip("Identify the whole photo again (Escape while cropping)")
        self.clear_button.clicked.connect(self.clear)
        self.clear_button.setEnabled(False)
        self.tool.box_drawn.connect(self._box_drawn)
        self.tool.clear_requested.connect(self.clear)
        self.pending: Task | None = None

    def show(self, photo: Photo | None) -> None:
        """Draw the crop of the photo now shown (call after the preview shows it)."""
        crop = photo.crop if photo is not None else None
        self.tool.show_crop(crop_rect(crop))
        self.clear_button.setEnabled(crop is not None)

    def _box_drawn(self, rect: QRectF) -> None:
        photo = self.panel.shown_photo()
        if photo is None:
            return
        try:
            crop = checked_crop(
                rect.x(), rect.y(), rect.width(), rect.height(), photo.info.width, photo.info.height
            )
        except ShellguiError as exc:
            self.show(photo)  # the crop in force stays
            self.panel.status.emit(f"Not cropped: {exc}")
            return
        self.apply(crop)

    def clear(self) -> None:
        photo = self.panel.shown_photo()
        if photo is not None and photo.crop is not None:
            self.apply(None)

    def apply(self, crop: Crop | None) -> None:
        """Identify the shown result again with ``crop`` on the photo shown (its other views keep theirs)."""
        panel, classifier = self.panel, self.panel.context.classifier
        result, photos, index = panel.current(), panel.current_photos(), panel.view_index
        if result is None or not photos or classifier is None:
            return
        row = panel.items.currentRow()
        crops = [p.crop for p in photos]
        crops[index] = crop
        self.tool.show_crop(crop_rect(crop))
        panel.results.clear("Identifying the crop…" if crop is not None else "Identifying the whole photo…")
        task = Task(identify_cropped, classifier, photos, crops, panel.context.settings.top_k)
        task.signals.result.connect(lambda answer: self._identified(row, result, answer))
        task.signals.error.connect(self._failed)
        self.pending = task
        panel.context.keep(task)

    def _identified(self, row: int, before: Identified, answer: tuple[list[Photo], Identified]) -> None:
        photos, identified = answer
        if not self.panel.replace_result(row, before, photos, identified):
            return  # a newer drop replaced the result
        shown = self.panel.shown_photo()
        what = f"the crop {shown.crop.describe()}" if shown and shown.crop else "the whole photo"
        self.panel.status.emit(f"Identified {what}: {identified.prediction.taxon or 'uncertain'}")

    def _failed(self, message: str) -> None:
        self.panel.results.clear("Could not identify the crop.")
        self.panel.status.emit(f"Not cropped: {message}")
        self.show(self.panel.shown_photo())
