"""Refuse what would lose data; behave the same on SQLite and PostgreSQL at the schema's limits; find a
photo again when it moved or only its metadata changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from shellgui.core.catalog import Catalog
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.schema import Photo, Specimen
from shellgui.core.errors import CatalogError, UsageError
from shellgui.core.identify import identify_paths, record
from shellgui.core.imaging import PhotoInfo, open_photo
from shellgui.core.inference import Classifier

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHELLGUI_HOME": str(home), "SHELLGUI_PROVIDER": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "shellgui", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", ":memory:"])
def test_in_memory_catalogues_are_refused(url: str) -> None:
    with pytest.raises(CatalogError, match="in-memory catalogue keeps nothing"):
        Catalog(url)


def test_in_memory_refused_by_the_command(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    proc = _cli(
        "catalog",
        str(colour_photos["red"].parent),
        "--db",
        "sqlite://",
        "--model",
        str(tiny_model),
        home=tmp_path,
    )
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "shellgui: error: an in-memory catalogue keeps nothing; give a file path or a server URL with --db"
    ]


def test_another_programs_sqlite_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('Ann')")
    before = path.read_bytes()
    with pytest.raises(CatalogError, match=r"holds another program's tables \(contacts\)"):
        Catalog(path)
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == [
            "contacts"
        ]


def test_read_only_url_really_is_read_only(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    path = tmp_path / "c.sqlite"
    classifier = Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, [colour_photos["red"]])
    record(Catalog(path), classifier, photos, outcome.results[0].prediction)
    read_only = Catalog(f"sqlite:///{path}?mode=ro")
    assert read_only.read_only
    with read_only.session() as s:
        assert len(repo.list_specimens(s)) == 1
    photos, outcome = identify_paths(classifier, [colour_photos["blue"]])
    with pytest.raises(Exception, match="readonly|read-only"):
        record(read_only, classifier, photos, outcome.results[0].prediction)
    proc = _cli(
        "identify",
        str(colour_photos["green"]),
        "--db",
        f"sqlite:///{path}?mode=ro",
        "--model",
        str(tiny_model),
        home=tmp_path / "h",
    )
    assert proc.returncode == 1 and proc.stderr.strip().endswith("is read-only; nothing was changed"), (
        proc.stderr
    )
    with Catalog(path).session() as s:
        assert len(repo.list_specimens(s)) == 1


def test_read_only_catalogue_is_not_upgraded(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "catalog_v1.sqlite", old)
    before = old.read_bytes()
    with pytest.raises(CatalogError, match="needs a schema upgrade"):
        Catalog(f"sqlite:///{old}?mode=ro")
    assert old.read_bytes() == before


def test_passwords_are_never_shown(tmp_path: Path) -> None:
    url = "postgresql+psycopg://curator:s3cr3t-pw@127.0.0.1:1/shells"
    with pytest.raises(CatalogError) as caught:
        Catalog(url)
    assert "s3cr3t" not in str(caught.value)
    proc = _cli("export", str(tmp_path / "out.csv"), "--db", url, home=tmp_path)
    assert proc.returncode == 1 and "s3cr3t" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def _info(**overrides: object) -> PhotoInfo:
    fields: dict[str, object] = {"width": 10, "height": 10, "format": "JPEG"}
    fields.update(overrides)
    return PhotoInfo(**fields)  # type: ignore[arg-type]


def test_schema_limits_behave_the_same_on_both(db_url: str) -> None:
    catalog = Catalog(db_url)
    camera = "Nikon\x00 " + "Z" * 300
    with catalog.session() as s, s.begin():
        specimen = repo.add_specimen(s, collector="A.\x00 Curator")
        repo.add_photo(
            s, specimen, "/x/big.tif", "a" * 64, 3 << 30, _info(camera=camera, taken_at="2024\x00")
        )
    with catalog.session() as s:
        photo = s.scalars(select(Photo)).one()
        assert photo.size_bytes == 3 << 30  # a file over 2 GiB
        assert photo.camera == ("Nikon " + "Z" * 300)[:200] and photo.taken_at == "2024"
        assert s.scalars(select(Specimen.collector)).one() == "A. Curator"
    for field, limit in (("catalog_number", 64), ("collector", 200), ("collected_on", 32)):
        with pytest.raises(UsageError, match=f"at most {limit} fit"), catalog.session() as s, s.begin():
            repo.add_specimen(s, **{field: "9" * (limit + 1)})
    with catalog.session() as s:
        assert s.scalar(select(func.count(Specimen.id))) == 1


def _catalogue(catalog: Catalog, classifier: Classifier, *paths: Path) -> int:
    photos, outcome = identify_paths(classifier, list(paths), as_specimen=len(paths) > 1)
    return record(catalog, classifier, photos, outcome.results[0].prediction).specimen_id


def test_a_moved_photo_is_found_and_its_path_updated(
    db_url: str, tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    catalog, classifier = Catalog(db_url), Classifier(tiny_model)
    first = _catalogue(catalog, classifier, colour_photos["red"])
    moved = tmp_path / "elsewhere" / "renamed.jpg"
    moved.parent.mkdir()
    colour_photos["red"].rename(moved)
    assert _catalogue(catalog, classifier, moved) == first
    with catalog.session() as s:
        assert list(s.scalars(select(Photo.path))) == [str(moved)]
    copy = tmp_path / "copy.jpg"  # a copy, with the original still there: the stored path stays
    shutil.copy(moved, copy)
    assert _catalogue(catalog, classifier, copy) == first
    with catalog.session() as s:
        assert list(s.scalars(select(Photo.path))) == [str(moved)]


def _add_keyword(jpeg: Path) -> None:
    """What a DAM tool does: add a metadata segment (here a comment) without touching the image data."""
    data = jpeg.read_bytes()
    comment = b"keywords: Bolinus; drawer 12"
    jpeg.write_bytes(data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:])


def test_a_photo_edited_in_place_is_the_same_photo(
    db_url: str, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    catalog, classifier = Catalog(db_url), Classifier(tiny_model)
    path = colour_photos["green"]
    before = open_photo(path)
    first = _catalogue(catalog, classifier, path)
    _add_keyword(path)
    after = open_photo(path)
    assert after.sha256 != before.sha256 and after.pixel_sha256 == before.pixel_sha256
    assert _catalogue(catalog, classifier, path) == first
    with catalog.session() as s:
        photo = s.scalars(select(Photo)).one()
        assert (photo.sha256, photo.size_bytes) == (after.sha256, path.stat().st_size)
    png = path.with_suffix(".png")  # other formats: by their decoded pixels
    Image.open(path).save(png)
    decoded = open_photo(png).pixel_sha256
    Image.open(png).save(png, pnginfo=_png_text("Keywords", "Bolinus"))
    assert open_photo(png).pixel_sha256 == decoded


def _png_text(key: str, value: str) -> object:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def test_the_photo_is_read_once(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]) -> None:
    """The hash comes from the bytes that were decoded: recording never reads the file again."""
    catalog, classifier = Catalog(tmp_path / "c.sqlite"), Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, [colour_photos["blue"]])
    data = colour_photos["blue"].read_bytes()
    colour_photos["blue"].write_bytes(b"changed after the photo was decoded")
    record(catalog, classifier, photos, outcome.results[0].prediction)
    import hashlib

    with catalog.session() as s:
        assert s.scalars(select(Photo.sha256)).one() == hashlib.sha256(data).hexdigest()


def test_a_fifo_named_jpg_is_never_opened(tmp_path: Path) -> None:
    from shellgui.core.errors import PhotoError

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(PhotoError, match="not a regular file"):
        open_photo(fifo)  # would block for ever if it were opened
