"""The curator's rules in the window: uncertain is never pre-filled, Enter needs a decided answer, the name is
asked once, an already catalogued photo is announced, Ctrl+Z undoes, deletes ask first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from shellgui.core.catalog import PREDICTED, VALIDATED, queries
from shellgui.core.identify import identify_paths, record


def drop(window, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.dropEvent(
        QDropEvent(
            QPointF(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )


def identified(qtbot, window, photo: Path):  # type: ignore[no-untyped-def]
    panel = window.identify_panel
    panel.job = None
    drop(window, [photo])
    qtbot.waitUntil(lambda: panel.job is not None and panel.accept_button.text() != "", timeout=10000)
    qtbot.waitUntil(lambda: panel.save_button.isEnabled(), timeout=10000)
    return panel


def save(qtbot, panel, button) -> int:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.recorded, timeout=10000) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return int(blocker.args[0])


def test_uncertain_answer_is_not_prefilled_and_cannot_be_accepted(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = identified(qtbot, window, colour_photos["grey"])
    assert panel.current().prediction.taxon is None
    assert panel.taxon.text() == "" and "uncertain" in panel.taxon.placeholderText()
    assert not panel.accept_button.isEnabled()
    panel.save(validate=True)  # what Enter on the default button would do: refused, nothing saved
    assert queries.list_specimens(window.context.catalog) == []
    # the curator decides: not identifiable
    specimen_id = save(qtbot, panel, panel.not_identifiable_button)
    current = queries.current_identification(window.context.catalog, specimen_id)
    assert current is not None and current.verification_status == VALIDATED and current.not_identifiable
    assert current.identified_by == "tester"


def test_already_catalogued_banner_and_idempotent_accept(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = identified(qtbot, window, colour_photos["red"])
    assert panel.known_banner.isHidden()
    panel.catalog_number.setText("MZ-1187")
    specimen_id = save(qtbot, panel, panel.accept_button)
    assert "already catalogued as MZ-1187, checked by tester (Redia rubra)" in panel.known_banner.text()
    panel = identified(qtbot, window, colour_photos["red"])  # the same photo, dropped again
    assert panel.known_banner.isVisible()
    assert "already catalogued as MZ-1187, checked by tester" in panel.known_banner.text()
    assert panel.catalog_number.text() == "MZ-1187" and panel.taxon.text() == "Redia rubra"
    assert save(qtbot, panel, panel.accept_button) == specimen_id
    detail = queries.specimen_detail(window.context.catalog, specimen_id)
    assert detail is not None
    assert [h.verification_status for h in detail.history] == [PREDICTED, VALIDATED]
    # a changed number is an edit of that specimen, with old and new values in its history
    panel.catalog_number.setText("MZ-2000")
    save(qtbot, panel, panel.accept_button)
    detail = queries.specimen_detail(window.context.catalog, specimen_id)
    assert detail is not None and detail.fields["catalog_number"] == "MZ-2000"
    assert detail.log[0].details["changes"] == {"catalog_number": ["MZ-1187", "MZ-2000"]}
    assert len(queries.list_specimens(window.context.catalog)) == 1


def test_name_is_asked_once_on_first_decision(qtbot, window, colour_photos, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shellgui.core.settings import Settings

    window.context.settings.user_name = ""
    asked: list[str] = []

    def ask(*args):  # type: ignore[no-untyped-def]
        asked.append(args[1])
        return "A. Curator", True

    monkeypatch.setattr("shellgui.qt.context.QInputDialog.getText", ask)
    panel = identified(qtbot, window, colour_photos["red"])
    first = save(qtbot, panel, panel.accept_button)
    panel = identified(qtbot, window, colour_photos["blue"])
    second = save(qtbot, panel, panel.accept_button)
    assert asked == ["Your name"] and Settings.load().user_name == "A. Curator"
    for specimen_id in (first, second):
        current = queries.current_identification(window.context.catalog, specimen_id)
        assert current is not None and current.identified_by == "A. Curator"


def test_ctrl_z_in_identify_undoes_the_last_save(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    panel = identified(qtbot, window, colour_photos["red"])
    save(qtbot, panel, panel.accept_button)
    assert len(queries.list_specimens(window.context.catalog)) == 1
    panel.items.setFocus()  # (in a text field Ctrl+Z undoes typing, as everywhere)
    qtbot.keyClick(panel.items, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert queries.list_specimens(window.context.catalog) == []
    assert panel.known_banner.isHidden()
    assert [e.action for e in queries.audit_log(window.context.catalog)] == ["undo", "record"]


def fill_review(window, colour_photos) -> dict[str, int]:  # type: ignore[no-untyped-def]
    classifier = window.context.classifier
    photos, outcome = identify_paths(classifier, [colour_photos[n] for n in ("grey", "red")])
    return {
        Path(p.path).stem: record(window.context.catalog, classifier, [p], r.prediction).specimen_id
        for p, r in zip(photos, outcome.results)
    }


def test_enter_in_review_refuses_an_undecided_answer(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    ids = fill_review(window, colour_photos)
    window.review_run(0)
    review = window.review_panel
    qtbot.waitUntil(lambda: review.queue.rowCount() == 2, timeout=5000)
    assert review.rows[0].specimen_id == ids["grey"]  # lowest confidence first: the uncertain one
    review.queue.setFocus()
    qtbot.keyClick(review.queue, Qt.Key.Key_Return)
    assert review.queue.rowCount() == 2
    assert (
        queries.current_identification(window.context.catalog, ids["grey"]).verification_status == PREDICTED
    )  # type: ignore[union-attr]
    assert "uncertain" in window.statusBar().currentMessage()
    # typing a taxon and Enter decides it
    qtbot.keyClick(review.queue, Qt.Key.Key_T)
    assert review.typed.hasFocus()
    qtbot.keyClicks(review.typed, "Conus textile Nst1")
    qtbot.keyClick(review.typed, Qt.Key.Key_Return)
    assert review.queue.rowCount() == 1
    current = queries.current_identification(window.context.catalog, ids["grey"])
    assert current is not None and (current.taxon, current.verification_status) == (
        "Conus textile Nst1",
        VALIDATED,
    )
    # the decided answer is accepted with Enter
    qtbot.keyClick(review.queue, Qt.Key.Key_Return)
    assert review.queue.rowCount() == 0
    assert queries.current_identification(window.context.catalog, ids["red"]).taxon == "Redia rubra"  # type: ignore[union-attr]


def test_ctrl_z_in_review_brings_the_specimen_back(qtbot, window, colour_photos) -> None:  # type: ignore[no-untyped-def]
    ids = fill_review(window, colour_photos)
    window.review_run(0)
    review = window.review_panel
    qtbot.waitUntil(lambda: review.queue.rowCount() == 2, timeout=5000)
    review.queue.setFocus()
    qtbot.keyClick(review.queue, Qt.Key.Key_2)  # the grey one: second alternative
    assert review.queue.rowCount() == 1
    with qtbot.waitSignal(review.loaded, timeout=5000):  # the queue reloads off the GUI thread
        qtbot.keyClick(review.queue, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert review.queue.rowCount() == 2
    assert review.rows[review.queue.currentRow()].specimen_id == ids["grey"]
    history = queries.specimen_detail(window.context.catalog, ids["grey"]).history  # type: ignore[union-attr]
    assert [h.verification_status for h in history] == [PREDICTED, VALIDATED, PREDICTED]


def answer(monkeypatch, yes: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """Answer every confirmation question; returns the questions asked."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def question(parent, title, text, *args):  # type: ignore[no-untyped-def]
        asked.append(text)
        return QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No

    monkeypatch.setattr("shellgui.qt.specimen_dialog.QMessageBox.question", question)
    return asked


