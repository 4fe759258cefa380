"""The settings admins edit (/admin/settings): read with ``get_setting(key)``, change with ``change_setting``.

Values are cached per process. The cache compares the newest change's stamp at most once per
database transaction, so a step whose scripts call ``setting()`` ten times pays one small query,
and an edit in any process (web worker, timer worker) is seen by the next transaction everywhere.
"""

from __future__ import annotations

import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select

from app.clock import Clock
from app.engine import DECLARED_SETTINGS as DECLARED_SETTINGS  # re-exported: the settings page lists them
from app.engine import (
    FRACTION,
    INTEGER,
    USERNAME,
    SettingSpec,
    SettingValue,
    as_setting_value,
    declared,
)
from app.extensions import db
from app.models import User
from app.models.settings import Setting, SettingChange
from app.services.access import Actor
from app.services.errors import InvalidFormError, Text, msg
from app.services.transaction_memo import TransactionMemo

Stamp = tuple[int, str]  # the newest change's (id, token); (0, "") while nothing was ever changed


@dataclass
class SettingsCache:
    """The stored values, reloaded when the change stamp moved (read once per transaction and thread: by the
    request's sign-in query, ``STAMP_COLUMNS``, else here)."""

    _stamp: Stamp | None = None
    _values: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stamp_read: TransactionMemo[Stamp] = field(default_factory=TransactionMemo)

    def stored(self) -> MappingProxyType[str, Any]:
        """Key -> stored JSON value, for the settings an admin changed."""
        stamp = self._stamp_read.get()
        if stamp is None:
            stamp = _newest_stamp()
            self._stamp_read.set(stamp)
        with self._lock:
            if self._stamp == stamp:
                return self._values
        rows = db.session.execute(select(Setting.key, Setting.value)).all()
        values: MappingProxyType[str, Any] = MappingProxyType(dict(rows))
        with self._lock:
            self._stamp, self._values = stamp, values
        return values

    def accept(self, stamp: Stamp) -> None:
        """``stamp`` was read by another query of the current transaction (``STAMP_COLUMNS``)."""
        self._stamp_read.set(stamp)

    def forget(self) -> None:
        """After an edit in this process: the next read compares the stamp again."""
        with self._lock:
            self._stamp = None
        self._stamp_read.clear()


_cache = SettingsCache()


def _newest_stamp() -> Stamp:
    return _stamp_of(db.session.connection().execute(_NEWEST_STAMP).one())


def _stamp_of(row: Any) -> Stamp:
    return int(row.settings_change_id or 0), str(row.settings_change_token or "")


# Built once and run on the connection (Core): read in every transaction that reads a setting, or carried by the
# sign-in query of every request (``people.auth``; no bound values: the token lookup's SQL is compiled once with its
# one parameter), so a request needs no read of its own.
_CHANGES = SettingChange.__table__
_NEWEST_ID = select(func.max(_CHANGES.c.id)).scalar_subquery()
STAMP_COLUMNS = (
    _NEWEST_ID.label("settings_change_id"),
    select(_CHANGES.c.token).where(_CHANGES.c.id == _NEWEST_ID).scalar_subquery().label("settings_change_token"),
)
_NEWEST_STAMP = select(*STAMP_COLUMNS)


def accept_stamp_of(row: Any) -> None:
    """``row`` carried STAMP_COLUMNS, read in the current transaction."""
    _cache.accept(_stamp_of(row))


def get_setting(key: str) -> SettingValue:
    """The admin's value of ``key``, or its declared default; raise UnknownSettingError."""
    spec = declared(key)
    stored = _cache.stored()
    return as_setting_value(spec, stored[key]) if key in stored else spec.default


@dataclass(frozen=True)
class SettingRow:
    """One line of the admin page."""

    spec: SettingSpec
    value: SettingValue
    updated_at: datetime | None
    updated_by: str | None

    @property
    def is_default(self) -> bool:
        return self.value == self.spec.default


