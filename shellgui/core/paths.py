"""Where shellgui keeps user data: platformdirs locations, all movable with ``SHELLGUI_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "shellgui"
HOME_ENV = "SHELLGUI_HOME"


def _base(kind: str) -> Path:
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / kind
    import platformdirs

    if kind == "data":
        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The user's data folder (catalogue, installed models)."""
    return _base("data")


def config_dir() -> Path:
    """The user's settings folder."""
    return _base("config")


def cache_dir() -> Path:
    """Files shellgui can rebuild (similar-specimen search indexes)."""
    return _base("cache")


def models_dir() -> Path:
    """Folder where ``shellgui-train --install`` puts models and ``shellgui models`` finds them."""
    return data_dir() / "models"


def default_catalog_path() -> Path:
    """The SQLite catalogue used when no ``--db`` is given."""
    return data_dir() / "catalogue.sqlite"


def resources_dir() -> Path:
    """The bundled resources (default model, icons): inside the installed package or the source tree."""
    try:
        from importlib.resources import files

        bundled = Path(str(files("shellgui.resources")))
        if (bundled / "models").is_dir():
            return bundled
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "resources"
