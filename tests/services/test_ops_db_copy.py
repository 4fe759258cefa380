"""flask db copy: a SQLite deployment with tickets moved into an empty PostgreSQL database, counts checked.

Needs both databases, so it runs in the PostgreSQL pass (DATABASE_URL names the server); the source is a
SQLite file made and migrated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from tests.conftest import app_config
from tests.services.ops_estate import a_deployment_with_tickets, open_ticket, resolve, staff_api, what_staff_see
from tests.support.passes import postgresql_pass

pytestmark = postgresql_pass("copies into PostgreSQL")


@pytest.fixture
def sqlite_app(tmp_path: Path, clock) -> Iterator[Flask]:
    application = create_app(app_config(f"sqlite:///{tmp_path / 'kefu.db'}"), clock=clock)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def target_url(databases) -> str:
    return databases.empty("copy")


def test_a_sqlite_deployment_moves_to_postgresql_with_equal_counts_and_keeps_working(sqlite_app, target_url, clock):
    agent, opened = a_deployment_with_tickets(sqlite_app, clock)
    before = what_staff_see(agent, opened)

    copied = sqlite_app.test_cli_runner().invoke(args=["db", "copy", "--to", target_url, "--batch", "2"])
    assert copied.exit_code == 0, copied.output
    assert "the counts agree" in copied.output
    assert any(line.split()[:3] == ["tickets", "3", "3"] for line in copied.output.splitlines())

    moved = create_app(app_config(target_url), clock=clock)
    with moved.app_context():
        on_postgres = staff_api(moved, agent.user.token)  # the API token came along too
        assert what_staff_see(on_postgres, opened) == before
        resolve(on_postgres, opened[1])  # an instance state copied from SQLite runs on
        assert on_postgres.get(f"/tickets/{opened[1]['ticket']['number']}").json["closed_at"] is not None
        # a new row takes the next id, not one a copied row holds: the sequences went past the copied ids
        assert open_ticket(on_postgres, unit="5-0801")["instance"]["id"] == max(t["instance"]["id"] for t in opened) + 1
        db.session.remove()
        db.engine.dispose()


def test_a_target_that_is_not_empty_is_refused(sqlite_app, target_url):
    engine = create_engine(target_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE something_else (id int)"))
    engine.dispose()

    refused = sqlite_app.test_cli_runner().invoke(args=["db", "copy", "--to", target_url])
    assert refused.exit_code != 0
    assert "not empty" in refused.output


def test_a_target_that_is_not_postgresql_is_refused(sqlite_app, tmp_path):
    refused = sqlite_app.test_cli_runner().invoke(args=["db", "copy", "--to", f"sqlite:///{tmp_path / 'x.db'}"])
    assert refused.exit_code != 0
    assert "PostgreSQL" in refused.output