def list_settings() -> list[SettingRow]:
    """Every declared setting with its current value, in the order they are declared."""
    rows = {row.key: row for row in db.session.scalars(select(Setting))}
    names = _usernames({row.updated_by_id for row in rows.values() if row.updated_by_id is not None})
    result = []
    for key, spec in DECLARED_SETTINGS.items():
        row = rows.get(key)
        value = as_setting_value(spec, row.value) if row else spec.default
        result.append(SettingRow(spec, value, row.updated_at if row else None,
                                 names.get(row.updated_by_id) if row and row.updated_by_id else None))
    return result


def _usernames(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())


def people_to_name(limit: int = 500) -> list[tuple[str, str]]:
    """(username, display name) of active users: what the engineer-on-call field offers."""
    rows = db.session.execute(select(User.username, User.display_name).where(User.is_active.is_(True))
                              .order_by(User.username).limit(limit)).all()
    return [(username, name) for username, name in rows]


def recent_changes(limit: int = 50) -> list[SettingChange]:
    """The newest changes first: who, when, old -> new."""
    return list(db.session.scalars(select(SettingChange).order_by(SettingChange.id.desc()).limit(limit)))


def change_setting(key: str, text: str, *, user: Actor, clock: Clock) -> SettingChange | None:
    """Set ``key`` from what the admin typed; audit it. None when the value did not change.

    Raise InvalidFormError (errors keyed by ``key``) for a value of the wrong type, out of range,
    or a username nobody has; UnknownSettingError for an undeclared key.
    """
    spec = declared(key)
    value = parse_value(spec, text)
    row = db.session.get(Setting, key)
    old = as_setting_value(spec, row.value) if row else spec.default
    if value == old:
        return None
    now = clock.now()
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = value, now, user.id
    change = SettingChange(key=key, old_value=old, new_value=value, changed_at=now, changed_by_id=user.id,
                           changed_by_name=user.username, token=secrets.token_hex(16))
    db.session.add(change)
    db.session.commit()
    _cache.forget()
    return change


def parse_value(spec: SettingSpec, text: str) -> SettingValue:
    """What the admin typed as the setting's type; raise InvalidFormError naming the field."""
    text = (text or "").strip()
    if spec.kind == USERNAME:
        return _existing_username(spec, text)
    number = _integer(spec, text) if spec.kind == INTEGER else _fraction(spec, text)
    _check_range(spec, number)
    return number


def _invalid(spec: SettingSpec, message: Text) -> InvalidFormError:
    return InvalidFormError(f"{spec.label_zh}：{message}", errors={spec.key: message})


def _integer(spec: SettingSpec, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _invalid(spec, msg("enter a whole number")) from None


def _fraction(spec: SettingSpec, text: str) -> float:
    """A share: "0.8", or "80%" for the same."""
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise _invalid(spec, msg("enter a decimal such as 0.8")) from None
    if not math.isfinite(number):
        raise _invalid(spec, msg("enter a decimal such as 0.8"))
    return number / 100 if percent else number


def _check_range(spec: SettingSpec, number: float) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        low_text, high_text = _plain(low), _plain(high)
        raise _invalid(spec, msg("must be between %(low)s and %(high)s", low=low_text, high=high_text))


def _plain(bound: float | None) -> str:
    return "" if bound is None else (str(int(bound)) if float(bound).is_integer() else str(bound))


def _existing_username(spec: SettingSpec, text: str) -> str:
    if not text:
        return ""
    exists = db.session.scalars(select(User.id).where(User.username == text, User.is_active.is_(True))).first()
    if exists is None:
        raise _invalid(spec, msg("no active user %(username)r", username=text))
    return text


def stored_value_text(spec: SettingSpec, value: Any) -> str:
    """A value as the admin page shows it (fractions as typed, a blank username as "—")."""
    if value is None:
        return "—"
    if spec.kind == USERNAME:
        return str(value) or "—"
    if spec.kind == FRACTION:
        return f"{float(value):g}"
    return str(as_setting_value(spec, value))
