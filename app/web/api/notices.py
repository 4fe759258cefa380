"""Notices to owners (通知), as the console's /notices pages: the list, a new draft (approved by the CS supervisor
through its task, ``/tasks``), a notice with its reach (who was reached, who not and why), acting on a unit not
reached (delivered by hand, texted again), and its print PDFs (the letterbox run, the notice-board sheet)."""

from __future__ import annotations

from typing import Any

from flask import Response

from app.services.errors import InvalidRequestError, NotFoundError, msg
from app.services.outreach import notices as notice_service
from app.services.outreach.notices import NoticeView, RecipientView
from app.services.work.inbox import shown_phone
from app.web.api.blueprint import acting_user, api, json_data_body, next_cursor, page_limit, page_start
from app.web.api.serializers import iso
from app.web.context import runtime
from app.web.outreach import notice_print_page


def notice_json(notice: NoticeView) -> dict[str, Any]:
    return {"id": notice.id, "instance_id": notice.instance_id, "kind": notice.kind, "title": notice.title,
            "text": notice.body, "project": notice.project_key, "project_name": notice.project_name,
            "buildings": list(notice.buildings), "units": list(notice.unit_codes),
            "starts_at": iso(notice.starts_at), "ends_at": iso(notice.ends_at), "status": notice.status,
            "review_note": notice.review_note, "created_at": iso(notice.created_at), "sent_at": iso(notice.sent_at)}


def recipient_json(recipient: RecipientView) -> dict[str, Any]:
    """A unit the notice addressed; the phone masked, as on the console's page."""
    return {"id": recipient.id, "unit": recipient.unit_code, "owner_name": recipient.owner_name,
            "phone": shown_phone(recipient.phone, full=False), "outcome": recipient.outcome,
            "reached": recipient.is_reached, "last_error": recipient.last_error, "hand_note": recipient.hand_note}


def reach_json(notice_id: int) -> dict[str, Any]:
    """The notice and how far it got: every unit addressed, the counts reached and not reached."""
    user = acting_user()
    notice = notice_service.notice_view(notice_id, user=user)
    recipients = notice_service.recipients_of(notice_id, user=user)
    reached = sum(recipient.is_reached for recipient in recipients)
    return {**notice_json(notice), "reached": reached, "unreached": len(recipients) - reached,
            "recipients": [recipient_json(recipient) for recipient in recipients]}


@api.get("/notices")
def list_notices() -> dict[str, Any]:
    limit, start = page_limit(), page_start()
    found = notice_service.list_notices(user=acting_user(), limit=limit + 1, offset=start)
    return {"items": [notice_json(notice) for notice in found[:limit]],
            "next": next_cursor(len(found), limit=limit, start=start)}


@api.post("/notices")
def draft_notice() -> tuple[dict[str, Any], int]:
    """A new draft; it waits for the CS supervisor's approval (their task ``approve_notice``)."""
    data = json_data_body(required=True)
    notice = notice_service.draft_notice(runtime(), data, user=acting_user())
    return reach_json(notice.id), 201


@api.get("/notices/<int:notice_id>")
def get_notice(notice_id: int) -> dict[str, Any]:
    return reach_json(notice_id)


@api.post("/notices/<int:notice_id>/units/<int:recipient_id>/by-hand")
def mark_by_hand(notice_id: int, recipient_id: int) -> dict[str, Any]:
    """Staff put the notice in the unit's hands (a visit, a call, the letterbox checked); an optional note."""
    data = json_data_body(required=False)
    note = data.get("note") if isinstance(data, dict) else None
    if note is not None and not isinstance(note, str):
        raise InvalidRequestError(msg("check the request"), errors={"note": msg("must be text")})
    notice_service.mark_delivered_by_hand(notice_id, recipient_id, note or "", user=acting_user(),
                                          now=runtime().clock.now())
    return reach_json(notice_id)


@api.post("/notices/<int:notice_id>/units/<int:recipient_id>/resend")
def resend_text(notice_id: int, recipient_id: int) -> dict[str, Any]:
    """The text again, to the unit's number as recorded now; ``queued`` false when it still has no mobile."""
    queued = notice_service.resend_text(runtime(), notice_id, recipient_id, user=acting_user())
    return {**reach_json(notice_id), "queued": queued}


@api.get("/notices/<int:notice_id>/letterbox.pdf")
def letterbox_pdf(notice_id: int) -> Response:
    """One A4 page per unit, addressed by unit, for the letterboxes."""
    return _pdf(notice_id, "letterbox")


@api.get("/notices/<int:notice_id>/board.pdf")
def board_pdf(notice_id: int) -> Response:
    """The notice-board sheet: A4, large type, the project's name and the date."""
    return _pdf(notice_id, "board")


def _pdf(notice_id: int, sheet: str) -> Response:
    user = acting_user()
    notice = notice_service.notice_view(notice_id, user=user)
    if notice.status != "sent":  # nothing to print before the approval
        raise NotFoundError(msg("notice %(notice_id)s is not sent yet", notice_id=notice_id))
    recipients = notice_service.recipients_of(notice_id, user=user) if sheet == "letterbox" else []
    return notice_print_page(notice, sheet, recipients)
