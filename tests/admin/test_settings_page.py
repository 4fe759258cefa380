"""The settings page (/admin/settings) through HTTP: admins only, each value with its default, edits
validated per field and audited (who, when, old -> new)."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.people.users import create_user, find_user
from app.services.settings import get_setting
from tests.console_client import PASSWORD, Browser


@pytest.fixture
def people(app, clock):
    for username, roles in (("root", ["admin"]), ("chen", ["cs_supervisor"]), ("wang", ["cs_agent"]),
                            ("li", ["property_manager"]), ("zhang_eng", ["technician"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def logged_in(app, username):
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


@pytest.fixture
def admin_browser(app, people):
    return logged_in(app, "root")


def setting_row(html, key):
    found = re.search(rf'<tr id="setting-{key}" data-key="{key}" data-default="(\w+)"(.*?)</tr>', html, re.S)
    assert found, key
    return found.group(1) == "yes", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2))).strip()


def typed_value(html, key):
    return re.search(rf'id="value-{key}"\s+value="([^"]*)"', html).group(1)


def changes(html):
    rows = re.findall(r'<tr data-key="(\w+)">(.*?)</tr>', html, re.S)
    return [(key, re.search(r'class="change-user">([^<]*)<', body).group(1),
             re.search(r'class="change-values">([^<]*)<', body).group(1).strip()) for key, body in rows]


@pytest.mark.parametrize("username", ["chen", "wang", "li"])
def test_only_admins_see_or_change_the_settings(app, people, username):
    browser = logged_in(app, username)
    assert browser.get("/admin/settings").status_code == 403
    assert browser.post("/admin/settings/pause_cap_days", {"value": "5"}).status_code == 403
    assert get_setting("pause_cap_days") == 3


def test_logged_out_visitors_are_sent_to_the_login(app, people):
    response = app.test_client().get("/admin/settings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_shows_every_setting_in_chinese_with_its_value_and_default(admin_browser):
    page = admin_browser.get("/admin/settings")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="admin-nav-settings"' in html
    is_default, text = setting_row(html, "duplicate_window_days")
    assert is_default and "重复派单时间窗" in text and "30 天" in text and "默认" in text
    assert "0.8" in setting_row(html, "reminder_fraction")[1]
    assert "未指定" in setting_row(html, "engineer_on_call")[1]
    assert "满意率目标" in setting_row(html, "target_satisfaction_rate")[1]
    assert "还没有修改过任何设置" in html


def test_an_admin_changes_a_setting_and_the_change_is_shown_with_who_and_old_and_new(admin_browser):
    saved = admin_browser.post("/admin/settings/pause_cap_days", {"value": "5"})
    assert saved.status_code == 302
    html = admin_browser.get("/admin/settings").get_data(as_text=True)
    is_default, text = setting_row(html, "pause_cap_days")
    assert not is_default and "5 天" in text and "root" in text
    assert changes(html) == [("pause_cap_days", "root", "3 → 5")]
    assert get_setting("pause_cap_days") == 5


def test_the_engineer_on_call_must_be_someone_who_exists(admin_browser):
    assert '<option value="zhang_eng">' in admin_browser.get("/admin/settings").get_data(as_text=True)
    refused = admin_browser.post("/admin/settings/engineer_on_call", {"value": "ghost"})
    assert refused.status_code == 422
    assert admin_browser.post("/admin/settings/engineer_on_call", {"value": "zhang_eng"}).status_code == 302
    html = admin_browser.get("/admin/settings").get_data(as_text=True)
    assert changes(html) == [("engineer_on_call", "root", "— → zhang_eng")]


@pytest.mark.parametrize(("key", "typed", "message"), [
    ("duplicate_window_days", "thirty", "请填写整数"),
    ("duplicate_window_days", "0", "须在 1 至 365 之间"),
    ("reminder_fraction", "2", "须在 0.1 至 0.99 之间"),
    ("engineer_on_call", "ghost", "没有在用的用户 &#39;ghost&#39;"),
])
def test_a_bad_value_is_refused_with_the_field_marked_and_what_was_typed_kept(admin_browser, key, typed, message):
    refused = admin_browser.post(f"/admin/settings/{key}", {"value": typed})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert message in html
    assert typed_value(html, key) == typed
    assert re.search(rf'is-invalid" name="value" id="value-{key}"', html)
    assert "还没有修改过任何设置" in html  # nothing was saved


def test_saving_without_the_csrf_token_is_refused(app, admin_browser):
    response = admin_browser.client.post("/admin/settings/pause_cap_days", data={"value": "9"})
    assert response.status_code == 400
    assert get_setting("pause_cap_days") == 3


def test_an_unknown_setting_is_not_found(admin_browser):
    assert admin_browser.post("/admin/settings/no_such_thing", {"value": "1"}).status_code == 404


def test_the_english_page_shows_the_english_labels(app, admin_browser):
    find_user("root").locale = "en"
    db.session.commit()
    html = admin_browser.get("/admin/settings").get_data(as_text=True)
    assert "Duplicate window" in setting_row(html, "duplicate_window_days")[1]
