"""Form submissions are checked the way a person filling them expects."""

import pytest

from app.services.errors import InvalidFormError
from app.services.work.forms import clean_submission

MONEY_FORM = {"type": "object", "properties": {"fee": {"type": "number", "multipleOf": 0.01, "x-widget": "money"}}}


@pytest.mark.parametrize("amount", [19.99, 0.07, 1234.56, 100, 0])
def test_amounts_in_yuan_and_fen_are_accepted(amount):
    assert clean_submission(MONEY_FORM, {"fee": amount}) == {"fee": amount}


def test_an_amount_finer_than_one_fen_is_refused_on_its_field():
    with pytest.raises(InvalidFormError) as refused:
        clean_submission(MONEY_FORM, {"fee": 19.999})
    assert list(refused.value.errors) == ["fee"]


@pytest.mark.parametrize("amount", [1e30, 1e300, 12345678901234567890123456789.5])
def test_an_absurdly_large_amount_is_refused_on_its_field_not_a_crash(amount):
    with pytest.raises(InvalidFormError) as refused:
        clean_submission(MONEY_FORM, {"fee": amount})
    assert list(refused.value.errors) == ["fee"]


def test_every_missing_required_field_is_named():
    form = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a", "b"]}
    with pytest.raises(InvalidFormError) as refused:
        clean_submission(form, {})
    assert sorted(refused.value.errors) == ["a", "b"]


def test_a_nested_field_error_has_a_dotted_path():
    form = {"type": "object", "properties": {"contact": {"type": "object", "properties": {
        "phone": {"type": "string", "pattern": "^1[3-9]\\\\d{9}$"}}}}}
    with pytest.raises(InvalidFormError) as refused:
        clean_submission(form, {"contact": {"phone": "12345"}})
    assert list(refused.value.errors) == ["contact.phone"]


def test_the_people_a_dispatch_form_offers_are_the_active_technicians_of_the_department(app, clock):
    from app.services.people.users import create_user, people_with_role

    create_user("zheng", password="pw-123456", roles=["technician"], departments=["engineering"], clock=clock,
                display_name="郑师傅")
    create_user("qian", password="pw-123456", roles=["technician"], departments=["property"], clock=clock)
    create_user("wu", password="pw-123456", roles=["eng_supervisor"], departments=["engineering"], clock=clock)
    assert people_with_role("technician", department="engineering") == [("zheng", "郑师傅")]
    assert {name for name, _ in people_with_role("technician")} == {"zheng", "qian"}


DATE_TIME_FORM = {"type": "object", "properties": {"visit_at": {"type": "string", "format": "date-time"}}}


def test_a_date_time_with_its_offset_is_accepted():
    assert clean_submission(DATE_TIME_FORM, {"visit_at": "2026-01-05T09:30:00+08:00"}) == {
        "visit_at": "2026-01-05T09:30:00+08:00"}


@pytest.mark.parametrize("value", ["tomorrow", "2026-01-05T09:30:00", "2026-01-05", "2026-13-05T09:30:00+08:00"])
def test_a_date_time_field_refuses_what_is_not_an_rfc3339_time(value):
    # jsonschema checks "date-time" only when rfc3339-validator is installed (setup.cfg depends on it).
    with pytest.raises(InvalidFormError) as refused:
        clean_submission(DATE_TIME_FORM, {"visit_at": value})
    assert list(refused.value.errors) == ["visit_at"]
