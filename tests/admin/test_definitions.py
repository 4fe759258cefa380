"""The definitions page: every flow with its versions, who deployed them, instance counts, and where
instances wait or failed, per element of the diagram."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Bundle
from tests.admin.instances_support import NO_CONDITION_FIXED, Estate, build_estate, fail_at_gateway


@pytest.fixture
def estate(app, clock, deploy) -> Estate:
    return build_estate(app, clock, deploy)


def test_every_flow_is_listed_with_its_versions_and_instance_counts(estate, deploy):
    fail_at_gateway(estate)
    estate.start("no_condition")
    deploy({"no_condition.bpmn": NO_CONDITION_FIXED.encode()})
    estate.open_ticket()
    page = estate.browser("boss").get("/admin/definitions").get_data(as_text=True)
    section = page[page.index('data-process="no_condition"'):]
    section = section[:section.index("</section>")]
    assert section.index('data-version="2"') < section.index('data-version="1"')  # newest first
    first = section[section.index('data-version="1"'):]
    assert re.search(r'class="count-total"[^>]*>2<', first)
    assert re.search(r'class="count-active">1<', first)
    assert re.search(r'class="count-error">.*?>1</a>', first)
    assert 'data-process="reception"' in page


def test_a_version_page_counts_waiting_and_failed_instances_per_element(estate):
    fail_at_gateway(estate)
    estate.start("no_condition")
    estate.start("no_condition")
    bundle_id = db.session.scalar(select(Bundle.id).where(Bundle.process_id == "no_condition"))
    response = estate.browser("root").get(f"/admin/definitions/{bundle_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    config = json.loads(html.unescape(re.search(r"data-config='([^']+)'", page).group(1)))
    # the failed instance's task stays open at "choose" (its state is the one before the failing step)
    assert config["elements"]["no_condition"]["choose"] == {"waiting": 3, "failed": 0}
    assert config["elements"]["*"]["gw_choose"] == {"waiting": 0, "failed": 1}
    assert config["mode"] == "version"
    assert "bpmn-navigated-viewer.production.min.js" in page


def test_an_unknown_version_is_a_404_page(estate):
    assert estate.browser("root").get("/admin/definitions/99999").status_code == 404
