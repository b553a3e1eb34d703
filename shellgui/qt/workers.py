"""Run core work off the GUI thread: a thin QThreadPool adapter over plain functions and generators.

Workers hand back frozen dataclasses or plain values, never ORM objects.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from shellgui.core.errors import ShellguiError

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """One plain line for any error, for the status bar or a dialog."""
    if isinstance(exc, ShellguiError):
        return str(exc)
    from shellgui.core.catalog.database import describe_db_error

    database_problem = describe_db_error(exc)
    if database_problem is not None:
        return database_problem
    if isinstance(exc, OSError):
        return f"{exc.filename or ''} {exc.strerror or exc}".strip()
    return f"unexpected error: {type(exc).__name__}: {exc}"


class _Signals(QObject):
    result = Signal(object)
    progress = Signal(object)
    error = Signal(str)
    finished = Signal()


class Task(QRunnable):
    """Call ``fn(*args)`` on the pool; ``signals.result`` gets the return value, ``signals.error`` a line."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.fn, self.args = fn, args
        self.signals = _Signals()

    def run(self) -> None:
        try:
            value = self.fn(*self.args)
        except BaseException as exc:  # everything reaches the user as a line, never a crash
            log.debug("task failed: %s", traceback.format_exc())
            self.signals.error.emit(describe(exc))
        else:
            self.signals.result.emit(value)
        finally:
            self.signals.finished.emit()


class GeneratorTask(Task):
    """Iterate a core generator on the pool, emitting each item as ``progress``; cancellable."""

    def __init__(self, make: Callable[[threading.Event], Iterator[Any]]) -> None:
        self.cancel_event = threading.Event()
        super().__init__(self._drain, make)

    def _drain(self, make: Callable[[threading.Event], Iterator[Any]]) -> None:
        for item in make(self.cancel_event):
            self.signals.progress.emit(item)

    def cancel(self) -> None:
        self.cancel_event.set()


def start(task: Task) -> Task:
    QThreadPool.globalInstance().start(task)
    return task
