"""What an open ticket waits for, in words and time: "等待早班 12-04 08:00 派单", "回访于 12-04 22:30",
"暂停：等待配件（已 2 天）", "等待业主确认报价（12-04 18:00 到期）".

Worked out from each step's result (its ready tasks, its next timer, its data) and written on the ticket row
in the step's transaction (``wait_columns``, called by the ticket sync), so the inbox, the admin list and the
API read it with the ticket and no list reads an instance's state. ``describe_wait`` turns the stored wait into
a message id (``msg``) that the web layer says in the reader's language; times are in business time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.engine import StepResult, UserTaskView
from app.services.errors import Bilingual, Text, msg

NIGHT_HOLD, CALLBACK_RETRY, PAUSED, PAUSE_APPROVAL = "night_hold", "callback_retry", "paused", "pause_approval"
OWNER_QUOTE, OWNER_CONFIRMATION, APPOINTMENT, VISIT = "owner_quote", "owner_confirmation", "appointment", "visit"
CALLBACK, TASK, TIMER = "callback", "task", "timer"

# The timer a supervisor may skip, by the wait it ends (bpmn/reception.bpmn, bpmn/callback.bpmn).
SKIPPABLE_TIMERS = {NIGHT_HOLD: "wait_morning", CALLBACK_RETRY: "wait_retry"}
# The steps that end a pause, and the form field that records why it was ended.
PAUSE_TASKS = {"resume_work": "resume_note", "parts_arrived": "parts_arrival_note"}
PAUSE_REASONS = {"parts": Bilingual("配件 / parts"), "owner": Bilingual("业主 / the owner")}
# Steps whose wait has a name of its own; any other step reads "等待「<its title>」".
_STEP_KINDS = {"resume_work": PAUSED, "parts_arrived": PAUSED, "approve_pause": PAUSE_APPROVAL,
               "approve_parts_pause": PAUSE_APPROVAL, "owner_consents": OWNER_QUOTE,
               "confirm_with_owner": OWNER_CONFIRMATION, "agree_appointment": APPOINTMENT,
               "inspect_on_site": VISIT, "call_owner": CALLBACK}
_FOLLOW_UP_SUFFIX = "follow_up"  # a supervisor's follow-up runs beside the main step: the main step is the wait


@dataclass(frozen=True)
class Wait:
    kind: str
    note: str | None = None  # the step's title ("派工 / Dispatch"), a pause's reason ("parts")
    since: datetime | None = None  # a pause's start
    until: datetime | None = None  # when the wait ends (a timer) or is due (a step)


def wait_after_step(result: StepResult) -> Wait | None:
    """What the ticket waits for once ``result`` is stored; None when it is finished."""
    if result.status == "completed":
        return None
    data = result.data
    stage = data.get("stage")
    tasks = sorted(result.ready_tasks, key=lambda task: task.name.endswith(_FOLLOW_UP_SUFFIX))
    if stage == "night_hold" and result.next_timer_at is not None:
        return Wait(NIGHT_HOLD, until=result.next_timer_at)
    if stage == "callback" and result.next_timer_at is not None and not any(t.name == "call_owner" for t in tasks):
        return Wait(CALLBACK_RETRY, until=result.next_timer_at)
    if tasks:
        return _wait_for_step(tasks[0], data)
    return Wait(TIMER, until=result.next_timer_at) if result.next_timer_at is not None else None


def _wait_for_step(task: UserTaskView, data: Any) -> Wait:
    kind = _STEP_KINDS.get(task.name, TASK)
    if kind == PAUSED:
        reason = "parts" if task.name == "parts_arrived" else str(data.get("waiting_for") or "")
        return Wait(PAUSED, reason or None, _moment(data.get("pause_started")), task.due_at)
    if kind == VISIT and _moment(data.get("appointment_at")) is not None:
        return Wait(VISIT, until=_moment(data.get("appointment_at")))
    return Wait(kind, task.title if kind == TASK else None, until=task.due_at)


def wait_columns(result: StepResult) -> dict[str, Any]:
    """The ticket columns that say what it waits for after ``result`` (all None when it is finished)."""
    wait = wait_after_step(result)
    if wait is None:
        return {"waiting_for": None, "waiting_note": None, "waiting_since": None, "waiting_until": None}
    return {"waiting_for": wait.kind, "waiting_note": (wait.note or "")[:200] or None,
            "waiting_since": wait.since, "waiting_until": wait.until}


def wait_of(row: Any) -> Wait | None:
    """The wait stored on a ticket row (or any row selected with its ``waiting_*`` columns)."""
    kind = getattr(row, "waiting_for", None)
    if kind is None:
        return None
    return Wait(kind, row.waiting_note, row.waiting_since, row.waiting_until)


def describe_wait(wait: Wait | None, *, now: datetime, timezone: str) -> Text | None:
    """A stored wait in words (a message id), times in business time; None when nothing is awaited."""
    if wait is None:
        return None
    kind, note, since, until = wait.kind, wait.note, wait.since, wait.until
    at = _local(until, timezone)
    if kind == NIGHT_HOLD:
        return msg("Waiting for the morning shift: dispatch at %(until)s", until=at)
    if kind == CALLBACK_RETRY:
        return msg("Callback at %(until)s", until=at)
    if kind == PAUSED:
        return _pause_text(note, since, now)
    if kind == VISIT:
        return msg("Visit agreed for %(until)s", until=at)
    if kind == TASK:
        step = Bilingual(note or "")
        return msg("Waiting for %(step)s (due %(until)s)", step=step, until=at) if until else msg(
            "Waiting for %(step)s", step=step)
    if kind == TIMER:
        return msg("Waiting until %(until)s", until=at)
    return _STEP_TEXTS[kind](at) if kind in _STEP_TEXTS else None


_STEP_TEXTS = {
    PAUSE_APPROVAL: lambda at: msg("Waiting for the CS supervisor to approve a pause (due %(until)s)", until=at),
    OWNER_QUOTE: lambda at: msg("Waiting for the owner to agree to the quote (due %(until)s)", until=at),
    OWNER_CONFIRMATION: lambda at: msg("Waiting for the owner to accept the solution (due %(until)s)", until=at),
    APPOINTMENT: lambda at: msg("Waiting to agree a visit with the owner (due %(until)s)", until=at),
    CALLBACK: lambda at: msg("Owner to be called back (due %(until)s)", until=at),
}


def _pause_text(reason: str | None, since: datetime | None, now: datetime) -> Text:
    what = PAUSE_REASONS.get(reason or "", Bilingual("恢复条件 / the conditions to resume"))
    if since is None:
        return msg("Paused: waiting for %(reason)s", reason=what)
    hours = max(int((now - since).total_seconds() // 3600), 0)
    if hours >= 24:
        return msg("Paused: waiting for %(reason)s (%(days)s days so far)", reason=what, days=hours // 24)
    return msg("Paused: waiting for %(reason)s (%(hours)s hours so far)", reason=what, hours=hours)


def _local(moment: datetime | None, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M") if moment is not None else "—"


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None  # the flows store times with their offset
