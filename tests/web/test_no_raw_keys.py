"""Names, never keys: on every kind of staff page of a demo-like estate, people read as their names and codes
as their Chinese labels — no username, role, department, project, part, stage or element type shows through;
the instance export's headers are Chinese."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from app.clock import ManualClock
from app.config import PROJECT_ROOT
from app.demo.seed import DEMO_PASSWORD, DEMO_PROJECTS, DEMO_USERS, create_demo_estate, create_demo_users
from app.demo.simulation import create_demo_tickets
from app.extensions import db
from app.services.definitions.deploy import deploy_from_disk
from app.web.labels import CODE_LABELS
from tests.web.test_console import browser_of

ROLE_KEYS = {role for _, _, roles, _ in DEMO_USERS for role in roles} | {"pii_export"}
DEPARTMENT_KEYS = set(CODE_LABELS["department"])
PART_KEYS = {"structure", "roof_waterproof", "kitchen_bathroom_waterproof", "exterior_wall", "heating_cooling",
             "electrical", "plumbing", "equipment", "decoration"}
STAGE_KEYS = {stage for stage in CODE_LABELS["stage"] if "_" in stage}  # night_hold, owner_confirmation
RAW_KEYS = ({username for username, *_ in DEMO_USERS} | ROLE_KEYS | DEPARTMENT_KEYS | PART_KEYS | STAGE_KEYS
            | {key for key, *_ in DEMO_PROJECTS} | {"disk", "USER TASK", "userTask", "bpmn:"})
RAW_PHRASES = [re.compile(r"\b(reception|complaint|repair|callback) v\d"), re.compile(r"level: \d")]
# A key on its own: not inside a longer word or path ("/api/v1", "tech" in "technical" do not count).
KEY_PATTERN = re.compile(r"(?<![\w/.-])(" + "|".join(sorted(map(re.escape, RAW_KEYS), key=len, reverse=True))
                         + r")(?![\w/.-])", re.ASCII)
PAGES_OF_A_KIND = 6  # ticket, task, instance and version pages looked at, of each kind
LINKED_PAGES = (r'href="(/tickets/KF-[0-9-]+)"', r'href="(/tasks/[0-9a-f-]{36})"', r'href="(/admin/instances/\d+)"',
                r'href="(/admin/definitions/\d+)"')


class VisibleText(HTMLParser):
    """The text a person reads on a page: text nodes outside scripts, styles and templates."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


# Where a raw key is meant to be seen: a login on the people page, a code an integration uses, the admin's raw
# process variables. Such an element says so with the class "raw-key".
RAW_KEY_ELEMENT = re.compile(r"<(\w+)\b[^>]*\braw-key\b[^>]*>.*?</\1>", re.DOTALL)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(RAW_KEY_ELEMENT.sub("", page))
    return "\n".join(parser.parts)


def raw_keys_in(text: str) -> set[str]:
    """Each raw key found, with the words around it (to say where on the page it is)."""
    matches = [*KEY_PATTERN.finditer(text), *(match for phrase in RAW_PHRASES for match in phrase.finditer(text))]
    return {f"{match.group(0)} in «{text[max(match.start() - 25, 0):match.end() + 15]}»".replace("\n", " | ")
            for match in matches}


@pytest.fixture
def demo_estate(app, clock):
    """The demo's people, estates and flows, and two days of calls played through them."""
    deploy_from_disk(app.extensions["kefu"], PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms")
    create_demo_users(ManualClock(clock.now() - timedelta(days=3)))
    create_demo_estate()
    create_demo_tickets(clock.now(), app.extensions["kefu"].timezone, days=2, per_day=12)
    db.session.remove()


def links(page: str, pattern: str) -> list[str]:
    return list(dict.fromkeys(re.findall(pattern, page)))[:PAGES_OF_A_KIND]


def pages_seen_by(app, username: str, start: list[str]) -> dict[str, str]:
    """Each start page, then the ticket, task and instance pages it links to: path -> visible text."""
    browser = browser_of(app)
    assert browser.log_in(username, DEMO_PASSWORD).status_code == 302
    seen: dict[str, str] = {}
    for path in start:
        response = browser.get(path)
        assert response.status_code in (200, 403, 404), (username, path, response.status_code)
        page = response.get_data(as_text=True)
        seen[path] = visible_text(page)
        for found in (kind for pattern in LINKED_PAGES for kind in links(page, pattern)):
            if found not in seen:
                seen[found] = visible_text(browser.get(found).get_data(as_text=True))
    return seen


STAFF_PAGES = {
    "tech": ["/", "/?scope=group", "/notifications", "/account", "/admin/", "/tickets/KF-00000000-0000"],
    "agent": ["/", "/?scope=group", "/tickets/new"],
    "eng_super": ["/?scope=group", "/"],
    "eng_owner": ["/?scope=group", "/"],
    "supervisor": ["/", "/?scope=group", "/admin/", "/admin/dashboard", "/admin/unstaffed"],
    "admin": ["/admin/", "/admin/definitions", "/admin/people", "/admin/organisation",
              "/admin/organisation/projects/lanting", "/admin/settings", "/admin/reports/weekly",
              "/admin/access-log", "/admin/calendar", "/admin/unstaffed"],
    "designer": ["/designer/"],
}


def test_no_staff_page_shows_a_username_or_a_code_where_a_name_or_label_belongs(app, demo_estate):
    findings = {}
    for username, start in STAFF_PAGES.items():
        for path, text in pages_seen_by(app, username, start).items():
            found = raw_keys_in(text)
            if found:
                findings[f"{username} {path}"] = sorted(found)
    assert not findings, "raw keys on staff pages:\n" + "\n".join(f"{page}: {keys}" for page, keys in findings.items())


def test_the_instance_export_has_chinese_headers_and_labels_and_keeps_the_ticket_number(app, demo_estate):
    browser = browser_of(app)
    assert browser.log_in("admin", DEMO_PASSWORD).status_code == 302
    response = browser.get("/admin/instances/export.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in header), header
    assert body and all(re.fullmatch(r"KF-\d{8}-\d{4}", row[header.index("工单号")]) for row in body if row[
        header.index("工单号")])
    keys = {cell for row in body for cell in row} & (RAW_KEYS | {"running", "waiting", "completed"})
    assert not keys, keys


def test_error_pages_are_in_chinese_throughout_and_every_page_has_the_favicon(app, demo_estate):
    browser = browser_of(app)
    assert browser.log_in("tech", DEMO_PASSWORD).status_code == 302
    for path, status, heading in (("/admin/", 403, "您无权打开此页面"), ("/tickets/KF-00000000-0000", 404, "未找到")):
        response = browser.get(path)
        assert response.status_code == status
        text = visible_text(response.get_data(as_text=True))
        assert heading in text
        english = [line for line in text.splitlines() if re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", line)
                   and line not in ("Kefu BPM", "English")]
        assert not english, english  # no server sentence in English
        assert 'rel="icon"' in response.get_data(as_text=True)
