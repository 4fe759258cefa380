"""Browser fixtures: the real app on a fresh database, served on 127.0.0.1, driven by Debian's Chromium.

Every test gets a new database (cloned from the migrated template), the shipped ``bpmn/`` and
``forms/`` deployed, one project with a unit, and one user per role. The app runs on a
``ManualClock`` (``clock``) in werkzeug's server on a free port in a background thread; the test
moves the clock and fires timers with ``app.services.work.timers`` (``fire_timers``).

``staff("tech", mobile=True)`` opens a browser context of its own (cookies, viewport) for one
person and logs them in through the login page. When a test fails, each open page is saved as
``test-output/screenshots/<test>-<person>.png``.

Playwright drives /usr/bin/chromium (Debian's package; ``scripts/ensure-chromium`` installs it).
``playwright install`` is never used: it downloads a browser build of its own.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

from app import create_app
from app.clock import ManualClock
from app.extensions import db
from app.models import HumanTask, Ticket
from app.services.definitions.deploy import deploy_from_disk
from app.services.errors import InvalidDefinitionError
from app.services.people.auth import Principal, principal_for_user
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user, find_user
from app.services.work import tasks as task_service
from app.services.work import tickets as ticket_service
from app.services.work.timers import due_instance_ids, fire_due_timers
from tests.conftest import app_config
from tests.support.paths import ROOT

CHROMIUM = Path(os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
PASSWORD = "secret-pw-1"
PHONE_WIDTH = 390  # an ordinary phone held upright, in CSS pixels
TIMEOUT_MS = 10_000

PROJECT = ("lanting", "兰亭苑")
UNIT = "3栋-1202"
HANDOVER = date(2024, 6, 30)  # under two years before the ManualClock's start: inside every warranty
STAFF = {  # username: (display name, roles, departments)
    "agent": ("王丽", ("cs_agent",), ()),
    "eng_super": ("吴工", ("eng_supervisor",), ("engineering",)),
    "tech": ("郑师傅", ("technician",), ("engineering",)),
    "manager": ("冯经理", ("property_manager",), ()),
    "cs_super": ("陈静", ("cs_supervisor",), ()),
}


@pytest.fixture
def app(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Flask]:
    """The app with the shipped definitions (not the fixtures), on this test's database and clock."""
    application = create_app(app_config(database_url, BPMN_DIR=ROOT / "bpmn", FORMS_DIR=ROOT / "forms",
                                        UPLOAD_DIR=tmp_path / "uploads"), clock=clock)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def estate(app: Flask, clock: ManualClock) -> None:
    try:
        deploy_from_disk(app.extensions["kefu"], ROOT / "bpmn", ROOT / "forms")
    except InvalidDefinitionError as exc:
        problems = [f"{p.file} {p.element_id or '-'}: {p.message}" for p in exc.details.get("problems", [])]
        pytest.fail("the shipped bpmn/ and forms/ do not deploy:\n" + "\n".join(problems))
    create_project(*PROJECT, city="杭州")
    create_unit(PROJECT[0], UNIT, owner_name="张伟", owner_phone="13800138000", handover_date=HANDOVER)
    for username, (name, roles, departments) in STAFF.items():
        create_user(username, password=PASSWORD, roles=roles, departments=departments, display_name=name,
                    clock=clock)


