"""outbox texts by template: the template key and its parameters on each outbox row

Carriers deliver only approved templates with parameters, so a text is now queued as a template key and its
parameters (app/services/jobs/sms_templates.py); ``body`` keeps the rendered Chinese text. Pending free-text
texts written before this revision are converted when they read as one of the templates of that time;
any other old row keeps no template: the log sender still delivers it, a real provider marks it failed.

Revision ID: a1b2c3d40020
Revises: a1b2c3d40018
Create Date: 2026-12-07 14:10:00

"""
import re

import sqlalchemy as sa
from alembic import op

from app.models.types import JsonType

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40020'
down_revision = 'a1b2c3d40018'
branch_labels = None
depends_on = None

# The texts as the code wrote them before this revision (frozen here: the migration must not follow later edits).
_OLD_TEXTS = {
    "ticket_received": "【客服中心】您的{kind}已受理，工单号 {number}。我们将按时处理，如有疑问请致电客服中心。",
    "appointment_agreed": "【客服中心】工单 {number}：已与您约定 {time} 上门，届时请留人在家。",
    "work_done": "【客服中心】工单 {number} 已处理完成，我们将回访了解您的意见。",
    "callback_thanks": "【客服中心】感谢您接受工单 {number} 的回访，您的意见我们已记录。",
    "callback_unreachable": "【客服中心】工单 {number} 回访多次未能联系上您，如有问题请致电客服中心。",
    "staff_chased": "【客服中心】催办：{category}工单 {number}（{unit}）业主第 {count} 次来电催办，请尽快处理。",
    "staff_night_emergency":
        "【客服中心】夜间紧急：工单 {number}，{project} {unit}：{description}。来电 {phone}，请立即处理。",
}


def _pattern(text):
    parts = re.split(r"\{(\w+)\}", text)
    return re.compile("".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.*?)"
                              for index, part in enumerate(parts)) + r"\Z", re.S)


def template_of_old_text(body):
    """The (template, params) an old free text reads as, or None."""
    for key, text in _OLD_TEXTS.items():
        match = _pattern(text).match(body)
        if match:
            return key, match.groupdict()
    return None


def upgrade():
    # Plain ADD/DROP COLUMN (SQLite has both): a batch copy would reflect the tickets table the outbox refers to,
    # whose expression index SQLite cannot reflect.
    op.add_column('outbox', sa.Column('template', sa.String(length=40), nullable=True))
    op.add_column('outbox', sa.Column('params', JsonType, nullable=True))
    outbox = sa.table('outbox', sa.column('id', sa.Integer()), sa.column('channel', sa.String()),
                      sa.column('status', sa.String()), sa.column('body', sa.Text()),
                      sa.column('template', sa.String()), sa.column('params', JsonType))
    bind = op.get_bind()
    pending = bind.execute(sa.select(outbox.c.id, outbox.c.body).where(
        outbox.c.channel == 'sms', outbox.c.status == 'pending')).all()
    for message_id, body in pending:
        found = template_of_old_text(body or "")
        if found:
            bind.execute(sa.update(outbox).where(outbox.c.id == message_id)
                         .values(template=found[0], params=found[1]))


def downgrade():
    op.drop_column('outbox', 'params')
    op.drop_column('outbox', 'template')
