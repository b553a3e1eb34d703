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
        self.started = False

    def run(self) -> None:
        self.started = True
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


class QueryRunner(QObject):
    """Runs short catalogue queries on a pool of their own, so a slow query never queues behind a batch.

    A newer query makes older ones moot: :meth:`drop_queued` removes those not started yet, and their
    callers drop late answers by a sequence number. :meth:`shutdown` refuses new work and waits, bounded,
    for the running ones (the app quits without waiting for a server that does not answer).
    """

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._tasks: set[Task] = set()
        self.closing = False

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
        on_error: Callable[[str], None],
    ) -> Task | None:
        """Run ``fn(*args)`` on the pool; ``on_result``/``on_error`` are called on the GUI thread."""
        if self.closing:
            return None
        task = Task(fn, *args)
        task.signals.result.connect(on_result)
        task.signals.error.connect(on_error)
        self._tasks.add(task)
        task.signals.finished.connect(lambda: self._tasks.discard(task))
        self.pool.start(task)
        return task

    def drop_queued(self) -> None:
        """Forget the queries that have not started (they never will)."""
        self.pool.clear()
        self._tasks = {t for t in self._tasks if t.started}

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Refuse new queries, drop queued ones, wait up to ``timeout_ms`` for running ones."""
        self.closing = True
        self.drop_queued()
        return self.pool.waitForDone(timeout_ms)
