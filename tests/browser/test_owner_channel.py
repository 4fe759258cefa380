"""An owner on their phone (390×844, Chromium): signs in with the texted code, agrees to the privacy notice,
reports a leak with a photo taken on the phone (made smaller in the browser), sees the ticket number at once
and follows the story as the service desk reviews and dispatches it."""

from __future__ import annotations

import io
import re

import pytest
import segno
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import OutboxMessage
from tests.browser.conftest import UNIT, BackOffice, Staff
from tests.browser.console import assert_fits_the_screen

pytestmark = pytest.mark.browser

PHONE = "13800138000"  # 张伟, the owner of 3栋-1202


def texted_code(phone: str) -> str:
    """The code in the newest text to ``phone``, as the support desk reads the outbox."""
    try:
        body = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
                                  .order_by(OutboxMessage.id.desc()).limit(1)).first()
    finally:
        db.session.remove()
    assert body is not None, f"no text to {phone}"
    match = re.search(r"\d{6}", body)
    assert match is not None, body
    return match.group(0)


def a_photo(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 1,000-pixel picture, as a phone camera would give (larger than the 1,600-pixel limit once scaled)."""
    path = tmp_path_factory.mktemp("camera") / "leak.png"
    buffer = io.BytesIO()
    segno.make("a leak under the sink", error="h").save(buffer, kind="png", scale=60)
    path.write_bytes(buffer.getvalue())
    return str(path)


def sign_in(owner: Page) -> None:
    owner.goto("/owner/")
    expect(owner).to_have_url(re.compile(r"/owner/sign-in"))
    owner.fill("#phone", PHONE)
    owner.click("#send-code")
    expect(owner.locator("#code-sent")).to_contain_text("138****8000")
    owner.fill("#code", texted_code(PHONE))
    owner.click("#check-code")
    expect(owner.locator("#privacy-notice")).to_be_visible()
    owner.check("#agree")
    owner.click("#consent")
    expect(owner.locator("#new-report")).to_be_visible()


def test_an_owner_reports_a_leak_with_a_photo_and_follows_it(staff: Staff, back_office: BackOffice, app: Flask,
                                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    owner = staff.visitor("owner", mobile=True)
    sign_in(owner)
    assert_fits_the_screen(owner)

    owner.click("#new-report")
    owner.check("#category-repair")
    expect(owner.locator("#unit_id option:checked")).to_contain_text(UNIT)
    owner.fill("#description", "厨房水槽下水管漏水，柜子里都是水。")
    owner.set_input_files("#photo", a_photo(tmp_path_factory))
    expect(owner.locator("#photo")).to_have_attribute("data-resized", "1")  # made smaller before it is sent
    expect(owner.locator("#photo-preview")).to_be_visible()
    assert_fits_the_screen(owner)
    owner.click("#submit-report")

    number = owner.locator("#ticket-number")
    expect(number).to_have_text(re.compile(r"KF-\d{8}-\d{4}"))
    ticket = number.inner_text()
    expect(owner.locator(".notice-success")).to_contain_text(ticket)
    expect(owner.locator("#story")).to_contain_text("已受理")
    expect(owner.locator("#story")).to_contain_text("客服正在审核您的报事")
    expect(owner.locator("img.preview")).to_be_visible()
    assert owner.locator("img.preview").evaluate("img => img.naturalWidth") <= 1600
    assert_fits_the_screen(owner)

    back_office.complete(ticket, "review_online", "agent",
                         {"category": "repair", "urgency": "normal", "emergency": False, "part": "plumbing"})
    back_office.complete(ticket, "dispatch_technician", "eng_super", {"technician": "tech"})
    owner.reload()
    expect(owner.locator("#story")).to_contain_text("客服已审核")
    expect(owner.locator("#story")).to_contain_text("已派工给 郑师傅")
    expect(owner.locator("#technician")).to_contain_text("郑师傅")
    expect(owner.locator("#call-technician")).to_have_attribute("href", re.compile(r"^tel:"))
    assert PHONE not in owner.content()

    owner.goto("/owner/")
    expect(owner.locator("#tickets")).to_contain_text(ticket)
