"""Inputs a fuzzer or an attacker sends get a clean 4xx on both databases, never a 500."""

import pytest


@pytest.fixture
def supervisor(api_as, deploy):
    deploy()
    return api_as("wu", "eng_supervisor")


@pytest.mark.parametrize(("method", "path"), [("get", "/tasks/%00"), ("post", "/tasks/a%00b/claim"),
                                              ("post", "/tasks/%00/complete"), ("post", "/processes/%00/instances")])
def test_an_id_with_a_nul_byte_is_not_found(supervisor, method, path):
    response = supervisor.get(path) if method == "get" else supervisor.post(path, json={"data": {}})
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_form_data_with_a_nul_byte_is_refused_on_its_field(supervisor):
    pick = supervisor.start("caller").json["tasks"][0]
    response = supervisor.complete(pick["id"], {"technician": "zh\u0000eng"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["technician"]
    assert supervisor.get(f"/tasks/{pick['id']}").json["state"] == "open"


@pytest.mark.parametrize("instance_id", ["2147483648", "99999999999999999999", "0"])
def test_an_instance_id_out_of_range_is_not_found(supervisor, instance_id):
    response = supervisor.get(f"/instances/{instance_id}")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_a_unit_lookup_with_a_nul_byte_finds_nothing(supervisor):
    response = supervisor.get("/units", query_string={"project": "lanting", "q": "3\u0000"})
    assert (response.status_code, response.json["items"]) == (200, [])
