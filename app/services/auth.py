"""Who is calling: API tokens and passwords."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import Clock
from app.extensions import db
from app.models import ApiToken, User
from app.services.errors import UnauthorizedError


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, clock: Clock) -> str:
    """Create a new API token for ``user``; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=clock.now()))
    db.session.commit()
    return token


def user_for_token(token: str) -> User:
    """The active user holding this unrevoked token; raise UnauthorizedError."""
    user = db.session.scalars(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.is_active.is_(True))
    ).first()
    if user is None:
        raise UnauthorizedError("令牌无效 / invalid or revoked token")
    return user


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
