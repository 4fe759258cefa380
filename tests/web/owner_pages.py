"""What the owners' page tests share: the shipped flows deployed, an estate with two owners and a tenant,
and an owner's phone (a test client) that signs in with the code the outbox holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db, limiter
from app.models.jobs import OutboxMessage
from app.services.definitions.deploy import deploy_files
from app.services.owners.identity import register_resident
from app.services.people.organisation import create_project, create_unit
from tests.conftest import filled_database
from tests.databases import TestDatabases
from tests.support.fixtures import START
from tests.support.paths import ROOT

SHIPPED = {path.name: path.read_bytes()
           for folder in ("bpmn", "forms") for path in sorted((ROOT / folder).iterdir())
           if path.suffix in (".bpmn", ".dmn", ".json")}
OWNER_PHONE, OWNER_UNIT = "13812345678", "3栋-1202"  # 王先生
NEIGHBOUR_PHONE, NEIGHBOUR_UNIT = "13912345678", "1栋-0302"  # 李女士, same project
TENANT_PHONE = "13512345678"  # rents 1栋-0302
STRANGER_PHONE = "13700000000"  # registered nowhere
COMMON_AREA = "5栋外墙"


def create_owner_estate() -> None:
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    create_unit("lanting", OWNER_UNIT, owner_name="王先生", owner_phone=OWNER_PHONE, handover_date=date(2024, 3, 1))
    neighbour = create_unit("lanting", NEIGHBOUR_UNIT, owner_name="李女士", owner_phone=NEIGHBOUR_PHONE,
                            handover_date=date(2020, 3, 1))
    create_unit("lanting", COMMON_AREA, is_common_area=True, handover_date=date(2020, 3, 1))
    create_unit("binjiang", "1栋-0101", owner_name="赵六", owner_phone="13600000000")
    register_resident(neighbour.id, TENANT_PHONE, relation="tenant", name="陈租户")


@pytest.fixture(scope="session")
def owner_estate_template(databases: TestDatabases) -> str:
    """The shipped definitions deployed and the owners' estate created, once per run (per pytest-xdist worker) at
    ``START``: the database of every test that asks for ``owner_estate`` is a copy of it (``database_url``)."""

    def fill(app: Flask) -> None:
        assert "reception" in {version.process_id for version in deploy_files(app.extensions["kefu"], SHIPPED,
                                                                                user=None)}
        create_owner_estate()

    return filled_database(databases, fill)


@pytest.fixture
def owner_estate(app: Flask, clock: ManualClock, tmp_path: Path) -> None:
    """The shipped definitions deployed; lanting with two owners, a tenant and a common area; no rate-limit hits.

    The definitions and the estate are already in the test's database (a copy of ``owner_estate_template``).
    """
    assert clock.now() == START, "the owners' estate is made at START; move the clock in the test, after it"
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    limiter.reset()


def texts_to(phone: str) -> list[str]:
    """The bodies of the texts queued to ``phone``, newest first."""
    db.session.remove()
    return list(db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
                                   .order_by(OutboxMessage.id.desc())))


def code_texted_to(phone: str) -> str:
    match = re.search(r"\d{6}", texts_to(phone)[0])
    assert match, "the text holds a 6-digit code"
    return match.group(0)


@dataclass
class OwnerPhone:
    """One owner's browser: asks for a code, signs in with the texted one, agrees to the notice once."""

    client: FlaskClient
    phone: str

    def ask_code(self, phone: str | None = None) -> Any:
        return self.client.post("/owner/sign-in", data={"phone": phone or self.phone})

    def enter_code(self, code: str, phone: str | None = None) -> Any:
        return self.client.post("/owner/sign-in/code", data={"phone": phone or self.phone, "code": code})

    def sign_in(self, *, consent: bool = True) -> None:
        assert self.ask_code().status_code == 200
        assert self.enter_code(code_texted_to(self.phone)).status_code == 302
        if consent:
            assert self.client.post("/owner/privacy", data={"agree": "yes"}).status_code == 302

    def report(self, **fields: Any) -> Any:
        form = {"category": "repair", "description": "厨房水龙头漏水。", **fields}
        return self.client.post("/owner/report", data=form, content_type="multipart/form-data")

    def get(self, path: str) -> Any:
        return self.client.get(path)


@pytest.fixture
def owner_phone(app: Flask, owner_estate: None) -> Callable[[str], OwnerPhone]:
    return lambda phone: OwnerPhone(app.test_client(), phone)


def unit_id(code: str) -> int:
    from app.models import Unit

    return int(db.session.scalar(select(Unit.id).where(Unit.code == code)))
