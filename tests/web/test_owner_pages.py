"""The owner's pages: only their own tickets (another owner's is a 404 on every route), a report with a photo,
a personal link that signs in once, the privacy notice asked once, their data exported and logged."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from app.clock import ManualClock
from app.extensions import db
from app.models import Unit
from app.models.admin import PiiAccess
from app.services.owners.signin import link_token, text_personal_link
from tests.web.owner_pages import (
    COMMON_AREA,
    NEIGHBOUR_PHONE,
    NEIGHBOUR_UNIT,
    OWNER_PHONE,
    OWNER_UNIT,
    STRANGER_PHONE,
    TENANT_PHONE,
    OwnerPhone,
    texts_to,
    unit_id,
)

Phone = Callable[[str], OwnerPhone]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def signed_in(owner_phone: Phone, phone: str) -> OwnerPhone:
    owner = owner_phone(phone)
    owner.sign_in()
    return owner


def reported(owner: OwnerPhone, unit: str, **fields: object) -> str:
    response = owner.report(unit_id=str(unit_id(unit)), **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"KF-\d{8}-\d{4}", response.headers["Location"])
    assert match is not None
    return match.group(0)


def test_another_owners_ticket_is_a_404_on_every_owner_route(owner_phone: Phone, app: Flask) -> None:
    neighbour = signed_in(owner_phone, NEIGHBOUR_PHONE)
    theirs = reported(neighbour, NEIGHBOUR_UNIT, photo=(io.BytesIO(PNG), "leak.png", "image/png"))
    photo = re.search(r"/photos/([0-9a-f]{32}\.png)", neighbour.get(f"/owner/tickets/{theirs}").get_data(as_text=True))
    assert photo is not None
    me = signed_in(owner_phone, OWNER_PHONE)
    routes = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("owner.") and
              "number" in rule.arguments]
    assert len(routes) >= 2
    for rule in routes:
        values = {name: photo.group(1) if name == "name" else "x" for name in rule.arguments}
        url = rule.build({**values, "number": theirs}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = me.client.open(url, method=method, data={})
            assert answer.status_code == 404, (method, url, answer.status_code)
            assert "厨房水龙头漏水" not in answer.get_data(as_text=True)  # nothing of the neighbour's report
    assert theirs not in me.get("/owner/").get_data(as_text=True)


def test_a_tenant_sees_the_tickets_of_the_unit_they_rent(owner_phone: Phone) -> None:
    landlord = signed_in(owner_phone, NEIGHBOUR_PHONE)
    number = reported(landlord, NEIGHBOUR_UNIT)
    tenant = signed_in(owner_phone, TENANT_PHONE)
    assert number in tenant.get("/owner/").get_data(as_text=True)
    assert tenant.get(f"/owner/tickets/{number}").status_code == 200


def test_an_unregistered_number_has_nothing_to_see_or_report_about(owner_phone: Phone) -> None:
    stranger = owner_phone(STRANGER_PHONE)
    stranger.ask_code()
    assert stranger.get("/owner/").status_code == 302  # no text, so no code: never signed in
    owner = signed_in(owner_phone, OWNER_PHONE)
    number = reported(owner, OWNER_UNIT)
    assert owner.report(unit_id="999999").status_code == 404
    assert stranger.get(f"/owner/tickets/{number}").status_code == 302


def test_a_report_with_a_photo_shows_the_number_and_the_photo(owner_phone: Phone) -> None:
    owner = signed_in(owner_phone, OWNER_PHONE)
    number = reported(owner, OWNER_UNIT, photo=(io.BytesIO(PNG), "leak.png", "image/png"))
    page = owner.client.get(f"/owner/tickets/{number}")
    text = page.get_data(as_text=True)
    assert f"已提交，您的工单号是 {number}。" in text
    photo = re.search(r'src="(/owner/tickets/[^"]+/photos/[^"]+)"', text)
    assert photo is not None
    with owner.get(photo.group(1)) as served:
        assert served.data == PNG


def test_a_common_area_of_the_owners_project_may_be_reported(owner_phone: Phone) -> None:
    owner = signed_in(owner_phone, OWNER_PHONE)
    assert COMMON_AREA in owner.get("/owner/report").get_data(as_text=True)
    number = reported(owner, COMMON_AREA, category="suggestion", description="外墙灯不亮。")
    assert number in owner.get("/owner/").get_data(as_text=True)


def test_a_photo_that_is_not_an_image_is_refused_and_the_text_is_kept(owner_phone: Phone) -> None:
    owner = signed_in(owner_phone, OWNER_PHONE)
    refused = owner.report(unit_id=str(unit_id(OWNER_UNIT)), description="阳台漏水",
                           photo=(io.BytesIO(b"MZ not an image"), "leak.png", "image/png"))
    assert refused.status_code == 422
    assert "阳台漏水" in refused.get_data(as_text=True)


def test_a_report_without_a_description_is_refused_with_the_field_named(owner_phone: Phone) -> None:
    owner = signed_in(owner_phone, OWNER_PHONE)
    refused = owner.report(unit_id=str(unit_id(OWNER_UNIT)), description="  ")
    assert refused.status_code == 422
    assert "请描述问题" in refused.get_data(as_text=True)


def test_a_personal_link_signs_in_once_then_the_session_carries_on(owner_phone: Phone, app: Flask,
                                                                    clock: ManualClock) -> None:
    number = reported(signed_in(owner_phone, OWNER_PHONE), OWNER_UNIT)
    assert text_personal_link(OWNER_PHONE, number, ticket_id=None, now=clock.now(), secret=app.config["SECRET_KEY"],
                              base_url="https://kefu.example.com/")
    db.session.commit()
    link = re.search(r"https://kefu\.example\.com(/owner/l/\S+?)（", texts_to(OWNER_PHONE)[0])
    assert link is not None and f"工单{number}" in texts_to(OWNER_PHONE)[0]
    token = link.group(1).removeprefix("/owner/l/")
    phone = owner_phone(OWNER_PHONE)
    opened = phone.get(f"/owner/l/{token}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/owner/tickets/{number}")
    assert phone.get(f"/owner/tickets/{number}").status_code == 200
    assert phone.get("/owner/").status_code == 200  # the session carries on
    assert owner_phone(OWNER_PHONE).get(f"/owner/l/{token}").status_code == 404  # used


def test_a_changed_expired_or_foreign_link_is_a_404(owner_phone: Phone, app: Flask, clock: ManualClock) -> None:
    number = reported(signed_in(owner_phone, OWNER_PHONE), OWNER_UNIT)
    secret = app.config["SECRET_KEY"]
    token = link_token(OWNER_PHONE, number, now=clock.now(), secret=secret)
    changed = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert owner_phone(OWNER_PHONE).get(f"/owner/l/{changed}").status_code == 404
    assert owner_phone(OWNER_PHONE).get("/owner/l/%00%ff<script>").status_code == 404
    foreign = link_token(NEIGHBOUR_PHONE, number, now=clock.now(), secret=secret)  # not the neighbour's ticket
    assert owner_phone(NEIGHBOUR_PHONE).get(f"/owner/l/{foreign}").status_code == 404
    clock.advance(timedelta(hours=73))  # owner_link_valid_hours: 72
    assert owner_phone(OWNER_PHONE).get(f"/owner/l/{token}").status_code == 404


def test_the_privacy_notice_is_asked_once_and_the_consent_recorded(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    owner.sign_in(consent=False)
    asked = owner.get("/owner/")
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/owner/privacy")
    assert owner.client.post("/owner/privacy", data={}).status_code == 422  # not ticked
    assert owner.client.post("/owner/privacy", data={"agree": "yes"}).status_code == 302
    assert owner.get("/owner/").status_code == 200
    again = owner_phone(OWNER_PHONE)
    again.sign_in(consent=False)
    assert again.get("/owner/").status_code == 200  # not asked a second time
    assert "已于" in again.get("/owner/my-data").get_data(as_text=True)


def test_an_owner_downloads_their_data_and_the_download_is_logged(owner_phone: Phone) -> None:
    owner = signed_in(owner_phone, OWNER_PHONE)
    number = reported(owner, OWNER_UNIT, description="卫生间地漏反味。")
    signed_in(owner_phone, NEIGHBOUR_PHONE).report(unit_id=str(unit_id(NEIGHBOUR_UNIT)))
    download = owner.client.post("/owner/my-data/export")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    exported = json.loads(download.data)
    assert exported["phone"] == OWNER_PHONE
    assert [ticket["number"] for ticket in exported["tickets"]] == [number]
    assert exported["tickets"][0]["given"]["description"] == "卫生间地漏反味。"
    assert exported["privacy_consent"]["at"] is not None
    logged = db.session.scalars(select(PiiAccess).where(PiiAccess.action == "owner_export")).all()
    assert [(row.ticket_number, row.detail["phone"]) for row in logged] == [(number, OWNER_PHONE)]


def test_owner_pages_mask_every_phone_and_carry_no_staff_menu(owner_phone: Phone) -> None:
    owner = signed_in(owner_phone, OWNER_PHONE)
    number = reported(owner, OWNER_UNIT)
    for path in ("/owner/", f"/owner/tickets/{number}", "/owner/my-data", "/owner/report"):
        page = owner.get(path).get_data(as_text=True)
        assert OWNER_PHONE not in page, path
        assert "nav-inbox" not in page and "header-search" not in page
        assert "<script>" not in page  # scripts only from files (CSP script-src 'self')


def test_the_owners_email_is_in_their_data_masked_on_their_page_and_named_in_the_notice(owner_phone: Phone) -> None:
    db.session.execute(update(Unit).where(Unit.code == NEIGHBOUR_UNIT).values(owner_email="li.nv@example.com"))
    db.session.commit()
    owner = signed_in(owner_phone, NEIGHBOUR_PHONE)
    page = owner.get("/owner/my-data").get_data(as_text=True)
    assert "l***@example.com" in page and "li.nv@example.com" not in page
    exported = json.loads(owner.client.post("/owner/my-data/export").data)
    assert [(unit["unit"], unit["email"]) for unit in exported["units"]] == [(NEIGHBOUR_UNIT, "li.nv@example.com")]
    logged = db.session.scalars(select(PiiAccess).where(PiiAccess.action == "owner_export")).one()
    assert logged.detail["emails"] == ["li.nv@example.com"]
    assert "电子邮箱" in owner.get("/owner/privacy").get_data(as_text=True)

    tenant = signed_in(owner_phone, TENANT_PHONE)
    assert "@" not in tenant.get("/owner/my-data").get_data(as_text=True), "the owner's address is not the tenant's"
    assert [unit["email"] for unit in json.loads(tenant.client.post("/owner/my-data/export").data)["units"]] == [None]
