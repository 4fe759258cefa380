"""Notices to owners (通知): drafted, approved by the CS supervisor (process ``notice``), then sent on the three
channels of seed 000 — texts to the affected owners (template ``notice``, through the outbox and its retry),
one letterbox page per unit and a notice-board sheet (PDF, ``notice_pdf``) — and shown on the owners' pages
during its window. Staff see which units were not reached and act on them (by hand, or a text again).

The approval's steps are ordinary task completions; ``after_notice_step`` is their after-step hook, run inside
their transaction (services/work/after_step.py), so a notice is sent exactly when its approval commits.

A notice is always one project's (its owners are that estate's), and so is everything staff see of it: its
approval and revision tasks (the instance keeps the project, services/work/staffing.TASK_PROJECT), its page and
report, and the bell of the staff roles it tells. Staff limited to other projects see none of it; staff limited
to no project (head office) see every project's. A notice for several estates is one notice per estate, each
approved by that estate's supervisor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxStatus, Project, Unit
from app.models.jobs import OutboxMessage
from app.models.notices import Notice, NoticeRecipient
from app.services.access import Actor
from app.services.errors import ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.jobs.notifications import is_mobile_number, notify, queue_text, user_ids_with_role
from app.services.people.organisation import ticket_project_hidden, visible_projects
from app.services.runtime import Runtime
from app.services.work.after_step import StepDone, after_step
from app.services.work.instances import plan_start, run_start

PROCESS_ID = "notice"
READERS = frozenset({"cs_agent", "cs_supervisor", "dept_owner", "dept_head", "property_manager"})
DELIVERERS = frozenset({"cs_agent", "cs_supervisor"})  # who marks a unit reached by hand or texts it again
STAFF_AUDIENCES = {"none": (), "cs_team": ("cs_agent", "cs_supervisor", "night_security"),
                   "all_staff": ("cs_agent", "cs_supervisor", "night_security", "dept_owner", "dept_head",
                                 "eng_supervisor", "technician", "property_manager")}


@dataclass(frozen=True)
class RecipientView:
    """A unit a sent notice addresses, and how far it got: texted, waiting, failed, no mobile, by hand."""

    id: int
    unit_code: str
    owner_name: str | None
    phone: str | None
    outcome: str  # texted | queued | failed | no_mobile | by_hand
    last_error: str | None
    hand_note: str | None

    @property
    def is_reached(self) -> bool:
        return self.outcome in ("texted", "by_hand")


@dataclass(frozen=True)
class NoticeView:
    id: int
    instance_id: int | None
    kind: str
    title: str
    body: str
    project_key: str
    project_name: str
    buildings: tuple[str, ...]
    unit_codes: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    status: str
    review_note: str | None
    created_at: datetime
    sent_at: datetime | None


# --- drafting and the approval's steps -------------------------------------------------------------------------

def draft_notice(rt: Runtime, data: Any, *, user: Actor) -> NoticeView:
    """Start the approval of a new notice drafted by ``user`` (a CS supervisor or a department owner).

    Raise Forbidden (role), InvalidForm (the draft form; a window that ends before it starts; a project the
    user may not see or that does not exist; buildings or units that address nobody).
    """
    plan = plan_start(rt, PROCESS_ID, data, user=user)
    fields = _fields_of(plan.data, user=user)
    now = rt.clock.now()
    created: list[int] = []

    def write_notice(instance_id: int, _result: object) -> None:
        notice = Notice(instance_id=instance_id, status="pending", drafted_by_id=user.id, created_at=now, **fields)
        db.session.add(notice)
        db.session.flush()
        created.append(notice.id)

    known = {"drafted_by": user.username, "project_name": _project_name(fields["project_key"])}
    run_start(rt, plan, user=user, system_data=known, also_write=write_notice)
    return notice_view(created[0], user=user)


@after_step(PROCESS_ID)
def after_notice_step(rt: Runtime, step: StepDone) -> None:
    """What a finished step of the ``notice`` process means, in its transaction: approved, the notice is sent;
    sent back, it waits for its drafter with the reason; resubmitted, it waits for approval again; withdrawn,
    it is never sent. Raise InvalidForm when an approved notice addresses nobody (the step is not stored).
    Only completed tasks move a notice."""
    if step.task is None:
        return
    element_id, data, user, instance_id = step.task.snapshot.element_id, step.result.data, step.task.by, \
        step.instance_id
    now = rt.clock.now()
    notice = db.session.scalar(select(Notice).where(Notice.instance_id == instance_id))
    if notice is None:  # started through the generic start page: the notice is its process data
        notice = Notice(instance_id=instance_id, status="pending", created_at=now, **_fields_of(data, user=None))
        db.session.add(notice)
    if element_id == "approve_notice":
        if data.get("notice_approved"):
            _send(notice, user=user, now=now, timezone=rt.timezone)
        else:
            notice.status, notice.review_note = "sent_back", str(data.get("review_note") or "")
    elif element_id == "revise_notice" and data.get("resubmit"):
        for name, value in _fields_of(data, user=None).items():
            setattr(notice, name, value)
        notice.status = "pending"
    elif element_id == "revise_notice":
        notice.status = "withdrawn"
    db.session.flush()


def _fields_of(data: Mapping[str, Any], *, user: Actor | None) -> dict[str, Any]:
    """The notice's columns from the draft form's data, checked (InvalidForm names the field)."""
    project_key = str(data.get("project") or "").strip()
    if db.session.get(Project, project_key) is None or (user is not None and ticket_project_hidden(project_key, user)):
        raise InvalidFormError(msg("the form has errors"),
                               errors={"project": msg("no project %(key)s", key=project_key)})
    starts_at, ends_at = _moment(data["starts_at"]), _moment(data["ends_at"])
    if ends_at <= starts_at:
        raise InvalidFormError(msg("the form has errors"), errors={"ends_at": msg("the end must come after the start")})
    fields = {"kind": data["notice_kind"], "title": data["notice_title"], "body": data["notice_text"],
              "project_key": project_key, "buildings": _listed(data.get("buildings")),
              "unit_codes": _listed(data.get("units")), "starts_at": starts_at, "ends_at": ends_at,
              "staff_audience": data.get("staff_audience") or "none"}
    if not _units_addressed(project_key, fields["buildings"], fields["unit_codes"]):
        raise InvalidFormError(msg("the form has errors"),
                               errors={"buildings": msg("these buildings and units address no unit of the project")})
    return fields


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _listed(text: Any) -> list[str]:
    """ "3栋, 5栋，6栋" → ["3栋", "5栋", "6栋"] (commas of either width, spaces ignored)."""
    return [part.strip() for part in str(text or "").replace("，", ",").replace("、", ",").split(",") if part.strip()]


def _units_addressed(project_key: str, buildings: list[str], unit_codes: list[str]) -> list[Unit]:
    query = select(Unit).where(Unit.project_key == project_key, Unit.is_common_area.is_(False))
    if buildings:
        query = query.where(Unit.building.in_(buildings))
    if unit_codes:
        query = query.where(Unit.code.in_(unit_codes))
    return list(db.session.scalars(query.order_by(Unit.building, Unit.code)))


def _send(notice: Notice, *, user: Actor, now: datetime, timezone: str) -> None:
    """The notice goes out: one recipient row and one text per unit, the staff's bell; all in this step."""
    units = _units_addressed(notice.project_key, notice.buildings, notice.unit_codes)
    if not units:
        raise InvalidFormError(msg("the form has errors"),
                               errors={"buildings": msg("these buildings and units address no unit of the project")})
    project_name = _project_name(notice.project_key)
    notice.status, notice.sent_at, notice.approved_by_id, notice.review_note = "sent", now, user.id, None
    db.session.flush()
    for unit in units:
        recipient = NoticeRecipient(notice_id=notice.id, unit_id=unit.id, unit_code=unit.code,
                                    owner_name=unit.owner_name, phone=unit.owner_phone, texts_sent=0)
        db.session.add(recipient)
        _text(recipient, notice, project_name=project_name, now=now, timezone=timezone)
    _tell_staff(notice, now=now)


