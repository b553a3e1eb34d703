"""The record form: partial dates validated like the catalogue's, explicit "keep", the dropped list
marks what is recorded and moves on; the specimen dialog refuses the same bad date and duplicate numbers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from test_main_window import drop

from shellgui.core.catalog import queries


def test_dates_keep_and_the_dropped_list(qtbot, window, colour_photos, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"], colour_photos["green"], colour_photos["blue"]])
    qtbot.waitUntil(lambda: panel.items.count() == 3 and panel.accept_button.isEnabled(), timeout=10000)
    panel.items.setCurrentRow(0)
    panel.catalog_number.setText("MZ-1")
    panel.locality.setText("Nha Trang")
    panel.keep["locality"].setChecked(True)
    panel.collector.setText("A. Diver")  # not kept
    panel.collected_on.setText("last tuesday-ish")
    assert "is not a date" in panel.collected_on.toolTip() and "border" in panel.collected_on.styleSheet()
    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not recorded" in panel.errors.text(), timeout=10000)
    assert "is not a date" in panel.errors.text() and panel.items.currentRow() == 0  # nothing saved
    panel.collected_on.setText("2019-5")
    assert panel.collected_on.styleSheet() == ""
    with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    detail = queries.specimen_detail(window.context.catalog, blocker.args[0])
    assert detail is not None and detail.fields["collected_on"] == "2019-05"
    assert detail.fields["locality"] == "Nha Trang" and detail.fields["catalog_number"] == "MZ-1"
    # The recorded photo is ticked and the next one is shown, with only the kept field carried over.
    assert panel.items.item(0).text().startswith("✓ ") and panel.items.currentRow() == 1
    assert panel.locality.text() == "Nha Trang"
    assert (
        panel.collector.text() == "" and panel.catalog_number.text() == "" and panel.collected_on.text() == ""
    )


def test_specimen_dialog_refuses_bad_dates_and_duplicates(qtbot, window, colour_photos, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shellgui.qt.specimen_dialog import SpecimenDialog

    panel = window.identify_panel
    ids = []
    for name, number in (("red", "MZ-1"), ("blue", "MZ-2")):
        drop(window, [colour_photos[name]])
        qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
        panel.catalog_number.setText(number)
        with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
            panel.save(validate=False)
        ids.append(blocker.args[0])
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    dialog = SpecimenDialog(window.context, ids[1], window)
    qtbot.addWidget(dialog)
    dialog.fields["collected_on"].setText("last tuesday-ish")
    dialog.save()
    assert shown and "is not a date" in shown[-1] and dialog.result() == 0
    dialog.fields["collected_on"].setText("2001")
    dialog.fields["catalog_number"].setText("MZ-1")
    dialog.save()
    assert "MZ-1 is already used by specimen" in shown[-1]
    dialog.fields["catalog_number"].setText("MZ-2")
    dialog.save()
    assert len(shown) == 2
    detail = queries.specimen_detail(window.context.catalog, ids[1])
    assert detail is not None and detail.fields["collected_on"] == "2001"
