"""The measuring tool of the Identify view: draw a line along a ruler in the photo and type its length in
mm (calibration), then drag across the shell: its length in mm is shown, and saved with the record.

Only drawing and forwarding here; the calibration and the length are computed and checked by
:mod:`shellgui.core.measuring`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QLineF, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QInputDialog, QLabel, QPushButton

from shellgui.core.errors import ShellguiError
from shellgui.core.imaging import Photo
from shellgui.core.measuring import Calibration, Point
from shellgui.qt import help as help_keys
from shellgui.qt.photo_tools import PhotoTool, clamped

if TYPE_CHECKING:
    from shellgui.qt.identify_panel import IdentifyPanel


def _point(pos: QPointF) -> Point:
    return (round(pos.x(), 1), round(pos.y(), 1))


class MeasureTool(PhotoTool):
    """Drag a line on the photo: ``line_drawn(start, end)`` on release (scene coordinates: full-resolution
    photo pixels, kept on the photo). :meth:`show_line` keeps a line drawn, in the given colour."""

    line_drawn = Signal(QPointF, QPointF)
    #: The line being dragged (start, where the mouse is now), for a live length.
    line_moved = Signal(QPointF, QPointF)

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self._start: QPointF | None = None
        self._lines: dict[str, QGraphicsLineItem] = {}

    def show_line(self, name: str, start: QPointF | None, end: QPointF | None, colour: str) -> None:
        """Draw (or, with ``None``, remove) the line called ``name``."""
        item = self._lines.pop(name, None)
        if item is not None:
            self.view.scene().removeItem(item)
        if start is None or end is None:
            return
        pen = QPen(QColor(colour), 3)
        pen.setCosmetic(True)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        item = self.view.scene().addLine(QLineF(start, end), pen)
        item.setZValue(3)
        self._lines[name] = item

    def press(self, pos: QPointF) -> None:
        self._start = clamped(self.view, pos)

    def move(self, pos: QPointF) -> None:
        if self._start is not None:
            pos = clamped(self.view, pos)
            self.show_line("dragging", self._start, pos, "#ffd54f")
            self.line_moved.emit(self._start, pos)

    def release(self, pos: QPointF) -> None:
        start, self._start = self._start, None
        self.show_line("dragging", None, None, "")
        if start is not None:
            self.line_drawn.emit(start, clamped(self.view, pos))

    def escape(self) -> None:
        self._start = None
        self.show_line("dragging", None, None, "")

    def clear_drawing(self) -> None:
        self._start = None
        for name in list(self._lines):
            self.show_line(name, None, None, "")


class MeasureController(QObject):
    """Owns the measuring tool: the first line calibrates (the user types its length in mm), later lines
    measure. :attr:`measured` is what is saved with the next record: ``(mm, method)`` or ``None``."""

    changed = Signal()

    def __init__(self, panel: IdentifyPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.tool = MeasureTool(panel.preview)
        self.button = panel.tools.add(
            self.tool,
            "↔ Measure",
            "First draw a line along the ruler in the photo and type its length in mm;\n"
            "then drag across the shell: its length in mm is saved with the record",
            help_keys.MEASURE,
        )
        self.label = QLabel("")
        self.recalibrate = QPushButton("Recalibrate")
        self.recalibrate.setToolTip("Draw the ruler line again (another photo, another ruler)")
        self.recalibrate.clicked.connect(self.reset)
        self.recalibrate.setVisible(False)
        self.calibration: Calibration | None = None
        self.measured: tuple[float, dict[str, Any]] | None = None
        #: The photo the length was measured on (the catalogue links the measurement to it).
        self.measured_on: Photo | None = None
        self.tool.line_drawn.connect(self._line_drawn)
        self.tool.line_moved.connect(self._line_moved)
        panel.preview.image_changed.connect(self.reset)

    def reset(self) -> None:
        """Forget the calibration and the length (another photo is shown)."""
        self.calibration, self.measured, self.measured_on = None, None, None
        self.tool.clear_drawing()
        self.recalibrate.setVisible(False)
        self.label.setText("")
        self.changed.emit()

    def saved(self, measured: tuple[float, dict[str, Any]] | None) -> None:
        """``measured`` is now in the catalogue: saving the record again does not add it twice."""
        if measured is not None and measured is self.measured:
            self.measured = self.measured_on = None
            self.label.setText(f"Saved: {measured[0]:.1f} mm · drag again to measure anew")
            self.changed.emit()

    def ask_mm(self) -> float | None:
        """The known length of the calibration line, typed by the user (``None``: cancelled)."""
        value, ok = QInputDialog.getDouble(
            self.panel, "Calibrate", "Length of the line you drew along the ruler (mm):", 10.0, 0.01, 10000, 2
        )
        return value if ok else None

    def _line_moved(self, start: QPointF, end: QPointF) -> None:
        """The live length while dragging across the shell (kept only on release)."""
        if self.calibration is not None:
            length = self.calibration.length_mm(_point(start), _point(end))
            self.label.setText(f"Length: <b>{length:.1f} mm</b> (release to keep it)")

    def _line_drawn(self, start: QPointF, end: QPointF) -> None:
        if not self.panel.preview.has_image():
            return  # nothing to measure on
        a, b = _point(start), _point(end)
        if self.calibration is None:
            mm = self.ask_mm()
            if mm is None:
                return
            try:
                self.calibration = Calibration.between(a, b, mm)
            except ShellguiError as exc:
                self.panel.status.emit(f"Not calibrated: {exc}")
                return
            self.tool.show_line("calibration", start, end, "#4fc3f7")
            self.recalibrate.setVisible(True)
            self.label.setText(f"Calibrated: {mm:g} mm · now drag across the shell")
            return
        length = self.calibration.length_mm(a, b)
        self.measured = (length, self.calibration.method(a, b))
        self.measured_on = self.panel.shown_photo()
        self.tool.show_line("length", start, end, "#81c784")
        self.label.setText(f"Length: <b>{length:.1f} mm</b> (saved with the record)")
        self.changed.emit()
