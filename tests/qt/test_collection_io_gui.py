"""Bringing a collection in from the window: File ▸ Import records… (mapping, preview, dry run) and the
Batch tab's folder labels and binding pattern."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from shellgui.core.catalog import VALIDATED
from shellgui.core.catalog import repository as repo
from shellgui.core.importing.tables import TERMS


def test_import_dialog_mapping_preview_and_import(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    records = tmp_path / "drawer.csv"
    records.write_text(
        "No.,Species,Det.,Where\nMZ-5,Achatina fulica,A. Curator,Mombasa\nMZ-6,Abra alba,B. Expert,Oslo\n"
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(records), ""))
    window.import_records()
    dialog = window.import_dialog
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10000)
    # "No." and "Where" are not guessed: nothing names a specimen, so the plan skips both records
    assert dialog.current_mapping() == {"scientificName": "Species"}
    assert "2 records skipped" in dialog.report.toPlainText()
    boxes = {term: dialog.mapping.cellWidget(row, 1) for row, term in enumerate(TERMS)}
    assert all(isinstance(b, QComboBox) for b in boxes.values())
    dialog.plan = None
    boxes["catalogNumber"].setCurrentText("No.")
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.new == 2, timeout=10000)
    dialog.plan = None
    boxes["identifiedBy"].setCurrentText("Det.")
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10000)
    assert dialog.preview.rowCount() == 2 and dialog.preview.columnCount() == 3
    assert "new MZ-5" in dialog.report.toPlainText()
    with qtbot.waitSignal(dialog.imported, timeout=10000) as blocker:
        dialog.import_button.click()
    assert "Imported 2 specimens" in blocker.args[0]
    with window.context.catalog.session() as s:
        rows = {r.catalog_number: r for r in repo.list_specimens(s)}
        history = repo.history(s, rows["MZ-5"].specimen_id)
    assert rows["MZ-5"].taxon == "Lissachatina fulica" and rows["MZ-5"].verification_status == VALIDATED
    assert history[-1].identified_by == "A. Curator"


def test_batch_with_folder_labels_and_a_bad_binding(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    for i, folder in enumerate(("Bolinus_brandaris", "Abra alba")):
        (tmp_path / "drawer" / folder).mkdir(parents=True)
        Image.new("RGB", (64, 48), (40 + 90 * i, 60, 90)).save(tmp_path / "drawer" / folder / "a.jpg")
    panel = window.batch_panel
    panel.folder.setText(str(tmp_path / "drawer"))
    panel.bind.setText("photo_{view}.jpg")  # no {catalog}: refused before anything runs
    with qtbot.waitSignal(panel.status, timeout=2000) as refused:
        panel.start()
    assert "{catalog}" in refused.args[0] and panel.task is None
    panel.bind.clear()
    panel.label_from_folder.setChecked(True)
    with qtbot.waitSignal(panel.finished, timeout=30000):
        panel.start()
    with window.context.catalog.session() as s:
        taxa = sorted((r.taxon, r.verification_status) for r in repo.list_specimens(s))
    assert taxa == [("Abra alba", VALIDATED), ("Bolinus brandaris", VALIDATED)]
