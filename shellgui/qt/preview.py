"""A photo preview with zoom (mouse wheel, +/-, fit) and off-thread loading of big photos."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QLabel, QVBoxLayout

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
    """Shows one photo; the wheel zooms around the cursor, double-click fits it to the view."""

    def __init__(self) -> None:
        super().__init__()
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

    def set_image(self, image: QImage | None) -> None:
        self._item.setPixmap(
            QPixmap.fromImage(image) if image is not None and not image.isNull() else QPixmap()
        )
        self.scene().setSceneRect(self._item.boundingRect())
        self.placeholder.setVisible(not self.has_image())
        self.fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

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
        self.fit()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._fit:
            self.fit()
