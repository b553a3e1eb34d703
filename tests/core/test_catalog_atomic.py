"""Schema creation and upgrades are atomic: ``kill -9`` at every statement of a first start and of an
upgrade leaves the old catalogue or the new one, and the next start works. On SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, inspect, text

from shellgui.core.catalog import Catalog
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.database import upgrade_schema

FIXTURES = Path(__file__).parents[1] / "fixtures"
FORK = multiprocessing.get_context("fork")  # a real process, without paying for imports again


def _start_and_die_at(url: str, kill_at: int, seen: multiprocessing.sharedctypes.Synchronized) -> None:  # type: ignore[name-defined]
    """Open the catalogue, sending ourselves SIGKILL just before database step ``kill_at``."""

    def step(*_args: object, **_kwargs: object) -> None:
        seen.value += 1
        if seen.value == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Engine, "before_cursor_execute", step)
    event.listen(Engine, "commit", step)
    Catalog(url).close()


def _run(url: str, kill_at: int) -> tuple[int | None, int]:
    seen = FORK.Value("i", 0)
    process = FORK.Process(target=_start_and_die_at, args=(url, kill_at, seen))
    process.start()
    process.join(60)
    return process.exitcode, seen.value


def _state(url: str) -> tuple[str | None, set[str]]:
    """The schema version and tables, read without shellgui."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            version = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in tables
                else None
            )
            return version, tables
    finally:
        engine.dispose()


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from shellgui.core.catalog.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _fresh(kind: str, tmp_path: Path, postgres: object, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    return postgres.new_schema()  # type: ignore[attr-defined]


def _sweep_points(total: int) -> list[int]:
    """An even spread of steps that always includes the first and the last ones (the commit); every
    step with SHELLGUI_FULL_SWEEP=1 (slower)."""
    limit = 10
    if total <= limit or os.environ.get("SHELLGUI_FULL_SWEEP") == "1":
        return list(range(1, total + 1))
    points = {1 + i * (total - 1) // (limit - 1) for i in range(limit)}
    return sorted(points | {total - 1, total})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request: pytest.FixtureRequest) -> tuple[str, object]:
    return request.param, request.getfixturevalue("postgres") if request.param == "postgresql" else None


def test_kill_during_first_start_leaves_nothing_or_everything(
    backend: tuple[str, object], tmp_path: Path
) -> None:
    kind, postgres = backend
    exitcode, total = _run(_fresh(kind, tmp_path, postgres, "count"), kill_at=10**9)
    assert exitcode == 0 and total > 10
    outcomes = {"empty": 0, "complete": 0}
    for point in _sweep_points(total):
        url = _fresh(kind, tmp_path, postgres, f"k{point}")
        exitcode, _ = _run(url, point)
        assert exitcode == -signal.SIGKILL, f"step {point} of {total} was not reached"
        version, tables = _state(url)
        if version is None:
            assert tables - {"alembic_version"} == set(), f"half a catalogue after a kill at step {point}"
            outcomes["empty"] += 1
        else:
            assert version == _head() and {"specimens", "photos", "identifications"} <= tables
            outcomes["complete"] += 1
        Catalog(url).close()  # the next start works
        assert _state(url)[0] == _head()
    assert outcomes["empty"] > 0, outcomes
    print(f"{kind}: first start killed at {sum(outcomes.values())} of {total} steps: {outcomes}")


def _old_catalogue(kind: str, tmp_path: Path, postgres: object, name: str) -> str:
    """A catalogue at an old schema with one specimen in it."""
    if kind == "sqlite":
        path = tmp_path / f"{name}.sqlite"
        shutil.copy(FIXTURES / "catalog_v1.sqlite", path)
        return f"sqlite:///{path}"
    url = postgres.new_schema()  # type: ignore[attr-defined]
    engine = create_engine(url)
    upgrade_schema(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO specimens (id, catalog_number, created_at) VALUES (1, 'MZ-0001', now())")
        )
        conn.execute(
            text(
                "INSERT INTO identifications"
                " (specimen_id, taxon, rank, score, created_at, verification_status)"
                " VALUES (1, 'Bolinus brandaris', 'species', 0.91, now(), 'PredictedByMachine')"
            )
        )
    engine.dispose()
    return url


def test_kill_during_upgrade_leaves_old_or_new(backend: tuple[str, object], tmp_path: Path) -> None:
    kind, postgres = backend
    old_version = _state(_old_catalogue(kind, tmp_path, postgres, "v"))[0]
    exitcode, total = _run(_old_catalogue(kind, tmp_path, postgres, "count"), kill_at=10**9)
    assert exitcode == 0 and total > 5
    outcomes = {"old": 0, "new": 0}
    for point in _sweep_points(total):
        url = _old_catalogue(kind, tmp_path, postgres, f"k{point}")
        exitcode, _ = _run(url, point)
        assert exitcode == -signal.SIGKILL
        version, tables = _state(url)
        assert version in (old_version, _head()), f"version {version} after a kill at step {point}"
        assert not any(t.startswith("_alembic_tmp") for t in tables)
        columns = {c["name"] for c in inspect(create_engine(url)).get_columns("photos")}
        assert ("pixel_sha256" in columns) == (version == _head())
        outcomes["old" if version == old_version else "new"] += 1
        catalog = Catalog(url)  # the next start upgrades and keeps the data
        with catalog.session() as s:
            rows = repo.list_specimens(s)
            assert [(r.catalog_number, r.taxon) for r in rows] == [("MZ-0001", "Bolinus brandaris")]
        catalog.close()
    assert outcomes["old"] > 0, outcomes
    print(f"{kind}: upgrade killed at {sum(outcomes.values())} of {total} steps: {outcomes}")
