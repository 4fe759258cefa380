"""The browser session's user, for Flask-Login: a thin wrapper around the service layer's Principal."""

from __future__ import annotations

from flask_login import UserMixin

from app.services.people.auth import Principal, principal_for_user


class SessionUser(UserMixin):
    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        return str(self.principal.id)


def load_session_user(user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    principal = principal_for_user(int(user_id))
    return SessionUser(principal) if principal else None
