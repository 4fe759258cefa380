"""What a server process loads before its first request, so that no member of staff waits for it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Bundle
from app.services.runtime import Runtime

_NEWER = aliased(Bundle)
# The spec key of every process's newest version: what new tickets start on and most open tasks run on.
_NEWEST_SPEC_KEYS = select(Bundle.spec_key).where(
    Bundle.version == select(func.max(_NEWER.version)).where(_NEWER.process_id == Bundle.process_id)
    .scalar_subquery()).order_by(Bundle.process_id)


def load_newest_bundles(rt: Runtime) -> list[str]:
    """Restore the newest version of every deployed process into the engine's spec cache and the bundle cache
    (older versions still load on first use); the spec keys loaded."""
    spec_keys = list(db.session.scalars(_NEWEST_SPEC_KEYS))
    for spec_key in spec_keys:
        rt.engine.specs.get(spec_key)
        rt.bundles.get(spec_key)
    return spec_keys
