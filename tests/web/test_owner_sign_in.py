"""An owner signs in with a texted code, or a personal link; the answers never tell whether a number is
registered; codes expire and work once; wrong codes lock the number; the limits per number and address hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models.admin import PiiAccess
from tests.web.owner_pages import (
    NEIGHBOUR_PHONE,
    OWNER_PHONE,
    STRANGER_PHONE,
    OwnerPhone,
    code_texted_to,
    texts_to,
)

Phone = Callable[[str], OwnerPhone]


def test_a_registered_owner_signs_in_with_the_texted_code_and_sees_their_pages(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    asked = owner.ask_code()
    assert asked.status_code == 200
    assert "138****5678" in asked.get_data(as_text=True)
    assert "13812345678" not in asked.get_data(as_text=True).replace('value="13812345678"', "")
    signed_in = owner.enter_code(code_texted_to(OWNER_PHONE))
    assert signed_in.status_code == 302
    assert owner.get("/owner/").status_code == 302  # the privacy notice comes first
    assert owner.client.post("/owner/privacy", data={"agree": "yes"}).status_code == 302
    home = owner.get("/owner/")
    assert home.status_code == 200
    assert "3栋-1202" in home.get_data(as_text=True)


def test_an_unregistered_number_gets_the_same_answer_and_no_text(owner_phone: Phone) -> None:
    registered = owner_phone(OWNER_PHONE).ask_code()
    stranger = owner_phone(STRANGER_PHONE).ask_code()
    assert stranger.status_code == registered.status_code == 200
    mask = lambda page, phone: page.get_data(as_text=True).replace(phone, "").replace(  # noqa: E731
        phone[:3] + "****" + phone[-4:], "")
    assert mask(stranger, STRANGER_PHONE) == mask(registered, OWNER_PHONE)
    assert texts_to(STRANGER_PHONE) == []
    assert len(texts_to(OWNER_PHONE)) == 1


def test_a_code_works_once(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    owner.ask_code()
    code = code_texted_to(OWNER_PHONE)
    assert owner.enter_code(code).status_code == 302
    again = owner_phone(OWNER_PHONE)
    assert again.enter_code(code).status_code == 401


def test_a_code_expires_after_five_minutes(owner_phone: Phone, clock: ManualClock) -> None:
    owner = owner_phone(OWNER_PHONE)
    owner.ask_code()
    clock.advance(timedelta(minutes=5, seconds=1))
    refused = owner.enter_code(code_texted_to(OWNER_PHONE))
    assert refused.status_code == 401
    assert owner.get("/owner/").status_code == 302


def test_five_wrong_codes_lock_the_number_even_for_the_right_code(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    owner.ask_code()
    code = code_texted_to(OWNER_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert owner.enter_code(wrong).status_code == 401
    locked = owner.enter_code(code)
    assert locked.status_code == 401
    assert "15" in locked.get_data(as_text=True)


def test_asking_for_codes_is_limited_per_number(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    answers = [owner.ask_code().status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    assert owner_phone(NEIGHBOUR_PHONE).ask_code().status_code == 200  # another number is not held back


def test_asking_for_codes_is_limited_per_address(owner_phone: Phone, app: Flask) -> None:
    app.config["OWNER_CODES_PER_PHONE"] = "100 per hour"
    owner = owner_phone(OWNER_PHONE)
    answers = [owner.ask_code(f"1390000{n:04d}").status_code for n in range(21)]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429


def test_wrong_codes_are_limited_per_address(owner_phone: Phone, app: Flask) -> None:
    owner = owner_phone(OWNER_PHONE)
    answers = [owner.enter_code("000000", phone=f"1390000{n:04d}").status_code for n in range(31)]
    assert answers[:30] == [401] * 30
    assert answers[30] == 429


def test_a_sign_in_is_in_the_access_log(owner_phone: Phone) -> None:
    owner_phone(OWNER_PHONE).sign_in()
    logged = db.session.scalars(select(PiiAccess).where(PiiAccess.action == "owner_sign_in")).all()
    assert [(row.username, row.source) for row in logged] == [("owner 138****5678", "owner_code")]


def test_signing_out_ends_the_session(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    owner.sign_in()
    cookie = owner.client.get_cookie("kefu_owner", path="/owner")
    assert cookie is not None
    assert owner.client.post("/owner/sign-out").status_code == 302
    replayed = owner_phone(OWNER_PHONE)
    replayed.client.set_cookie("kefu_owner", cookie.value, path="/owner")
    assert replayed.get("/owner/").headers["Location"].startswith("/owner/sign-in")


def test_the_staff_console_does_not_accept_an_owner_session(owner_phone: Phone) -> None:
    owner = owner_phone(OWNER_PHONE)
    owner.sign_in()
    assert owner.get("/").status_code == 302  # the console's login page
    assert owner.get("/api/v1/tickets").status_code == 401
