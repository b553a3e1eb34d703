"""A small typed settings object stored as JSON under the user's config folder.

The file is read field by field and each value is validated by msgspec against its declared type and
range: a wrong type, a list, ``null`` or a huge number in one field costs only that field, which falls
back to its default with one warning line. Keys this version does not know are kept out (a newer
shellgui may have written them) and the file carries a ``schema_version``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

import msgspec

from shellgui.core import paths
from shellgui.core.atomic import write_text_atomic
from shellgui.core.text import one_line

log = logging.getLogger(__name__)

PROVIDER_CHOICES = ("auto", "cuda", "cpu")
#: Version of the settings file's layout; bump it when a field changes meaning.
SCHEMA_VERSION = 1
#: A settings file larger than this is not one shellgui wrote.
MAX_FILE_BYTES = 1 << 20
#: How many recently catalogued folders the Batch tab offers.
RECENT_FOLDERS = 8

_Text = Annotated[str, msgspec.Meta(max_length=4096)]
_Name = Annotated[str, msgspec.Meta(max_length=200)]
_Folders = Annotated[list[_Text], msgspec.Meta(max_length=RECENT_FOLDERS)]


@dataclass
class Settings:
    """User preferences shared by the CLI and the GUI.

    Attributes:
        top_k: how many taxa to show per identification (1-100).
        provider: ``"auto"`` (CUDA when it can start, else CPU), ``"cuda"`` or ``"cpu"``.
        prefer_int8: on the CPU, run a model's int8 twin when it has one (faster; CUDA runs fp32).
        catalog: SQLite path or SQLAlchemy URL of the catalogue; empty means the default file.
        model: path of the model to use; empty means the bundled default.
        batch_size: images per inference batch (1-256).
        user_name: recorded as ``identifiedBy`` when a person validates an identification, and as the
            creator of exported Darwin Core archives.
        media_base_url: where the photos are published; Darwin Core ``associatedMedia`` is this URL plus
            the photo's file name, and stays empty while it is unset (a local path means nothing to GBIF).
        dataset_title: the title of exported Darwin Core archives (``eml.xml``).
        dataset_license: the licence of exported data, a URL (GBIF accepts CC0, CC BY and CC BY-NC).
        recent_folders: folders catalogued lately, newest first (at most :data:`RECENT_FOLDERS`).
        schema_version: the layout of the settings file.
    """

    top_k: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    provider: Literal["auto", "cuda", "cpu"] = "auto"
    prefer_int8: bool = True
    catalog: _Text = ""
    model: _Text = ""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    user_name: _Name = ""
    media_base_url: _Text = ""
    dataset_title: _Name = "Shell specimens catalogued with shellgui"
    dataset_license: _Text = "http://creativecommons.org/licenses/by/4.0/legalcode"
    recent_folders: Annotated[list[_Text], msgspec.Meta(max_length=RECENT_FOLDERS)] = field(
        default_factory=list
    )
    schema_version: int = SCHEMA_VERSION

    @staticmethod
    def file() -> Path:
        return paths.config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        """Read the settings file; a missing or damaged file gives the defaults, and a bad field its
        default, each with one warning line."""
        path = cls.file()
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                log.warning("Ignoring settings file %s: larger than %d bytes", path, MAX_FILE_BYTES)
                return cls()
            raw = msgspec.json.decode(path.read_bytes())
        except FileNotFoundError:
            return cls()
        except (OSError, msgspec.DecodeError, RecursionError) as exc:
            log.warning("Ignoring unreadable settings file %s: %s", path, one_line(exc))
            return cls()
        if not isinstance(raw, dict):
            log.warning("Ignoring settings file %s: not a JSON object", path)
            return cls()
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "settings") -> Settings:
        """Settings from a parsed JSON object, each field validated on its own."""
        types = get_type_hints(cls, include_extras=True)
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw or f.name == "schema_version":
                continue
            try:
                values[f.name] = msgspec.convert(raw[f.name], types[f.name])
            except msgspec.ValidationError as exc:
                log.warning(
                    "%s: ignoring %s (%s); using the default %r",
                    source,
                    f.name,
                    one_line(exc)[:120],
                    getattr(defaults, f.name),
                )
        version = raw.get("schema_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            log.warning(
                "%s was written by a newer shellgui (schema %d); unknown fields are ignored", source, version
            )
        return cls(**values)

    def remember_folder(self, folder: str) -> None:
        """Put ``folder`` first in :attr:`recent_folders` (no duplicates, the oldest dropped)."""
        others = [f for f in self.recent_folders if f != folder]
        self.recent_folders = [folder, *others][:RECENT_FOLDERS]

    def save(self) -> None:
        """Write the settings atomically."""
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        write_text_atomic(self.file(), json.dumps(data, indent=2))
