"""The demo month: calls played through the real flows as the demo users, on a manual clock (`flask demo`)."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from app.clock import ManualClock
from app.demo.answers import Desk, answer
from app.demo.calls import Call, Case, plan_calls
from app.demo.seed import DEMO_USERS
from app.extensions import db
from app.models import ACTIVE_STATUSES, Bundle, ProcessInstance, Ticket, User
from app.models.jobs import OutboxMessage
from app.services.access import may_act_on_task
from app.services.errors import InstanceNotActiveError, NotFoundError, ServiceError, TaskNotOpenError
from app.services.people.auth import Principal, principal_for_user
from app.services.runtime import Runtime, build_runtime
from app.services.steps.plan import InstanceOutcome, TaskSnapshot, open_tasks_of, step_transaction
from app.services.work.tasks import claim_task, complete_task
from app.services.work.tickets import RECEPTION, open_ticket
from app.services.work.timers import fire_due_timers

# Demo tickets: a month at the hotline, played through the real flows.
#
# Every ticket is opened with open_ticket and moved with complete_task / claim_task / fire_due_timers as the
# demo user whose role and department the task asks for, on a ManualClock that walks from `days` ago to now.
# So the instance state, task index, audit log and ticket columns are what the services wrote, nothing is
# made up afterwards. Staff act after realistic delays (office hours for the back office; technicians and the
# front desk also at weekends); whatever would happen after now has not happened yet, so older tickets are
# closed and recent ones stand at every stage.

DEMO_DAYS = 30
DEMO_STAFF = ("agent", "night", "supervisor", "eng_owner", "design_owner", "sales_owner", "prop_owner", "head",
              "eng_super", "tech", "prop_tech", "manager")
# Per task: minutes until staff act (from, to) and whether it waits for office hours.
DELAYS: dict[str, tuple[int, int, bool]] = {
    "morning_handover": (5, 40, False), "answer_consultation": (1, 8, False),
    "forward_to_department": (2, 20, False), "reply_consultation": (60, 420, True), "chase_reply": (15, 90, True),
    "arrange_service": (30, 300, True), "acknowledge": (60, 600, True), "call_owner": (10, 120, True),
    "judge_validity": (10, 60, False), "explain_to_owner": (20, 120, True),
    "supervisor_review_invalid": (60, 480, True), "contact_and_investigate": (60, 480, True),
    "propose_solution": (60, 480, True), "approve_solution": (30, 240, True), "implement_solution": (240, 1440, True),
    "resume_work": (600, 1800, True), "confirm_with_owner": (30, 180, True), "supervisor_follow_up": (20, 180, True),
    "classify": (30, 240, True), "dispatch_technician": (10, 60, True), "agree_appointment": (10, 60, True),
    "inspect_on_site": (0, 40, False), "owner_consents": (20, 240, False), "carry_out_repair": (30, 240, True),
    "parts_arrived": (1440, 4320, True), "owner_acceptance": (10, 60, False), "confirm_repair": (30, 240, True),
    "eng_supervisor_follow_up": (20, 180, True), "manager_review": (60, 480, True),
}
# Where the work is done: a slow ticket takes its time here, a stalled one waits here until someone notices.
WORK_TASKS = frozenset({"reply_consultation", "arrange_service", "acknowledge", "contact_and_investigate",
                        "propose_solution", "implement_solution", "agree_appointment", "carry_out_repair",
                        "confirm_repair"})
# An urgent repair goes out at once, at any hour (the on-call supervisor and technician).
URGENT_TASKS = frozenset({"dispatch_technician", "agree_appointment", "inspect_on_site", "carry_out_repair",
                          "owner_acceptance"})
TIMER_POLL = timedelta(minutes=1)  # a timer worker notices a due timer within a minute


def create_demo_tickets(now: datetime, timezone: str, *, days: int = DEMO_DAYS, per_day: int = 10,
                        seed: int = 2026) -> Counter[str]:
    """Play about ``per_day`` calls a day of the last ``days`` days through the deployed flows.

    Needs the demo users, the demo estate and a deployed reception flow; does nothing when tickets exist.
    Returns the tickets by stage (``closed`` for closed ones).
    """
    if db.session.scalars(select(Ticket.id).limit(1)).first() is not None:
        return Counter()
    if db.session.scalars(select(Bundle.id).where(Bundle.process_id == RECEPTION).limit(1)).first() is None:
        raise NotFoundError("流程未部署 / the reception flow is not deployed: run flask deploy first")
    clock = ManualClock(now - timedelta(days=days))
    simulation = _Simulation(build_runtime(clock, timezone), clock, random.Random(seed))  # noqa: S311 - demo data
    simulation.run(plan_calls(simulation.rng, clock.now(), now, ZoneInfo(timezone), per_day), until=now)
    _mark_past_texts_sent()
    return Counter(dict(db.session.execute(
        select(func.coalesce(Ticket.stage, "intake"), func.count()).group_by(Ticket.stage)).all()))


def _mark_past_texts_sent() -> None:
    """The month played is the past: its owners' texts went out then, not when the worker first starts."""
    outbox = OutboxMessage.__table__
    db.session.execute(update(outbox).where(outbox.c.status == "pending")
                       .values(status="sent", sent_at=outbox.c.created_at, attempts=1))
    db.session.commit()


