"""Extensions created bare here and bound to the app in the factory."""

from typing import ClassVar

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The models' base; ``db.Model`` is built from it, and the models subclass it directly so mypy sees them."""

    metadata = MetaData(naming_convention=NAMING)
    # Every model maps one table (never a join or a select), so Core statements take ``Model.__table__``.
    __table__: ClassVar[Table]


# Objects stay readable after commit: responses are built from them without reloading.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage from RATELIMIT_STORAGE_URI (config.py): memory in development and tests, Redis in production.
limiter = Limiter(key_func=get_remote_address)
