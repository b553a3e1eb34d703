"""Mouse tools of the photo preview: one is active at a time (none, crop, measure...).

How to add a tool:

1. subclass :class:`PhotoTool`; ``press``/``move``/``release`` get positions in scene coordinates, which are
   pixels of the upright full-resolution photo (what the catalogue stores); draw with items added to
   ``view.scene()`` and remove them in ``clear_drawing`` (called when another photo is shown);
2. ``ToolSwitch.add(tool, ...)`` gives it a checkable button; checking it makes it the view's active tool,
   unchecking it (or checking another) deactivates it; Escape goes to the active tool's ``escape``.

Tools only draw and forward: what a box or a line *means* (a valid crop, a length in mm) is decided in
``shellgui.core``, by whoever listens to the tool's signals.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QToolButton,
    QWidget,
)

from shellgui.qt.preview import PhotoView


class PhotoTool(QObject):
    """A mouse tool of a :class:`PhotoView`; positions are scene coordinates (full-resolution pixels)."""

    #: The cursor over the photo while this tool is active.
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, view: PhotoView) -> None:
        super().__init__(view)
        self.view = view
        view.image_changed.connect(self.clear_drawing)

    @property
    def active(self) -> bool:
        return self.view.tool is self

    def activate(self) -> None:
        """Called when the tool becomes the active one."""

    def deactivate(self) -> None:
        """Called when another tool (or none) becomes active."""

    def press(self, pos: QPointF) -> None:
        """The left button went down on the photo."""

    def move(self, pos: QPointF) -> None:
        """The mouse moved with the left button down."""

    def release(self, pos: QPointF) -> None:
        """The left button went up."""

    def escape(self) -> None:
        """Escape was pressed while this tool is active."""

    def clear_drawing(self) -> None:
        """Remove what the tool drew (another photo is shown)."""


def clamped(view: PhotoView, pos: QPointF) -> QPointF:
    """``pos`` moved onto the shown photo (a drag may end outside it)."""
    width, height = view.photo_rect()
    return QPointF(min(max(pos.x(), 0.0), width), min(max(pos.y(), 0.0), height))


class CropTool(PhotoTool):
    """Drag a box on the photo: ``box_drawn`` gives it on release (scene coordinates, possibly tiny or
    outside: the listener checks it with :func:`shellgui.core.crops.checked_crop`). Escape asks to clear
    the crop. :meth:`show_crop` draws the crop in force (the photo outside it is shaded) whatever tool is
    active."""

    box_drawn = Signal(QRectF)
    clear_requested = Signal()

    #: A drag shorter than this many screen pixels is a click, not a box.
    MIN_DRAG = 4

    def __init__(self, view: PhotoView) -> None:
        super().__init__(view)
        self._start: QPointF | None = None
        self._start_screen: QPointF | None = None
        self._shade: QGraphicsPathItem | None = None
        self._outline: QGraphicsRectItem | None = None
        self._subjects: list[QGraphicsItem] = []
        self.shown: QRectF | None = None

    def _draw(self, rect: QRectF | None) -> None:
        scene = self.view.scene()
        if rect is None:
            for item in (self._shade, self._outline):
                if item is not None:
                    scene.removeItem(item)
            self._shade = self._outline = None
            return
        width, height = self.view.photo_rect()
        outside = QPainterPath()
        outside.addRect(QRectF(0, 0, width, height))
        inside = QPainterPath()
        inside.addRect(rect)
        if self._shade is None or self._outline is None:
            self._shade = scene.addPath(QPainterPath(), QPen(Qt.PenStyle.NoPen), QBrush(QColor(0, 0, 0, 130)))
            pen = QPen(QColor("#ffd54f"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)  # the same width at every zoom
            self._outline = scene.addRect(QRectF(), pen)
            for item in (self._shade, self._outline):
                item.setZValue(1)
        self._shade.setPath(outside.subtracted(inside))
        self._outline.setRect(rect)

    def show_crop(self, rect: QRectF | None) -> None:
        """Draw the crop in force (``None``: the whole photo, nothing drawn)."""
        self.show_subjects([])
        self.shown = rect
        self._draw(rect)

    def show_subjects(self, rects: list[QRectF]) -> None:
        """Outline and number boxes found by auto-crop (an empty list removes them)."""
        scene = self.view.scene()
        for item in self._subjects:
            scene.removeItem(item)
        self._subjects = []
        pen = QPen(QColor("#4fc3f7"), 3)
        pen.setCosmetic(True)
        for number, rect in enumerate(rects, 1):
            box = scene.addRect(rect, pen)
            label = scene.addSimpleText(str(number))
            label.setBrush(QBrush(QColor("#4fc3f7")))
            label.setFlag(label.GraphicsItemFlag.ItemIgnoresTransformations)  # readable at any zoom
            font = label.font()
            font.setPointSize(16)
            font.setBold(True)
            label.setFont(font)
            label.setPos(rect.topLeft() + QPointF(6, 4))
            for item in (box, label):
                item.setZValue(2)
            self._subjects += [box, label]

    def press(self, pos: QPointF) -> None:
        self._start = clamped(self.view, pos)
        self._start_screen = QPointF(self.view.mapFromScene(pos))

    def move(self, pos: QPointF) -> None:
        if self._start is not None:
            self._draw(QRectF(self._start, clamped(self.view, pos)).normalized())

    def release(self, pos: QPointF) -> None:
        start, start_screen = self._start, self._start_screen
        self._start = self._start_screen = None
        if start is None or start_screen is None:
            return
        moved = QPointF(self.view.mapFromScene(pos)) - start_screen
        if abs(moved.x()) < self.MIN_DRAG and abs(moved.y()) < self.MIN_DRAG:
            self._draw(self.shown)  # a click: the crop in force stays
            return
        self.box_drawn.emit(QRectF(start, clamped(self.view, pos)).normalized())

    def escape(self) -> None:
        if self._start is not None:  # abandon the box being dragged
            self._start = self._start_screen = None
            self._draw(self.shown)
            return
        self.clear_requested.emit()

    def clear_drawing(self) -> None:
        self._start = self._start_screen = None
        self.shown = None
        self._draw(None)
        self.show_subjects([])


class ToolSwitch(QWidget):
    """Checkable buttons choosing the view's active tool; at most one is checked (none: pan)."""

    def __init__(self, view: PhotoView) -> None:
        super().__init__()
        self.view = view
        self.buttons: dict[PhotoTool, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(False)  # exclusivity by hand: unchecking the checked one means "none"
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        view.tool_changed.connect(self._sync)

    def add(self, tool: PhotoTool, text: str, tooltip: str, shortcut: str | None = None) -> QToolButton:
        """A button for ``tool`` (``shortcut``: a key sequence toggling it)."""
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setToolTip(tooltip + (f" ({shortcut})" if shortcut else ""))
        if shortcut:
            button.setShortcut(shortcut)
        button.toggled.connect(lambda on, t=tool: self._toggled(t, on))
        self._group.addButton(button)
        self._layout.addWidget(button)
        self.buttons[tool] = button
        return button

    def _toggled(self, tool: PhotoTool, on: bool) -> None:
        if on:
            self.view.set_tool(tool)
        elif self.view.tool is tool:
            self.view.set_tool(None)

    def _sync(self, active: PhotoTool | None) -> None:
        for tool, button in self.buttons.items():
            if button.isChecked() != (tool is active):
                button.blockSignals(True)
                button.setChecked(tool is active)
                button.blockSignals(False)
