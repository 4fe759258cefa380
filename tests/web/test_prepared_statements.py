"""PostgreSQL: a request that only read ends its transaction with COMMIT, so the statements psycopg prepared on the
server (after 5 runs of the same text) survive it; a ROLLBACK would make psycopg deallocate every one of them, and the
server would plan the step's statements again at every request. A transaction that wrote and was not committed is
still rolled back."""

from __future__ import annotations

import os

import pytest
from flask import Flask
from sqlalchemy import text

from app import create_app, end_request_session
from app.clock import ManualClock
from app.extensions import db
from app.services.people.auth import issue_token
from app.services.people.users import create_user
from tests.conftest import app_config

pytestmark = pytest.mark.skipif(not (os.environ.get("DATABASE_URL") or "").startswith("postgresql"),
                                reason="psycopg's prepared statements: runs in the PostgreSQL pass")


def one_connection_app(database_url: str, clock: ManualClock) -> Flask:
    # One pooled connection: every request and the check below run on the same server session.
    return create_app(app_config(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0}),
                      clock=clock)


def prepared_on_server() -> int:
    return db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))


def test_reads_leave_the_prepared_statements_in_place(database_url, clock):
    application = one_connection_app(database_url, clock)
    with application.app_context():
        token = issue_token(create_user("wang", password="pass-word-1234", roles=["cs_agent"], clock=clock), clock,
                            label="test")
        db.session.remove()
        client = application.test_client()
        for _ in range(7):
            assert client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert prepared_on_server() >= 2  # the token's lookup and the projects' list
        db.session.remove()
        db.engine.dispose()


def test_a_request_that_wrote_without_committing_is_still_rolled_back(app):
    # What a view that wrote and then answered with an error leaves: a written row in an open transaction.
    db.session.execute(text("INSERT INTO projects (key, name) VALUES ('left', 'left behind')"))
    end_request_session(None)
    assert db.session.scalar(text("SELECT count(*) FROM projects WHERE key = 'left'")) == 0
