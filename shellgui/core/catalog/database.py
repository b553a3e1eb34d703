"""Open a catalogue: SQLite (WAL, foreign keys) by default, any SQLAlchemy URL for a shared server.

Opening brings the schema up to date with Alembic, in one transaction under a lock (SQLite
``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so two first starts never collide and a killed upgrade
leaves the old catalogue or the new one, never half of one. It refuses, with one clear line, what would
lose data: an in-memory database, a file that holds another program's tables, a database written by a
newer shellgui. ``?mode=ro`` opens a catalogue read-only. Passwords in URLs are never shown.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shellgui.core import paths
from shellgui.core.errors import CatalogError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
#: How long to wait for another program holding the SQLite file before saying it is locked.
SQLITE_TIMEOUT_S = 10.0
#: How long to wait for a catalogue server to answer (an unreachable host otherwise waits minutes).
SERVER_CONNECT_TIMEOUT_S = 10
#: Whole-transaction attempts when the database is busy or a concurrent writer conflicted.
WRITE_ATTEMPTS = 8
#: Key of the PostgreSQL advisory lock held while the schema is created or upgraded.
SCHEMA_LOCK_KEY = 0x5E11_6001
#: Key of the PostgreSQL advisory lock every write transaction holds (one writer at a time, as on SQLite).
WRITE_LOCK_KEY = 0x5E11_6002
#: Execution option of the engine behind :meth:`Catalog.write`: SQLite takes the write lock at BEGIN.
_WRITE = "shellgui_write"
# PostgreSQL SQLSTATEs a whole transaction is retried on: serialization failure, deadlock, and a unique
# violation (a concurrent writer inserted the same row first; the retry then finds it).
_PG_RETRY = {"40001", "40P01", "23505"}

T = TypeVar("T")


def safe_url(url: str | URL) -> str:
    """A URL as it may be shown to a user: never the password; a SQLite file as its path."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database.removeprefix("file:")
    return parsed.render_as_string(hide_password=True)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise CatalogError(f"{safe_url(url)} is not a catalogue path or URL") from None


def catalog_url(path_or_url: str | os.PathLike[str] | None) -> str:
    """A SQLAlchemy URL from a file path, a URL, or ``None`` (the user's default catalogue file).

    Raises:
        CatalogError: for an in-memory SQLite database (it would keep nothing) or a malformed URL.
    """
    raw = "" if path_or_url is None else str(path_or_url)
    if raw == ":memory:":
        raise CatalogError(_IN_MEMORY)
    if "://" in raw:
        url = _parse(raw)
        if url.get_backend_name() == "sqlite" and _in_memory(url):
            raise CatalogError(_IN_MEMORY)
        return raw
    target = Path(raw).expanduser() if raw else paths.default_catalog_path()
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{target}"


_IN_MEMORY = "an in-memory catalogue keeps nothing; give a file path or a server URL with --db"


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return (
        database in ("", ":memory:", "file::memory:")
        or url.query.get("mode") == "memory"
        or database.startswith("file::memory:")
    )


def _read_only(url: URL) -> bool:
    return url.query.get("mode") == "ro"


