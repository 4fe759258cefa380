"""The supervisor's wallboard on a wall screen: it draws today's figures and shows a new ticket after its refresh."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_wallboard_shows_a_call_recorded_after_it_was_opened(staff, back_office):
    supervisor = staff("cs_super")
    supervisor.set_viewport_size({"width": 1280, "height": 800})
    supervisor.goto("/wallboard?refresh=2")  # polls every 2 s instead of 30
    expect(supervisor.get_by_role("heading", level=1)).to_have_text("客服主管看板")
    expect(supervisor.locator("#wb-calls")).to_have_text("0")
    expect(supervisor.locator("#wb-stages")).to_contain_text("无")

    number = back_office.open_ticket("agent")

    expect(supervisor.locator("#wb-calls")).to_have_text("1")  # after the next poll, without reloading
    expect(supervisor.locator("#wb-new-tickets")).to_have_text("1")
    expect(supervisor.locator("#wb-open-total")).to_have_text("1")
    expect(supervisor.locator("#wb-agents")).to_contain_text("王丽")
    expect(supervisor.locator("#wb-stages li")).to_have_count(1)
    assert supervisor.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways scrolling
    assert number.startswith("KF-")


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800)])
def test_the_wallboard_fits_a_wall_screen_in_the_dark_theme(staff, back_office, size):
    back_office.open_ticket("agent")
    manager = staff("manager")
    width, height = size
    manager.set_viewport_size({"width": width, "height": height})
    manager.goto("/wallboard")
    manager.locator("#wallboard-theme").click()

    expect(manager.locator("html")).to_have_attribute("data-bs-theme", "dark")
    expect(manager.locator("#wb-open-total")).to_have_text("1")
    assert manager.evaluate("document.documentElement.scrollWidth") <= width
    agents = manager.locator("#wb-agents").bounding_box()
    assert agents is not None and agents["y"] + agents["height"] <= height  # every panel on one screen
    manager.reload()
    expect(manager.locator("html")).to_have_attribute("data-bs-theme", "dark")  # kept for this screen


def test_the_daily_reception_log_prints_on_one_a4_landscape_page(staff, back_office):
    for _ in range(12):
        back_office.open_ticket("agent")
    supervisor = staff("cs_super")
    supervisor.goto("/wallboard")
    supervisor.locator("#wallboard-log").click()
    expect(supervisor.get_by_role("heading", level=1)).to_have_text("每日业户接待情况表")
    expect(supervisor.locator("#reception-log tbody tr")).to_have_count(12)

    supervisor.emulate_media(media="print")
    pdf = supervisor.pdf(prefer_css_page_size=True)

    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert len(pages) == 1
    width, height = (float(n) for n in re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf).groups())
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
