"""A designer at a browser (session cookie and CSRF token) over the fixture definitions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Bundle
from app.services.people.users import create_user
from tests.conftest import fixture_files
from tests.console_client import PASSWORD
from tests.console_client import Browser as Console

DESIGNER_FIXTURES = Path(__file__).parent.parent / "fixtures" / "designer"
LANES = ("lanes.bpmn", "lanes_record.json", "lanes_handle.json")


@pytest.fixture
def people(app: Flask, clock) -> None:
    for username, roles in (("lin", ["designer"]), ("wang", ["cs_agent"]), ("root", ["admin"]),
                            ("zhao", ["dept_owner"]), ("chen", ["cs_supervisor"])):
        create_user(username, password=PASSWORD, roles=roles, display_name=f"{username}-name", clock=clock)


@pytest.fixture
def console_of(app: Flask, people: None) -> Callable[[str], Console]:
    def make(username: str) -> Console:
        console = Console(app.test_client())
        assert console.log_in(username).status_code == 302
        return console
    return make


@pytest.fixture
def designer(console_of) -> Console:
    return console_of("lin")


@pytest.fixture
def lanes_v1(deploy) -> None:
    """The lanes demo (two lanes, two user tasks) deployed as version 1."""
    assert [(v.process_id, v.version) for v in deploy(fixture_files(*LANES))] == [("lanes_demo", 1)]


def designer_fixture(name: str) -> bytes:
    return (DESIGNER_FIXTURES / name).read_bytes()


def bundle_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Bundle))


def text_of(name: str) -> str:
    return fixture_files(name)[name].decode("utf-8")
