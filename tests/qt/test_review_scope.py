"""Review reflects the catalogue: a chosen scope, true counts, mouse buttons, bulk accept with undo."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from shellgui.core.catalog import PREDICTED, VALIDATED, queries
from shellgui.core.catalog.browse import SpecimenFilter


def catalogue(qtbot, window, folder: Path) -> int:  # type: ignore[no-untyped-def]
    panel = window.batch_panel
    panel.folder.setText(str(folder))
    with qtbot.waitSignal(panel.finished, timeout=20000) as blocker:
        panel.start()
    return int(blocker.args[0])


def unchecked(window) -> int:  # type: ignore[no-untyped-def]
    return queries.catalogue_page(
        window.context.catalog, SpecimenFilter(status=PREDICTED), limit=0, count=True
    )[0]


def test_review_scope_counts_bulk_accept_and_undo(qtbot, window, colour_photos, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = next(iter(colour_photos.values())).parent  # red, green, blue (decided) and grey (uncertain)
    run_id = catalogue(qtbot, window, folder)
    review = window.review_panel
    with qtbot.waitSignal(review.loaded, timeout=5000):  # the queue loads off the GUI thread
        window.review_run(run_id)
    assert (
        review.scope.currentData() == "run"
        and review.total == 4
        and "4</b> to review" in review.progress.text()
    )
    # Bulk: every decided answer at >= 90 %, after a confirmation; the uncertain grey photo stays.
    asked: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes
    )
    review.bulk_level.setValue(90)
    with qtbot.waitSignal(review.loaded, timeout=5000):
        review.accept_all_decided()
    assert asked and "Accept 3 answers" in asked[0]
    assert review.total == 1 and [r.taxon for r in review.rows] == [None] and unchecked(window) == 1
    with window.context.catalog.session() as s:
        from shellgui.core.catalog import repository as repo

        decided = [repo.current_identification(s, i) for i in range(1, 5)]
    assert sorted(d.verification_status for d in decided if d) == [PREDICTED, VALIDATED, VALIDATED, VALIDATED]
    assert all(d.identified_by == "tester" for d in decided if d and d.verification_status == VALIDATED)
    # One Ctrl+Z undoes the whole bulk step.
    with qtbot.waitSignal(review.loaded, timeout=5000):
        review.undo_last()
    assert review.total == 4 and unchecked(window) == 4
    # Mouse: the buttons do what the keys do.
    review.queue.setCurrentCell(0, 0)
    first = review.rows[0].specimen_id
    review.buttons["Skip"].click()
    assert review.queue.currentRow() == 1
    review.buttons["Not identifiable"].click()
    assert review.total == 3 and first in [r.specimen_id for r in review.rows]
    review.alternatives.setCurrentRow(0)
    review.buttons["Use alternative"].click()
    assert review.total == 2
    # Scope "below a confidence" counts truly, from the catalogue.
    with qtbot.waitSignal(review.loaded, timeout=5000):
        review.scope.setCurrentIndex(review.scope.findData("below"))
    with qtbot.waitSignal(review.loaded, timeout=5000):
        review.below.setValue(100)
    assert review.total == 2 and review.below.isVisible()


def test_a_catalogued_folder_again_does_not_leave_review_stuck(
    qtbot, window, colour_photos, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "again"
    shutil.copytree(next(iter(colour_photos.values())).parent, folder)
    catalogue(qtbot, window, folder)
    second = catalogue(qtbot, window, folder)  # nothing new: every photo is already catalogued
    review = window.review_panel
    messages: list[str] = []
    review.status.connect(messages.append)
    window.review_run(second)
    qtbot.waitUntil(lambda: review.scope.currentData() == "all" and review.total == 4, timeout=5000)
    assert any("Nothing left to review in run" in m for m in messages)


def test_review_loads_off_the_gui_thread_and_drops_stale_answers(
    qtbot, window, colour_photos, monkeypatch, settled_heap
) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    catalogue(qtbot, window, next(iter(colour_photos.values())).parent)
    review = window.review_panel
    real = queries.review_page
    threads: list[str] = []

    def slow(*args):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        time.sleep(1.0)  # a big catalogue
        return real(*args)

    monkeypatch.setattr(queries, "review_page", slow)
    shown: list[int] = []
    review.loaded.connect(lambda: shown.append(review.total))
    started = time.perf_counter()
    review.load()
    review.load()  # superseded before the first answer arrives
    assert time.perf_counter() - started < 0.6  # the GUI thread never waited for the query (loose: busy CI)
    assert "Loading" in review.progress.text()
    qtbot.waitUntil(lambda: shown == [4], timeout=5000)
    qtbot.wait(400)
    assert shown == [4]  # the stale answer was dropped, not shown twice
    assert threading.main_thread().name not in threads


def test_bulk_accept_runs_off_the_gui_thread(qtbot, window, colour_photos, monkeypatch, settled_heap) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from shellgui.core.catalog import curation

    run_id = catalogue(qtbot, window, next(iter(colour_photos.values())).parent)
    review = window.review_panel
    with qtbot.waitSignal(review.loaded, timeout=5000):
        window.review_run(run_id)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    real = curation.accept_decided

    threads: list[str] = []

    def slow(*args):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        time.sleep(2.0)  # thousands of acceptances
        return real(*args)

    monkeypatch.setattr(curation, "accept_decided", slow)
    review.bulk_level.setValue(90)
    started = time.perf_counter()
    review.accept_all_decided()
    # the window did not wait for the 2-second write (a loose bound: CI machines can be busy)
    assert time.perf_counter() - started < 1.5
    assert not review.isEnabled() and "Accepting 3 answers" in review.progress.text()
    qtbot.waitUntil(lambda: review.isEnabled() and review.total == 1, timeout=10000)
    assert unchecked(window) == 1 and review.undo_stack and len(review.undo_stack[-1]) == 3
    assert threads and threading.main_thread().name not in threads
