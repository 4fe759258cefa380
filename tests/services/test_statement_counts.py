"""The README's Performance section promises how many SQL statements a task completion costs: pinned here.

Counted as ``bench/engine_overhead.py`` counts them: the five-task fixture through the JSON API, the
statements and commits of each completion request (the third is the README's figure, the last one
also finishes the instance).
"""

from __future__ import annotations

from app.extensions import db
from tests.support import count_queries

# (statements, commits) per completion: SQLite, then PostgreSQL (one statement of gated CTEs per step;
# the last completion, which finishes the instance, needs one more there)
EXPECTED = {"sqlite": {"middle": (6, 1), "last": (6, 1)}, "postgresql": {"middle": (3, 1), "last": (4, 1)}}


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
