"""The application's services seen from the GUI: settings, the open catalogue and the loaded model."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QInputDialog, QWidget

from shellgui.core.catalog import Catalog
from shellgui.core.inference import Classifier
from shellgui.core.models import bundled_model_path, resolve_model
from shellgui.core.settings import Settings
from shellgui.core.text import one_line
from shellgui.qt.workers import QueryRunner, Task, start


class AppContext(QObject):
    """Owns the long-lived core services; panels ask it for them and listen to its signals.

    Signals:
        model_loading(str): a model file started loading.
        model_changed(object): the new :class:`Classifier` is ready.
        model_failed(str): loading failed (one line).
        catalog_changed(): the catalogue was replaced or written to.
    """

    model_loading = Signal(str)
    model_changed = Signal(object)
    model_failed = Signal(str)
    catalog_changed = Signal()

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        super().__init__()
        self.settings = settings
        self.catalog = catalog
        self.classifier: Classifier | None = None
        self._tasks: set[Task] = set()
        self.queries = QueryRunner(self)

    @property
    def user_name(self) -> str:
        """The name recorded with the user's decisions ("" until asked, see :meth:`who`)."""
        return self.settings.user_name.strip()

    def who(self, parent: QWidget | None = None) -> str | None:
        """The user's name for a decision, asked once on first use and kept in the settings.

        ``None`` when the user declines: the decision is then not recorded.
        """
        if self.user_name:
            return self.user_name
        name, ok = QInputDialog.getText(
            parent,
            "Your name",
            "Your name is recorded with every identification you check, edit or delete.\n"
            "(Asked once; change it in Preferences.)",
        )
        if not ok or not name.strip():
            return None
        self.settings.user_name = " ".join(name.split())
        self.settings.save()
        return self.settings.user_name

    def keep(self, task: Task) -> Task:
        """Hold a reference to a running task until it finishes, then start it."""
        if self.queries.closing:
            return task  # quitting: start nothing new
        self._tasks.add(task)
        task.signals.finished.connect(lambda: self._tasks.discard(task))
        return start(task)

    def load_model(self, choice: str | None = None, remember: bool = False) -> None:
        """Load a model (a path, an installed name, or the default) on the thread pool.

        With ``remember`` the choice is saved in the settings once the model has loaded. A model that
        cannot be loaded is never remembered: the app says why and falls back to the bundled model.
        """
        wanted = choice if choice is not None else (self.settings.model or None)
        try:
            path = resolve_model(wanted)
        except Exception as exc:  # a missing model must not stop the window
            self._model_error(one_line(exc), wanted)
            return
        self.model_loading.emit(str(path))
        task = Task(Classifier, path, self.settings.provider, None, self.settings.prefer_int8)
        task.signals.result.connect(lambda classifier: self._model_ready(classifier, remember))
        task.signals.error.connect(lambda message: self._model_error(message, str(path)))
        self.keep(task)

    def _model_ready(self, classifier: Classifier, remember: bool = False) -> None:
        self.classifier = classifier
        if remember:
            self.settings.model = classifier.model_path
            self.settings.save()
        self.model_changed.emit(classifier)

    def _model_error(self, message: str, wanted: str | None) -> None:
        bundled = bundled_model_path()
        is_bundled = not wanted or (Path(wanted).exists() and Path(wanted).resolve() == bundled.resolve())
        if is_bundled or not bundled.exists():
            self.model_failed.emit(message)
            return
        if self.settings.model:  # never start on a broken model again
            self.settings.model = ""
            self.settings.save()
        self.model_failed.emit(f"{message}; using the bundled model instead")
        self.load_model("")

    def open_catalog(self, path_or_url: str) -> None:
        """Switch catalogues (raises a ShellguiError on failure, keeping the old one)."""
        self.use_catalog(Catalog(path_or_url or None))

    def use_catalog(self, catalog: Catalog) -> None:
        """Switch to an already opened catalogue. Queries still running on the old one finish on their
        own connections (``dispose`` closes only idle ones); their answers are dropped as stale."""
        old, self.catalog = self.catalog, catalog
        if old is not catalog:
            old.close()
        self.catalog_changed.emit()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Stop starting work, drop queued work, and wait (bounded) for what runs; True when all ended."""
        queries_done = self.queries.shutdown(timeout_ms)
        pool = QThreadPool.globalInstance()
        pool.clear()
        return pool.waitForDone(timeout_ms) and queries_done

    def model_path(self) -> Path | None:
        return Path(self.classifier.model_path) if self.classifier else None
