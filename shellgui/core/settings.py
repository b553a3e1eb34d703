"""A small typed settings object stored as JSON under the user's config folder."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from shellgui.core import paths
from shellgui.core.atomic import write_text_atomic

log = logging.getLogger(__name__)

PROVIDER_CHOICES = ("auto", "cuda", "cpu")


@dataclass
class Settings:
    """User preferences shared by the CLI and the GUI.

    Attributes:
        top_k: how many taxa to show per identification.
        provider: ``"auto"`` (CUDA when it can start, else CPU), ``"cuda"`` or ``"cpu"``.
        catalog: SQLite path or SQLAlchemy URL of the catalogue; empty means the default file.
        model: path of the model to use; empty means the bundled default.
        batch_size: images per inference batch when cataloguing a folder.
        user_name: recorded as ``identifiedBy`` when a person validates an identification.
    """

    top_k: int = 5
    provider: str = "auto"
    catalog: str = ""
    model: str = ""
    batch_size: int = 8
    user_name: str = ""

    @staticmethod
    def file() -> Path:
        return paths.config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        """Read the settings file; a missing or damaged file gives the defaults (and a log line)."""
        path = cls.file()
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable settings file %s: %s", path, exc)
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        settings = cls(**values)
        if settings.provider not in PROVIDER_CHOICES:
            settings.provider = "auto"
        settings.top_k = max(1, int(settings.top_k))
        settings.batch_size = max(1, int(settings.batch_size))
        return settings

    def save(self) -> None:
        """Write the settings atomically."""
        write_text_atomic(self.file(), json.dumps(asdict(self), indent=2))
