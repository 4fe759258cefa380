"""A timer may read what the system puts in a ticket's data, not only form fields."""

import io

from tests.conftest import fixture_files


def _timer_reading(expression: bytes, files: dict[str, bytes]) -> dict[str, bytes]:
    diagram = files["timer.bpmn"].replace(b'<bpmn:timeDuration>"PT4H"</bpmn:timeDuration>',
                                          b"<bpmn:timeDate>" + expression + b"</bpmn:timeDate>")
    assert diagram != files["timer.bpmn"]
    return {**files, "timer.bpmn": diagram}


def test_a_deadline_counted_from_the_reported_time_deploys(api_as):
    files = _timer_reading(b"add_hours(reported_at, 4)", fixture_files("timer.bpmn", "timer_reply.json",
                                                                       "timer_escalate.json"))
    designer = api_as("lin", "designer")
    response = designer.client.post("/api/v1/definitions", headers=designer.user.headers,
                                    data={"files": [(io.BytesIO(c), n) for n, c in files.items()]})
    assert response.status_code == 201, response.json


def test_a_deadline_reading_a_name_nothing_sets_is_refused_on_the_timer(api_as):
    files = _timer_reading(b"add_hours(reported_on, 4)", fixture_files("timer.bpmn", "timer_reply.json",
                                                                       "timer_escalate.json"))
    designer = api_as("lin", "designer")
    response = designer.client.post("/api/v1/definitions", headers=designer.user.headers,
                                    data={"files": [(io.BytesIO(c), n) for n, c in files.items()]})
    assert response.status_code == 422
    assert [p["element_id"] for p in response.json["problems"]] == ["reply_deadline"]