def _project_name(project_key: str) -> str:
    project = db.session.get(Project, project_key)
    return project.name if project is not None else project_key


def _tell_staff(notice: Notice, *, now: datetime) -> None:
    """The bell of the roles the drafter chose; those who may read the notice's page get its link."""
    roles = STAFF_AUDIENCES.get(notice.staff_audience, ())
    params = {"title": notice.title, "project": notice.project_key}
    readers = [person for role in roles if role in READERS for person in user_ids_with_role(role)]
    others = [person for role in roles if role not in READERS for person in user_ids_with_role(role)
              if person not in readers]
    # Staff of other estates are not told: the notice is for this project's owners (and its page is hidden).
    notify(readers, kind="notice", params=params, now=now, link=f"/notices/{notice.id}", project_key=notice.project_key)
    notify(others, kind="notice", params=params, now=now, project_key=notice.project_key)


def _text(recipient: NoticeRecipient, notice: Notice, *, project_name: str, now: datetime, timezone: str) -> None:
    """Queue the notice's text to the recipient's mobile (none: the unit stays unreached)."""
    params = {"project": project_name, "title": notice.title,
              "window": window_words(notice.starts_at, notice.ends_at, timezone)}
    if not queue_text(recipient.phone, "notice", params, now=now):
        return
    recipient.outbox_id = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.template == "notice", OutboxMessage.recipient == recipient.phone,
                                       OutboxMessage.created_at == now)
        .order_by(OutboxMessage.id.desc()).limit(1))
    recipient.texts_sent += 1


