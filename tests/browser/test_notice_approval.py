"""A notice on a desk screen (1280×800, Chromium): a department owner drafts a water cut for building 3, the CS
supervisor approves it on the task page from their inbox, and the notice's page shows it sent, the unit no text
reached yet, and its letterbox PDF."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.clock import ManualClock
from app.services.people.organisation import create_unit
from app.services.people.users import create_user
from tests.browser.conftest import PASSWORD, PROJECT, Staff
from tests.browser.console import assert_fits_the_screen, choose

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}


@pytest.fixture
def drafter(app: Flask, estate: None, clock: ManualClock) -> str:
    """The property department's owner, and a unit of building 3 without a mobile number."""
    create_user("prop_owner", password=PASSWORD, roles=("dept_owner",), departments=("property",),
                display_name="孙主管", clock=clock)
    create_unit(PROJECT[0], "3栋-0801", owner_name="赵先生")
    return "prop_owner"


def test_the_cs_supervisor_approves_a_drafted_notice_and_sees_who_it_did_not_reach(staff: Staff, drafter: str) -> None:
    owner = staff(drafter)
    owner.set_viewport_size(DESK)
    owner.goto("/notices/new")
    owner.select_option("#notice_kind", "water_power_cut")
    owner.fill("#notice_title", "3栋停水通知")
    owner.fill("#notice_text", "因水箱清洗，3栋暂停供水，请提前储水。")
    owner.select_option("#project", PROJECT[0])
    owner.fill("#buildings", "3栋")
    owner.fill("#starts_at", "2026-03-05T09:00")
    owner.fill("#ends_at", "2026-03-05T17:00")
    choose(owner, "staff_audience", "cs_team")
    with owner.expect_navigation():
        owner.locator("#submit-notice").click()
    expect(owner.locator("#notice-status")).to_have_text("待审批")

    supervisor = staff("cs_super")
    supervisor.set_viewport_size(DESK)
    supervisor.goto("/")
    supervisor.get_by_role("link", name=re.compile("待认领")).click()
    supervisor.get_by_role("link", name=re.compile("审批通知")).first.click()
    expect(supervisor.locator("body")).to_contain_text("因水箱清洗，3栋暂停供水")
    assert_fits_the_screen(supervisor)
    choose(supervisor, "notice_approved", "true")
    with supervisor.expect_navigation():
        supervisor.locator("#complete-task").click()

    supervisor.goto("/notices")
    supervisor.get_by_role("link", name="3栋停水通知").click()
    expect(supervisor.locator("#notice-status")).to_have_text("已发出")
    expect(supervisor.locator("#unreached-count")).to_have_text("2")  # the worker has not sent the text yet
    expect(supervisor.locator('tr[data-unit="3栋-0801"]')).to_contain_text("无手机号")
    expect(supervisor.locator('tr[data-unit="3栋-1202"]')).to_contain_text("短信待发送")
    pdf = supervisor.request.get(supervisor.locator("#letterbox-pdf").get_attribute("href") or "")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    assert_fits_the_screen(supervisor)
