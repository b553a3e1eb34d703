"""The crop tool: drag a box on the preview, the box is identified again and recorded with the photo."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtCore import QPointF, Qt
from test_main_window import drop

from shellgui.core.catalog.schema import Photo as PhotoRow


def drag(qtbot, view, start: tuple[float, float], end: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    """Drag with the left button between two points given in photo pixels."""
    a, b = (view.mapFromScene(QPointF(*p)) for p in (start, end))
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(viewport, pos=(a + b) / 2)
    qtbot.mouseMove(viewport, pos=b)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)


def test_drag_a_box_identifies_the_crop_and_records_it(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tray.jpg"
    image = Image.new("RGB", (800, 400), (20, 20, 230))  # a blue background ...
    image.paste((230, 20, 20), (60, 100, 260, 300))  # ... and a red "shell" on its left
    image.save(path, quality=95)
    panel = window.identify_panel
    drop(window, [path])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    assert panel.taxon.text() == "Caerulea azurea"  # the whole photo is mostly background
    view = panel.preview
    assert view.photo_rect() == (800, 400)  # scene coordinates are the photo's own pixels

    panel.crop.button.click()
    assert view.tool is panel.crop.tool
    with qtbot.waitSignal(panel.status, timeout=10000, check_params_cb=lambda m: "crop" in m):
        drag(qtbot, view, (50, 90), (270, 310))
    qtbot.waitUntil(lambda: panel.taxon.text() == "Redia rubra", timeout=10000)
    shown = panel.shown_photo()
    assert shown is not None and shown.crop is not None
    assert abs(shown.crop.x - 50) <= 3 and abs(shown.crop.width - 220) <= 6
    assert panel.crop.clear_button.isEnabled() and panel.crop.tool.shown is not None
    assert "Redia rubra" in panel.items.item(0).text()

    # A click is not a box: the crop in force stays.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(600, 50)))
    assert panel.shown_photo().crop == shown.crop

    with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
        panel.save(validate=True)
    with window.context.catalog.session() as session:
        row = session.query(PhotoRow).filter_by(specimen_id=blocker.args[0]).one()
        assert row.crop == shown.crop.as_json()

    # Dropped again, the catalogued photo is shown and identified with its crop.
    drop(window, [path])
    qtbot.waitUntil(
        lambda: panel.accept_button.isEnabled() and panel.shown_photo() is not None, timeout=10000
    )
    assert panel.shown_photo().crop == shown.crop and panel.crop.tool.shown is not None
    assert "Redia rubra" in panel.items.item(0).text()

    # Escape clears the crop: the whole photo is identified again, and saving stores that.
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: panel.shown_photo().crop is None, timeout=10000)
    assert not panel.crop.clear_button.isEnabled() and panel.crop.tool.shown is None
    with qtbot.waitSignal(panel.recorded, timeout=10000):
        panel.save(validate=False)
    with window.context.catalog.session() as session:
        assert session.query(PhotoRow).one().crop is None

    # Unchecking the tool gives the mouse back to panning.
    panel.crop.button.click()
    assert view.tool is None


def test_a_tiny_box_is_refused_with_a_line(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    panel.crop.button.click()
    view = panel.preview
    with qtbot.waitSignal(panel.status, timeout=5000) as blocker:
        drag(qtbot, view, (10, 10), (14, 40))  # 4 pixels wide (the photo is 64x48; the view zooms in)
    assert "Not cropped" in blocker.args[0] and "at least 16 pixels" in blocker.args[0]
    assert panel.shown_photo().crop is None and panel.crop.tool.shown is None


def test_auto_crop_offers_several_shells_as_separate_specimens_or_views(
    qtbot, window, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tray.png"
    image = Image.new("RGB", (900, 500), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 150, 300, 350), fill=(230, 20, 20))
    draw.ellipse((600, 150, 800, 350), fill=(20, 20, 230))
    draw.rectangle((40, 440, 860, 460), fill=(240, 230, 90))  # a ruler: ignored
    image.save(path)
    panel = window.identify_panel
    drop(window, [path])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    panel.auto_crop.button.click()
    qtbot.waitUntil(lambda: panel.auto_crop.bar.isVisible(), timeout=10000)
    assert "2 shells found" in panel.auto_crop.question.text()
    assert len(panel.crop.tool._subjects) == 4  # two numbered boxes

    # Views of one specimen: one row, two cropped photos of the same file.
    panel.auto_crop.views_button.click()
    assert panel.items.count() == 1 and not panel.auto_crop.bar.isVisible()
    assert [p.subject for p in panel.current_photos()] == [0, 1] and panel.next_view.isVisible()

    # Separate specimens: two rows, each identified from its own crop, recorded as two specimens.
    panel.auto_crop.button.click()
    qtbot.waitUntil(lambda: panel.auto_crop.bar.isVisible(), timeout=10000)
    panel.auto_crop.separate_button.click()
    assert panel.items.count() == 2 and "shell 1" in panel.items.item(0).text()
    assert panel.taxon.text() == "Redia rubra"
    ids = []
    for row, taxon in ((0, "Redia rubra"), (1, "Caerulea azurea")):
        panel.items.setCurrentRow(row)
        assert panel.taxon.text() == taxon and panel.shown_photo().subject == row
        with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
            panel.save(validate=False)
        ids.append(blocker.args[0])
    assert ids[0] != ids[1]
    with window.context.catalog.session() as session:
        rows = session.query(PhotoRow).order_by(PhotoRow.subject).all()
        assert [(r.subject, r.specimen_id) for r in rows] == [(0, ids[0]), (1, ids[1])]
        assert all(r.crop is not None for r in rows)


def test_auto_crop_on_a_busy_photo_keeps_it_whole_with_a_line(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(panel.status, timeout=10000) as blocker:
        panel.auto_crop.button.click()
    assert "whole photo" in blocker.args[0] and panel.shown_photo().crop is None
    assert panel.items.count() == 1 and not panel.auto_crop.bar.isVisible()


def test_typing_c_in_the_form_is_text_not_the_crop_key(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
    panel.preview.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_C)  # a button's shortcut clicks it after a short animation
    qtbot.waitUntil(lambda: panel.preview.tool is panel.crop.tool, timeout=2000)  # the key works ...
    qtbot.keyClick(window, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: panel.preview.tool is None, timeout=2000)
    panel.locality.setFocus()
    qtbot.keyClicks(panel.locality, "Cc")  # ... and is text in the form
    assert panel.locality.text() == "Cc" and panel.preview.tool is None
    assert not panel.auto_crop.bar.isVisible()


def test_auto_crop_rows_find_their_similar_specimens(qtbot, window, tmp_path, colour_photos) -> None:  # type: ignore[no-untyped-def]
    from tinymodel import build_open_set_model

    from shellgui.core.identify import identify_paths, record

    with qtbot.waitSignal(window.context.model_changed, timeout=10000):
        window.context.load_model(str(build_open_set_model(tmp_path / "openset.onnx")))
    classifier = window.context.classifier
    photos, outcome = identify_paths(classifier, [colour_photos["red"]])
    record(window.context.catalog, classifier, photos, outcome.results[0].prediction)
    path = tmp_path / "tray.png"
    image = Image.new("RGB", (900, 500), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 150, 300, 350), fill=(230, 20, 20))
    draw.ellipse((600, 150, 800, 350), fill=(20, 20, 230))
    image.save(path)
    panel = window.identify_panel
    drop(window, [path])
    qtbot.waitUntil(lambda: panel.save_button.isEnabled(), timeout=10000)  # the whole tray: not known
    panel.auto_crop.button.click()
    qtbot.waitUntil(lambda: panel.auto_crop.bar.isVisible(), timeout=10000)
    panel.auto_crop.separate_button.click()
    assert panel.items.count() == 2
    # each subject is compared with the catalogue on its own crop (it said "no embedding output" before)
    qtbot.waitUntil(lambda: panel.similar.list.count() == 1, timeout=10000)
    assert "Redia rubra" in panel.similar.list.item(0).text()
    assert "no embedding output" not in panel.similar.note.text()
