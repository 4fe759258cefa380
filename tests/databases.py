"""Throw-away databases for tests: migrated once into a template, cloned per test.

SQLite: the template is a file, a clone is a copy. PostgreSQL (``DATABASE_URL`` names a
server and a maintenance database, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``):
the template is a database, a clone is ``CREATE DATABASE … TEMPLATE …``. Every database
this module creates is dropped at the end of the run.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class TestDatabases:
    def __init__(self, base_url: str | None, workdir: Path) -> None:
        self.base_url = base_url
        self.workdir = workdir
        self.prefix = f"kefu_t{os.getpid()}"
        self._counter = itertools.count(1)
        self._created: list[str] = []
        self.template_url = self._new_url("tmpl")

    @property
    def is_postgres(self) -> bool:
        return self.base_url is not None and self.base_url.startswith("postgresql")

    def _new_url(self, suffix: str) -> str:
        if not self.is_postgres:
            return f"sqlite:///{self.workdir / f'{suffix}.db'}"
        name = f"{self.prefix}_{suffix}"
        self._admin(f'DROP DATABASE IF EXISTS "{name}"')
        self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def empty(self, suffix: str) -> str:
        """A new database with no schema at all (dropped at the end of the run)."""
        return self._new_url(suffix)

    def clone(self, template_url: str | None = None) -> str:
        """A copy of the migrated template, or of ``template_url`` (an earlier clone that a session fixture
        filled once, e.g. the scenarios' deployed estate; nothing may be connected to it while it is copied)."""
        source = make_url(template_url or self.template_url).database or ""
        suffix = f"c{next(self._counter)}"
        if not self.is_postgres:
            target = self.workdir / f"{suffix}.db"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        name = f"{self.prefix}_{suffix}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        self._created.append(name)
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if not self.is_postgres:
            Path(make_url(url).database or "").unlink(missing_ok=True)
            return
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.remove(name)

    def drop_orphans(self) -> None:
        """Drop the databases of earlier runs whose process is gone (a killed run leaves them behind)."""
        if not self.is_postgres:
            return
        engine = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                names = connection.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'kefu_t%'"))
                orphans = [name for (name,) in names if not _process_alive(name)]
        finally:
            engine.dispose()
        for name in orphans:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        for name in list(self._created):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def _process_alive(database_name: str) -> bool:
    pid = database_name.removeprefix("kefu_t").split("_", 1)[0]
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
