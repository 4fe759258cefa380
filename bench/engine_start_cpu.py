"""CPU time of ``Engine.start`` and of one completion on the shipped reception process, in-process, no database.

Compiles ``bpmn/reception.bpmn`` (with the flows it calls, every shipped DMN table and form) the way the
deploy service does, starts a repair ticket through the intake data a hotline agent submits, and completes
the first ready task; prints the median CPU time (``time.process_time``) of each over the rounds, and the
number of expression evaluations a start makes.

    .venv/bin/python bench/engine_start_cpu.py [--rounds 200] [--profile start|complete [--sort tottime] [--top 40]]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.clock import ManualClock  # noqa: E402
from app.engine import Engine, StepResult, scripting  # noqa: E402
from app.services.work.forms import clean_submission  # noqa: E402
from tests.flows.conftest import shipped_texts  # noqa: E402
from tests.support.compiling import deploy_texts  # noqa: E402
from tests.support.fixtures import START  # noqa: E402

DIAGRAMS = ("reception.bpmn", "complaint.bpmn", "repair.bpmn", "callback.bpmn")


def make_engine() -> tuple[Engine, dict[str, Any]]:
    deployment = deploy_texts(shipped_texts(*DIAGRAMS))
    assert not deployment.problems, deployment.problems
    specs: dict[str, str] = {}
    engine = Engine(specs.__getitem__, ManualClock(START))
    for process_id, bundle in deployment.bundles.items():
        specs[process_id] = engine.register_bundle(process_id, bundle)
    return engine, deployment.forms


def intake(forms: dict[str, Any]) -> dict[str, Any]:
    data = clean_submission(forms["reception_intake.json"], {
        "project": "翠湖花园", "unit": "3栋-1202", "caller_name": "王先生", "phone": "13812345678",
        "channel": "hotline", "category": "repair", "part": "plumbing", "description": "卫生间地面渗水到楼下。",
        "urgency": "normal", "emergency": False})
    return {**data, "ticket_number": "KF-20260302-0001", "reported_at": START.isoformat(),
            "handover_date": "2024-06-30", "common_area": False, "reopened_from": None,
            "escalation_level": 0, "rework_count": 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--profile", choices=("start", "complete"))
    parser.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    opts = parser.parse_args()
    engine, forms = make_engine()
    data = intake(forms)
    first = engine.start("reception", data)
    task = first.ready_tasks[0]

    def start() -> StepResult:
        return engine.start("reception", data)

    def complete() -> StepResult:
        return engine.complete(first.state, task.task_id, {})

    for _ in range(10):
        start()
    evaluations = 0
    evaluate = scripting.RestrictedEnvironment.evaluate

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal evaluations
        evaluations += 1
        return evaluate(self, *args, **kwargs)

    scripting.RestrictedEnvironment.evaluate = counting  # type: ignore[method-assign]
    start()
    scripting.RestrictedEnvironment.evaluate = evaluate  # type: ignore[method-assign]
    if opts.profile:
        profile = cProfile.Profile(time.process_time)
        run = start if opts.profile == "start" else complete
        profile.runcall(lambda: [run() for _ in range(opts.rounds)])
        pstats.Stats(profile).sort_stats(opts.sort).print_stats(opts.top)
        return
    for name, run in (("start", start), ("complete", complete)):
        samples = []
        for _ in range(opts.rounds):
            began = time.process_time()
            run()
            samples.append(time.process_time() - began)
        print(f"{name}: median {statistics.median(samples) * 1e3:.2f} ms CPU, min {min(samples) * 1e3:.2f} ms, "
              f"mean {statistics.mean(samples) * 1e3:.2f} ms ({opts.rounds} rounds)")
    print(f"expression evaluations per start: {evaluations}; first ready task {task.name}")


if __name__ == "__main__":
    main()
