"""A value remembered for the rest of the current database transaction, per thread.

The caches of what can change on any node (settings, the working calendar) compare a stamp read from the database
once per transaction: by the request's sign-in query (``people.auth``) or by the cache itself, whichever comes first.
"""

from __future__ import annotations

import threading
import weakref
from typing import Generic, TypeVar

from app.extensions import db

T = TypeVar("T")


class TransactionMemo(Generic[T]):
    def __init__(self) -> None:
        self._local = threading.local()  # .transaction (a weakref: a finished transaction is not kept) and .value

    def get(self) -> T | None:
        """The value set in the current transaction, or None."""
        transaction = db.session().get_transaction()  # the scoped session's own Session's
        seen = getattr(self._local, "transaction", None)
        if transaction is None or seen is None or seen() is not transaction:
            return None
        value: T = self._local.value
        return value

    def set(self, value: T) -> None:
        """Remember ``value`` for the current transaction (nothing when none is open)."""
        transaction = db.session().get_transaction()
        self._local.transaction = weakref.ref(transaction) if transaction is not None else None
        self._local.value = value

    def clear(self) -> None:
        self._local.transaction = None
