"""`make run` names the system libraries Qt needs instead of Qt's plugin error."""

from __future__ import annotations

import sys

import pytest

from shellgui import qtcheck

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibQt6Gui.so.6 => /opt/Qt/lib/libQt6Gui.so.6 (0x00007f)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


def test_not_found_and_advice() -> None:
    missing = qtcheck.not_found(LDD)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    text = qtcheck.advice(missing)
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in text and "shellgui --help" in text


def test_main_reports_missing_libraries(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(qtcheck, "missing_libraries", lambda: ["libxcb-cursor.so.0"])
    assert qtcheck.main() == 1 and "libxcb-cursor0" in capsys.readouterr().err
    monkeypatch.setattr(qtcheck, "missing_libraries", lambda: [])
    assert qtcheck.main() == 0
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(qtcheck, "missing_libraries", lambda: pytest.fail("checked for offscreen"))
    assert qtcheck.main() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
def test_this_machine_is_checked_without_importing_qt() -> None:
    assert isinstance(qtcheck.missing_libraries(), list)
    assert qtcheck.qt_folder() is not None and (qtcheck.qt_folder() / "lib").is_dir()  # type: ignore[operator]
