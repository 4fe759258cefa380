def test_engineering_supervisor_dispatches_and_assigned_technician_completes(api_as, deploy):
    deploy()
    supervisor = api_as("wu", "eng_supervisor")
    technician = api_as("zheng", "technician")
    started = supervisor.start("caller")
    assert started.status_code == 201
    pick = started.json["tasks"][0]
    assert (pick["name"], pick["role"]) == ("pick", "eng_supervisor")
    repair = supervisor.complete(pick["id"], {"technician": "zheng"}).json["tasks"][0]
    assert repair["assignee"] == "zheng"
    done = technician.complete(repair["id"], {"hours": 2})
    assert done.json["status"] == "completed"
