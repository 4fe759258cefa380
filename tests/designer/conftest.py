"""A designer at a browser (session cookie and CSRF token) over the fixture definitions."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Bundle
from app.services.users import create_user
from tests.conftest import fixture_files

DESIGNER_FIXTURES = Path(__file__).parent.parent / "fixtures" / "designer"
PASSWORD = "secret-pw-1"
LANES = ("lanes.bpmn", "lanes_record.json", "lanes_handle.json")


class Console:
    """One person's browser: cookies, and the CSRF token of the last page (sent as a field or a header)."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.app = app
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        with self.app.app_context():
            response = self.client.get(path, **kwargs)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if not self.token:
            self.get("/login")
        with self.app.app_context():
            return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def post_json(self, path: str, body: Any) -> Any:
        if not self.token:
            self.get("/designer/")
        with self.app.app_context():
            return self.client.post(path, json=body, headers={"X-CSRFToken": self.token})

    def upload(self, path: str, files: dict[str, bytes]) -> Any:
        return self.post(path, {"files": [(io.BytesIO(content), name) for name, content in files.items()]},
                         content_type="multipart/form-data")

    def log_in(self, username: str) -> Any:
        self.get("/login")
        return self.post("/login", {"username": username, "password": PASSWORD})


@pytest.fixture
def people(app: Flask, clock) -> None:
    for username, roles in (("lin", ["designer"]), ("wang", ["cs_agent"]), ("root", ["admin"]),
                            ("zhao", ["dept_owner"]), ("chen", ["cs_supervisor"])):
        create_user(username, password=PASSWORD, roles=roles, display_name=f"{username}-name", clock=clock)


@pytest.fixture
def console_of(app: Flask, people: None) -> Callable[[str], Console]:
    def make(username: str) -> Console:
        console = Console(app)
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