@pytest.fixture
def live_server(app: Flask, estate: None) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, in a thread; yields its base URL."""
    request_log = logging.getLogger("werkzeug")
    level = request_log.level
    request_log.setLevel(logging.WARNING)  # one line per request would bury a failure's report
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        request_log.setLevel(level)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell at teardown whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(_REPORTS, {}).values())


@dataclass
class Staff:
    """Browser contexts opened during one test, one per person."""

    browser: Browser
    base_url: str
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)

    def __call__(self, username: str, *, mobile: bool = False) -> Page:
        """A logged-in page for ``username`` (a phone-sized touch screen when ``mobile``)."""
        page = self.visitor(username, mobile=mobile)
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
        return page

    def visitor(self, name: str = "visitor", *, mobile: bool = False) -> Page:
        """A browser of its own, on the login page, nobody logged in."""
        key = name if name not in self.contexts else f"{name}-{len(self.contexts)}"
        options: dict[str, Any] = {"base_url": self.base_url, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
        if mobile:
            options |= {"viewport": {"width": PHONE_WIDTH, "height": 844}, "device_scale_factor": 3,
                        "is_mobile": True, "has_touch": True}
        else:
            options |= {"viewport": {"width": 1280, "height": 900}}
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts[key] = context
        page = self.pages[key] = context.new_page()
        page.goto("/login")
        return page

    def screenshot_all(self, name: str) -> list[Path]:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        saved = []
        for key, page in self.pages.items():
            if page.is_closed():
                continue
            path = SCREENSHOTS / f"{name}-{key}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
            except Exception:  # noqa: S112 - a page that cannot be drawn must not hide the test's failure
                continue
            saved.append(path)
        return saved

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


@pytest.fixture
def staff(request: pytest.FixtureRequest, chromium: Browser, live_server: str) -> Iterator[Staff]:
    people = Staff(chromium, live_server)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    for stale in SCREENSHOTS.glob(f"{name}-*.png"):  # an earlier run's failure, not this one's
        stale.unlink()
    try:
        yield people
    finally:
        if failed(request.node):
            for path in people.screenshot_all(name):
                print(f"screenshot: {path}")  # shown with the failure
        people.close()


@pytest.fixture
def fire_timers(app: Flask) -> Callable[[], int]:
    """Fire every timer due at the clock's now, as the timer worker will; returns how many instances moved."""

    def fire() -> int:
        moved = 0
        for instance_id in due_instance_ids(app.extensions["kefu"].clock.now()):
            fire_due_timers(app.extensions["kefu"], instance_id)
            moved += 1
        db.session.remove()
        return moved

    return fire


REPAIR_CALL = {"project": PROJECT[0], "unit": UNIT, "caller_name": "张先生", "phone": "13800138000",
               "channel": "hotline", "category": "repair", "description": "顶层卧室天花板渗水。", "urgency": "normal",
               "emergency": False, "part": "roof_waterproof"}


@dataclass
class BackOffice:
    """Steps taken through the services (as the API does), to bring a ticket to where a test starts."""

    app: Flask

    def principal(self, username: str) -> Principal:
        user = find_user(username)
        assert user is not None, username
        principal = principal_for_user(user.id)
        assert principal is not None, username
        return principal

    def open_ticket(self, username: str = "agent", **changes: Any) -> str:
        """A call recorded by ``username``: REPAIR_CALL with ``changes`` (a None leaves the field out)."""
        try:
            intake = {key: value for key, value in {**REPAIR_CALL, **changes}.items() if value is not None}
            opened = ticket_service.open_ticket(self.app.extensions["kefu"], intake, user=self.principal(username))
            return opened.number
        finally:
            db.session.remove()

    def task_id(self, number: str, element_id: str) -> str:
        """The open task ``element_id`` of the ticket."""
        try:
            instance_id = db.session.scalar(db.select(Ticket.instance_id).where(Ticket.number == number))
            ids = db.session.scalars(db.select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.element_id == element_id,
                HumanTask.state == "open")).all()
        finally:
            db.session.remove()
        assert len(ids) == 1, f"{number}: expected one open {element_id}, found {len(ids)}"
        return ids[0]

    def complete(self, number: str, element_id: str, username: str, data: dict[str, Any]) -> None:
        task_id = self.task_id(number, element_id)
        try:
            outcome = task_service.complete_task(self.app.extensions["kefu"], task_id, data,
                                                 user=self.principal(username))
        finally:
            db.session.remove()
        assert outcome.status in ("running", "waiting"), outcome

    def repair_until(self, number: str, element_id: str) -> str:
        """Work a free repair on from dispatch until ``element_id`` is open; returns that task's id."""
        steps = [
            ("dispatch_technician", "eng_super", {"technician": "tech", "dispatch_note": "带防水材料。"}),
            ("agree_appointment", "tech", {"appointment_at": "2026-03-03T09:00:00+08:00"}),
            ("inspect_on_site", "tech", {"reschedule": False, "owner_withdraws": False, "waiting_for_parts": False,
                                         "inspected_part": "屋面防水层", "repair_items": "局部重做防水层。",
                                         "quote_labour": 200.0, "quote_material": 150.5}),
            ("carry_out_repair", "tech", {"waiting_for_parts": False, "actual_labour_hours": 3.5,
                                          "materials": "防水涂料 2 桶", "fee_labour": 200.0, "fee_material": 150.5,
                                          "completed_at": "2026-03-03T15:00:00+08:00"}),
        ]
        for step, username, data in steps:
            if step == element_id:
                return self.task_id(number, element_id)
            self.complete(number, step, username, data)
        return self.task_id(number, element_id)


@pytest.fixture
def back_office(app: Flask, estate: None) -> BackOffice:
    return BackOffice(app)
