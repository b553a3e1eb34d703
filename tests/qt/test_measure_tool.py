"""The measuring tool: a line along the ruler calibrates, a line across the shell measures, the length is
saved with the record."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtCore import QPointF, Qt
from test_crop_tool import drag
from test_main_window import drop

from shellgui.core.catalog.schema import Measurement, Photo


def test_calibrate_measure_and_record(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "shell-and-ruler.jpg"
    image = Image.new("RGB", (800, 400), (20, 20, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 350, 700, 370), fill=(240, 240, 240))  # a ruler: 600 px = 60 mm
    draw.ellipse((200, 100, 450, 250), fill=(230, 20, 20))  # a shell 250 px = 25 mm long
    image.save(path, quality=95)
    panel = window.identify_panel
    drop(window, [path])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    monkeypatch.setattr(panel.measure, "ask_mm", lambda: 60.0)
    panel.measure.button.click()
    assert panel.preview.tool is panel.measure.tool
    drag(qtbot, panel.preview, (100, 360), (700, 360))  # along the ruler
    assert panel.measure.calibration is not None and "Calibrated: 60 mm" in panel.measure.label.text()
    viewport, to = panel.preview.viewport(), panel.preview.mapFromScene
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=to(QPointF(200, 175)))
    qtbot.mouseMove(viewport, pos=to(QPointF(325, 175)))  # half-way across the shell: live length
    live = panel.measure.label.text()
    assert "(release to keep it)" in live and panel.measure.measured is None
    assert abs(float(live.split("<b>")[1].split(" mm")[0]) - 12.5) < 0.5
    qtbot.mouseMove(viewport, pos=to(QPointF(450, 175)))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=to(QPointF(450, 175)))
    assert panel.measure.measured is not None
    assert abs(panel.measure.measured[0] - 25.0) < 0.5 and "25." in panel.measure.label.text()
    with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
        panel.save(validate=True)
    with window.context.catalog.session() as session:
        (m,) = session.query(Measurement).filter_by(specimen_id=blocker.args[0]).all()
        assert m.measurement_type == "shell length" and abs(m.value - 25.0) < 0.5 and m.measured_by
        measured_on = session.get(Photo, m.photo_id)  # linked to the photo it was measured on
        assert measured_on is not None and Path(measured_on.path).name == path.name
    assert panel.measure.measured is None and "Saved: 25." in panel.measure.label.text()
    with qtbot.waitSignal(panel.recorded, timeout=10000):
        panel.save(validate=True)  # the same record again: the length is not stored twice
    with window.context.catalog.session() as session:
        assert session.query(Measurement).count() == 1
    panel.measure.recalibrate.click()
    assert panel.measure.calibration is None and panel.measure.measured is None


def test_a_too_short_ruler_line_is_refused_with_a_line(qtbot, window, colour_photos, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    monkeypatch.setattr(panel.measure, "ask_mm", lambda: 10.0)
    panel.measure.button.click()
    messages: list[str] = []
    panel.status.connect(messages.append)
    drag(qtbot, panel.preview, (5, 5), (8, 9))
    assert panel.measure.calibration is None and any("Not calibrated" in m for m in messages)


def test_no_line_is_measured_without_a_photo(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    asked: list[bool] = []
    monkeypatch.setattr(panel.measure, "ask_mm", lambda: asked.append(True) or 10.0)
    panel.measure.button.click()
    panel.measure.tool.line_drawn.emit(QPointF(0, 0), QPointF(300, 0))
    assert not asked and panel.measure.calibration is None and panel.measure.label.text() == ""


def test_specimen_dialog_lists_deletes_and_brings_back_a_measurement(
    qtbot, window, colour_photos, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from test_curation_gui import answer

    from shellgui.core.catalog import curation, queries
    from shellgui.core.identify import identify_paths, record
    from shellgui.core.measuring import Calibration
    from shellgui.qt.specimen_dialog import SpecimenDialog

    classifier = window.context.classifier
    photos, outcome = identify_paths(classifier, [colour_photos["red"]])
    sid = record(window.context.catalog, classifier, photos, outcome.results[0].prediction).specimen_id
    cal = Calibration.between((0, 0), (0, 600), 60.0)
    curation.add_measurement(
        window.context.catalog, sid, 25.04, "tester", method=cal.method((0, 0), (250, 0))
    )
    dialog = SpecimenDialog(window.context, sid, window)
    qtbot.addWidget(dialog)
    table = dialog.measurement_table
    assert dialog.tabs.tabText(1) == "Measurements (1)" and table.rowCount() == 1
    assert table.item(0, 1).text() == "shell length 25.0 mm" and table.item(0, 2).text() == "tester"
    assert "60 mm" in table.item(0, 3).text()
    assert not dialog.delete_measurement_button.isEnabled()  # nothing selected yet
    table.selectRow(0)
    asked = answer(monkeypatch, yes=False)
    qtbot.mouseClick(dialog.delete_measurement_button, Qt.MouseButton.LeftButton)
    assert "shell length 25.0 mm" in asked[0] and table.rowCount() == 1  # said No: kept
    answer(monkeypatch, yes=True)
    qtbot.mouseClick(dialog.delete_measurement_button, Qt.MouseButton.LeftButton)
    assert table.rowCount() == 0 and dialog.tabs.tabText(1) == "Measurements (0)"
    assert "deleted" in dialog.log_table.item(0, 2).text()
    qtbot.mouseClick(dialog.undo_button, Qt.MouseButton.LeftButton)  # the measurement comes back
    assert table.rowCount() == 1 and table.item(0, 1).text() == "shell length 25.0 mm"
    detail = queries.specimen_detail(window.context.catalog, sid)
    assert detail is not None and [m.value for m in detail.measurements] == [25.04]


def test_a_line_dragged_past_the_photo_ends_at_its_edge(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ruler.jpg"
    Image.new("RGB", (800, 400), (200, 200, 200)).save(path)
    panel = window.identify_panel
    drop(window, [path])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    monkeypatch.setattr(panel.measure, "ask_mm", lambda: 80.0)
    panel.measure.button.click()
    lines: list[tuple[QPointF, QPointF]] = []
    panel.measure.tool.line_drawn.connect(lambda a, b: lines.append((a, b)))
    drag(qtbot, panel.preview, (0, 200), (800, 200))  # 800 px = 80 mm
    panel.measure.tool.press(QPointF(400, 100))
    panel.measure.tool.release(QPointF(2400, 100))  # far right of the photo
    assert lines[-1][1] == QPointF(800, 100)
    assert panel.measure.measured is not None and abs(panel.measure.measured[0] - 40.0) < 0.5
