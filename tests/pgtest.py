"""A real PostgreSQL server for the tests, from the ``pgserver`` wheel (dev extra): nothing from the system.

The suite starts one server per session in a temporary folder and gives every test its own empty
database. A server that cannot start is an error, never a skip: the PostgreSQL tests must run in CI.
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

    def new_database(self) -> str:
        """A SQLAlchemy URL of a new empty database on the server."""
        name = f"t{os.getpid()}_{next(_counter)}"
        self.server.psql(f"CREATE DATABASE {name};")
        return self.base.set(database=name).render_as_string(hide_password=False)

    def stop(self) -> None:
        self.server.cleanup()