def _engine_for(url: URL) -> Engine:
    """An engine for ``url``; ``?mode=ro`` becomes the driver's own read-only mode."""
    if url.get_backend_name() == "sqlite":
        args: dict[str, Any] = {"timeout": SQLITE_TIMEOUT_S}
        if _read_only(url):
            # SQLite enforces mode=ro itself, but only through a URI filename.
            database = url.database or ""
            database = database if database.startswith("file:") else f"file:{Path(database).resolve()}"
            url = url.set(database=database, query={"mode": "ro", "uri": "true"})
        engine = create_engine(url, connect_args=args)
        read_only = _read_only(url)
        event.listen(engine, "connect", _sqlite_connect_read_only if read_only else _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin_read if read_only else _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = SERVER_CONNECT_TIMEOUT_S
    if _read_only(url):
        url = url.difference_update_query(["mode"])
        if url.get_backend_name() == "postgresql":
            options = f"{url.query.get('options', '')} -c default_transaction_read_only=on".strip()
            url = url.update_query_dict({"options": options})
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    if url.get_backend_name() == "postgresql" and not _read_only(url):
        event.listen(engine, "begin", _postgresql_begin)
    return engine


def _postgresql_begin(connection: Connection) -> None:
    # Writers take turns, like SQLite's BEGIN IMMEDIATE: a check-then-insert never races another
    # workstation. Held until commit or rollback; readers never wait.
    if connection.get_execution_options().get(_WRITE, False):
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # pysqlite would run DDL outside any transaction; take transactions into our own hands
    # (SQLAlchemy's documented recipe) so schema changes are atomic. See _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL changes the file's header: only for a new file or a catalogue, never another program's file.
    ours = "SELECT count(*) = 0 OR sum(name = 'alembic_version') > 0 FROM sqlite_master WHERE type = 'table'"
    if cursor.execute(ours).fetchone() == (1,):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_connect_read_only(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout={int(SQLITE_TIMEOUT_S * 1000)}")


def _sqlite_begin(connection: Connection) -> None:
    # A writer takes the write lock up front, waiting for it with busy_timeout: a deferred transaction
    # that reads then writes fails at once, without waiting, when another writer got there first
    # (SQLITE_BUSY_SNAPSHOT in WAL mode), and its check-then-insert could race. Readers stay deferred,
    # so they never wait for a writer (WAL).
    write = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_begin_read(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def explain_db_error(exc: BaseException, url: str | URL) -> CatalogError:
    """Turn a driver error into one line a user understands (never showing a password)."""
    shown = safe_url(url)
    text_ = str(getattr(exc, "orig", exc) or exc)
    lowered = text_.lower()
    if "locked" in lowered or "busy" in lowered:
        return CatalogError(f"the catalogue {shown} is locked by another program; close it and try again")
    if "not a database" in lowered or "malformed" in lowered:
        return CatalogError(f"{shown} is not a shellgui catalogue (not a SQLite database, or damaged)")
    if "readonly" in lowered or "read-only" in lowered:
        return CatalogError(f"the catalogue {shown} is read-only; nothing was changed")
    if "unable to open" in lowered:
        return CatalogError(f"the catalogue {shown} cannot be opened (missing folder or no permission)")
    first = text_.strip().splitlines()[0] if text_.strip() else type(exc).__name__
    return CatalogError(f"catalogue error ({first})")


def describe_db_error(exc: BaseException) -> str | None:
    """One line for a database driver error, or ``None`` when ``exc`` is not one."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return str(explain_db_error(exc, "catalogue"))
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether re-running the whole transaction may succeed: busy/locked, serialization, deadlock."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate is not None:
        return sqlstate in _PG_RETRY
    if isinstance(exc, OperationalError):
        lowered = str(orig or exc).lower()
        return "locked" in lowered or "busy" in lowered
    return False


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _check_schema(connection: Connection, script: Any, shown: str) -> str | None:
    """The catalogue's revision; refuses a newer schema and a database that is not a catalogue."""
    from alembic.util.exc import CommandError

    # Tables first, then the revision: another process's first start commits both at once, so a table
    # list that shows its tables is always followed by a revision read that shows its version (the other
    # order, under READ COMMITTED, could see the tables without the version and refuse a good catalogue).
    tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
    current = _current_revision(connection)
    if current is not None:
        try:
            script.get_revision(current)
        except CommandError:
            raise CatalogError(
                f"the catalogue was written by a newer shellgui (schema {current}); update shellgui"
            ) from None
        return current
    if "specimens" in tables:
        raise CatalogError(
            "the database has shellgui-like tables but no schema version; refusing to touch it"
        )
    if tables:
        listed = ", ".join(sorted(tables)[:4]) + (", ..." if len(tables) > 4 else "")
        raise CatalogError(
            f"{shown} holds another program's tables ({listed}) and no shellgui catalogue; "
            "refusing to add to it (choose a new file or database)"
        )
    return None


def upgrade_schema(engine: Engine, revision: str = "head", shown: str = "the database") -> None:
    """Bring the schema to ``revision`` (default: the newest) in one locked transaction.

    Raises:
        CatalogError: a newer schema, another program's tables, or a read-only catalogue that needs
            an upgrade.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        script = ScriptDirectory.from_config(_alembic_config(connection))
        with connection.begin():  # a plain read first: nothing to lock when the schema is current
            current = _check_schema(connection, script, shown)
        if current == script.get_current_head() and revision == "head":
            return
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        if sqlite:
            # Off outside the transaction (SQLite ignores it inside): a table rebuilt by a migration
            # must not fire ON DELETE actions on the rows that point at it. Checked before commit.
            _raw_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
                current = _check_schema(connection, script, shown)  # another process may have done it
                if current != script.get_current_head() or revision != "head":
                    log.info("Upgrading catalogue schema from %s to %s", current, revision)
                    command.upgrade(_alembic_config(connection), revision)
                    if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise CatalogError("the schema upgrade would break links between records; not done")
        finally:
            if sqlite:
                _raw_pragma(connection, "foreign_keys=ON")


def _raw_pragma(connection: Connection, pragma: str) -> None:
    """A PRAGMA outside any transaction (through the driver: SQLAlchemy would begin one first)."""
    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


class Catalog:
    """An open catalogue: an engine plus a session factory. Use one short session per unit of work.

    Args:
        path_or_url: a SQLite file path, a SQLAlchemy URL (``postgresql+psycopg://...``), or ``None``.
            ``?mode=ro`` at the end of a URL opens the catalogue read-only.
        upgrade: bring the schema up to date (default); tests pass ``False`` to build old schemas.

    Raises:
        CatalogError: with one line, for every catalogue that cannot be opened safely.
    """

    def __init__(self, path_or_url: str | os.PathLike[str] | None = None, upgrade: bool = True) -> None:
        self.url = catalog_url(path_or_url)
        parsed = _parse(self.url)
        self.read_only = _read_only(parsed)
        try:
            self.engine = _engine_for(parsed)
        except Exception as exc:  # bad URL, missing driver
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CatalogError(f"cannot open catalogue {self.display_name}: {first}") from None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False)
        try:
            if self.read_only:
                self._check_read_only_schema()
            elif upgrade:
                self._retry(lambda: upgrade_schema(self.engine, shown=self.display_name))
        except (OperationalError, DBAPIError) as exc:
            self.engine.dispose()
            raise explain_db_error(exc, self.url) from None
        except CatalogError:
            self.engine.dispose()
            raise

    def _check_read_only_schema(self) -> None:
        from alembic.script import ScriptDirectory

        with self.engine.connect() as connection:
            script = ScriptDirectory.from_config(_alembic_config(connection))
            current = _check_schema(connection, script, self.display_name)
            if current is None:
                raise CatalogError(f"{self.display_name} holds no shellgui catalogue (opened read-only)")
            if current != script.get_current_head():
                raise CatalogError(
                    f"the catalogue {self.display_name} needs a schema upgrade, which a read-only "
                    "catalogue cannot get; open it once without mode=ro"
                )

    def session(self) -> Session:
        """A new session for reading (``with catalog.session() as s: ...``); keep it short. Writes go
        through :meth:`write`, which also survives concurrent writers."""
        return self.sessions()

    def writing(self) -> Session:
        """A new session for one write transaction (``with catalog.writing() as s, s.begin(): ...``).

        Its transaction waits for the other writers' to end, then runs alone (SQLite ``BEGIN IMMEDIATE``,
        a PostgreSQL advisory lock), so what it reads stays true until it commits. Prefer :meth:`write`,
        which also runs the transaction again when the database stayed busy.
        """
        return self._writer()

    def write(self, work: Callable[[Session], T], attempts: int | None = None) -> T:
        """Run ``work(session)`` in one write transaction and commit it.

        The whole transaction is run again (after a short random wait) when the database was busy or a
        concurrent writer conflicted, so ``work`` must only change the database, or recompute what it
        returns on each call.
        """

        def once() -> T:
            with self.writing() as session, session.begin():
                return work(session)

        return self._retry(once, attempts)

    def _retry(self, step: Callable[[], T], attempts: int | None = None) -> T:
        total = attempts or WRITE_ATTEMPTS
        for attempt in range(1, total + 1):
            try:
                return step()
            except (OperationalError, IntegrityError, DBAPIError) as exc:
                if attempt == total or not is_retryable(exc):
                    raise
                log.info("catalogue busy (%s); trying again", type(exc).__name__)
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.engine.dispose()

    @property
    def display_name(self) -> str:
        """The catalogue as shown to a user: a SQLite file's path, or the URL without its password."""
        return safe_url(self.url)
