"""The window, driven as a user would: drop, accept, batch with cancel and resume, review keys, models."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from sqlalchemy import func, select

from shellgui.core.catalog import PREDICTED, VALIDATED
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.schema import Identification, Photo
from shellgui.core.models import bundled_model_path
from shellgui.core.settings import Settings


def drop(window, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def test_drop_shows_results_and_accept_writes_a_row(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"]])
    qtbot.waitUntil(lambda: panel.results.prediction is not None, timeout=10000)
    assert "Redia rubra" in panel.results.headline.text() and "confident" in panel.results.headline.text()
    assert panel.results.table.rowCount() == 4
    assert "CPU" in panel.results.model_line.text() and "tiny-test" in window.model_label.text()
    # With results shown the window still fits a 1280-pixel-wide laptop screen (it grew to 1616 before).
    assert window.minimumSizeHint().width() <= 1280
    panel.results.table.selectRow(1)  # pick the alternative "Redia sp."
    assert panel.taxon.text() == "Redia sp."
    panel.catalog_number.setText("MZ-77")
    with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    specimen_id = blocker.args[0]
    with window.context.catalog.session() as s:
        history = repo.history(s, specimen_id)
        row = repo.list_specimens(s, text="MZ-77")[0]
    assert [h.verification_status for h in history] == [PREDICTED, VALIDATED]
    assert (
        history[-1].taxon == "Redia sp."
        and history[-1].rank == "genus"
        and history[-1].identified_by == "tester"
    )
    assert row.catalog_number == "MZ-77"


def test_several_views_and_a_bad_file(qtbot, window, colour_photos, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"nope")
    panel = window.identify_panel
    panel.together.setCurrentIndex(panel.together.findData("always"))
    drop(window, [colour_photos["red"], colour_photos["green"], bad])
    qtbot.waitUntil(lambda: panel.results.prediction is not None, timeout=10000)
    assert panel.items.count() == 1 and "+ 1 more view" in panel.items.item(0).text()
    assert "Rediidae" in panel.results.headline.text()
    # A red and a green "view" name different taxa, each confidently: the curator is warned.
    assert panel.view_warning.isVisible() and "disagree" in panel.view_warning.text()
    assert "red.jpg" in panel.view_warning.text() and "green.jpg" in panel.view_warning.text()
    assert "broken.jpg" in panel.errors.text() and "not a photo" in panel.errors.text()


def test_photos_dropped_together_are_separate_unless_named_as_views(
    qtbot, window, colour_photos, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["red"], colour_photos["blue"]])  # two shells, not two views
    qtbot.waitUntil(lambda: panel.items.count() == 2, timeout=10000)
    assert not panel.view_warning.isVisible()
    front, back = tmp_path / "MZ-9_dorsal.jpg", tmp_path / "MZ-9_ventral.jpg"
    Image.open(colour_photos["red"]).save(front)
    Image.open(colour_photos["red"]).save(back, quality=80)
    drop(window, [front, back])
    qtbot.waitUntil(lambda: panel.items.count() == 1, timeout=10000)
    assert "+ 1 more view" in panel.items.item(0).text() and not panel.view_warning.isVisible()


def make_folder(root: Path, n: int) -> Path:
    folder = root / "drawer"
    folder.mkdir()
    for i in range(n):
        Image.new("RGB", (64, 48), (i * 9 % 256, 100, 255 - i * 9 % 256)).save(folder / f"s{i:02d}.jpg")
    return folder


def slow_model_down(monkeypatch, classifier, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Make each model run take longer, so a batch lasts long enough to cancel or to watch."""
    fast = classifier.run
    monkeypatch.setattr(classifier, "run", lambda arrays: (time.sleep(seconds), fast(arrays))[1])


