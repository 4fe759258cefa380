"""Sessions and API tokens through HTTP: logout, password changes and inactivity end them; owners and
admins list and revoke tokens; login throttling per name and address, and per address across names."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db, limiter
from app.models import ApiToken, User
from app.models.settings import Setting, SettingChange
from app.services.people.auth import issue_token
from app.services.people.users import create_user
from tests.conftest import app_config
from tests.console_client import PASSWORD, Browser

STRANGER, OFFICE = "203.0.113.66", "198.51.100.7"
NEW_PASSWORD = "a-new-secret-42"


@pytest.fixture(autouse=True)
def fresh_login_counters(app):
    """Flask-Limiter counts per client address in memory in tests (never the shared Redis); no test sees
    another's counts."""
    assert type(limiter.storage).__name__ == "MemoryStorage"
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def people(app, clock):
    for username, roles in (("root", ["admin"]), ("wang", ["cs_agent"]), ("li", ["cs_agent"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def user_id(username: str) -> int:
    return db.session.scalars(select(User.id).where(User.username == username)).one()


def token_of(username: str, clock, label: str = "") -> tuple[str, int]:
    """A new API token of the user, and its id on the token lists."""
    user = db.session.scalars(select(User).where(User.username == username)).one()
    token = issue_token(user, clock, label=label)
    return token, db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id)
                                    .order_by(ApiToken.id.desc()).limit(1))


def signed_in(app, username: str, password: str = PASSWORD, address: str = OFFICE) -> Browser:
    browser = Browser(app.test_client())
    response = log_in_from(browser, username, password, address)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def log_in_from(browser: Browser, username: str, password: str, address: str):
    browser.get("/login")
    return browser.post("/login", {"username": username, "password": password},
                        environ_overrides={"REMOTE_ADDR": address})


def is_signed_in(browser: Browser) -> bool:
    response = browser.get("/")
    return response.status_code == 200


def api_status(client, token: str) -> int:
    return client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code


def flash_text(response) -> str:
    found = re.search(r'class="alert[^"]*"[^>]*>(.*?)<', response.get_data(as_text=True), re.S)
    return found.group(1).strip() if found else ""


# Logout, password changes and inactivity


def test_a_cookie_captured_before_logout_no_longer_works(app, people):
    wang = signed_in(app, "wang")
    captured = wang.client.get_cookie("session").value
    assert wang.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logging_out_in_one_browser_ends_the_users_other_sessions_too(app, people):
    office, home = signed_in(app, "wang"), signed_in(app, "wang")
    office.post("/logout")
    assert not is_signed_in(home)


def test_an_admin_resetting_a_password_ends_the_users_sessions_and_api_tokens(app, people, clock):
    wang, (token, _) = signed_in(app, "wang"), token_of("wang", clock)
    assert api_status(app.test_client(), token) == 200
    admin = signed_in(app, "root")
    admin.get(f"/admin/people/{user_id('wang')}")
    assert admin.post(f"/admin/people/{user_id('wang')}/password", {"password": NEW_PASSWORD}).status_code == 302
    assert not is_signed_in(wang)
    assert api_status(app.test_client(), token) == 401
    assert is_signed_in(signed_in(app, "wang", NEW_PASSWORD))
    assert is_signed_in(admin)  # the admin's own session goes on


def test_changing_my_password_ends_my_other_sessions_and_tokens_but_not_this_one(app, people, clock):
    here, elsewhere, (token, _) = signed_in(app, "wang"), signed_in(app, "wang"), token_of("wang", clock)
    here.get("/account")
    changed = here.post("/account/password", {"current": PASSWORD, "password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert "其他会话" in here.get("/account").get_data(as_text=True)
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert api_status(app.test_client(), token) == 401
    assert log_in_from(Browser(app.test_client()), "wang", PASSWORD, OFFICE).status_code == 401


def test_a_wrong_current_password_changes_nothing_and_says_so(app, people, clock):
    wang, (token, _) = signed_in(app, "wang"), token_of("wang", clock)
    wang.get("/account")
    refused = wang.post("/account/password", {"current": "not-my-password", "password": NEW_PASSWORD})
    assert 400 <= refused.status_code < 500
    assert "当前密码不正确" in refused.get_data(as_text=True)
    assert api_status(app.test_client(), token) == 200
    assert is_signed_in(signed_in(app, "wang"))


def test_a_new_password_the_policy_refuses_is_marked_on_the_account_page(app, people):
    wang = signed_in(app, "wang")
    wang.get("/account")
    refused = wang.post("/account/password", {"current": PASSWORD, "password": "short"})
    assert 400 <= refused.status_code < 500
    assert 'id="error-password"' in refused.get_data(as_text=True)
    assert is_signed_in(wang)


def test_a_session_idle_longer_than_the_setting_must_sign_in_again(app, people, clock):
    wang = signed_in(app, "wang")
    for _ in range(3):  # each request counts as activity: a working day of short pauses
        clock.advance(timedelta(minutes=470))
        assert is_signed_in(wang)
    clock.advance(timedelta(minutes=481))  # the default limit is 480 minutes
    assert not is_signed_in(wang)


def session_cookie_set(response) -> bool:
    return any(header.startswith("session=") for header in response.headers.getlist("Set-Cookie"))


def test_requests_within_a_minute_leave_the_session_cookie_as_it_is(app, people, clock):
    wang = signed_in(app, "wang")
    office = {"REMOTE_ADDR": OFFICE}  # where wang signed in (another address would make the session not fresh)
    earlier = wang.client.get_cookie("session").value
    clock.advance(timedelta(seconds=30))
    assert not session_cookie_set(wang.get("/", environ_overrides=office))
    # A background request sent with the cookie of before (the form's duplicate lookup, still running while the
    # form's post redirected with a message) must not answer with that older session: it would replace the newer.
    background = app.test_client()
    background.set_cookie("session", earlier)
    with app.app_context():
        looked_up = background.get("/", environ_overrides=office)
    assert looked_up.status_code == 200 and not session_cookie_set(looked_up)
    clock.advance(timedelta(seconds=31))  # a minute since the activity was recorded: recorded again
    assert session_cookie_set(wang.get("/", environ_overrides=office))


def test_the_admin_shortens_the_idle_limit(app, people, clock):
    admin = signed_in(app, "root")
    admin.get("/admin/settings")
    assert admin.post("/admin/settings/session_idle_minutes", {"value": "30"}).status_code == 302
    wang = signed_in(app, "wang")
    clock.advance(timedelta(minutes=29))
    assert is_signed_in(wang)
    clock.advance(timedelta(minutes=31))
    assert not is_signed_in(wang)


def test_an_idle_limit_shortened_on_another_node_ends_a_session_at_its_next_page(app, people, clock):
    """The session's sign-in query carries the settings' freshness stamp; a change another node made (this process's
    cache is not told) has a new stamp, so the next page reads the new limit."""
    wang = signed_in(app, "wang")
    clock.advance(timedelta(minutes=31))
    assert is_signed_in(wang)  # within the default 480 minutes; the page also warmed this process's settings
    clock.advance(timedelta(minutes=31))
    with app.app_context():
        admin_id = user_id("root")
        db.session.add(Setting(key="session_idle_minutes", value=30, updated_at=clock.now(), updated_by_id=admin_id))
        db.session.add(SettingChange(key="session_idle_minutes", old_value=480, new_value=30, changed_at=clock.now(),
                                     changed_by_id=admin_id, changed_by_name="root", token="e" * 32))
        db.session.commit()
    assert not is_signed_in(wang)


# API tokens


def test_a_user_creates_lists_and_revokes_their_own_token(app, people):
    wang = signed_in(app, "wang")
    wang.get("/account")
    created = wang.post("/account/tokens", {"label": "扫码枪"})
    token = re.search(r'id="new-token">([^<]+)<', created.get_data(as_text=True)).group(1)
    assert api_status(app.test_client(), token) == 200
    listed = wang.get("/account").get_data(as_text=True)
    token_id = int(re.search(r'id="token-(\d+)"', listed).group(1))
    assert "扫码枪" in listed and token not in listed  # the token itself is shown once only
    assert wang.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert api_status(app.test_client(), token) == 401
    assert "已吊销" in wang.get("/account").get_data(as_text=True)


def test_a_user_may_not_revoke_someone_elses_token(app, people, clock):
    token, li_token_id = token_of("li", clock)
    wang = signed_in(app, "wang")
    wang.get("/account")
    assert wang.post(f"/account/tokens/{li_token_id}/revoke").status_code == 404
    assert api_status(app.test_client(), token) == 200


def test_an_admin_lists_and_revokes_anyones_token(app, people, clock):
    token, token_id = token_of("wang", clock, label="nightly export")
    admin = signed_in(app, "root")
    page = admin.get(f"/admin/people/{user_id('wang')}").get_data(as_text=True)
    assert f'id="token-{token_id}"' in page and "nightly export" in page
    assert admin.post(f"/admin/people/{user_id('wang')}/tokens/{token_id}/revoke").status_code == 302
    assert api_status(app.test_client(), token) == 401


def test_a_token_is_revoked_only_on_its_owners_admin_page(app, people, clock):
    token, token_id = token_of("wang", clock)
    admin = signed_in(app, "root")
    admin.get("/admin/people")
    assert admin.post(f"/admin/people/{user_id('li')}/tokens/{token_id}/revoke").status_code == 404
    assert api_status(app.test_client(), token) == 200


@pytest.mark.parametrize("action", ["tokens/1/revoke", "unlock"])
def test_only_an_admin_revokes_tokens_and_lifts_cool_downs_on_the_people_page(app, people, clock, action):
    token_of("li", clock)
    wang = signed_in(app, "wang")
    wang.get("/account")
    assert wang.post(f"/admin/people/{user_id('li')}/{action}").status_code == 403


# Login throttling


def test_wrong_passwords_cool_down_that_name_from_that_address(app, people, clock):
    stranger = Browser(app.test_client())
    for _ in range(5):
        assert log_in_from(stranger, "wang", "guess", STRANGER).status_code == 401
    refused = log_in_from(stranger, "wang", PASSWORD, STRANGER)
    assert refused.status_code == 401
    assert flash_text(refused) == "尝试次数过多，请稍后再试"
    clock.advance(timedelta(seconds=31))
    assert log_in_from(stranger, "wang", PASSWORD, STRANGER).status_code == 302


def test_a_strangers_wrong_passwords_do_not_lock_the_user_out_from_another_address(app, people):
    stranger = Browser(app.test_client())
    for _ in range(8):
        log_in_from(stranger, "root", "guess", STRANGER)
    assert log_in_from(stranger, "root", PASSWORD, STRANGER).status_code == 401
    assert is_signed_in(signed_in(app, "root", address=OFFICE))


def test_one_password_tried_on_many_names_from_one_address_is_throttled(app, people):
    stranger = Browser(app.test_client())
    answers = [log_in_from(stranger, f"user{n}", "Summer2026!", STRANGER).status_code for n in range(25)]
    assert answers[:20] == [401] * 20  # every name is new, so no per-name cool-down applies
    assert set(answers[20:]) == {429}
    refused = log_in_from(stranger, "wang", PASSWORD, STRANGER)
    assert refused.status_code == 429
    assert "尝试次数过多" in refused.get_data(as_text=True)
    assert is_signed_in(signed_in(app, "wang", address=OFFICE))


def test_successful_logins_do_not_count_against_the_address(app, people):
    for _ in range(25):
        signed_in(app, "wang", address=OFFICE)


def test_an_admin_lifts_the_cool_down_of_a_name(app, people):
    stranger = Browser(app.test_client())
    for _ in range(5):
        log_in_from(stranger, "wang", "guess", OFFICE)
    assert log_in_from(Browser(app.test_client()), "wang", PASSWORD, OFFICE).status_code == 401
    admin = signed_in(app, "root", address=STRANGER)
    admin.get(f"/admin/people/{user_id('wang')}")
    lifted = admin.post(f"/admin/people/{user_id('wang')}/unlock")
    assert lifted.status_code == 302
    assert "登录冷却已解除" in admin.get(lifted.headers["Location"]).get_data(as_text=True)
    assert is_signed_in(signed_in(app, "wang", address=OFFICE))


def test_an_unknown_name_is_answered_in_the_same_words_after_the_same_password_check(app, people, monkeypatch):
    import app.services.people.auth as auth

    checked: list[str] = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash",
                        lambda stored, password: checked.append(stored) or real_check(stored, password))
    browser = Browser(app.test_client())
    known = log_in_from(browser, "wang", "guess", STRANGER)
    unknown = log_in_from(browser, "nobody-here", "guess", STRANGER)
    assert known.status_code == unknown.status_code == 401
    assert flash_text(known) == flash_text(unknown) == "用户名或密码错误"
    assert len(checked) == 2 and all(stored.count("$") == 2 for stored in checked)  # a real hash each time


def test_an_unknown_name_cools_down_like_a_known_one(app, people):
    browser = Browser(app.test_client())
    for username in ("wang", "nobody-here"):
        for _ in range(5):
            log_in_from(browser, username, "guess", STRANGER)
    assert flash_text(log_in_from(browser, "wang", "guess", STRANGER)) == \
        flash_text(log_in_from(browser, "nobody-here", "guess", STRANGER)) == "尝试次数过多，请稍后再试"


def test_a_forged_forwarded_address_does_not_escape_the_limit_when_no_proxy_is_trusted(app, people):
    stranger = Browser(app.test_client())
    stranger.get("/login")
    answers = [stranger.post("/login", {"username": f"user{n}", "password": "guess"},
                             environ_overrides={"REMOTE_ADDR": STRANGER},
                             headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(22)]
    assert answers[-1] == 429


def test_behind_a_trusted_proxy_the_cool_down_is_per_client_address(database_url, clock):
    proxied = create_app(app_config(database_url, TRUSTED_PROXIES=1), clock=clock)
    with proxied.app_context():
        create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)
        browser, proxy = Browser(proxied.test_client()), {"REMOTE_ADDR": "10.0.0.1"}
        browser.get("/login")

        def log_in_via_proxy(password: str, client: str):
            return browser.post("/login", {"username": "wang", "password": password}, environ_overrides=proxy,
                                headers={"X-Forwarded-For": client, "X-Forwarded-Proto": "https",
                                         "Referer": "https://localhost/login"})  # CSRF over HTTPS checks it

        for _ in range(5):
            assert log_in_via_proxy("guess", STRANGER).status_code == 401
        assert log_in_via_proxy(PASSWORD, STRANGER).status_code == 401
        signed = log_in_via_proxy(PASSWORD, OFFICE)
        assert signed.status_code == 302
        assert "Strict-Transport-Security" in signed.headers  # TLS ended at the proxy
        db.engine.dispose()
