"""A manager prints a QR sheet per building; the code opens the owners' report page for that building."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlparse

import segno
from flask import Flask

from tests.console_client import PASSWORD, Browser
from tests.web.owner_pages import (
    NEIGHBOUR_PHONE,
    NEIGHBOUR_UNIT,
    OwnerPhone,
    unit_id,
)


def signed_in_staff(app: Flask, make_user: Callable[..., Any], username: str, role: str) -> Browser:
    make_user(username, role)
    browser = Browser(app.test_client())
    browser.post("/login", data={"username": username, "password": PASSWORD})
    return browser


def test_a_manager_prints_a_sheet_whose_code_opens_the_buildings_report_page(
        app: Flask, make_user: Callable[..., Any], owner_phone: Callable[[str], OwnerPhone]) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    manager = signed_in_staff(app, make_user, "manager", "property_manager")
    listing = manager.get("/admin/qr-codes").get_data(as_text=True)
    sheet_link = f"/admin/qr-codes/lanting/{quote('1栋')}"
    assert sheet_link in listing and "3栋" in listing
    sheet = manager.get(sheet_link).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in sheet
    target = re.search(r'<p class="url">([^<]+)</p>', sheet)
    assert target is not None and unquote(urlparse(target.group(1)).path) == "/owner/b/lanting/1栋"
    assert segno.make(target.group(1), error="m").svg_data_uri(scale=10, border=2).replace("&", "&amp;") in sheet

    app.config["WTF_CSRF_ENABLED"] = False
    neighbour = owner_phone(NEIGHBOUR_PHONE)
    scanned = neighbour.get(urlparse(target.group(1)).path)
    assert scanned.status_code == 302
    neighbour.sign_in()
    report = neighbour.get(scanned.headers["Location"]).get_data(as_text=True)
    assert f'value="{unit_id(NEIGHBOUR_UNIT)}" selected' in report


def test_a_building_that_is_not_one_is_a_404(app: Flask, make_user: Callable[..., Any], owner_estate: None) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    manager = signed_in_staff(app, make_user, "manager", "property_manager")
    assert manager.get("/admin/qr-codes/lanting/99栋").status_code == 404
    assert manager.get("/admin/qr-codes/nowhere/1栋").status_code == 404
    assert Browser(app.test_client()).get("/owner/b/lanting/99栋").status_code == 404


def test_a_technician_may_not_print_sheets(app: Flask, make_user: Callable[..., Any], owner_estate: None) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    technician = signed_in_staff(app, make_user, "tech", "technician")
    assert technician.get("/admin/qr-codes").status_code == 403