def test_batch_cancel_and_resume_catalogues_every_photo_once(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = make_folder(tmp_path, 24)
    slow_model_down(monkeypatch, window.context.classifier, 0.1)
    window.context.settings.batch_size = 2
    panel = window.batch_panel
    panel.folder.setText(str(folder))
    panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() >= 4, timeout=10000)
    with qtbot.waitSignal(panel.finished, timeout=10000):
        panel.cancel()
    assert "cancelled" in panel.counts.text()
    assert panel.start_button.text() == "Resume" and "will be resumed" in panel.hint.text()
    done_before = panel.progress.value()
    assert 4 <= done_before < 24
    with qtbot.waitSignal(panel.finished, timeout=20000):
        panel.start()
    assert panel.progress.value() == 24 and "finished" in panel.counts.text()
    with window.context.catalog.session() as s:
        paths = list(s.scalars(select(Photo.path)))
    assert len(paths) == len(set(paths)) == 24
    assert panel.review_button.isEnabled()


def test_gui_stays_responsive_during_a_batch(qtbot, window, tmp_path, monkeypatch, settled_heap) -> None:  # type: ignore[no-untyped-def]
    folder = make_folder(tmp_path, 40)
    slow_model_down(monkeypatch, window.context.classifier, 0.05)
    window.context.settings.batch_size = 4
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    last[0] = time.perf_counter()
    timer.start(10)
    panel = window.batch_panel
    panel.folder.setText(str(folder))
    with qtbot.waitSignal(panel.finished, timeout=30000):
        panel.start()
    timer.stop()
    assert len(gaps) > 10
    assert max(gaps) < 0.1, f"event loop blocked for {max(gaps) * 1000:.0f} ms"


