"""The catalogue: history, validation, filters, migrations from the first schema, clear errors."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from shellgui.core.catalog import PREDICTED, VALIDATED, Catalog
from shellgui.core.catalog import repository as repo
from shellgui.core.errors import CatalogError
from shellgui.core.identify import identify_paths, record
from shellgui.core.inference import Classifier

FIXTURES = Path(__file__).parents[1] / "fixtures"


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from shellgui.core.catalog.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_identification_history_and_validation(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, [colour_photos["grey"]])
    first = record(catalog, classifier, photos, outcome.results[0].prediction, catalog_number="MZ-12")
    specimen_id = first.specimen_id
    # the same photo again is the same specimen, and the same answer adds nothing to its history
    again = record(catalog, classifier, photos, outcome.results[0].prediction)
    assert again.specimen_id == specimen_id and again.action_id is None
    with catalog.session() as s, s.begin():
        repo.validate_identification(s, specimen_id, "Caerulea azurea", by="curator")
    with catalog.session() as s:
        hist = repo.history(s, specimen_id)
        assert [h.verification_status for h in hist] == [PREDICTED, VALIDATED]
        assert hist[-1].identified_by == "curator" and hist[-1].model_name == "tiny-test"
        rows = repo.list_specimens(s, text="MZ-12")
        assert len(rows) == 1 and rows[0].taxon == "Caerulea azurea" and rows[0].thumbnail
        assert repo.review_queue(s) == []
        samples = repo.validated_samples(s)
        assert [(Path(x.path).name, x.taxon) for x in samples] == [("grey.jpg", "Caerulea azurea")]


def test_filters_and_review_order(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, list(colour_photos.values()))
    for photo, result in zip(photos, outcome.results):
        record(catalog, classifier, [photo], result.prediction)
    with catalog.session() as s:
        queue = repo.review_queue(s)
        assert [Path(r.photo_path or "").name for r in queue][0] == "grey.jpg"
        assert [r.score for r in queue] == sorted(r.score for r in queue)
        assert len(repo.list_specimens(s, max_score=0.9)) == 1
        assert len(repo.list_specimens(s, text="redia")) == 1


def test_upgrade_from_first_schema_keeps_data(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "catalog_v1.sqlite", old)
    catalog = Catalog(old)
    with catalog.session() as s:
        rows = repo.list_specimens(s)
        assert [(r.catalog_number, r.taxon, r.score) for r in rows] == [
            ("MZ-0001", "Bolinus brandaris", 0.91)
        ]
        assert rows[0].thumbnail is None
        assert repo.history(s, rows[0].specimen_id)[0].remarks is None
    with catalog.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert conn.execute(text("SELECT count(*) FROM photo_embeddings")).scalar() == 0


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Catalog(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num='9999'")
    with pytest.raises(CatalogError, match="newer shellgui"):
        Catalog(path)


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.sqlite"
    path.write_bytes(b"\xff\xd8\xff" + b"x" * 5000)
    with pytest.raises(CatalogError, match="not a shellgui catalogue"):
        Catalog(path)


def test_locked_database_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.sqlite"
    shutil.copy(FIXTURES / "catalog_v1.sqlite", path)  # needs an upgrade, i.e. a write
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr("shellgui.core.catalog.database.SQLITE_TIMEOUT_S", 0.2)
    try:
        with pytest.raises(CatalogError, match="locked by another program"):
            Catalog(path)
    finally:
        blocker.rollback()
        blocker.close()


def test_identified_since_filter(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]) -> None:
    from datetime import datetime, timedelta

    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    photos, outcome = identify_paths(classifier, [colour_photos["red"]])
    record(catalog, classifier, photos, outcome.results[0].prediction, collected_on="1998-04-02")
    with catalog.session() as s:
        assert len(repo.list_specimens(s, identified_since=datetime.now() - timedelta(days=1))) == 1
        assert repo.list_specimens(s, identified_since=datetime.now() + timedelta(days=1)) == []
        assert len(repo.list_specimens(s, text="1998")) == 1


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """Alembic's autogenerate finds nothing to add: the migrations build exactly the declared schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from shellgui.core.catalog.schema import Base

    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
