"""Ticket search for every staff member, within their projects: by number, phone (or its last four digits),
unit, owner or caller name, or words of the description; ranked (docs/search.md).

Each kind of match is one indexed query, newest first; the kinds are taken in rank order (exact number or
phone, phone's last four digits, unit or name, the words as typed, the words apart), so a page is the first
rows of the first kinds. Words are looked up in the trigram index of ``tickets.search_text`` (pg_trgm on
PostgreSQL, FTS5 on SQLite).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, false, func, literal, literal_column, select, text, true, tuple_

from app.extensions import db
from app.models import Project, Ticket, Unit
from app.services.access import Actor
from app.services.errors import InvalidRequestError, msg
from app.services.people.access_log import log_phone_views
from app.services.people.organisation import visible_projects
from app.services.work.inbox import instances_with_phone_shown
from app.services.work.search_text import INDEXED_LENGTH, chinese_pieces, term_pattern, unit_key

PAGE_SIZE = 20
MAX_RESULTS = 500  # nobody reads further; a deeper page is refused rather than walked
QUERY_LENGTH = 100
# The last four digits of the phone, exactly as the migration's index ix_tickets_phone_tail spells it.
PHONE_TAIL_SQL = "substr(tickets.phone, length(tickets.phone) - 3)"
NUMBER = re.compile(r"(KF-)?(\d{8}-\d{4})")
NAMED_UNITS = 50


class Rank:
    """Why a ticket matched, best first."""

    EXACT = 0  # its number, or the caller's full phone
    PHONE_TAIL = 1
    UNIT_OR_NAME = 2  # its unit, the unit owner's name, the caller's name
    WORDS = 3  # every word as typed, in caller or description
    PIECES = 4  # a long Chinese word's two-character pieces, apart


@dataclass(frozen=True)
class Found:
    ticket: Ticket
    project_name: str
    rank: int


@dataclass(frozen=True)
class SearchPage:
    query: str
    items: list[Found]
    offset: int
    next_offset: int | None


def search_tickets(query: str, *, user: Actor, offset: int = 0, limit: int = PAGE_SIZE) -> SearchPage:
    """The tickets of the user's projects matching ``query``, best first, from ``offset``.

    :raise InvalidRequestError: a query over 100 characters, or a page beyond the first 500 results.
    """
    typed = " ".join(query.split())
    if len(typed) > QUERY_LENGTH:
        raise InvalidRequestError(msg("a search is at most %(count)s characters", count=QUERY_LENGTH),
                                  errors={"q": "too long"})
    if offset < 0 or offset >= MAX_RESULTS:
        raise InvalidRequestError(msg("only the first %(count)s results can be shown", count=MAX_RESULTS),
                                  errors={"cursor": "out of range"})
    if not typed or "\x00" in typed:
        return SearchPage(typed, [], offset, None)
    visible = _scope(user)
    wanted = offset + limit + 1
    ranked: dict[int, int] = {}
    for rank, finder in _finders(typed):
        for ticket_id in finder(visible, wanted):
            ranked.setdefault(ticket_id, rank)
        if len(ranked) >= wanted:
            break
    ids = list(ranked)[offset:offset + limit]
    more = len(ranked) > offset + limit and offset + limit < MAX_RESULTS
    return SearchPage(typed, _load(ids, ranked), offset, offset + limit if more else None)


@dataclass(frozen=True)
class Scope:
    """The user's projects as a condition, and the newest-first order that walks an index within them."""

    condition: Any
    newest_first: tuple[Any, ...]


Finder = Callable[[Scope, int], list[int]]


def _finders(typed: str) -> Iterator[tuple[int, Finder]]:
    """(rank, finder) of every kind of match the query can be, best first."""
    compact = re.sub(r"[\s()-]", "", typed)
    number = NUMBER.fullmatch(typed.upper())
    if number:  # a ticket number is nothing else
        yield Rank.EXACT, _where(Ticket.number == f"KF-{number.group(2)}")
        return
    phone = compact.removeprefix("+86")
    if phone.isdigit() and len(phone) >= 7:  # nor is a whole phone number
        yield Rank.EXACT, _where(Ticket.phone == phone)
        return
    if phone.isdigit() and len(phone) == 4:
        yield Rank.PHONE_TAIL, _where(literal_column(PHONE_TAIL_SQL) == phone)
    unit = unit_key(typed)
    if unit:
        yield Rank.UNIT_OR_NAME, _where(Ticket.unit_key == unit)
    if not any(char.isdigit() for char in typed):
        yield Rank.UNIT_OR_NAME, _where(Ticket.caller == typed)
        yield Rank.UNIT_OR_NAME, _of_owner(typed)
    terms = [term_pattern(term) for term in typed.split()]
    if any(len(pattern) >= INDEXED_LENGTH for pattern in terms):
        yield Rank.WORDS, _with_words(terms)
    pieces = [f" {piece} " for term in typed.split() for piece in chinese_pieces(term)]
    if pieces:
        yield Rank.PIECES, _with_words(pieces)


def _where(condition: Any) -> Finder:
    def find(scope: Scope, wanted: int) -> list[int]:
        return _newest(select(Ticket.id).where(condition, scope.condition), wanted)
    return find


def _of_owner(name: str) -> Finder:
    """The tickets of the units this person owns (the estate's register), in the user's projects."""
    def find(scope: Scope, wanted: int) -> list[int]:
        units = db.session.execute(select(Unit.project_key, Unit.code).where(Unit.owner_name == name)
                                   .limit(NAMED_UNITS)).all()
        if not units:
            return []
        owned = tuple_(Ticket.project_key, Ticket.unit_code).in_([(row.project_key, row.code) for row in units])
        return _newest(select(Ticket.id).where(owned, scope.condition), wanted)
    return find