def window_words(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """"3月5日 09:00至17:00" or "3月5日 09:00至3月6日 12:00", in business time."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    first = f"{start.month}月{start.day}日 {start:%H:%M}"
    if start.date() == end.date():
        return f"{first}至{end:%H:%M}"
    return f"{first}至{end.month}月{end.day}日 {end:%H:%M}"


# --- reading: the list, a notice, who was reached ----------------------------------------------------------------

def require_reader(user: Actor) -> None:
    """Raise Forbidden unless the user may read notices and their delivery reports."""
    if not (user.is_admin or user.role_keys & READERS):
        raise ForbiddenError(msg("you may not see notices"))


def list_notices(*, user: Actor, limit: int = 100, offset: int = 0) -> list[NoticeView]:
    """The notices of the projects the user sees, newest first: ``limit`` of them from the ``offset``-th.
    Raise Forbidden for other roles."""
    require_reader(user)
    query = (select(Notice, Project.name).join(Project, Project.key == Notice.project_key)
             .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit).offset(offset))
    allowed = visible_projects(user)
    if allowed is not None:  # in the query: another project's newer notices take none of the user's places
        query = query.where(Notice.project_key.in_(allowed))
    return [_view(notice, name) for notice, name in db.session.execute(query)]


def notice_view(notice_id: int, *, user: Actor) -> NoticeView:
    """One notice; raise Forbidden (role) or NotFound (no such notice, or another project's)."""
    require_reader(user)
    row = db.session.execute(select(Notice, Project.name).join(Project, Project.key == Notice.project_key)
                             .where(Notice.id == notice_id)).first()
    if row is None or ticket_project_hidden(row[0].project_key, user):
        raise NotFoundError(msg("no notice %(notice_id)s", notice_id=notice_id))
    return _view(*row)


def _view(notice: Notice, project_name: str) -> NoticeView:
    return NoticeView(notice.id, notice.instance_id, notice.kind, notice.title, notice.body, notice.project_key,
                      project_name, tuple(notice.buildings), tuple(notice.unit_codes), notice.starts_at,
                      notice.ends_at, notice.status, notice.review_note, notice.created_at, notice.sent_at)


def recipients_of(notice_id: int, *, user: Actor) -> list[RecipientView]:
    """Every unit the notice addressed, by building and unit, with how far it got. Raise as ``notice_view``."""
    notice_view(notice_id, user=user)
    rows = db.session.execute(
        select(NoticeRecipient, OutboxMessage.status, OutboxMessage.last_error)
        .outerjoin(OutboxMessage, OutboxMessage.id == NoticeRecipient.outbox_id)
        .where(NoticeRecipient.notice_id == notice_id).order_by(NoticeRecipient.unit_code)).all()
    return [RecipientView(row.id, row.unit_code, row.owner_name, row.phone, _outcome(row, status), error,
                          row.hand_note) for row, status, error in rows]


def _outcome(recipient: NoticeRecipient, text_status: str | None) -> str:
    if recipient.delivered_by_hand_at is not None:
        return "by_hand"
    if recipient.outbox_id is None:
        return "no_mobile"
    outcomes: dict[str, str] = {OutboxStatus.SENT: "texted", OutboxStatus.FAILED: "failed"}
    return outcomes.get(text_status or "", "queued")


# --- acting on the units not reached ----------------------------------------------------------------------------

def mark_delivered_by_hand(notice_id: int, recipient_id: int, note: str, *, user: Actor, now: datetime) -> None:
    """Record that staff put the notice in the unit's hands (a visit, a call, the letterbox checked).
    Raise Forbidden / NotFound."""
    recipient = _recipient_to_act_on(notice_id, recipient_id, user)
    recipient.delivered_by_hand_at, recipient.delivered_by_hand_by_id = now, user.id
    recipient.hand_note = note.strip()[:200] or None
    db.session.commit()


def resend_text(rt: Runtime, notice_id: int, recipient_id: int, *, user: Actor) -> bool:
    """Text the unit again, to the number registered now (staff may just have corrected it). False when the unit
    still has no mobile number. Raise Forbidden / NotFound."""
    recipient = _recipient_to_act_on(notice_id, recipient_id, user)
    notice, now = db.session.get_one(Notice, notice_id), rt.clock.now()
    unit = db.session.get(Unit, recipient.unit_id)
    recipient.phone = unit.owner_phone if unit is not None else recipient.phone
    if not is_mobile_number(recipient.phone):
        db.session.commit()
        return False
    _text(recipient, notice, project_name=_project_name(notice.project_key), now=now, timezone=rt.timezone)
    db.session.commit()
    return True


def _recipient_to_act_on(notice_id: int, recipient_id: int, user: Actor) -> NoticeRecipient:
    notice_view(notice_id, user=user)
    if not (user.is_admin or user.role_keys & DELIVERERS):
        raise ForbiddenError(msg("only the service desk may act on a notice's units"))
    recipient = db.session.get(NoticeRecipient, recipient_id)
    if recipient is None or recipient.notice_id != notice_id:
        raise NotFoundError(msg("no notice %(notice_id)s", notice_id=notice_id))
    return recipient


# --- the owners' pages ------------------------------------------------------------------------------------------

def notices_for_units(unit_ids: frozenset[int], *, now: datetime) -> list[NoticeView]:
    """The sent notices addressed to any of these units that have not ended yet (coming ones too: a water cut
    tomorrow matters today), soonest first."""
    if not unit_ids:
        return []
    rows = db.session.execute(
        select(Notice, Project.name).join(Project, Project.key == Notice.project_key)
        .where(Notice.status == "sent", Notice.ends_at > now,
               Notice.id.in_(select(NoticeRecipient.notice_id).where(NoticeRecipient.unit_id.in_(unit_ids))))
        .order_by(Notice.starts_at, Notice.id)).all()
    return [_view(notice, name) for notice, name in rows]


# --- print -----------------------------------------------------------------------------------------------------

def pdf_of(html: str) -> bytes:
    """A print page (the letterbox run, the board sheet) as PDF, laid out by WeasyPrint (A4 from the page's CSS)."""
    from weasyprint import HTML  # imported on use: loading pango costs ~0.3 s that no other request should pay

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
