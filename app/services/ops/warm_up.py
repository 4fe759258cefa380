"""What a server process loads before its first request, so that no member of staff waits for it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Bundle
from app.services.runtime import STAMP_COLUMNS, Runtime, bundles_stamp_of

_NEWER = aliased(Bundle)
# Every process's newest version (what new tickets start on and most open tasks run on), with the bundles' stamp
# the latest versions are known at (``runtime.LatestBundles``).
_NEWEST_VERSIONS = select(Bundle.id, Bundle.process_id, Bundle.spec_key, *STAMP_COLUMNS).where(
    Bundle.version == select(func.max(_NEWER.version)).where(_NEWER.process_id == Bundle.process_id)
    .scalar_subquery()).order_by(Bundle.process_id)


def load_newest_bundles(rt: Runtime) -> list[str]:
    """Restore the newest version of every deployed process into the engine's spec cache, the bundle cache and the
    latest versions (older versions still load on first use); the spec keys loaded."""
    rows = db.session.execute(_NEWEST_VERSIONS).all()
    for row in rows:
        rt.engine.specs.get(row.spec_key)
        rt.bundles.get(row.spec_key)
    if rows:
        rt.latest_bundles.fill(bundles_stamp_of(rows[0]), {row.process_id: (row.id, row.spec_key) for row in rows})
    return [row.spec_key for row in rows]