def test_specimen_dialog_shows_photos_reidentifies_withdraws_and_undoes(
    qtbot, window, colour_photos, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from shellgui.qt.specimen_dialog import SpecimenDialog

    classifier = window.context.classifier
    photos, outcome = identify_paths(
        classifier, [colour_photos["red"], colour_photos["green"]], as_specimen=True
    )
    sid = record(window.context.catalog, classifier, photos, outcome.results[0].prediction).specimen_id
    dialog = SpecimenDialog(window.context, sid, window)
    qtbot.addWidget(dialog)
    assert dialog.photos.count() == 2 and not dialog.photos.item(0).icon().isNull()
    assert dialog.photo_count.text() == "2 photos" and not dialog.withdraw_button.isEnabled()
    dialog.taxon.setText("Redia sp.")
    qtbot.mouseClick(dialog.reidentify_button, Qt.MouseButton.LeftButton)
    assert "checked by tester" in dialog.current_label.text() and dialog.withdraw_button.isEnabled()
    asked = answer(monkeypatch, yes=True)
    qtbot.mouseClick(dialog.withdraw_button, Qt.MouseButton.LeftButton)
    assert asked and "model answer, unchecked" in dialog.current_label.text()
    assert dialog.history_table.rowCount() == 3 and "withdrawn" in dialog.history_table.item(2, 6).text()
    assert [dialog.log_table.item(i, 2).text().split(":")[0] for i in range(2)] == [
        f"specimen {sid}",
        f"specimen {sid}",
    ]
    qtbot.mouseClick(dialog.undo_button, Qt.MouseButton.LeftButton)  # undo the withdrawal
    assert "checked by tester" in dialog.current_label.text()
    assert "(undone)" in dialog.log_table.item(1, 2).text()


def test_deleting_a_photo_and_a_specimen_asks_first_and_is_logged(
    qtbot, window, colour_photos, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from shellgui.qt.audit_dialog import AuditLogDialog
    from shellgui.qt.specimen_dialog import SpecimenDialog

    classifier = window.context.classifier
    photos, outcome = identify_paths(
        classifier, [colour_photos["red"], colour_photos["green"]], as_specimen=True
    )
    sid = record(
        window.context.catalog, classifier, photos, outcome.results[0].prediction, catalog_number="MZ-8"
    ).specimen_id
    dialog = SpecimenDialog(window.context, sid, window)
    qtbot.addWidget(dialog)
    dialog.photos.setCurrentRow(1)
    asked = answer(monkeypatch, yes=False)
    qtbot.mouseClick(dialog.remove_photo_button, Qt.MouseButton.LeftButton)
    assert asked and "green.jpg" in asked[0] and dialog.photos.count() == 2  # said No: nothing removed
    answer(monkeypatch, yes=True)
    qtbot.mouseClick(dialog.remove_photo_button, Qt.MouseButton.LeftButton)
    assert dialog.photos.count() == 1
    asked = answer(monkeypatch, yes=True)
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert "Delete MZ-8 with its 1 photo record(s)" in asked[0]
    assert queries.specimen_detail(window.context.catalog, sid) is None
    log = AuditLogDialog(window.context, window)
    qtbot.addWidget(log)
    what = [log.table.item(i, 4).text() for i in range(log.table.rowCount())]
    assert what[0].startswith(f"deleted specimen {sid} (MZ-8)") and "green.jpg" in what[1]


def test_catalogue_delete_key_asks_and_deletes(qtbot, window, colour_photos, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fill_review(window, colour_photos)
    panel = window.catalogue_panel
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=5000)
    panel.table.selectRow(0)
    panel.table.setFocus()
    asked = answer(monkeypatch, yes=False)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert len(asked) == 1 and len(queries.list_specimens(window.context.catalog)) == 2
    answer(monkeypatch, yes=True)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    assert queries.audit_log(window.context.catalog)[0].action == "delete specimen"
