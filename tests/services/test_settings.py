"""Settings: the declared default until an admin changes it, read by services and by every diagram."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from app.clock import ManualClock
from app.engine.scripting import HELPER_NAMES, make_helpers
from app.engine.settings import UnknownSettingError
from app.extensions import db
from app.models.settings import Setting, SettingChange
from app.services.errors import InvalidFormError
from app.services.people.users import create_user
from app.services.settings import change_setting, get_setting
from tests.conftest import fixture_files
from tests.support.fixtures import START
from tests.web.test_api_uploads import upload

READ_FLOW = Path(__file__).with_name("setting_read.bpmn")


@contextmanager
def statements_on(table: str) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if table in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def admin_user(app, clock):
    return create_user("boss", password="secret-pw-1", roles=("admin",), clock=clock)


def _deploy_read_flow(deploy) -> None:
    deploy({"setting_read.bpmn": READ_FLOW.read_bytes(), **fixture_files("five_task.json")})


def test_every_setting_reads_its_declared_default_until_an_admin_changes_it(app):
    assert [get_setting(key) for key in ("duplicate_window_days", "repeat_repair_window_days", "reminder_fraction",
                                         "level3_extra_fraction", "consultation_reply_hours", "pause_cap_days",
                                         "callback_due_hours", "callback_retry_hours", "callback_tries",
                                         "engineer_on_call")] == [30, 90, 0.8, 0.5, 24, 3, 24, 4, 3, ""]


def test_a_changed_setting_is_what_services_read_and_the_change_is_audited(app, admin_user, clock):
    change_setting("duplicate_window_days", " 45 ", user=admin_user, clock=clock)
    assert get_setting("duplicate_window_days") == 45
    change = db.session.query(SettingChange).one()
    assert (change.key, change.old_value, change.new_value, change.changed_by_name, change.changed_at) == (
        "duplicate_window_days", 30, 45, "boss", START)


def test_typing_the_same_value_again_records_no_change(app, admin_user, clock):
    assert change_setting("pause_cap_days", "3", user=admin_user, clock=clock) is None
    assert db.session.query(SettingChange).count() == 0


@pytest.mark.parametrize(("key", "typed", "message"), [
    ("pause_cap_days", "three", "enter a whole number"),
    ("pause_cap_days", "2.5", "enter a whole number"),
    ("pause_cap_days", "0", "must be between 1 and 60"),
    ("reminder_fraction", "1.5", "must be between 0.1 and 0.99"),
    ("reminder_fraction", "nan", "enter a decimal"),
    ("engineer_on_call", "nobody", "no active user 'nobody'"),
])
def test_a_bad_value_is_refused_for_its_field_and_changes_nothing(app, admin_user, clock, key, typed, message):
    with pytest.raises(InvalidFormError) as refused:
        change_setting(key, typed, user=admin_user, clock=clock)
    assert message in str(refused.value.errors[key])  # the message id; the pages say it in Chinese
    assert db.session.query(Setting).count() == 0


def test_a_share_may_be_typed_as_a_percentage(app, admin_user, clock):
    change_setting("reminder_fraction", "75%", user=admin_user, clock=clock)
    assert get_setting("reminder_fraction") == 0.75


def test_the_engineer_on_call_is_an_existing_username_or_nobody(app, admin_user, clock):
    create_user("li_eng", password="secret-pw-1", roles=("technician",), clock=clock)
    change_setting("engineer_on_call", "li_eng", user=admin_user, clock=clock)
    assert get_setting("engineer_on_call") == "li_eng"
    change_setting("engineer_on_call", "", user=admin_user, clock=clock)
    assert get_setting("engineer_on_call") == ""


def test_an_unknown_key_names_the_known_ones(app):
    with pytest.raises(UnknownSettingError) as unknown:
        get_setting("pause_cap")
    assert "pause_cap" in str(unknown.value)
    assert "pause_cap_days" in str(unknown.value)


def test_a_diagram_reads_the_admins_value_with_setting(app, api_as, deploy, admin_user, clock):
    _deploy_read_flow(deploy)
    change_setting("pause_cap_days", "5", user=admin_user, clock=clock)
    agent = api_as("wang", "cs_agent")
    started = agent.start("setting_read").json
    data = agent.get(f"/tasks/{started['tasks'][0]['id']}").json["data"]
    assert (data["pause_limit"], data["reminder_at"]) == (5, 0.8)


def test_a_diagram_asking_for_an_unknown_setting_is_refused_at_deploy_on_the_element(api_as):
    text = READ_FLOW.read_text().replace('setting("pause_cap_days")', 'setting("pause_cap")')
    files = {"setting_read.bpmn": text.encode(), **fixture_files("five_task.json")}
    response = upload(api_as("lin", "designer"), files)
    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert (problem["file"], problem["element_id"]) == ("setting_read.bpmn", "read_limits")
    assert "setting('pause_cap') names no setting" in problem["message"]
    assert "pause_cap_days" in problem["message"]


def test_a_diagram_naming_its_settings_rightly_deploys(api_as):
    response = upload(api_as("lin", "designer"), {"setting_read.bpmn": READ_FLOW.read_bytes(),
                                                  **fixture_files("five_task.json")})
    assert response.status_code == 201, response.json  # new versions deployed


def test_a_step_pays_one_query_for_its_settings_however_often_it_reads_them(app, admin_user, clock):
    change_setting("callback_tries", "5", user=admin_user, clock=clock)
    with statements_on("setting_changes") as stamps, statements_on("FROM settings") as loads:
        values = [get_setting("callback_tries") for _ in range(10)]
        db.session.commit()
        get_setting("callback_tries")
    assert values == [5] * 10
    assert len(stamps) == 2  # one per transaction
    assert len(loads) == 1  # the values themselves only after a change


def test_a_change_made_by_another_process_is_read_by_the_next_transaction(app, admin_user, clock):
    assert get_setting("callback_tries") == 3
    # What another web or timer worker's edit leaves in the database (this process's cache is not told).
    db.session.add(Setting(key="callback_tries", value=6, updated_at=clock.now(), updated_by_id=admin_user.id))
    db.session.add(SettingChange(key="callback_tries", old_value=3, new_value=6, changed_at=clock.now(),
                                 changed_by_id=admin_user.id, changed_by_name="boss", token="f" * 32))
    db.session.commit()
    assert get_setting("callback_tries") == 6


def test_without_a_database_the_engine_offers_the_declared_defaults():
    assert "setting" in HELPER_NAMES
    helpers = make_helpers(ManualClock(START))
    assert helpers["setting"]("callback_due_hours") == 24
    with pytest.raises(UnknownSettingError):
        helpers["setting"]("callback_hours")
