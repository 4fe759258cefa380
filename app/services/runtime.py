"""What every service call needs besides its arguments: the engine, the clock, bundle facts."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select

from app.clock import Clock
from app.config import PROJECT_ROOT
from app.engine import DEFAULT_OFFICE_HOURS, Engine, UnknownSpecError
from app.extensions import db
from app.models import Bundle
from app.services.figures.working_calendar import CalendarCache, make_calendar_cache
from app.services.settings import get_setting


@dataclass(frozen=True)
class BundleFacts:
    """What a bundle's content says, cached per process by spec key (content-addressed, so never stale).

    Row facts (id, version number) are not here: the same content can be deployed again as a newer version.
    """

    process_id: str
    title: str
    spec_key: str
    forms: dict[str, dict[str, Any]]
    lane_roles: dict[str, str]
    start_roles: tuple[str, ...]
    start_form: str | None


@dataclass
class BundleCache:
    _facts: dict[str, BundleFacts] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, spec_key: str) -> BundleFacts:
        facts = self._facts.get(spec_key)
        if facts is None:
            facts = _load_facts(spec_key)
            with self._lock:
                self._facts[spec_key] = facts
        return facts


def _load_facts(spec_key: str) -> BundleFacts:
    bundle = db.session.scalars(select(Bundle).where(Bundle.spec_key == spec_key).limit(1)).first()
    if bundle is None:
        raise UnknownSpecError(spec_key)
    return facts_of(bundle)


def facts_of(bundle: Bundle) -> BundleFacts:
    forms = {name: json.loads(text) for name, text in bundle.files.items() if name.endswith(".json")}
    return BundleFacts(bundle.process_id, bundle.title, bundle.spec_key, forms,
                       dict(bundle.lane_roles), tuple(bundle.start_roles), bundle.start_form)


def _load_serialized_spec(spec_key: str) -> str:
    spec = db.session.scalars(select(Bundle.serialized_spec).where(Bundle.spec_key == spec_key).limit(1)).first()
    if spec is None:
        raise UnknownSpecError(spec_key)
    return spec


LatestBundle = tuple[int, str]  # a process's latest bundle row: (id, spec_key)
BundlesStamp = tuple[int, int]  # (count, highest id) of the bundle rows: moves with every bundle committed
_BUNDLES = Bundle.__table__
# Built once: the latest bundle of a process (``process_id``). Core only, run on the connection: an ORM-enabled
# statement costs more to run, and every start reads it.
_LATEST_BUNDLE = (select(_BUNDLES.c.id, _BUNDLES.c.spec_key).where(_BUNDLES.c.process_id == bindparam("process_id"))
                  .order_by(_BUNDLES.c.version.desc()).limit(1))


# The bundles' stamp as two columns of another query (every request's sign-in query, ``people.auth``; the warm-up's):
# no bound value, and never correlated with a query of the bundles themselves.
STAMP_COLUMNS = (
    select(func.count(_BUNDLES.c.id)).correlate(None).scalar_subquery().label("bundle_count"),
    select(func.coalesce(func.max(_BUNDLES.c.id), literal_column("0"))).correlate(None).scalar_subquery()
    .label("newest_bundle_id"),
)


def bundles_stamp_of(row: Any) -> BundlesStamp:
    """The stamp of a row that carried STAMP_COLUMNS."""
    return int(row.bundle_count), int(row.newest_bundle_id)


@dataclass
class LatestBundles:
    """Each deployed process's latest bundle as of the bundles' stamp a request's sign-in query saw. Bundles are only
    ever added, so while the stamp is the same, so is every process's latest: a deploy on any node adds a row and the
    next request of every node reads again. The count is in the stamp because two deploys can commit out of their
    ids' order (the highest id alone would not move when the lower one commits second)."""

    _stamp: BundlesStamp | None = None
    _rows: dict[str, LatestBundle] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, process_id: str, *, stamp: BundlesStamp | None) -> LatestBundle | None:
        """``process_id``'s latest bundle (None: not deployed, not kept: any name can be asked for); ``stamp`` None:
        not known, read it."""
        with self._lock:
            if stamp is not None and stamp == self._stamp and process_id in self._rows:
                return self._rows[process_id]
        row = db.session.connection().execute(_LATEST_BUNDLE, {"process_id": process_id}).first()
        if row is None:
            return None
        latest = (row.id, row.spec_key)
        if stamp is not None:
            self.fill(stamp, {process_id: latest})
        return latest

    def fill(self, stamp: BundlesStamp, latest: dict[str, LatestBundle]) -> None:
        """``latest`` (process id -> its latest bundle) as read when the bundles' stamp was ``stamp``."""
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._rows = stamp, {}
            self._rows.update(latest)

    def forget(self) -> None:
        """After a deploy in this process: a request whose stamp was read before it must not find the old rows."""
        with self._lock:
            self._stamp, self._rows = None, {}


@dataclass(frozen=True)
class Runtime:
    engine: Engine
    clock: Clock
    bundles: BundleCache
    timezone: str
    calendar: CalendarCache  # the working calendar the scripts read (office hours, holidays, 调休)
    forms_dir: Path = PROJECT_ROOT / "forms"  # FORMS_DIR: the shipped forms (a callback's survey form among them)
    latest_bundles: LatestBundles = field(default_factory=LatestBundles)


def build_runtime(clock: Clock, timezone: str, *, office_hours: str = DEFAULT_OFFICE_HOURS,
                  lunch_break: str | None = None, forms_dir: Path | None = None) -> Runtime:
    """Raise WorkingTimeError when the office hours cannot be read (a start-up failure, with the value)."""
    calendar = make_calendar_cache(timezone, office_hours, lunch_break)
    engine = Engine(_load_serialized_spec, clock, timezone, calendar, settings=get_setting)
    return Runtime(engine, clock, BundleCache(), timezone, calendar, forms_dir or PROJECT_ROOT / "forms")
