"""What every console page's chrome (base.html: the menu, the bell, the signed-in person's name) costs: the name and
the bell's count come with the session's one authentication query, never from reading every user, and whether the
menu offers "New ticket" is asked of the database once per deploy, not on every page."""

from __future__ import annotations

import re

from app.services.people.users import create_user
from tests.console_client import PASSWORD
from tests.support import count_queries
from tests.web.test_console import TICKET_FIXTURES, browser_of


def reads_every_user(sql: str) -> bool:
    return re.search(r"\bFROM users\b", sql, re.IGNORECASE) is not None and " WHERE " not in sql.upper()


def offers_new_ticket(page: str) -> bool:
    return 'id="nav-new-ticket"' in page


def test_the_header_names_the_signed_in_person_without_reading_every_user(app, clock):
    create_user("wang", password=PASSWORD, roles=["cs_agent"], display_name="王小姐", clock=clock)
    browser = browser_of(app, "wang")
    browser.get("/notifications")
    with count_queries() as statements:
        page = browser.get("/notifications").get_data(as_text=True)
    assert re.search(r'id="current-user">([^<]+)</a>', page).group(1) == "王小姐"
    assert not [sql for sql in statements.statements if reads_every_user(sql)], statements.statements
    # the session's user (with the bell's unread count and the settings' freshness stamp), the page's notifications
    assert len(statements.statements) == 2, statements.statements


def test_the_menu_asks_for_the_latest_reception_again_only_after_a_deploy(app, clock, deploy):
    create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)
    create_user("zheng", password=PASSWORD, roles=["technician"], clock=clock)
    agent, technician = browser_of(app, "wang"), browser_of(app, "zheng")
    assert not offers_new_ticket(agent.get("/notifications").get_data(as_text=True))  # nothing deployed yet

    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    assert offers_new_ticket(agent.get("/notifications").get_data(as_text=True))
    assert not offers_new_ticket(technician.get("/notifications").get_data(as_text=True))
    with count_queries() as statements:
        assert offers_new_ticket(agent.get("/notifications").get_data(as_text=True))
        assert not offers_new_ticket(technician.get("/notifications").get_data(as_text=True))
    assert not [sql for sql in statements.statements if sql.startswith("SELECT bundles.")], statements.statements
