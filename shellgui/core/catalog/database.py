"""Open a catalogue: SQLite (WAL, foreign keys) by default, any SQLAlchemy URL for a shared server.

Opening always brings the schema up to date with Alembic, and refuses, with a clear message, a database
written by a newer shellgui, a file that is not a database, or one locked by another program.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shellgui.core import paths
from shellgui.core.errors import CatalogError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
#: How long to wait for another program holding the SQLite file before saying it is locked.
SQLITE_TIMEOUT_S = 10.0
#: How long to wait for a catalogue server to answer (an unreachable host otherwise waits minutes).
SERVER_CONNECT_TIMEOUT_S = 10


def catalog_url(path_or_url: str | os.PathLike[str] | None) -> str:
    """A SQLAlchemy URL from a file path, a URL, or ``None`` (the user's default catalogue file)."""
    if path_or_url is None or str(path_or_url) == "":
        target = paths.default_catalog_path()
    elif "://" in str(path_or_url):
        return str(path_or_url)
    else:
        target = Path(path_or_url).expanduser()
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{target}"


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def explain_db_error(exc: BaseException, url: str) -> CatalogError:
    """Turn a driver error into one line a user understands."""
    text = str(getattr(exc, "orig", exc) or exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return CatalogError(f"the catalogue {url} is locked by another program; close it and try again")
    if "not a database" in lowered or "malformed" in lowered:
        return CatalogError(f"{url} is not a shellgui catalogue (not a SQLite database, or damaged)")
    if "readonly" in lowered or "read-only" in lowered:
        return CatalogError(f"the catalogue {url} is read-only; choose a folder you can write to")
    if "unable to open" in lowered:
        return CatalogError(f"the catalogue {url} cannot be opened (missing folder or no permission)")
    return CatalogError(f"catalogue error ({text.splitlines()[0] if text else type(exc).__name__})")


def describe_db_error(exc: BaseException) -> str | None:
    """One line for a database driver error, or ``None`` when ``exc`` is not one."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return str(explain_db_error(exc, "catalogue"))
    return None


def _alembic_config(connection: object) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest), refusing databases from a newer shellgui."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    with engine.begin() as connection:
        config = _alembic_config(connection)
        script = ScriptDirectory.from_config(config)  # type: ignore[arg-type]
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None:
            try:
                script.get_revision(current)
            except CommandError:
                raise CatalogError(
                    f"the catalogue was written by a newer shellgui (schema {current}); update shellgui"
                ) from None
        elif inspect(connection).has_table("specimens"):
            raise CatalogError(
                "the database has shellgui-like tables but no schema version; refusing to touch it"
            )
        if current != script.get_current_head() or revision != "head":
            log.info("Upgrading catalogue schema from %s to %s", current, revision)
            command.upgrade(config, revision)  # type: ignore[arg-type]


def _connect_args(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):
        return {"timeout": SQLITE_TIMEOUT_S}
    if url.startswith("postgresql"):
        return {"connect_timeout": SERVER_CONNECT_TIMEOUT_S}
    return {}


class Catalog:
    """An open catalogue: an engine plus a session factory. Use one short session per unit of work.

    Args:
        path_or_url: a SQLite file path, a SQLAlchemy URL (``postgresql+psycopg://...``), or ``None``.
        upgrade: bring the schema up to date (default); tests pass ``False`` to build old schemas.
    """

    def __init__(self, path_or_url: str | os.PathLike[str] | None = None, upgrade: bool = True) -> None:
        self.url = catalog_url(path_or_url)
        is_sqlite = self.url.startswith("sqlite")
        try:
            self.engine = create_engine(
                self.url,
                connect_args=_connect_args(self.url),
                pool_pre_ping=not is_sqlite,
            )
        except Exception as exc:  # bad URL, missing driver
            raise CatalogError(f"cannot open catalogue {self.url}: {exc}") from None
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            try:
                upgrade_schema(self.engine)
            except (OperationalError, DBAPIError) as exc:
                raise explain_db_error(exc, self.url) from None

    def session(self) -> Session:
        """A new session (``with catalog.session() as s: ...``)."""
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()

    @property
    def display_name(self) -> str:
        return self.url.removeprefix("sqlite:///")
