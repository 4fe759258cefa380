"""Demo data for a new development database: one user per role of domain.md, projects and units."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from app.clock import Clock, ManualClock
from app.extensions import db
from app.models import ACTIVE_STATUSES, Bundle, ProcessInstance, Project, Ticket, Unit, User
from app.models.jobs import OutboxMessage
from app.services.access import may_act_on_task
from app.services.errors import (
    InstanceNotActiveError,
    NotFoundError,
    ServiceError,
    TaskNotOpenError,
)
from app.services.people.auth import Principal, principal_for_user
from app.services.people.users import create_user
from app.services.runtime import Runtime, build_runtime
from app.services.steps.plan import InstanceOutcome, TaskSnapshot, open_tasks_of, step_transaction
from app.services.work.tasks import claim_task, complete_task, get_task
from app.services.work.tickets import RECEPTION, open_ticket
from app.services.work.timers import fire_due_timers

# Departments: every lane of every flow has a person in every department it can narrow to (tests/
# test_demo_lanes.py walks the diagrams): the property department's owner also runs life services, the
# department head leads all five, the engineering supervisor also dispatches the property's own maintenance
# (repairs outside warranty) to the property's technician.
# Fixed on purpose: printed on screen by `flask demo`, refused outside development.
DEMO_PASSWORD = "kefu-demo-2026"  # noqa: S105 - a documented demo password, development only

DEMO_USERS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("agent", "王丽 (客服专员)", ("cs_agent",), ()),
    ("night", "李强 (中控室保安)", ("night_security",), ()),
    ("supervisor", "陈静 (客服主管)", ("cs_supervisor",), ()),
    ("eng_owner", "赵工 (工程部责任人)", ("dept_owner",), ("engineering",)),
    ("design_owner", "钱工 (设计部责任人)", ("dept_owner",), ("design",)),
    ("sales_owner", "林娜 (营销部责任人)", ("dept_owner",), ("sales",)),
    ("prop_owner", "孙敏 (物业责任人)", ("dept_owner",), ("property", "service")),
    ("head", "周总 (部门领导)", ("dept_head",), ("engineering", "design", "sales", "property", "service")),
    ("eng_super", "吴工 (工程部主管)", ("eng_supervisor",), ("engineering", "property")),
    ("tech", "郑师傅 (维修人员)", ("technician",), ("engineering",)),
    ("prop_tech", "杨师傅 (物业维修人员)", ("technician",), ("property",)),
    ("manager", "冯经理 (物业经理)", ("property_manager",), ()),
    ("designer", "何设计 (流程设计)", ("designer",), ()),
    ("admin", "系统管理员", ("admin",), ()),
)


# Mobiles of the people a night emergency texts: the CS supervisor and the engineers who may be on call.
DEMO_PHONES = {"supervisor": "13800138001", "eng_super": "13800138002", "tech": "13800138003",
               "prop_tech": "13800138004"}


def create_demo_users(clock: Clock) -> list[User]:
    if db.session.scalars(select(User).limit(1)).first() is not None:
        return []
    return [create_user(username, password=DEMO_PASSWORD, roles=roles, departments=departments,
                        display_name=name, phone=DEMO_PHONES.get(username), clock=clock)
            for username, name, roles, departments in DEMO_USERS]


DEMO_PROJECTS = (("lanting", "兰亭苑", "杭州", date(2019, 6, 30)), ("binjiang", "滨江府", "杭州", date(2022, 12, 28)),
                 ("cuihu", "翠湖花园", "苏州", date(2016, 9, 1)))
COMMON_AREAS = ("地下车库", "中心花园", "1栋电梯", "小区大门", "会所")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞")


def create_demo_estate(seed: int = 2026) -> int:
    """Three projects with their units and common areas; returns how many units were made."""
    if db.session.scalars(select(Project).limit(1)).first() is not None:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    units = []
    for key, name, city, handover in DEMO_PROJECTS:
        db.session.add(Project(key=key, name=name, city=city))
        for building in range(1, 7):
            for floor in range(1, 19, 3):
                for room in (1, 2):
                    units.append(_demo_unit(rng, key, f"{building}栋-{floor:02d}{room:02d}", handover))
        units += [Unit(project_key=key, code=area, is_common_area=True, handover_date=handover)
                  for area in COMMON_AREAS]
    db.session.add_all(units)
    db.session.commit()
    return len(units)


def _demo_unit(rng: random.Random, project_key: str, code: str, handover: date) -> Unit:
    building, _, room = code.partition("-")
    return Unit(project_key=project_key, code=code, building=building, room=room,
                owner_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                owner_phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                handover_date=handover + timedelta(days=rng.randrange(0, 120)))


# ---------------------------------------------------------------------------------------------------------------
# Demo tickets: a month at the hotline, played through the real flows.
#
# Every ticket is opened with open_ticket and moved with complete_task / claim_task / fire_due_timers as the
# demo user whose role and department the task asks for, on a ManualClock that walks from `days` ago to now.
# So the instance state, task index, audit log and ticket columns are what the services wrote, nothing is
# made up afterwards. Staff act after realistic delays (office hours for the back office; technicians and the
# front desk also at weekends); whatever would happen after now has not happened yet, so older tickets are
# closed and recent ones stand at every stage.

DEMO_DAYS = 30
CATEGORY_WEIGHTS = {"repair": 40, "consultation": 22, "life_service": 13, "complaint": 13, "suggestion": 4,
                    "praise": 4, "other": 4}
CHANNEL_WEIGHTS = {"hotline": 70, "online": 15, "walk_in": 12, "email": 2, "fax": 1}
# description, part, emergency
UNIT_REPAIRS = (
    ("卫生间地面渗水，楼下天花板有水渍。", "kitchen_bathroom_waterproof", False),
    ("顶层卧室天花板渗漏，下雨天往下滴水。", "roof_waterproof", False),
    ("外墙渗水，客厅墙面发霉起皮。", "exterior_wall", False),
    ("厨房水管爆裂，水流不止，已关总阀。", "plumbing", True),
    ("马桶下水堵塞，地漏反水。", "plumbing", False),
    ("地暖不热，分水器有异响。", "heating_cooling", False),
    ("客厅插座跳闸，半个屋子停电。", "electrical", True),
    ("入户门锁坏了，钥匙拧不动。", "other", False),
    ("木地板起拱开裂。", "decoration", False),
    ("阳台推拉门变形，关不严。", "decoration", False),
    ("热水器安装位置漏水。", "equipment", False),
    ("厨房墙砖空鼓脱落。", "decoration", False),
)
# area, description, part, emergency
COMMON_REPAIRS = (
    ("1栋电梯", "1栋电梯故障，有人被困在轿厢里。", "equipment", True),
    ("1栋电梯", "电梯运行时有异响，门关不严。", "equipment", False),
    ("地下车库", "地下车库顶板渗水，车被淋湿。", "roof_waterproof", False),
    ("中心花园", "中心花园路灯不亮，晚上很黑。", "electrical", False),
    ("小区大门", "小区大门道闸无法抬杆。", "equipment", False),
    ("会所", "会所卫生间水龙头一直滴水。", "plumbing", False),
)
# description, complaint type, department, hot spot, root cause, cause, solution
COMPLAINTS = (
    ("楼上装修噪音扰民，早上七点就开始电钻。", "property_service", "property", "noise", "property_management",
     "装修巡查不到位，未按规定时间施工。", "约谈装修户，限定施工时间，加强巡查。"),
    ("卫生间渗漏报修两次仍未修好。", "leak_crack", "engineering", "leak_crack", "product_quality",
     "防水层破损，前两次只做了表面处理。", "重做卫生间防水，闭水试验 48 小时。"),
    ("地下车库雨天积水，物业处理不及时。", "property_service", "property", "car_park_flooding",
     "property_management", "排水泵故障未及时发现。", "更换排水泵，雨天安排专人值守。"),
    ("保安夜间不巡逻，单元门经常开着。", "property_service", "property", "security", "service_attitude",
     "夜班人员脱岗。", "调整夜班排班，单元门加装闭门器。"),
    ("小区绿化长期无人修剪，杂草丛生。", "property_service", "property", "landscaping", "property_management",
     "园林班组人手不足。", "本周内完成修剪，制定每月养护计划。"),
    ("外墙瓷砖开裂脱落，存在安全隐患。", "safety", "engineering", "leak_crack", "product_quality",
     "外墙饰面粘结不牢。", "拉设警戒线，搭吊篮逐块检查并重新粘贴。"),
    ("垃圾清运不及时，楼道有异味。", "property_service", "property", "cleaning", "property_management",
     "清运车辆调度延误。", "改为每日两次清运，楼道消毒。"),
    ("新房墙面多处裂缝，交房时没发现。", "leak_crack", "engineering", "leak_crack", "product_quality",
     "墙体抹灰收缩裂缝。", "开槽修补后重新刷漆。"),
)
# description, answer on the spot, department to forward to when it cannot be answered
CONSULTATIONS = (
    ("物业费怎么交，截止到哪天？", "可在物业 App、前台或银行代扣缴纳，本季度截止到月底。", "property"),
    ("装修需要办什么手续，押金怎么退？", "到前台办理装修登记，验收合格后 30 天内退还押金。", "property"),
    ("停车位月租怎么办理？", "带行驶证到前台登记，月租 300 元。", "property"),
    ("小区什么时候停水检修？", "本周四 9:00-15:00 停水，已在各单元张贴通知。", "property"),
    ("门禁卡丢了怎么补办？", "带身份证到前台补办，工本费 20 元。", "property"),
    ("房子的防水保修到什么时候？", "防水保修 5 年，自交房之日起算。", "engineering"),
    ("想加装阳台窗户，需要报批吗？", "需提交图纸到工程部审核。", "engineering"),
)
LIFE_SERVICES = (
    ("快递代收，这周末家里没人。", "已登记，快递放前台，业主凭取件码领取。"),
    ("需要预约家政保洁，周六上午。", "已安排周六 9 点保洁两人上门。"),
    ("钥匙寄存，亲戚下午来取。", "钥匙已寄存前台，核对身份后交给亲戚。"),
    ("预约搬家，需要临时开放货梯。", "已安排周日上午货梯专用，并铺设保护板。"),
    ("代订桶装水两桶。", "已联系送水公司，下午送到。"),
    ("家里空调要清洗，请推荐师傅。", "已预约合作商家明天上门清洗。"),
)
# description, department
FORWARDS = {
    "suggestion": (("建议中心花园增加儿童游乐设施。", "property"), ("建议地下车库增设电动车充电桩。", "engineering"),
                   ("建议快递柜延长开放时间。", "property")),
    "praise": (("感谢郑师傅上门及时、态度好。", "engineering"), ("表扬保洁阿姨，楼道打扫得很干净。", "property"),
               ("感谢保安帮忙把老人送回家。", "property")),
    "other": (("楼下商铺油烟很大，不知道该找谁。", "property"), ("捡到一个钱包，交到前台。", "property")),
}
SIGNED = "纸质工单已签字 / signed on the paper work order"
DEMO_STAFF = ("agent", "night", "supervisor", "eng_owner", "design_owner", "sales_owner", "prop_owner", "head",
              "eng_super", "tech", "prop_tech", "manager")
# Rare paths, and the share of tickets (of the category) that take them.
FATES = {
    "repair": {"slow": 0.12, "stalled": 0.05, "rework": 0.05, "parts": 0.08, "reschedule": 0.05,
               "quote_refused": 0.04, "withdrawn": 0.02, "retry": 0.1, "unreachable": 0.01},
    "complaint": {"slow": 0.15, "stalled": 0.08, "invalid": 0.1, "withdrawn": 0.04, "sent_back": 0.08,
                  "revise": 0.25, "retry": 0.1, "unreachable": 0.01, "dissatisfied": 0.05},
    "consultation": {"forward": 0.25, "slow": 0.2, "dissatisfied": 0.03},
    "life_service": {"slow": 0.1, "retry": 0.1, "unreachable": 0.01, "dissatisfied": 0.03},
}
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
OFFICE_OPENS, OFFICE_CLOSES = time(8, 30), time(19, 0)
TIMER_POLL = timedelta(minutes=1)  # a timer worker notices a due timer within a minute


@dataclass
class _Call:
    """What a caller says, and how the ticket will go (the rare paths it takes)."""

    at: datetime
    intake: dict[str, Any]
    content: tuple[Any, ...]
    fates: set[str]


@dataclass
class _Case:
    call: _Call
    ticket_id: int
    instance_id: int
    done: Counter[str] = field(default_factory=Counter)  # completions per element id
    seen: Counter[str] = field(default_factory=Counter)  # tasks per element id (a timer may cancel one)
    planned: set[str] = field(default_factory=set)  # task ids with an action queued
    timers: set[datetime] = field(default_factory=set)  # timer due times with a firing queued
    appointment: datetime | None = None  # when the technician will call at the unit
    next_timer_at: datetime | None = None  # as the instance row says after the case's last step

    def first(self, element_id: str) -> bool:
        return self.done[element_id] == 0


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
    simulation.run(_calls(simulation.rng, clock.now(), now, ZoneInfo(timezone), per_day), until=now)
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


def _calls(rng: random.Random, start: datetime, end: datetime, zone: ZoneInfo, per_day: int) -> list[_Call]:
    units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
    homes = [unit for unit in units if not unit.is_common_area and unit.owner_phone]
    if not homes:
        raise NotFoundError("没有业主单元 / no units with owners: demo tickets need the demo estate")
    calls = []
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        count = max(1, round(rng.gauss(per_day * (0.7 if day.weekday() >= 5 else 1.05), 2.5)))
        for _ in range(count):
            at = datetime.combine(day, _call_time(rng), zone).astimezone(UTC)
            if start < at < end - timedelta(minutes=5):
                calls.append(_call(rng, at, homes, units))
        day += timedelta(days=1)
    calls.sort(key=lambda call: call.at)
    _ensure_rare_paths(rng, calls, end)
    return calls


def _call_time(rng: random.Random) -> time:
    """Busy mornings and afternoons; one call in eight at night."""
    if rng.random() < 0.12:
        hour = rng.choice((20, 20, 21, 21, 22, 23, 0, 1, 5, 6, 7, 7))
    else:
        hour = rng.choice((8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 19))
    return time(hour, rng.randrange(60), rng.randrange(60))


def _call(rng: random.Random, at: datetime, homes: list[Unit], units: list[Unit]) -> _Call:
    category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    home = rng.choice(homes)
    unit = home
    extra: dict[str, Any] = {}
    content: tuple[Any, ...] = ()
    if category == "repair" and rng.random() < 0.12:
        area, description, part, emergency = rng.choice(COMMON_REPAIRS)
        unit = next(u for u in units if u.project_key == home.project_key and u.code == area)
        content = (description,)
        extra = {"part": part, "emergency": emergency, "major_repair": part == "roof_waterproof"}
    elif category == "repair":
        description, part, emergency = rng.choice(UNIT_REPAIRS)
        content, extra = (description,), {"part": part, "emergency": emergency}
    elif category == "complaint":
        content = rng.choice(COMPLAINTS)
        extra = {"complaint_type": content[1], "emergency": False}
    elif category == "consultation":
        content = rng.choice(CONSULTATIONS)
    elif category == "life_service":
        content = rng.choice(LIFE_SERVICES)
    else:
        content = rng.choice(FORWARDS[category])
    emergency = bool(extra.get("emergency"))
    intake = {"project": unit.project_key, "unit": unit.code, "caller_name": home.owner_name,
              "phone": home.owner_phone, "category": category, "description": content[0],
              "channel": "hotline" if emergency else rng.choices(list(CHANNEL_WEIGHTS),
                                                                 weights=list(CHANNEL_WEIGHTS.values()))[0],
              "urgency": "urgent" if emergency or rng.random() < 0.15 else "normal", "emergency": False, **extra}
    fates = {fate for fate, share in FATES.get(category, {}).items() if rng.random() < share}
    return _Call(at, intake, content, fates)


def _ensure_rare_paths(rng: random.Random, calls: list[_Call], end: datetime) -> None:
    """At least two settled tickets of each rare path, whatever the dice said."""
    settled = [call for call in calls if call.at < end - timedelta(days=8) and "stalled" not in call.fates]
    for fate, categories in (("rework", ("repair",)), ("dissatisfied", ("complaint", "life_service")),
                             ("unreachable", ("repair", "life_service")), ("slow", ("repair", "complaint"))):
        have = sum(call.fates == {fate} for call in settled)  # a single rare path surely plays out
        candidates = [call for call in settled if call.intake["category"] in categories and not call.fates]
        for call in rng.sample(candidates, max(0, min(2 - have, len(candidates)))):
            call.fates.add(fate)


class _Simulation:
    """The event queue: calls, staff actions and timer firings in time order, on one manual clock."""

    def __init__(self, rt: Runtime, clock: ManualClock, rng: random.Random) -> None:
        self.rt, self.clock, self.rng = rt, clock, rng
        self.zone = ZoneInfo(rt.timezone)
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.counter = itertools.count()
        self.staff = _demo_staff()

    def run(self, calls: list[_Call], *, until: datetime) -> None:
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

    def receive(self, call: _Call) -> None:
        local_hour = self.clock.now().astimezone(self.zone).hour
        user = self.staff["night" if local_hour >= 20 or local_hour < 8 else "agent"]
        opened = open_ticket(self.rt, call.intake, user=user)
        case = _Case(call, opened.ticket_id, opened.instance.instance_id)
        self.follow(case, opened.instance)

    def act(self, case: _Case, task: TaskSnapshot) -> None:
        user = self._actor(task)
        data = self._answer(case, task, user)
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

    def fire(self, case: _Case) -> None:
        if case.next_timer_at is not None and case.next_timer_at < self.clock.now():  # else moved or gone
            self.follow(case, fire_due_timers(self.rt, case.instance_id))

    def follow(self, case: _Case, outcome: InstanceOutcome) -> None:
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

    def follow_reopened(self, case: _Case) -> None:
        row = db.session.execute(select(Ticket.id, Ticket.instance_id)
                                 .where(Ticket.reopened_from_id == case.ticket_id)).first()
        if row is None:
            return
        department = case.call.content[2] if case.call.intake["category"] == "complaint" else "property"
        content = ("回访不满意", "property_service", department, "other", "service_attitude",
                   "首次处理未彻底解决业主问题。", "主管带队上门，重新处理并每日回报进度。")
        reopened = _Call(self.clock.now(), {**case.call.intake, "category": "complaint"}, content, {"revise"})
        new_case = _Case(reopened, row.id, row.instance_id)
        self.follow(new_case, InstanceOutcome(row.instance_id, "running", open_tasks_of(row.instance_id)))

    def _plan(self, case: _Case, task: TaskSnapshot) -> None:
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
            moment = self._office_hours(moment)
        if minutes > 45 and self.rng.random() < 0.4:  # picked up early, finished later
            claim_at = self.clock.now() + timedelta(minutes=self.rng.uniform(5, min(minutes, 60)))
            self.at(self._office_hours(claim_at) if office else claim_at, lambda: self.claim(task))
        self.at(moment, lambda: self.act(case, task))

    def _office_hours(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        if OFFICE_OPENS <= local.time() <= OFFICE_CLOSES:
            return moment
        day = local.date() + timedelta(days=1 if local.time() > OFFICE_CLOSES else 0)
        opens = datetime.combine(day, OFFICE_OPENS, self.zone)
        return (opens + timedelta(minutes=self.rng.uniform(0, 120))).astimezone(UTC)

    def _actor(self, task: TaskSnapshot) -> Principal:
        if task.assignee:
            return self.staff[task.assignee]
        for username in DEMO_STAFF:
            if may_act_on_task(self.staff[username], task):
                return self.staff[username]
        raise RuntimeError(f"no demo user may act on {task.element_id} ({task.role}, {task.department})")

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).replace(microsecond=0).isoformat()

    def _answer(self, case: _Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
        """What the person at the task fills in, following the ticket's path."""
        rng, now, fates, content = self.rng, self.clock.now(), case.call.fates, case.call.content
        element = task.element_id
        if element == "morning_handover":
            return {"record_confirmed": True}
        if element == "answer_consultation":
            if "forward" in fates:
                return {"answered_on_the_spot": False, "forward_to": content[2]}
            return {"answered_on_the_spot": True, "answer": content[1]}
        if element == "reply_consultation":
            return {"reply": content[1], "owner_contacted": True}
        if element == "chase_reply":
            return {"forward_to": content[2], "extend_hours": 8, "chase_note": "已电话催办，今天下班前答复业主。"}
        if element == "arrange_service":
            return {"service_result": content[1]}
        if element == "forward_to_department":
            return {"forward_to": content[1], "forward_note": "请相关班组跟进。"}
        if element == "acknowledge":
            return {"acknowledge_note": "已收到，已转达班组。"}
        if element == "call_owner":
            return self._callback(case)
        if element in ("judge_validity", "judge_validity_night", "supervisor_judge_validity"):
            if "withdrawn" in fates:
                return {"withdrawn": True, "valid": False, "judgement_note": "业主来电撤诉，问题已自行解决。"}
            if "invalid" in fates and case.first(element):
                return {"withdrawn": False, "valid": False, "judgement_note": "属业主自行装修造成，不属于物业责任。"}
            wrong = "sent_back" in fates and case.first(element)
            department = ("property" if content[2] == "engineering" else "engineering") if wrong else content[2]
            return {"withdrawn": False, "valid": True, "responsible_department": department,
                    "complaint_type": content[1], "severity": "serious" if content[1] == "safety" else "normal",
                    "judgement_note": "诉求合理，派责任部门处理。"}
        if element == "explain_to_owner":
            return {"explanation": "已向业主说明原因，可协助联系装修公司。", "owner_accepts": True}
        if element == "supervisor_review_invalid":
            return {"reopen": False, "review_note": "同意无效判断。"}
        if element == "contact_and_investigate":
            if "sent_back" in fates and case.first(element):
                return {"withdrawn": False, "send_back": True, "send_back_reason": "不属于本部门，请重新派单。"}
            return {"withdrawn": False, "send_back": False, "contacted_owner_at": self._local(now),
                    "cause": content[5], "responsibility": "product_quality" if content[4] == "product_quality"
                    else "service_attitude" if content[4] == "service_attitude" else "other"}
        if element == "propose_solution":
            return {"solution": content[6], "planned_completion": self._local(now + timedelta(days=3))}
        if element == "approve_solution":
            if "revise" in fates and case.first(element):
                return {"approved": False, "approval_reason": "方案不够具体，请写明完成时间和责任人。"}
            return {"approved": True}
        if element == "implement_solution":
            return {"done_note": "已按方案处理完毕。", "waiting_for": "none"}
        if element == "supervisor_handles":
            return {"solution": "约谈当事员工，向业主致歉。", "done_note": "已约谈，已电话致歉。"}
        if element == "resume_work":
            return {"resume_note": "条件具备，继续实施。"}
        if element == "confirm_with_owner":
            return {"owner_accepts": True}
        if element in ("supervisor_follow_up", "eng_supervisor_follow_up"):
            return {"follow_up_note": "已催办责任人，并向业主致歉说明进度。"}
        if element == "classify":
            return {"complaint_type": content[1], "root_cause": content[4], "responsible_department": content[2],
                    "hot_spot": content[3]}
        if element == "dispatch_technician":
            return {"technician": "prop_tech" if task.department == "property" else "tech",
                    "dispatch_note": "请尽快联系业主上门。"}
        if element == "agree_appointment":
            case.appointment = self._slot(case)
            return {"appointment_at": self._local(case.appointment), "appointment_note": "已与业主电话确认。",
                    **self._out_of_hours(case.appointment)}
        if element == "inspect_on_site":
            if "reschedule" in fates and case.first(element):
                case.appointment = self._office_hours(now + timedelta(days=1))
                return {"reschedule": True, "owner_withdraws": False, "waiting_for_parts": False,
                        "appointment_at": self._local(case.appointment), **self._out_of_hours(case.appointment)}
            if "withdrawn" in fates:
                return {"reschedule": False, "owner_withdraws": True, "waiting_for_parts": False,
                        "withdrawal_reason": "业主已自行找人修好。"}
            return {"reschedule": False, "owner_withdraws": False, "waiting_for_parts": False,
                    "inspected_part": case.call.intake.get("part", "other"), "repair_items": "按查验结果维修。",
                    "quote_labour": float(rng.choice((80, 120, 150, 200))),
                    "quote_material": float(rng.choice((0, 35, 60, 120)))}
        if element == "owner_consents":
            if "quote_refused" in fates:
                return {"owner_agrees": False, "refusal_reason": "业主觉得报价太高，自行找人维修。"}
            return {"owner_agrees": True, "payment_method": rng.choice(("cash", "mobile", "fee_bill"))}
        if element == "carry_out_repair":
            if "parts" in fates and case.first(element):
                return {"waiting_for_parts": True, "parts_note": "需订购配件，约两天到货。",
                        "parts_expected_at": (self.clock.now() + timedelta(days=2)).isoformat()}
            return self._repair_record(task, user)
        if element == "parts_arrived":
            return {"parts_arrival_note": "配件已到。"}
        if element == "owner_acceptance":
            if "rework" in fates and case.first(element):
                return {"owner_accepts": False, "refusal_reason": "修完还是有问题，业主不签字。"}
            return {"owner_accepts": True, "owner_signature": SIGNED}
        if element == "confirm_repair":
            return {"confirmed": True}
        if element == "manager_review":
            return {"approved": True, "review_note": "已审核。"}
        raise RuntimeError(f"the demo does not know how to complete '{element}'")

    def _callback(self, case: _Case) -> dict[str, Any]:
        fates = case.call.fates
        if "unreachable" in fates or ("retry" in fates and case.first("call_owner")):
            return {"reached": False}
        if "dissatisfied" in fates:
            return {"reached": True, "satisfaction": "dissatisfied", "remarks": "问题没有彻底解决，业主很不满意。"}
        satisfaction = self.rng.choices(("very_satisfied", "satisfied", "neutral"), weights=(45, 45, 10))[0]
        remarks = {"very_satisfied": "处理及时，非常满意。", "satisfied": "已解决。", "neutral": "还行，就是慢了点。"}
        return {"reached": True, "satisfaction": satisfaction, "remarks": remarks[satisfaction]}

    def _out_of_hours(self, slot: datetime) -> dict[str, bool]:
        """The owner asked for a visit outside working hours (an urgent repair, a weekend, a holiday): say so."""
        outside = self.rt.calendar().working_hours_between(slot, slot + timedelta(minutes=1)) <= 0
        return {"appointment_out_of_hours": True} if outside else {}

    def _slot(self, case: _Case) -> datetime:
        """An appointment: within the hour for an emergency, else later today or tomorrow in office hours."""
        now = self.clock.now()
        if case.call.intake["urgency"] == "urgent" and case.call.intake["category"] == "repair":
            return now + timedelta(minutes=self.rng.uniform(30, 90))
        return self._office_hours(now + timedelta(hours=self.rng.uniform(1, 20)))

    def _repair_record(self, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
        data = get_task(self.rt, task.id, user=user).data
        paid_by = data.get("paid_by")
        labour, material = float(self.rng.choice((80, 120, 150, 200))), float(self.rng.choice((0, 35, 60, 120)))
        if paid_by == "owner" and data.get("quote_labour") is not None:  # the owner agreed to the quote: it is the fee
            labour, material = float(data["quote_labour"]), float(data.get("quote_material") or 0)
        record: dict[str, Any] = {"waiting_for_parts": False, "actual_labour_hours": self.rng.choice((1, 1.5, 2, 3)),
                                  "materials": "常用耗材" if material else "无", "fee_labour": labour,
                                  "fee_material": material, "completed_at": self._local(self.clock.now())}
        amount_field = {"owner": "owner_paid_amount", "property": "property_paid_amount",
                        "maintenance_fund": "maintenance_fund_amount"}.get(str(paid_by))
        if amount_field:
            record[amount_field] = labour + material
        return record


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
