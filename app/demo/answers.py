"""What the person at a task fills in during the demo month: one small function per element id.

Each answer follows the ticket's path (its rare paths, ``Case.call.fates``) and draws from the simulation's
one random generator, so the month plays the same for the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.clock import ManualClock
from app.demo.calls import Case
from app.services.people.auth import Principal
from app.services.runtime import Runtime
from app.services.steps.plan import TaskSnapshot
from app.services.work.tasks import get_task

# What a technician writes as the inspected part (free text, in words: never the form's part code).
INSPECTED = {"structure": "承重墙体", "roof_waterproof": "屋面防水层", "kitchen_bathroom_waterproof": "卫生间防水层",
             "exterior_wall": "外墙", "heating_cooling": "地暖分水器", "electrical": "入户配电箱",
             "plumbing": "厨房给水管", "equipment": "设备安装位", "decoration": "木地板与墙面", "other": "报修部位"}

SIGNED = "纸质工单已签字 / signed on the paper work order"
OFFICE_OPENS, OFFICE_CLOSES = time(8, 30), time(19, 0)
SATISFIED_REMARKS = {"very_satisfied": "处理及时，非常满意。", "satisfied": "已解决。", "neutral": "还行，就是慢了点。"}
PAID_AMOUNT_FIELDS = {"owner": "owner_paid_amount", "property": "property_paid_amount",
                      "maintenance_fund": "maintenance_fund_amount"}


@dataclass(frozen=True)
class Desk:
    """What every answer may use: the runtime, the manual clock, the dice and the local time zone."""

    rt: Runtime
    clock: ManualClock
    rng: random.Random
    zone: ZoneInfo

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).replace(microsecond=0).isoformat()

    def office_hours(self, moment: datetime) -> datetime:
        """``moment`` if the office is open then, else a time in the first two hours after it opens."""
        local = moment.astimezone(self.zone)
        if OFFICE_OPENS <= local.time() <= OFFICE_CLOSES:
            return moment
        day = local.date() + timedelta(days=1 if local.time() > OFFICE_CLOSES else 0)
        opens = datetime.combine(day, OFFICE_OPENS, self.zone)
        return (opens + timedelta(minutes=self.rng.uniform(0, 120))).astimezone(UTC)

    def out_of_hours(self, slot: datetime) -> dict[str, bool]:
        """The owner asked for a visit outside working hours (an urgent repair, a weekend, a holiday): say so."""
        outside = self.rt.calendar().working_hours_between(slot, slot + timedelta(minutes=1)) <= 0
        return {"appointment_out_of_hours": True} if outside else {}

    def slot(self, case: Case) -> datetime:
        """An appointment: within the hour for an emergency, else later today or tomorrow in office hours."""
        now = self.clock.now()
        if case.call.intake["urgency"] == "urgent" and case.call.intake["category"] == "repair":
            return now + timedelta(minutes=self.rng.uniform(30, 90))
        return self.office_hours(now + timedelta(hours=self.rng.uniform(1, 20)))


Answer = Callable[[Desk, Case, TaskSnapshot, Principal], dict[str, Any]]


def answer(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    """What ``user`` fills in at ``task``; raises RuntimeError for an element the demo does not know."""
    answer_of = ANSWERS.get(task.element_id)
    if answer_of is None:
        raise RuntimeError(f"the demo does not know how to complete '{task.element_id}'")
    return answer_of(desk, case, task, user)


def _fixed(data: dict[str, Any]) -> Answer:
    """An answer that is always the same."""
    return lambda desk, case, task, user: dict(data)


# --- consultations, life services, forwarded tickets, callbacks -----------------------------------------------

def _answer_consultation(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    if "forward" in case.call.fates:
        return {"answered_on_the_spot": False, "forward_to": case.call.content[2]}
    return {"answered_on_the_spot": True, "answer": case.call.content[1]}


def _reply_consultation(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    return {"reply": case.call.content[1], "owner_contacted": True}


def _chase_reply(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    return {"forward_to": case.call.content[2], "extend_hours": 8, "chase_note": "已电话催办，今天下班前答复业主。"}


def _arrange_service(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    return {"service_result": case.call.content[1]}


def _forward_to_department(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    return {"forward_to": case.call.content[1], "forward_note": "请相关班组跟进。"}


def _call_owner(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    fates = case.call.fates
    if "unreachable" in fates or ("retry" in fates and case.first("call_owner")):
        return {"reached": False}
    if "dissatisfied" in fates:
        return {"reached": True, "satisfaction": "dissatisfied", "remarks": "问题没有彻底解决，业主很不满意。"}
    satisfaction = desk.rng.choices(("very_satisfied", "satisfied", "neutral"), weights=(45, 45, 10))[0]
    return {"reached": True, "satisfaction": satisfaction, "remarks": SATISFIED_REMARKS[satisfaction]}


# --- complaints -----------------------------------------------------------------------------------------------

def _judge_validity(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    fates, content, first = case.call.fates, case.call.content, case.first(task.element_id)
    if "withdrawn" in fates:
        return {"withdrawn": True, "valid": False, "judgement_note": "业主来电撤诉，问题已自行解决。"}
    if "invalid" in fates and first:
        return {"withdrawn": False, "valid": False, "judgement_note": "属业主自行装修造成，不属于物业责任。"}
    wrong = "sent_back" in fates and first
    department = ("property" if content[2] == "engineering" else "engineering") if wrong else content[2]
    return {"withdrawn": False, "valid": True, "responsible_department": department,
            "complaint_type": content[1], "severity": "serious" if content[1] == "safety" else "normal",
            "judgement_note": "诉求合理，派责任部门处理。"}


def _contact_and_investigate(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    content = case.call.content
    if "sent_back" in case.call.fates and case.first(task.element_id):
        return {"withdrawn": False, "send_back": True, "send_back_reason": "不属于本部门，请重新派单。"}
    responsibility = content[4] if content[4] in ("product_quality", "service_attitude") else "other"
    return {"withdrawn": False, "send_back": False, "contacted_owner_at": desk.local(desk.clock.now()),
            "cause": content[5], "responsibility": responsibility}


def _propose_solution(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    return {"solution": case.call.content[6], "planned_completion": desk.local(desk.clock.now() + timedelta(days=3))}


def _approve_solution(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    if "revise" in case.call.fates and case.first(task.element_id):
        return {"approved": False, "approval_reason": "方案不够具体，请写明完成时间和责任人。"}
    return {"approved": True}


def _review_online(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    """An online report reviewed at the desk: the agent keeps what the owner chose."""
    intake = case.call.intake
    kept = ("category", "urgency", "emergency", "complaint_type", "part")
    return {key: intake[key] for key in kept if key in intake} | {"review_note": "已核对业主网上报事。"}


def _classify(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    content = case.call.content
    return {"complaint_type": content[1], "root_cause": content[4], "responsible_department": content[2],
            "hot_spot": content[3]}


# --- repairs --------------------------------------------------------------------------------------------------

def _dispatch_technician(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    return {"technician": "prop_tech" if task.department == "property" else "tech",
            "dispatch_note": "请尽快联系业主上门。"}


def _agree_appointment(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    case.appointment = desk.slot(case)
    return {"appointment_at": desk.local(case.appointment), "appointment_note": "已与业主电话确认。",
            **desk.out_of_hours(case.appointment)}


def _inspect_on_site(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    fates, rng = case.call.fates, desk.rng
    if "reschedule" in fates and case.first(task.element_id):
        case.appointment = desk.office_hours(desk.clock.now() + timedelta(days=1))
        return {"reschedule": True, "owner_withdraws": False, "waiting_for_parts": False,
                "appointment_at": desk.local(case.appointment), **desk.out_of_hours(case.appointment)}
    if "withdrawn" in fates:
        return {"reschedule": False, "owner_withdraws": True, "waiting_for_parts": False,
                "withdrawal_reason": "业主已自行找人修好。"}
    return {"reschedule": False, "owner_withdraws": False, "waiting_for_parts": False,
            "inspected_part": INSPECTED.get(case.call.intake.get("part", ""), "报修部位"),
            "repair_items": "按查验结果维修。",
            "quote_labour": float(rng.choice((80, 120, 150, 200))),
            "quote_material": float(rng.choice((0, 35, 60, 120)))}


def _owner_consents(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    if "quote_refused" in case.call.fates:
        return {"owner_agrees": False, "refusal_reason": "业主觉得报价太高，自行找人维修。"}
    return {"owner_agrees": True, "payment_method": desk.rng.choice(("cash", "mobile", "fee_bill"))}


def _carry_out_repair(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    if "parts" in case.call.fates and case.first(task.element_id):
        return {"waiting_for_parts": True, "parts_note": "需订购配件，约两天到货。",
                "parts_expected_at": (desk.clock.now() + timedelta(days=2)).isoformat()}
    return _repair_record(desk, task, user)


def _repair_record(desk: Desk, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    """The technician's record: hours, materials and fees (the agreed quote when the owner pays)."""
    data = get_task(desk.rt, task.id, user=user).data
    paid_by = data.get("paid_by")
    labour, material = float(desk.rng.choice((80, 120, 150, 200))), float(desk.rng.choice((0, 35, 60, 120)))
    if paid_by == "owner" and data.get("quote_labour") is not None:  # the owner agreed to the quote: it is the fee
        labour, material = float(data["quote_labour"]), float(data.get("quote_material") or 0)
    record: dict[str, Any] = {"waiting_for_parts": False, "actual_labour_hours": desk.rng.choice((1, 1.5, 2, 3)),
                              "materials": "常用耗材" if material else "无", "fee_labour": labour,
                              "fee_material": material, "completed_at": desk.local(desk.clock.now())}
    amount_field = PAID_AMOUNT_FIELDS.get(str(paid_by))
    if amount_field:
        record[amount_field] = labour + material
    return record


