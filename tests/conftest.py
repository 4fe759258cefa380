"""Shared fixtures: a migrated database per test, an app with a manual clock, users with tokens.

Run on SQLite by default; set DATABASE_URL to a PostgreSQL server's maintenance database to run
the same suite there (``make test`` does both).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from app import create_app
from app.clock import ManualClock
from app.extensions import db
from tests.databases import TestDatabases
from tests.support.paths import FIXTURES

pytest_plugins = ["tests.support.fixtures",  # START, ROLES, clock, make_clock, ...
                  "tests.web.owner_pages"]  # owner_estate, owner_phone: the owners' pages


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--flow-examples", type=int, default=None,
                     help="examples of the flows' property test (tests/scenarios/test_flow_properties.py)")
    parser.addoption("--deadline-walks", type=int, default=None,
                     help="random walks of tests/flows/test_step_deadlines.py (160 by default)")


def app_config(database_url: str, **extra: Any) -> dict[str, Any]:
    return {"KEFU_ENV": "testing", "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
            "BPMN_DIR": FIXTURES, "FORMS_DIR": FIXTURES, **extra}


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """The Chinese catalog compiled, as `make install` does, for runs that skip make."""
    for po_path in (Path(__file__).parent.parent / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            # Written aside and renamed: with pytest-xdist another worker may be reading the catalog meanwhile.
            partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}")
            with partial.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            partial.replace(mo_path)


CHEAP_DUMMY_HASH = generate_password_hash("not anyone's password", method="pbkdf2:sha256:1")


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash with one PBKDF2 round: scrypt costs ~0.2 s a user and an estate makes nine.

    Production keeps scrypt (``app.services.people.auth.hash_password``); checking a password reads the
    method from the stored hash, so logins in tests stay real.
    """
    monkeypatch.setattr("app.services.people.users.hash_password",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    # An unknown name is checked against a dummy hash at the cost of a real check (no timing oracle): in tests
    # a real check is this cheap one, so the dummy is too (a scrypt check was ~0.2 s per refused name).
    monkeypatch.setattr("app.services.people.auth._dummy_hash", lambda: CHEAP_DUMMY_HASH)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    databases = TestDatabases(os.environ.get("DATABASE_URL") or None, tmp_path_factory.mktemp("db"))
    databases.drop_orphans()
    template = create_app(app_config(databases.template_url))
    with template.app_context():
        upgrade()  # the schema comes from the migrations, so the migrations are tested
        db.engine.dispose()
    yield databases
    databases.drop_all()


def filled_database(databases: TestDatabases, fill: Callable[[Flask], Any]) -> str:
    """A copy of the migrated template that ``fill(app)`` filled at ``START``, for a session fixture to hand out as the
    template of the tests that would each fill their database the same way (``databases.clone(url)``)."""
    from tests.support.fixtures import START  # a plugin of this conftest: imported once pytest has registered it

    url = databases.clone()
    application = create_app(app_config(url), clock=ManualClock(START))
    with application.app_context():
        fill(application)
        db.session.remove()
        db.engine.dispose()  # nothing may hold the template open while it is copied
    return url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, databases: TestDatabases) -> Iterator[str]:
    """A copy of the migrated template; a test that asks for ``owner_estate`` starts from ``owner_estate_template``."""
    filled = "owner_estate_template" if "owner_estate" in request.fixturenames else None
    url = databases.clone(request.getfixturevalue(filled) if filled else None)
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[Flask]:
    application = create_app(app_config(database_url), clock=clock)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class ApiUser:
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(app: Flask, clock: ManualClock) -> Callable[..., ApiUser]:
    from app.services.people.auth import issue_token
    from app.services.people.users import create_user

    def make(username: str, *roles: str, departments: tuple[str, ...] = ()) -> ApiUser:
        user = create_user(username, password="secret-pw-1", roles=roles or ("cs_agent",),
                           departments=departments, clock=clock)
        return ApiUser(username, issue_token(user, clock))

    return make


def fixture_files(*names: str) -> dict[str, bytes]:
    """The named files of tests/fixtures (all top-level files when no name is given)."""
    paths = [FIXTURES / name for name in names] if names else sorted(p for p in FIXTURES.iterdir() if p.is_file())
    return {path.name: path.read_bytes() for path in paths}


@pytest.fixture
def deploy(app: Flask) -> Callable[..., list[Any]]:
    """Deploy files (default: every top-level fixture) as an API upload would."""
    from app.services.definitions.deploy import deploy_files

    def run(files: dict[str, bytes] | None = None) -> list[Any]:
        return deploy_files(app.extensions["kefu"], files if files is not None else fixture_files(), user=None)

    return run


class Api:
    """The JSON API as one user sees it."""

    def __init__(self, client: FlaskClient, user: ApiUser) -> None:
        self.client = client
        self.user = user

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.user.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.user.headers, **kwargs)

    def start(self, process_id: str, data: dict[str, Any] | None = None) -> Any:
        return self.post(f"/processes/{process_id}/instances", json={"data": data or {}})

    def complete(self, task_id: str, data: dict[str, Any] | None = None) -> Any:
        return self.post(f"/tasks/{task_id}/complete", json={"data": data or {}})


@pytest.fixture
def api_as(client: FlaskClient, make_user: Callable[..., ApiUser]) -> Callable[..., Api]:
    """``api_as("agent", "cs_agent", departments=(...))``: a new user and their view of the API."""

    def make(username: str, *roles: str, departments: tuple[str, ...] = ()) -> Api:
        return Api(client, make_user(username, *roles, departments=departments))

    return make
