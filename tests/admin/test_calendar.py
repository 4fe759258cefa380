"""The working calendar page (/admin/calendar) through HTTP: admins only, add and remove days, unknown years flagged.

The clock stands at Monday 2 March 2026: the chinese-calendar package knows 2026 but not 2027.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.services.people.users import create_user
from tests.console_client import PASSWORD, Browser


@pytest.fixture
def people(app, clock):
    for username, roles in (("root", ["admin"]), ("chen", ["cs_supervisor"]), ("wang", ["cs_agent"]),
                            ("li", ["property_manager"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def logged_in(app, username):
    browser = Browser(app.test_client())
    browser.get("/login")
    assert browser.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return browser


@pytest.fixture
def admin_browser(app, people):
    return logged_in(app, "root")


def day_row(html, day):
    found = re.search(rf'<tr data-day="{day}" data-kind="(\w+)"(.*?)</tr>', html, re.S)
    return (found.group(1), found.group(2)) if found else None


def year_known(html, year):
    return re.search(rf'id="year-{year}" data-known="(\w+)"', html).group(1) == "yes"


@pytest.mark.parametrize("username", ["chen", "wang", "li"])
def test_only_admins_see_or_change_the_calendar(app, people, username):
    browser = logged_in(app, username)

    assert browser.get("/admin/calendar").status_code == 403
    assert browser.post("/admin/calendar", {"day": "2027-01-01", "kind": "holiday", "name": "元旦"}).status_code == 403
    assert browser.post("/admin/calendar/1/remove").status_code == 403
    assert browser.get("/admin/calendar").status_code == 403


def test_logged_out_visitors_are_sent_to_the_login(app, people):
    response = app.test_client().get("/admin/calendar")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_library_days_are_listed_and_next_year_is_flagged_unknown(admin_browser):
    page = admin_browser.get("/admin/calendar").get_data(as_text=True)

    assert year_known(page, 2026) and not year_known(page, 2027)
    assert "year-unknown" in page and "周末" in page  # the flag says working time counts weekends only
    assert day_row(page, "2026-10-01")[0] == "holiday" and "国庆节" in day_row(page, "2026-10-01")[1]
    assert day_row(page, "2026-10-10")[0] == "workday"  # 调休: a Saturday worked
    assert 'id="admin-nav-calendar"' in page


def test_the_admin_menu_flags_next_year_on_every_admin_page_until_it_is_entered(admin_browser, clock):
    flag = re.compile(r'id="calendar-flag"[^>]*>\s*2027 \?')
    assert flag.search(admin_browser.get("/admin/").get_data(as_text=True))

    admin_browser.post("/admin/calendar", {"day": "2027-01-01", "kind": "holiday", "name": "元旦"})

    assert 'id="calendar-flag"' not in admin_browser.get("/admin/").get_data(as_text=True)


def test_an_admin_enters_next_years_holiday_and_the_year_is_no_longer_flagged(app, admin_browser):
    added = admin_browser.post("/admin/calendar", {"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert added.status_code == 302

    page = admin_browser.get(added.headers["Location"]).get_data(as_text=True)
    assert "2027-01-01 已保存" in page
    assert year_known(page, 2027)
    kind, cells = day_row(page, "2027-01-01")
    assert kind == "holiday" and "元旦" in cells and "remove-day" in cells
    assert not app.extensions["kefu"].calendar().is_working_day(date(2027, 1, 1))


def test_an_override_wins_over_the_library_and_removing_it_restores_the_library(app, admin_browser):
    admin_browser.get("/admin/calendar")
    assert admin_browser.post("/admin/calendar",
                              {"day": "2026-10-10", "kind": "holiday", "name": "本公司不调休"}).status_code == 302
    page = admin_browser.get("/admin/calendar?year=2026").get_data(as_text=True)
    kind, cells = day_row(page, "2026-10-10")
    assert kind == "holiday" and "本公司不调休" in cells
    assert not app.extensions["kefu"].calendar().is_working_day(date(2026, 10, 10))

    remove = re.search(r'action="(/admin/calendar/\d+/remove)"', cells).group(1)
    removed = admin_browser.post(remove)
    assert removed.status_code == 302

    page = admin_browser.get(removed.headers["Location"]).get_data(as_text=True)
    kind, cells = day_row(page, "2026-10-10")
    assert kind == "workday" and "remove-day" not in cells
    assert app.extensions["kefu"].calendar().is_working_day(date(2026, 10, 10))
    assert admin_browser.post(remove).status_code == 404


def test_invalid_input_is_refused_with_the_reason_and_the_typed_values_kept(admin_browser):
    admin_browser.get("/admin/calendar")

    refused = admin_browser.post("/admin/calendar", {"day": "2027-02-30", "kind": "holiday",
                                                     "name": "<b>春节</b>"})

    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "YYYY-MM-DD" in page and 'value="&lt;b&gt;春节&lt;/b&gt;"' in page
    assert "<b>春节</b>" not in page
    assert day_row(admin_browser.get("/admin/calendar?year=2027").get_data(as_text=True), "2027-02-30") is None


def test_a_day_cannot_be_entered_twice(admin_browser):
    admin_browser.get("/admin/calendar")
    assert admin_browser.post("/admin/calendar", {"day": "2027-02-06", "kind": "workday", "name": "春节调休"}
                              ).status_code == 302
    admin_browser.get("/admin/calendar")

    again = admin_browser.post("/admin/calendar", {"day": "2027-02-06", "kind": "holiday", "name": "春节"})

    assert again.status_code == 422 and "已有设置" in again.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(app, admin_browser):
    admin_browser.token = "forged"

    response = admin_browser.post("/admin/calendar", {"day": "2027-01-01", "kind": "holiday", "name": "元旦"})

    assert response.status_code == 400
    assert day_row(admin_browser.get("/admin/calendar?year=2027").get_data(as_text=True), "2027-01-01") is None


def test_the_page_speaks_english_when_asked(app, admin_browser):
    admin_browser.get("/admin/calendar")
    admin_browser.post("/language", {"lang": "en", "next": "/admin/calendar"})

    page = admin_browser.get("/admin/calendar?year=2027").get_data(as_text=True)

    assert "Working calendar" in page and "weekends only" in page
