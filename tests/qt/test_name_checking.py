"""Typed taxon names in the window: completion from the name backbone, a synonym recorded as accepted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from test_main_window import drop

from shellgui.core.catalog import VALIDATED
from shellgui.core.catalog import repository as repo


def test_typed_synonym_is_marked_and_recorded_as_accepted(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    qtbot.waitUntil(lambda: panel.backbone is not None, timeout=10000)
    names = panel.taxon.completer().model()
    all_names = {names.index(i, 0).data() for i in range(names.rowCount())}
    assert {"Lissachatina fulica", "Achatina fulica", "Redia rubra"} <= all_names  # backbone + model taxa
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.results.prediction is not None, timeout=10000)
    assert "not in the name list" in panel.name_status.text()  # the tiny model's made-up taxon
    panel.taxon.setText("Achatina fulica")
    assert "Lissachatina fulica" in panel.name_status.text() and "synonym" in panel.name_status.text()
    panel.taxon.setText("Bolinus brandaris")
    assert panel.name_status.text().startswith("✓ accepted name · Muricidae · WoRMS 140389")
    panel.taxon.setText("Achatina fulica")
    with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    with window.context.catalog.session() as s:
        current = repo.current_identification(s, blocker.args[0])
    assert current is not None and current.verification_status == VALIDATED
    assert current.taxon == "Lissachatina fulica" and "synonym" in (current.remarks or "")
