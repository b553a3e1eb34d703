"""A photo preview with zoom (mouse wheel, +/-, fit), off-thread loading of big photos, and one active
mouse tool at a time (crop, measure: see :mod:`shellgui.qt.photo_tools`).

Scene coordinates are pixels of the upright photo at full resolution (what the catalogue stores), even
though the preview shows a reduced copy: :meth:`PhotoView.set_image` scales the pixmap item to the
photo's full size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QKeyEvent, QMouseEvent, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QLabel, QVBoxLayout

if TYPE_CHECKING:
    from shellgui.qt.photo_tools import PhotoTool

PREVIEW_MAX_SIDE = 2048


def load_preview(path: str) -> QImage:
    """Read a photo upright and at most ``PREVIEW_MAX_SIDE`` pixels (safe on a worker thread)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > PREVIEW_MAX_SIDE:
        reader.setScaledSize(
            size.scaled(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio)
        )
    image = reader.read()
    return image


class PhotoView(QGraphicsView):
    """Shows one photo; the wheel zooms around the cursor, double-click fits it to the view.

    With no tool active, dragging pans. :meth:`set_tool` makes one :class:`PhotoTool` active: it then
    gets the left button's press, move and release in scene coordinates (photo pixels), and Escape.
    """

    #: The active tool changed (the tool, or ``None``).
    tool_changed = Signal(object)
    #: A new photo (or none) is shown: tools drop what they drew on the old one.
    image_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._tool: PhotoTool | None = None
        self._dragging = False
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMinimumSize(320, 240)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self._fit = True
        # What to do, shown while there is no photo (the first thing a new user sees).
        self.placeholder = QLabel()
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setTextFormat(Qt.TextFormat.RichText)
        self.placeholder.setStyleSheet(
            "QLabel { color: #f2f2f2; border: 2px dashed #bdbdbd; border-radius: 12px; padding: 24px;"
            " background: rgba(0, 0, 0, 60); font-size: 11pt }"
        )
        overlay = QVBoxLayout(self.viewport())
        overlay.setContentsMargins(28, 28, 28, 28)
        overlay.addWidget(self.placeholder)

    def set_image(self, image: QImage | None, full_size: tuple[int, int] | None = None) -> None:
        """Show a photo; ``full_size``: its upright full-resolution size, when ``image`` is a reduced
        copy (scene coordinates are then full-resolution pixels)."""
        pixmap = QPixmap.fromImage(image) if image is not None and not image.isNull() else QPixmap()
        self._item.setPixmap(pixmap)
        scale = full_size[0] / pixmap.width() if full_size and not pixmap.isNull() else 1.0
        self._item.setScale(scale)
        self.scene().setSceneRect(self._item.sceneBoundingRect())
        self.placeholder.setVisible(not self.has_image())
        self._dragging = False
        self.image_changed.emit()
        self.fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def photo_rect(self) -> tuple[float, float]:
        """The shown photo's size in scene coordinates (full-resolution pixels)."""
        rect = self._item.sceneBoundingRect()
        return rect.width(), rect.height()

    # -- the active tool -----------------------------------------------------------------------------
    @property
    def tool(self) -> PhotoTool | None:
        return self._tool

    def set_tool(self, tool: PhotoTool | None) -> None:
        """Make ``tool`` the one mouse tool (``None``: dragging pans the photo again)."""
        if tool is self._tool:
            return
        if self._tool is not None:
            self._tool.deactivate()
        self._tool, self._dragging = tool, False
        if tool is None:
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
            self.viewport().unsetCursor()
        else:
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(tool.cursor)
            tool.activate()
        self.tool_changed.emit(tool)

    def _scene_pos(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._tool is not None and self.has_image() and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._tool.press(self._scene_pos(event))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._tool is not None and self._dragging:
            self._tool.move(self._scene_pos(event))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._tool is not None and self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self._tool.release(self._scene_pos(event))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._tool is not None and event.key() == Qt.Key.Key_Escape:
            self._dragging = False
            self._tool.escape()
            event.accept()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        # Escape must reach the tool even where a dialog or the window would take it as a shortcut.
        if (
            self._tool is not None
            and event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()
            return True
        return super().event(event)

    def fit(self) -> None:
        self._fit = True
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self._fit = False
        self.scale(factor, factor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    def mouseDoubleClickEvent(self, event: object) -> None:
        if self._tool is None:
            self.fit()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._fit:
            self.fit()
