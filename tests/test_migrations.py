"""Every migration goes up and comes back down cleanly, on both databases."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from tests.conftest import app_config


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_upgrade_downgrade_and_upgrade_again(databases):
    url = databases.empty("migrations")
    app = create_app(app_config(url))
    try:
        with app.app_context():
            upgrade()
            assert {"users", "bundles", "process_instances", "human_tasks", "audit_events"} <= _tables()
            downgrade(revision="base")
            assert _tables() == set()
            upgrade()
            assert "human_tasks" in _tables()
            db.session.remove()
            db.engine.dispose()
    finally:
        databases.drop(url)
