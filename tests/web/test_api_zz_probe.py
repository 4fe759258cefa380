import io, json, shutil
from app.services.deploy import deploy_from_disk
from tests.conftest import FIXTURES, fixture_files

def upload(client, user, files):
    return client.post("/api/v1/definitions", data={"files": [(io.BytesIO(c), n) for n, c in files.items()]},
                       headers=user.user.headers, content_type="multipart/form-data")

def test_probe(api_as, deploy, client, app, tmp_path):
    print("BIGID", api_as("x", "admin").get("/instances/99999999999999999999").status_code)
    for f in FIXTURES.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    rt = app.extensions["kefu"]
    print("DISK1", [(v.process_id, v.version) for v in deploy_from_disk(rt, tmp_path, tmp_path)])
    designer = api_as("d", "designer")
    agent = api_as("a", "cs_agent")
    r = upload(client, designer, fixture_files())
    print("SAME", r.status_code, r.json)
    inst = agent.start("lanes_demo").json
    form = json.loads(fixture_files("lanes_record.json")["lanes_record.json"])
    form["required"] = ["summary", "phone"]
    r = upload(client, designer, {"lanes_record.json": json.dumps(form).encode()})
    print("V2", r.status_code, r.json)
    r = agent.complete(inst["tasks"][0]["id"], {"summary": "s"})
    print("OLD", r.status_code, r.json["status"])
    inst2 = agent.start("lanes_demo").json
    print("NEW", agent.complete(inst2["tasks"][0]["id"], {"summary": "s"}).json)
    print(agent.get(f"/instances/{inst2['id']}").json["bundle_version"])
    r = upload(client, designer, {"callee.bpmn": fixture_files("callee.bpmn")["callee.bpmn"].replace(b"Repair", b"Repair!")})
    print("CALLEE", r.status_code, r.json)
    print("DISK2", deploy_from_disk(rt, tmp_path, tmp_path))
    r = app.test_cli_runner().invoke(args=["deploy"])
    print("CLI", r.exit_code, r.output)
    print([(p["id"], p["version"]) for p in api_as("root", "admin").get("/processes").json["items"]])