def _owner_acceptance(desk: Desk, case: Case, task: TaskSnapshot, user: Principal) -> dict[str, Any]:
    if "rework" in case.call.fates and case.first(task.element_id):
        return {"owner_accepts": False, "refusal_reason": "修完还是有问题，业主不签字。"}
    return {"owner_accepts": True, "owner_signature": SIGNED}


_FOLLOW_UP = _fixed({"follow_up_note": "已催办责任人，并向业主致歉说明进度。"})

ANSWERS: dict[str, Answer] = {
    "morning_handover": _fixed({"record_confirmed": True}),
    "answer_consultation": _answer_consultation,
    "reply_consultation": _reply_consultation,
    "chase_reply": _chase_reply,
    "arrange_service": _arrange_service,
    "forward_to_department": _forward_to_department,
    "acknowledge": _fixed({"acknowledge_note": "已收到，已转达班组。"}),
    "call_owner": _call_owner,
    "judge_validity": _judge_validity,
    "judge_validity_night": _judge_validity,
    "supervisor_judge_validity": _judge_validity,
    "explain_to_owner": _fixed({"explanation": "已向业主说明原因，可协助联系装修公司。", "owner_accepts": True}),
    "supervisor_review_invalid": _fixed({"reopen": False, "review_note": "同意无效判断。"}),
    "contact_and_investigate": _contact_and_investigate,
    "propose_solution": _propose_solution,
    "approve_solution": _approve_solution,
    "implement_solution": _fixed({"done_note": "已按方案处理完毕。", "waiting_for": "none"}),
    "supervisor_handles": _fixed({"solution": "约谈当事员工，向业主致歉。", "done_note": "已约谈，已电话致歉。"}),
    "resume_work": _fixed({"resume_note": "条件具备，继续实施。"}),
    "confirm_with_owner": _fixed({"owner_accepts": True}),
    "supervisor_follow_up": _FOLLOW_UP,
    "eng_supervisor_follow_up": _FOLLOW_UP,
    "classify": _classify,
    "review_online": _review_online,
    "dispatch_technician": _dispatch_technician,
    "agree_appointment": _agree_appointment,
    "inspect_on_site": _inspect_on_site,
    "owner_consents": _owner_consents,
    "carry_out_repair": _carry_out_repair,
    "parts_arrived": _fixed({"parts_arrival_note": "配件已到。"}),
    "owner_acceptance": _owner_acceptance,
    "confirm_repair": _fixed({"confirmed": True}),
    "manager_review": _fixed({"approved": True, "review_note": "已审核。"}),
}