def describe_tickets(by_stage: Counter[str], days: int) -> str:
    """One line: how many tickets, how many closed, and where the open ones stand."""
    open_ones = sorted(((count, stage) for stage, count in by_stage.items() if stage != "closed"),
                       key=lambda item: (-item[0], item[1]))
    stages = ", ".join(f"{stage} {count}" for count, stage in open_ones)
    return (f"demo tickets: {by_stage.total()} over the last {days} days, {by_stage['closed']} closed, "
            f"{sum(count for count, _ in open_ones)} open ({stages or 'none'})")


class _Simulation:
    """The event queue: calls, staff actions and timer firings in time order, on one manual clock."""

    def __init__(self, rt: Runtime, clock: ManualClock, rng: random.Random) -> None:
        self.rt, self.clock, self.rng = rt, clock, rng
        self.zone = ZoneInfo(rt.timezone)
        self.desk = Desk(rt, clock, rng, self.zone)
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.counter = itertools.count()
        self.staff = _demo_staff()

    def run(self, calls: list[Call], *, until: datetime) -> None:
        for call in calls:
            self.at(call.at, lambda call=call: self.receive(call))  # type: ignore[misc]
        while self.queue and self.queue[0][0] <= until:
            day_ends = self._day_end(self.queue[0][0])
            # A day's steps commit together (the services join an outer step_transaction): the same rows as a
            # commit per step, without a disk sync per step.
            with step_transaction():
                while self.queue and self.queue[0][0] <= min(day_ends, until):
                    moment, _, action = heapq.heappop(self.queue)
                    self.clock.set(max(moment, self.clock.now()))
                    try:
                        action()
                    except ServiceError as exc:  # a flow or service the demo does not fit: a bug to look at
                        raise RuntimeError(f"demo tickets stopped at {self.clock.now().isoformat()}: "
                                           f"{exc.message}") from exc
        self.clock.set(until)

    def _day_end(self, moment: datetime) -> datetime:
        return datetime.combine(moment.astimezone(self.zone).date() + timedelta(days=1), time(), self.zone)

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (moment, next(self.counter), action))

    # --- what happens -------------------------------------------------------------------------------------

    def receive(self, call: Call) -> None:
        local_hour = self.clock.now().astimezone(self.zone).hour
        user = self.staff["night" if local_hour >= 20 or local_hour < 8 else "agent"]
        opened = open_ticket(self.rt, call.intake, user=user)
        case = Case(call, opened.ticket_id, opened.instance.instance_id)
        self.follow(case, opened.instance)

    def act(self, case: Case, task: TaskSnapshot) -> None:
        user = self._actor(task)
        data = answer(self.desk, case, task, user)
        try:
            outcome = complete_task(self.rt, task.id, data, user=user)
        except (TaskNotOpenError, InstanceNotActiveError):
            return  # a timer took the task away meanwhile (an overdue reply goes to the supervisor); nothing written
        case.done[task.element_id] += 1
        self.follow(case, outcome)
        if outcome.status == "completed" and "dissatisfied" in case.call.fates:
            self.follow_reopened(case)

    def claim(self, task: TaskSnapshot) -> None:
        with contextlib.suppress(TaskNotOpenError):  # raised before any write: the day's transaction goes on
            claim_task(self.rt, task.id, user=self._actor(task))

    def fire(self, case: Case) -> None:
        if case.next_timer_at is not None and case.next_timer_at < self.clock.now():  # else moved or gone
            self.follow(case, fire_due_timers(self.rt, case.instance_id))

    def follow(self, case: Case, outcome: InstanceOutcome) -> None:
        """Queue an action for every new open task, and a firing for the instance's next timer."""
        if outcome.status == "error":
            error = db.session.scalar(select(ProcessInstance.error).where(ProcessInstance.id == case.instance_id))
            raise RuntimeError(f"instance {case.instance_id} of ticket {case.ticket_id} failed: {error}")
        for task in outcome.open_tasks:
            if task.id not in case.planned:
                case.planned.add(task.id)
                self._plan(case, task)
        case.next_timer_at = None
        if outcome.status in ACTIVE_STATUSES:
            case.next_timer_at = due = db.session.scalar(select(ProcessInstance.next_timer_at)
                                                         .where(ProcessInstance.id == case.instance_id))
            if due is not None and due not in case.timers:
                case.timers.add(due)
                self.at(max(due, self.clock.now()) + TIMER_POLL, lambda: self.fire(case))

    def follow_reopened(self, case: Case) -> None:
        row = db.session.execute(select(Ticket.id, Ticket.instance_id)
                                 .where(Ticket.reopened_from_id == case.ticket_id)).first()
        if row is None:
            return
        department = case.call.content[2] if case.call.intake["category"] == "complaint" else "property"
        content = ("回访不满意", "property_service", department, "other", "service_attitude",
                   "首次处理未彻底解决业主问题。", "主管带队上门，重新处理并每日回报进度。")
        reopened = Call(self.clock.now(), {**case.call.intake, "category": "complaint"}, content, {"revise"})
        new_case = Case(reopened, row.id, row.instance_id)
        self.follow(new_case, InstanceOutcome(row.instance_id, "running", open_tasks_of(row.instance_id)))

    def _plan(self, case: Case, task: TaskSnapshot) -> None:
        fates, element = case.call.fates, task.element_id
        if "stalled" in fates and element in WORK_TASKS:
            return  # nobody picks it up: it shows as overdue on the dashboards
        low, high, office = DELAYS.get(element, (10, 120, True))
        if element in URGENT_TASKS and case.call.intake["urgency"] == "urgent":
            low, high, office = low // 4, high // 4, False
        minutes = self.rng.uniform(low, high)
        case.seen[element] += 1
        if "slow" in fates and element in WORK_TASKS and case.seen[element] == 1:
            minutes = minutes * self.rng.uniform(3, 6) + 600
        moment = self.clock.now() + timedelta(minutes=minutes)
        if element == "inspect_on_site":
            moment = max(case.appointment or moment, self.clock.now()) + timedelta(minutes=minutes)
        if office:
            moment = self.desk.office_hours(moment)
        if minutes > 45 and self.rng.random() < 0.4:  # picked up early, finished later
            claim_at = self.clock.now() + timedelta(minutes=self.rng.uniform(5, min(minutes, 60)))
            self.at(self.desk.office_hours(claim_at) if office else claim_at, lambda: self.claim(task))
        self.at(moment, lambda: self.act(case, task))

    def _actor(self, task: TaskSnapshot) -> Principal:
        if task.assignee:
            return self.staff[task.assignee]
        for username in DEMO_STAFF:
            if may_act_on_task(self.staff[username], task):
                return self.staff[username]
        raise RuntimeError(f"no demo user may act on {task.element_id} ({task.role}, {task.department})")


def _demo_staff() -> dict[str, Principal]:
    """The demo users who work the tickets, as they stand in the database now."""
    wanted = {username: (set(roles), set(departments)) for username, _, roles, departments in DEMO_USERS}
    staff = {}
    for username in DEMO_STAFF:
        user = db.session.scalars(select(User).where(User.username == username)).first()
        principal = principal_for_user(user.id) if user is not None else None
        roles, departments = wanted[username]
        if principal is None or not (roles <= principal.role_keys and departments <= principal.department_keys):
            raise NotFoundError(f"演示用户 {username} 缺失或已改动 / demo user {username} is missing or changed: "
                                "demo tickets need the demo users of a new database")
        staff[username] = principal
    return staff
