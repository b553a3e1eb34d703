"""Shared fixtures: every test gets its own SHELLGUI_HOME, so nothing touches the user's data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def shellgui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes only under its tmp_path: shellgui's own data and window settings
    (SHELLGUI_HOME), and the caches and settings of the libraries below it (matplotlib, Qt, XDG)."""
    home = tmp_path / "home"
    monkeypatch.setenv("SHELLGUI_HOME", str(home))
    monkeypatch.setenv("SHELLGUI_PROVIDER", "cpu")
    for var, sub in (
        ("MPLCONFIGDIR", "matplotlib"),
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("XDG_DATA_HOME", "xdg-data"),
        ("ORT_TENSORRT_CACHE_PATH", "ort-cache"),
    ):
        monkeypatch.setenv(var, str(tmp_path / "env" / sub))
    return home


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    from tinymodel import build_tiny_model

    return build_tiny_model(tmp_path / "tiny.onnx")


@pytest.fixture
def colour_photos(tmp_path: Path) -> dict[str, Path]:
    """Solid-colour JPEGs whose tiny-model answers are known."""
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    out = {}
    for name, rgb in {
        "red": (230, 20, 20),
        "green": (20, 230, 20),
        "blue": (20, 20, 230),
        "grey": (128, 128, 128),
    }.items():
        path = folder / f"{name}.jpg"
        Image.new("RGB", (64, 48), rgb).save(path, quality=95)
        out[name] = path
    return out


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """The session's PostgreSQL server (started on first use, deleted at the end)."""
    import shutil
    import tempfile

    from pgtest import PostgresForTests

    # Not under pytest's own temporary tree: as root, pgserver runs the server as an unprivileged
    # user, and pytest makes its tree private (0700) again whenever a pytest session starts.
    folder = Path(tempfile.mkdtemp(prefix="shellgui-pg-"))
    folder.chmod(0o755)
    server = PostgresForTests(folder / "data")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new empty catalogue location: a SQLite file, then a schema on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    return request.getfixturevalue("postgres").new_schema()
