"""The Catalogue tab on 100,000 specimens: pages, debounced search, SQL sorting, one-row lookups, no crash
from an unreachable server or a quit during work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from shellgui.core.catalog.browse import SpecimenFilter, count_specimens
from shellgui.qt.specimen_model import PAGE

BIG = 100_000


@pytest.fixture(scope="session")
def big_catalog_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bigcatalog import build_catalog

    path = tmp_path_factory.mktemp("big") / "big.sqlite"
    build_catalog(path, BIG).close()
    return path


@pytest.fixture
def big_window(qtbot, big_catalog_path: Path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication

    from shellgui.core.catalog import Catalog
    from shellgui.core.settings import Settings
    from shellgui.qt.context import AppContext
    from shellgui.qt.main_window import MainWindow

    QCoreApplication.setOrganizationName("shellgui-tests")
    context = AppContext(Settings(user_name="tester"), Catalog(big_catalog_path))
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    yield win
    assert context.shutdown(10000)


def loaded(panel) -> bool:  # type: ignore[no-untyped-def]
    return not panel.model.busy and not panel.search_timer.isActive() and not panel.stale


def test_opens_with_one_page_and_the_true_count(qtbot, big_window) -> None:  # type: ignore[no-untyped-def]
    panel = big_window.catalogue_panel
    big_window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: loaded(panel) and panel.model.rowCount() > 0, timeout=10000)
    assert panel.model.rowCount() == PAGE and panel.model.total == BIG
    assert "100,000 specimens" in panel.count.text()
    assert panel.model.data(panel.model.index(0, 1)) == f"MZ-{BIG:06d}"  # newest first
    # Thumbnails are fetched for the rows on screen only, not for the whole page.
    qtbot.waitUntil(lambda: len(panel.model._thumbs) > 0, timeout=5000)
    assert len(panel.model._thumbs) < PAGE / 2
    # Scrolling to the end fetches the next page.
    panel.table.scrollToBottom()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2 * PAGE, timeout=10000)
    assert panel.model.data(panel.model.index(PAGE, 1)) == f"MZ-{BIG - PAGE:06d}"


def test_typing_searches_once_and_shows_the_last_answer(qtbot, big_window) -> None:  # type: ignore[no-untyped-def]
    panel = big_window.catalogue_panel
    big_window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: loaded(panel), timeout=10000)
    before = panel.model.generation
    qtbot.keyClicks(panel.search, "Blasicrura")  # ten keystrokes, faster than the debounce delay
    qtbot.waitUntil(lambda: loaded(panel), timeout=10000)
    assert panel.model.generation == before + 1  # one query, not ten
    with big_window.context.catalog.session() as s:
        expected = count_specimens(s, SpecimenFilter(text="Blasicrura"))
    assert 0 < expected < BIG and panel.model.total == expected
    assert f"{expected:,} specimens" in panel.count.text()
    assert all(panel.model.rows[i].taxon == "Blasicrura pallidula" for i in range(panel.model.rowCount()))
    # A slow, older answer never replaces a newer one: both queries run, only the last one is shown.
    panel.model.reload(SpecimenFilter(text="B"))
    panel.model.reload(SpecimenFilter(text="Harpa major"))
    qtbot.waitUntil(lambda: not panel.model.busy, timeout=10000)
    assert {r.taxon for r in panel.model.rows} == {"Harpa major"}
    panel.search.clear()
    qtbot.waitUntil(lambda: loaded(panel), timeout=10000)
    assert panel.model.total == BIG


def test_sorting_happens_in_sql(qtbot, big_window) -> None:  # type: ignore[no-untyped-def]
    panel = big_window.catalogue_panel
    big_window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: loaded(panel), timeout=10000)
    header = panel.table.horizontalHeader()
    header.setSortIndicator(4, Qt.SortOrder.AscendingOrder)  # Confidence, lowest first
    qtbot.waitUntil(lambda: loaded(panel) and panel.model.sort_by.key == "score", timeout=10000)
    scores = [r.score for r in panel.model.rows if r.score is not None]
    assert scores == sorted(scores) and scores[0] < 0.001  # the lowest of 100,000, not of one page
    header.setSortIndicator(2, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: loaded(panel) and panel.model.sort_by.key == "taxon", timeout=10000)
    taxa = [r.taxon for r in panel.model.rows]
    assert taxa[0] == "Turbo marmoratus" and taxa == sorted(taxa, reverse=True)
    assert panel.model.total == BIG  # sorting does not lose the count


def test_specimen_dialog_reads_one_row(qtbot, big_window, monkeypatch, settled_heap) -> None:  # type: ignore[no-untyped-def]
    from shellgui.core.catalog import repository
    from shellgui.qt.specimen_dialog import SpecimenDialog

    monkeypatch.setattr(repository, "list_specimens", lambda *a, **k: pytest.fail("loaded the catalogue"))
    panel = big_window.catalogue_panel
    big_window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: loaded(panel), timeout=10000)
    row = panel.model.specimen_at(57)
    start = time.perf_counter()
    dialog = SpecimenDialog(big_window.context, row.specimen_id, big_window)
    assert time.perf_counter() - start < 1.0
    qtbot.addWidget(dialog)
    assert dialog.fields["catalog_number"].text() == row.catalog_number
    assert dialog.history_table.rowCount() == 1


def test_unreachable_server_then_catalogue_tab(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The path that crashed (5 of 5): an unreachable PostgreSQL URL in Preferences, then Catalogue."""
    pytest.importorskip("psycopg")
    from PySide6.QtWidgets import QMessageBox

    from shellgui.qt import main_window as mw

    unreachable = "postgresql+psycopg://shellgui@127.0.0.1:9/shells"  # nothing listens on port 9
    old = window.context.catalog.display_name
    monkeypatch.setattr(mw.PreferencesDialog, "exec", lambda d: (d.catalog.setText(unreachable), True)[1])
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    window.preferences()
    window.tabs.setCurrentWidget(window.catalogue_panel)  # clicked while the server is still being tried
    panel = window.catalogue_panel
    qtbot.waitUntil(lambda: bool(shown) and loaded(panel), timeout=20000)
    assert "connection" in shown[0].lower() and "Still using" in shown[0]
    assert window.context.catalog.display_name == old and window.context.settings.catalog != unreachable
    assert "0 specimens" in panel.count.text()


QUIT_DURING_WORK = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from shellgui.core.catalog.browse import SpecimenFilter
import shellgui.qt.main_window as mw
import shellgui.app as app_module

real_exec = QApplication.exec

def exec_then_quit(*_):
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, mw.MainWindow))
    panel = window.catalogue_panel
    def busy():
        window.tabs.setCurrentWidget(panel)
        for text in ("B", "Bl", "Harpa", "a", "o"):  # several queries in flight, then quit
            panel.model.reload(SpecimenFilter(text=text))
        panel.model.sort(2)
        QTimer.singleShot(30, window.close)
    QTimer.singleShot(0, busy)
    start = time.perf_counter()
    code = real_exec()
    print("quit after", round(time.perf_counter() - start, 2), flush=True)
    return code

QApplication.exec = exec_then_quit
sys.exit(app_module.main([]))
"""


def test_quit_while_queries_run_exits_cleanly(big_catalog_path: Path) -> None:
    from shellgui.core.settings import Settings

    Settings(catalog=str(big_catalog_path)).save()  # under this test's SHELLGUI_HOME
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(QUIT_DURING_WORK)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr
    assert "Fatal" not in done.stderr and "quit after" in done.stdout
    assert time.perf_counter() - start < 30