def test_review_keyboard_flow(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = make_folder(tmp_path, 5)
    with qtbot.waitSignal(window.batch_panel.finished, timeout=20000):
        window.batch_panel.folder.setText(str(folder))
        window.batch_panel.start()
    window.review_run(0)
    review = window.review_panel
    qtbot.waitUntil(lambda: review.queue.rowCount() == 5, timeout=5000)
    scores = [r.score for r in review.rows]
    assert scores == sorted(scores)
    review.queue.setFocus()
    first = review.rows[0].specimen_id
    qtbot.keyClick(review.queue, Qt.Key.Key_Return)
    qtbot.keyClick(review.queue, Qt.Key.Key_2)
    qtbot.keyClick(review.queue, Qt.Key.Key_Down)
    qtbot.keyClick(review.queue, Qt.Key.Key_N)
    assert review.queue.rowCount() == 2
    with window.context.catalog.session() as s:
        validated = s.scalar(
            select(func.count(Identification.id)).where(Identification.verification_status == VALIDATED)
        )
        first_history = repo.history(s, first)
        not_identifiable = s.scalar(
            select(func.count(Identification.id)).where(Identification.remarks == "not identifiable")
        )
    assert validated == 3 and not_identifiable == 1
    assert first_history[-1].verification_status == VALIDATED and first_history[-1].identified_by == "tester"


def test_switching_models(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tinymodel import build_tiny_model, tiny_card

    other = build_tiny_model(tmp_path / "other.onnx", card=tiny_card(name="other-model", version="2.0"))
    with qtbot.waitSignal(window.context.model_changed, timeout=10000):
        window.choose_model(str(other))
    assert window.context.classifier.name == "other-model"
    assert "other-model 2.0 · CPU" in window.model_label.text()
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"junk")
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    original = QMessageBox.warning
    QMessageBox.warning = lambda *a, **k: shown.append(a[2])  # type: ignore[assignment]
    try:
        with qtbot.waitSignal(window.context.model_failed, timeout=10000):
            window.choose_model(str(broken))
    finally:
        QMessageBox.warning = original  # type: ignore[assignment]
    assert shown and "not a usable ONNX model" in shown[0] and "using the bundled model" in shown[0]
    qtbot.waitUntil(lambda: window.context.classifier.name != "other-model", timeout=10000)
    assert window.context.classifier.model_path == str(bundled_model_path())
    assert Settings.load().model == ""  # the broken model is not remembered


def test_a_broken_model_in_the_settings_falls_back_to_the_bundled_one(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "gone.onnx"
    broken.write_bytes(b"\x08\x07" * 50)
    window.context.settings.model = str(broken)
    window.context.settings.save()
    shown: list[str] = []
    from PySide6.QtWidgets import QMessageBox

    original = QMessageBox.warning
    QMessageBox.warning = lambda *a, **k: shown.append(a[2])  # type: ignore[assignment]
    try:
        with qtbot.waitSignal(window.context.model_changed, timeout=20000):
            window.context.load_model()
    finally:
        QMessageBox.warning = original  # type: ignore[assignment]
    assert window.context.classifier.model_path == str(bundled_model_path())
    assert len(shown) == 1 and "\n" not in shown[0].split("\n\n")[0]
    assert Settings.load().model == ""


def test_catalogue_tab_lists_and_filters(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    drop(window, [colour_photos["blue"]])
    qtbot.waitUntil(lambda: panel.results.prediction is not None, timeout=10000)
    with qtbot.waitSignal(panel.recorded, timeout=10000):
        panel.save(validate=False)
    window.tabs.setCurrentWidget(window.catalogue_panel)
    catalogue = window.catalogue_panel
    qtbot.waitUntil(lambda: catalogue.model.rowCount() == 1, timeout=5000)
    index = catalogue.model.index(0, 2)
    assert catalogue.model.data(index) == "Caerulea azurea"
    thumbnail = lambda: catalogue.model.data(catalogue.model.index(0, 0), Qt.ItemDataRole.DecorationRole)  # noqa: E731
    qtbot.waitUntil(lambda: thumbnail() is not None, timeout=5000)  # fetched for the rows on screen
    catalogue.search.setText("nothing matches this")
    qtbot.waitUntil(lambda: catalogue.model.rowCount() == 0, timeout=5000)


@pytest.mark.parametrize("fmt", ["csv", "dwc"])
def test_export_from_menu(qtbot, window, tmp_path, monkeypatch, fmt) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    out = tmp_path / f"export.{fmt}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    window.export(fmt)
    qtbot.waitUntil(out.exists, timeout=5000)


def test_export_only_what_the_catalogue_tab_shows(
    qtbot, window, colour_photos, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import csv

    from PySide6.QtWidgets import QFileDialog, QMessageBox

    panel = window.identify_panel
    for colour in ("red", "blue"):
        drop(window, [colour_photos[colour]])
        qtbot.waitUntil(lambda: panel.accept_button.isEnabled(), timeout=10000)
        with qtbot.waitSignal(panel.recorded, timeout=10000):
            panel.save(validate=False)
    window.catalogue_panel.search.setText("Redia")
    out = tmp_path / "only.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    asked: list[str] = []
    clicks = iter(["Only what the Catalogue tab shows", "The whole catalogue", "Cancel"])

    def answer(box):  # type: ignore[no-untyped-def]
        wanted = next(clicks)
        next(b for b in box.buttons() if b.text() == wanted).click()
        asked.append(wanted)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    window.export("csv")
    qtbot.waitUntil(out.exists, timeout=5000)

    def rows() -> list[str]:
        with open(out, encoding="utf-8-sig") as fh:
            return [r["taxon"] for r in csv.DictReader(fh)]

    assert rows() == ["Redia rubra"]
    out.unlink()
    window.export("csv")
    qtbot.waitUntil(out.exists, timeout=5000)
    assert sorted(rows()) == ["Caerulea azurea", "Redia rubra"]
    out.unlink()
    window.export("csv")  # cancelled: nothing written
    qtbot.wait(300)
    assert not out.exists() and len(asked) == 3


def test_preferences_switch_catalogue_and_top_k(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shellgui.qt import main_window as mw

    new_catalog = tmp_path / "other.sqlite"

    def fake_exec(dialog) -> bool:  # type: ignore[no-untyped-def]
        dialog.top_k.setValue(3)
        dialog.catalog.setText(str(new_catalog))
        dialog.user.setText("Dr. Shell")
        dialog.media_url.setText("https://example.org/shells")
        return True

    monkeypatch.setattr(mw.PreferencesDialog, "exec", fake_exec)
    with qtbot.waitSignal(window.context.catalog_changed, timeout=10000):
        window.preferences()  # the catalogue opens off the GUI thread
    settings = window.context.settings
    assert settings.top_k == 3 and settings.user_name == "Dr. Shell"
    assert settings.media_base_url == "https://example.org/shells"
    assert window.context.catalog.display_name == str(new_catalog) and new_catalog.exists()
    from shellgui.core.settings import Settings

    assert Settings.load().top_k == 3  # saved under SHELLGUI_HOME


def test_unreadable_catalogue_in_preferences_keeps_the_old_one(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    from shellgui.qt import main_window as mw

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\xff\xd8\xff" + b"x" * 4096)
    old = window.context.catalog.display_name
    monkeypatch.setattr(mw.PreferencesDialog, "exec", lambda d: (d.catalog.setText(str(junk)), True)[1])
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    window.preferences()
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert window.context.catalog.display_name == old and window.context.settings.catalog != str(junk)
    assert shown and "not a shellgui catalogue" in shown[0]


def test_window_geometry_is_kept_under_shellgui_home(window, shellgui_home: Path) -> None:  # type: ignore[no-untyped-def]
    window.resize(900, 700)
    window.close()
    ini = shellgui_home / "config" / "window.ini"
    assert ini.is_file() and "geometry" in ini.read_text()


def test_not_known_answer_and_similar_specimens(qtbot, window, tmp_path, colour_photos) -> None:  # type: ignore[no-untyped-def]
    from tinymodel import build_open_set_model

    from shellgui.core.identify import identify_paths, record
    from shellgui.core.inference import Classifier
    from shellgui.qt.catalogue_panel import SpecimenDialog

    model = build_open_set_model(tmp_path / "openset.onnx")
    with qtbot.waitSignal(window.context.model_changed, timeout=10000):
        window.context.load_model(str(model))
    classifier = window.context.classifier
    assert isinstance(classifier, Classifier) and classifier.can_refuse
    photos, outcome = identify_paths(classifier, [colour_photos["red"]])
    specimen = record(window.context.catalog, classifier, photos, outcome.results[0].prediction).specimen_id
    panel = window.identify_panel
    magenta = tmp_path / "magenta.jpg"
    Image.new("RGB", (64, 48), (230, 20, 230)).save(magenta)
    drop(window, [magenta])
    qtbot.waitUntil(lambda: panel.results.prediction is not None, timeout=10000)
    text = panel.results.headline.text()
    assert "Not something this model knows" in text and "9 photos this model learned from" in text
    assert "not an identification" in text and "Redia rubra" in text
    assert (
        "Genus" not in panel.results.rollup.text()
        and "none of them is an answer" in panel.results.rollup.text()
    )
    assert "not known" in panel.items.item(0).text()
    qtbot.waitUntil(lambda: panel.similar.list.count() == 1, timeout=10000)  # found after the answer
    assert panel.similar.isVisible()
    assert "Redia rubra (unchecked)" in panel.similar.list.item(0).text()
    dialog = SpecimenDialog(window.context, specimen)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "Looking" not in dialog.similar.note.text(), timeout=10000)
    assert dialog.similar.note.text() == "No catalogued photo to compare with yet."


def test_collection_checks_in_the_review_tab(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tinymodel import build_open_set_model

    from shellgui.core.catalog.decisions import Decision
    from shellgui.core.identify import identify_paths, record

    model = build_open_set_model(tmp_path / "openset.onnx")
    with qtbot.waitSignal(window.context.model_changed, timeout=10000):
        window.context.load_model(str(model))
    classifier = window.context.classifier
    folder = tmp_path / "reds"
    folder.mkdir()
    shades = [(230, 20, 20), (215, 35, 25), (245, 15, 40), (225, 45, 15), (210, 20, 45)]
    for i, rgb in enumerate(shades):
        taxon = "Viridia viridis" if i == len(shades) - 1 else "Redia rubra"
        path = folder / f"r{i}.jpg"
        Image.new("RGB", (64, 48), rgb).save(path, quality=95)
        photos, outcome = identify_paths(classifier, [path])
        prediction = outcome.results[0].prediction
        decision = Decision.named(taxon, prediction)
        record(window.context.catalog, classifier, photos, prediction, decision=decision, by="tester")
    flags = window.review_panel.flags
    flags.run()
    qtbot.waitUntil(lambda: flags.list.count() > 0, timeout=20000)
    texts = [flags.list.item(i).text() for i in range(flags.list.count())]
    assert any(t.startswith("likely mislabel: checked as Viridia viridis") for t in texts)
