"""First run and polish: icon, drop area, Help, shortcuts, dark-theme colours, recent folders."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def action(window, text: str):  # type: ignore[no-untyped-def]
    found = [a for menu in window.menuBar().actions() for a in menu.menu().actions() if a.text() == text]
    assert found, text
    return found[0]


def test_icon_and_drop_area_say_what_to_do(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert not window.windowIcon().isNull()
    hint = window.identify_panel.preview.placeholder
    assert hint.isVisible()
    assert "Drop photos of shells here" in hint.text() and "Ctrl+V" in hint.text()
    # What the loaded (tiny test) model knows, and its limit.
    assert "tiny-test" in hint.text() and "4 taxa" in hint.text() and "Redia rubra" in hint.text()
    assert "names nothing else" in hint.text()


def test_shortcuts_and_help(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shellgui.qt import main_window as mw
    from shellgui.qt.help import SHORTCUTS, help_html

    assert action(window, "P&references…").shortcut().toString() == "Ctrl+,"
    assert action(window, "Export &CSV…").shortcut().toString() == "Ctrl+E"
    assert action(window, "shellgui &help").shortcut().toString() == "F1"
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.catalogue_panel
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.review_panel
    opened: list[bool] = []
    monkeypatch.setattr(mw.PreferencesDialog, "exec", lambda d: opened.append(True) or False)
    action(window, "P&references…").trigger()
    assert opened
    text = help_html()
    assert all(keys in text for keys, _ in SHORTCUTS[:3]) and "A short guide" in text


def test_ctrl_return_accepts_only_a_decided_answer(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    from test_main_window import drop

    panel = window.identify_panel
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    panel.taxon.setFocus()
    with qtbot.waitSignal(panel.recorded, timeout=10000):
        qtbot.keyClick(panel.taxon, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    panel.taxon.clear()  # nothing decided: the key does nothing
    with qtbot.assertNotEmitted(panel.recorded, wait=300):
        qtbot.keyClick(panel.taxon, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_colours_follow_a_dark_theme(qapp) -> None:  # type: ignore[no-untyped-def]
    from shellgui.qt import theme

    original = QApplication.palette()
    try:
        light = QPalette(original)
        light.setColor(QPalette.ColorRole.Window, QColor("#f5f5f5"))
        light.setColor(QPalette.ColorRole.WindowText, QColor("#111111"))
        QApplication.setPalette(light)
        assert not theme.dark() and theme.colour("confident") == "#1b7f3b"
        night = QPalette(original)
        night.setColor(QPalette.ColorRole.Window, QColor("#2b2b2b"))
        night.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
        night.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
        QApplication.setPalette(night)
        assert theme.dark() and QColor(theme.colour("error")).lightness() > 150
        assert QColor(theme.colour("uncertain")).lightness() > 200  # other words: the theme's text colour
    finally:
        QApplication.setPalette(original)


def test_recent_folders(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shellgui.core.settings import Settings

    panel = window.batch_panel
    for name in ("drawer-1", "drawer-2"):
        folder = tmp_path / name
        folder.mkdir()
        Image.new("RGB", (64, 48), (200, 30, 30)).save(folder / "a.jpg")
        panel.folder.setText(str(folder))
        with qtbot.waitSignal(panel.finished, timeout=20000):
            panel.start()
    newest_first = [str(tmp_path / "drawer-2"), str(tmp_path / "drawer-1")]
    # settings are saved off the GUI thread (a write with fsync): wait for the file, bounded
    qtbot.waitUntil(lambda: Settings.load().recent_folders[:2] == newest_first, timeout=5000)
    panel._fill_recent()
    entries = [a.text() for a in panel.recent.menu().actions()]
    assert entries[:2] == [str(tmp_path / "drawer-2"), str(tmp_path / "drawer-1")]
    panel.recent.menu().actions()[1].trigger()
    assert panel.folder.text() == str(tmp_path / "drawer-1")


def test_the_headline_says_when_the_most_similar_photo_disputed_the_species() -> None:
    import numpy as np
    from tinymodel import OPEN_SET, open_set_card

    from shellgui.core.inference.decision import decide
    from shellgui.core.inference.openset import OpenSetScore
    from shellgui.qt.results_view import headline_html

    card = open_set_card(open_set={**OPEN_SET, "agreement": True})
    probabilities = np.array([0.9, 0.05, 0.03, 0.02])
    for nearest, shown in ((1, "<i>Redia sp.</i>"), (3, "Uncertain")):
        answer = decide(probabilities, card, open_set=OpenSetScore(0.1, 0.2, 3, nearest, 0.1, 9))
        text = headline_html(answer)
        assert shown in text and f"<i>{answer.disputed_by}</i>" in text and "most similar photo" in text
        assert ("disagree" in text) is (answer.taxon is None) and "not a taxon this model knows" not in text
    agreed = decide(probabilities, card, open_set=OpenSetScore(0.1, 0.2, 3, 0, 0.1, 9))
    assert "most similar" not in headline_html(agreed)
