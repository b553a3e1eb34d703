"""Colours that stay readable on light and dark desktop themes, and the app icon."""

from __future__ import annotations

from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication

from shellgui.core import paths

# (light theme, dark theme): dark-theme tints keep at least 4.5:1 contrast on a #2b2b2b window.
_COLOURS = {
    "confident": ("#1b7f3b", "#6fdc8c"),
    "likely": ("#9a6a00", "#f1c21b"),
    "error": ("#b3261e", "#ff8389"),
}


def dark() -> bool:
    """The desktop theme is dark (the window background is darker than its text)."""
    palette = QApplication.palette()
    return (
        palette.color(QPalette.ColorRole.Window).lightness()
        < palette.color(QPalette.ColorRole.WindowText).lightness()
    )


def colour(name: str) -> str:
    """``"confident"``, ``"likely"``, ``"error"`` for the current theme; anything else: the text colour."""
    if name not in _COLOURS:
        return QApplication.palette().color(QPalette.ColorRole.Text).name()
    light, dark_variant = _COLOURS[name]
    return dark_variant if dark() else light


def app_icon() -> QIcon:
    return QIcon(str(paths.resources_dir() / "icons" / "shellgui.png"))