def _with_words(patterns: list[str]) -> Finder:
    """Tickets whose search text holds every pattern, looked up by those long enough for the trigram index and
    checked against the others; newest first (``Scope``).

    PostgreSQL answers a common word by walking the newest tickets backwards until a page is full, and a rare one
    from the trigram index: pg_trgm estimates how many rows a pattern matches. Several patterns' estimates are
    multiplied as if they were independent, and words that go together ("厨房" and "漏水") are not: PostgreSQL then
    expects a few hundred matches, reads all 50,000 through the index and sorts them (160 ms on a million tickets).
    So on PostgreSQL, where the order is by id alone, several patterns are first looked for among the newest
    tickets (``RECENT_TICKETS``), walking the primary key backwards and checking each row without the trigram index
    (0.4 ms; 2 ms when nothing matches): a page found there is the page (they are the highest ids); otherwise the words
    are rare enough for the index.
    """
    indexed = [pattern for pattern in patterns if len(pattern) >= INDEXED_LENGTH]
    # Only the short ones are checked again: a pattern twice would square PostgreSQL's estimate of its matches.
    checks = [_contains(pattern) for pattern in patterns if 0 < len(pattern) < INDEXED_LENGTH]

    def find(scope: Scope, wanted: int) -> list[int]:
        if len(indexed) > 1 and len(scope.newest_first) == 1 and db.session.connection().dialect.name == "postgresql":
            recent = _newest_ids(select(Ticket.id).where(
                Ticket.id > _RECENT_FLOOR, *[func.strpos(Ticket.search_text, _constant(pattern)) > 0
                                             for pattern in indexed], *checks, scope.condition), scope, wanted)
            if len(recent) >= wanted:
                return recent
        query = select(Ticket.id).where(_indexed_match(indexed), *checks, scope.condition)
        return _newest_ids(query, scope, wanted)
    return find


RECENT_TICKETS = 5000  # a word in 1 % of the tickets fills a first page from them
_RECENT_FLOOR = select(func.max(Ticket.id) - RECENT_TICKETS).scalar_subquery()


def _newest_ids(query: Select[Any], scope: Scope, wanted: int) -> list[int]:
    return list(db.session.scalars(query.order_by(*scope.newest_first).limit(_constant(wanted))))


def _constant(value: Any) -> Any:
    """A value written into the statement, not sent as a parameter: the driver prepares a statement it runs often,
    and PostgreSQL's generic plan for ``search_text LIKE $1`` cannot know how common the word is (a common word's
    plan for a rare word's query reads every match: 100 ms instead of 1 ms on a million tickets)."""
    return literal(value, literal_execute=True)


def _contains(pattern: str) -> Any:
    return Ticket.search_text.like(_constant(f"%{pattern}%"))  # patterns hold no LIKE wildcards (search_text.py)


def _indexed_match(patterns: list[str]) -> Any:
    if db.session.connection().dialect.name == "postgresql":
        return and_(*[_contains(pattern) for pattern in patterns])  # GIN gin_trgm_ops
    phrases = " AND ".join(f'"{pattern}"' for pattern in patterns)  # patterns hold no quotes (search_text.py)
    return Ticket.id.in_(select(literal_column("rowid")).select_from(text("ticket_search"))
                         .where(text("ticket_search MATCH :phrases").bindparams(phrases=phrases)))


def _newest(query: Select[Any], wanted: int) -> list[int]:
    return list(db.session.scalars(query.order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(wanted)))


def _scope(user: Actor) -> Scope:
    """Newest first is by id (ids grow with the time a call is received), which PostgreSQL walks backwards until a
    page is full; within one project, by the project's (project_key, received_at) index instead."""
    allowed = visible_projects(user)
    if allowed is None:
        return Scope(true(), (Ticket.id.desc(),))
    if not allowed:
        return Scope(false(), (Ticket.id.desc(),))
    projects: Any = bindparam("projects", sorted(allowed), expanding=True, literal_execute=True)  # see _constant
    newest = (Ticket.received_at.desc(), Ticket.id.desc()) if len(allowed) == 1 else (Ticket.id.desc(),)
    return Scope(Ticket.project_key.in_(projects), newest)


def _load(ids: list[int], ranked: dict[int, int]) -> list[Found]:
    if not ids:
        return []
    rows = {ticket.id: (ticket, name) for ticket, name in db.session.execute(
        select(Ticket, Project.name).join(Project, Project.key == Ticket.project_key).where(Ticket.id.in_(ids)))}
    return [Found(rows[ticket_id][0], rows[ticket_id][1], ranked[ticket_id]) for ticket_id in ids if ticket_id in rows]


def phones_in_full(found: list[Found], *, user: Actor, source: str, now: datetime) -> set[int]:
    """The tickets of a results page whose phone ``user`` sees in full (the ticket page's rule, ``may_see_phone``),
    each view logged (PIPL) in one commit; the others are shown masked."""
    shown = instances_with_phone_shown(user, {item.ticket.instance_id for item in found})
    full = [item.ticket for item in found if item.ticket.instance_id in shown]
    log_phone_views(user, [ticket.number for ticket in full if ticket.phone], source=source, now=now)
    return {ticket.id for ticket in full}


def parse_offset(raw: str | None) -> int:
    """Where a page starts (the ``cursor`` a page gave as its ``next``); raise InvalidRequestError if not a number."""
    if not raw:
        return 0
    if not raw.isdigit():
        raise InvalidRequestError(msg("invalid cursor"), errors={"cursor": "invalid"})
    return int(raw)

