"""A real PostgreSQL server for the tests, from the ``pgserver`` wheel (dev extra): nothing from the system.

The suite starts one server per session in a temporary folder (durability off: it is thrown away) and
gives every test its own empty schema, which is much faster to make than a database; ``new_database``
makes a real one. A server that cannot start is an error, never a skip: the PostgreSQL tests must run
in CI.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from sqlalchemy.engine import make_url

_counter = itertools.count()


class PostgresForTests:
    """One running server; :meth:`new_database` hands out fresh, empty databases."""

    def __init__(self, folder: Path) -> None:
        import pgserver

        self.server = pgserver.get_server(folder, cleanup_mode="delete")
        # postgresql://postgres:@/postgres?host=/socket/dir
        self.base = make_url(self.server.get_uri()).set(drivername="postgresql+psycopg")
        self.admin("ALTER SYSTEM SET fsync = off", "ALTER SYSTEM SET synchronous_commit = off")
        self.admin("SELECT pg_reload_conf()")

    def admin(self, *statements: str) -> None:
        """Run statements as the superuser, outside any transaction."""
        import psycopg

        with psycopg.connect(self.server.get_uri(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def new_schema(self) -> str:
        """A SQLAlchemy URL whose tables all go to a new empty schema (of the ``postgres`` database)."""
        name = f"t{os.getpid()}_{next(_counter)}"
        self.admin(f"CREATE SCHEMA {name}")
        return self.base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )

    def new_database(self) -> str:
        """A SQLAlchemy URL of a new empty database on the server."""
        name = f"d{os.getpid()}_{next(_counter)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.base.set(database=name).render_as_string(hide_password=False)

    def stop(self) -> None:
        self.server.cleanup()
