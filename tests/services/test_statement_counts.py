"""The README's Performance section promises how many SQL statements a task completion costs: pinned here.

Counted as ``bench/engine_overhead.py`` counts them: the five-task fixture through the JSON API, the
statements and commits of each completion request (the third is the README's figure, the last one
also finishes the instance); and a ticket's intake and closing step on the shipped reception flow, as
``bench/http_load.py``'s throughput phase drives them.
"""

from __future__ import annotations

from app.extensions import db
from app.services.work.ticket_numbers import numbering_engine
from tests.support import count_queries
from tests.web.owner_pages import OWNER_PHONE, OWNER_UNIT

# (statements, commits) per completion: SQLite, then PostgreSQL (one statement of gated CTEs per step; the last
# completion, which finishes the instance, removes the instance's timer job in that same statement)
EXPECTED = {"sqlite": {"middle": (6, 1), "last": (6, 1)}, "postgresql": {"middle": (3, 1), "last": (3, 1)}}


def test_each_completion_of_the_five_task_process_costs_the_statements_the_readme_promises(app, api_as, deploy):
    deploy()
    agent = api_as("wang", "cs_agent")
    task_id = agent.start("five_tasks").json["tasks"][0]["id"]
    counts = []
    for step in range(5):
        with count_queries() as queries:
            response = agent.complete(task_id, {"note": f"x{step}"})
        assert response.status_code == 200, response.json
        counts.append((len(queries), queries.commits))
        if step < 4:
            task_id = response.json["tasks"][0]["id"]
    expected = EXPECTED[db.engine.dialect.name]
    assert counts[2] == expected["middle"], counts
    assert counts[4] == expected["last"], counts


# (statements, commits) of a ticket's two commonest steps through the JSON API, on the shipped reception flow:
# recording a consultation (POST /tickets: the start, the ticket row with its columns, its jobs, the owner's text,
# the counters, and the access-log line of the phone the answer shows, one commit) and answering it on the spot
# (a completion that closes the ticket: the step, the ticket's columns, its jobs, counters and facts, one commit).
# The intake reads its project and unit once (the project check finds the project in the session), reads no rung of
# its new ticket (it has none; its open tasks are the start's) and answers with the ticket's row as its INSERT returned
# it (not read again). The answer reads with its ticket whether it repairs a handover defect (not looked up again
# when the work is done) and the tasks completed since it was counted (the counters' task times: no statement of their
# own); on PostgreSQL the instance's timer job goes in the step's own statement, and the start's instance, open tasks
# and audit are one statement (steps/write.write_start). On PostgreSQL one of
# the intake's statements, its number, is committed at once on a connection of its own (services/work/
# ticket_numbers.py: the day's counter row is not held through the intake), so it is counted there and not in the
# intake's one commit.
# The working calendar's and the settings' freshness stamps and the newest bundle row come with the sign-in query
# (people/auth: the intake's deadline in working time reads no stamp of its own, and the reception's latest version is
# not read again while no bundle was added).
TICKET_STEPS = {"sqlite": {"intake": (12, 1), "answer": (11, 1)}, "postgresql": {"intake": (10, 1), "answer": (8, 1)}}
NUMBER_APART = {"sqlite": 0, "postgresql": 1}
CONSULTATION = {"project": "lanting", "unit": OWNER_UNIT, "caller_name": "王先生", "phone": OWNER_PHONE,
                "channel": "hotline", "category": "consultation", "description": "物业费怎么交？", "urgency": "normal",
                "emergency": False}


def test_a_ticket_intake_and_its_closing_answer_cost_the_statements_the_readme_promises(owner_estate, api_as):
    agent = api_as("wang", "cs_agent")
    assert agent.post("/tickets", json={"data": CONSULTATION}).status_code == 201  # the process's caches are warm
    with count_queries() as intake, count_queries(numbering_engine(db.engine)) as number:
        opened = agent.post("/tickets", json={"data": CONSULTATION})
    assert opened.status_code == 201, opened.json
    assert opened.json["ticket"]["phone"] == OWNER_PHONE  # the recorder sees it in full (logged in the same commit)
    task = opened.json["instance"]["tasks"][0]
    assert task["name"] == "answer_consultation"
    with count_queries() as answer:
        done = agent.complete(task["id"], {"answered_on_the_spot": True, "answer": "在物业 App 的“缴费”里交。"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed"
    counts = {"intake": (len(intake) + len(number), intake.commits), "answer": (len(answer), answer.commits)}
    assert counts == TICKET_STEPS[db.engine.dialect.name], (counts, intake.statements, answer.statements)
    assert len(number) == NUMBER_APART[db.engine.dialect.name], number.statements


# (statements, commits) of a task's page through the JSON API, the consultation's answer on the shipped reception
# flow: who is asking, the task with its instance, ticket, project name and whether anyone may do it (one query),
# and the access-log line of the phone its data shows (its one commit).
TASK_PAGE = {"sqlite": (3, 1), "postgresql": (3, 1)}


def test_a_task_page_costs_the_statements_pinned_here(owner_estate, api_as):
    agent = api_as("wang", "cs_agent")
    task = agent.post("/tickets", json={"data": CONSULTATION}).json["instance"]["tasks"][0]
    assert agent.get(f"/tasks/{task['id']}").status_code == 200  # the process's caches are warm
    with count_queries() as page:
        shown = agent.get(f"/tasks/{task['id']}")
    assert shown.status_code == 200, shown.json
    assert shown.json["data"]["phone"] == OWNER_PHONE and shown.json["unstaffed"] is None
    assert (len(page), page.commits) == TASK_PAGE[db.engine.dialect.name], page.statements


# (statements, commits) of a ticket search through the JSON API whose query can be three kinds of match (the phone's
# last four digits, a unit, words of a description): who is asking, each kind's ids in rank order until a page is
# full (here all three: there is one ticket), the found tickets' rows, the open tasks of the found tickets (an agent
# sees a phone in full on a ticket whose task they may do: ``inbox.instances_with_phone_shown``), and the access-log
# line of the phones the page shows in full (its one commit). The kinds as subqueries of one statement (with the
# rows) took 7 to 4-5 statements but cost the service 0.6-1.2 ms more per search on a million tickets (the early stop
# is lost, and the one statement is heavier to plan): not kept (README, Performance).
SEARCH = {"sqlite": (7, 1), "postgresql": (7, 1)}


def test_a_ticket_search_costs_the_statements_pinned_here(owner_estate, api_as):
    agent = api_as("wang", "cs_agent")
    assert agent.post("/tickets", json={"data": CONSULTATION}).status_code == 201
    tail = OWNER_PHONE[-4:]
    assert agent.get("/tickets", query_string={"q": tail}).status_code == 200  # the process's caches are warm
    with count_queries() as search:
        found = agent.get("/tickets", query_string={"q": tail})
    assert found.status_code == 200, found.json
    assert [item["phone"] for item in found.json["items"]] == [OWNER_PHONE]
    assert (len(search), search.commits) == SEARCH[db.engine.dialect.name], search.statements
