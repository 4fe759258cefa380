"""The technician's day on a phone (390×844): the inbox says where, what and how urgent, and calls or
navigates with one tap."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.services.people.organisation import create_project, create_unit
from tests.browser.conftest import HANDOVER, PROJECT
from tests.browser.console import assert_fits_the_screen

pytestmark = pytest.mark.browser

SHARED_UNIT = "2栋-0701"  # a unit code both estates have


@pytest.fixture
def two_estates(app, estate):
    """兰亭苑 and 滨江府 both have a 2栋-0701."""
    create_project("binjiang", "滨江府", city="杭州")
    for project_key, owner, phone in ((PROJECT[0], "李娜", "13911112222"), ("binjiang", "赵磊", "13733334444")):
        create_unit(project_key, SHARED_UNIT, owner_name=owner, owner_phone=phone, handover_date=HANDOVER)
    db.session.remove()


def dispatched_to_the_technician(back_office, **call) -> str:
    number = back_office.open_ticket(unit=SHARED_UNIT, **call)
    back_office.complete(number, "dispatch_technician", "eng_super", {"technician": "tech"})
    return number


def test_the_technicians_inbox_puts_the_emergency_first_and_says_estate_unit_and_problem(
        staff, back_office, two_estates):
    dispatched_to_the_technician(back_office, project=PROJECT[0], phone="13911112222",
                                 description="卫生间地漏返味。\n业主下午在家。")
    burst = dispatched_to_the_technician(back_office, project="binjiang", phone="13733334444",
                                         description="厨房水管爆裂，水漫到客厅。", emergency=True, part="plumbing")

    technician = staff("tech", mobile=True)
    technician.goto("/")
    rows = technician.locator("#inbox tbody tr")
    expect(rows).to_have_count(2)
    first, second = rows.nth(0), rows.nth(1)
    expect(first.locator(".emergency-mark")).to_have_text("突发")
    expect(first).to_contain_text(burst)
    expect(first.locator(".inbox-place")).to_have_text(f"滨江府 {SHARED_UNIT}")
    expect(first.locator(".inbox-problem")).to_have_text("厨房水管爆裂，水漫到客厅。")
    expect(second.locator(".emergency-mark")).to_have_count(0)
    expect(second.locator(".inbox-place")).to_have_text(f"兰亭苑 {SHARED_UNIT}")
    expect(second.locator(".inbox-problem")).to_have_text("卫生间地漏返味。")  # the first line only

    call = first.locator("a.inbox-call")
    expect(call).to_have_attribute("href", "tel:13733334444")
    expect(call).to_be_visible()
    navigate = first.locator("a.inbox-navigate")
    expect(navigate).to_be_visible()
    target = urlparse(navigate.get_attribute("href") or "")
    assert parse_qs(target.query)["keyword"] == [f"杭州 滨江府 {SHARED_UNIT}"], target
    assert_fits_the_screen(technician)

