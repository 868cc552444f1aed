"""The ingest stage that records matched (recipient, notice) pairs (it runs after classification).

Every pair is written once (DESIGN.md invariant 3: before any message is built). A later document of a
measure (addendum, revision, corrigendum, supplement) goes, as an update, to every recipient that already
has a document of that measure, whether or not it matches by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from alerts.matching import Match, SubscriptionIndex
from alerts.repository import AlertsRepository, NewAlert
from tbtwatch.models import Labels, Notice
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)


def build_alerts(
    repo: AlertsRepository, index: SubscriptionIndex, notices: Sequence[Notice], labels: Mapping[str, Labels]
) -> list[NewAlert]:
    """Matches of a batch plus the updates owed to recipients of earlier documents of the same measures."""
    matches: dict[str, dict[int, Match]] = {}
    for m in index.match(notices, labels) if len(index) else ():
        matches.setdefault(m.notice_id, {})[m.recipient_id] = m
    base_of = {n.id: n.base_id for n in notices}
    # recipients per measure, from the store and from this batch (a regular notice and its addendum together)
    followups = {n.base_id for n in notices if n.id != n.base_id}
    family = repo.family_recipients(followups) if followups else {}
    in_batch: dict[str, dict[int, set[str]]] = {}
    for nid, by_recipient in matches.items():
        for rid in by_recipient:
            in_batch.setdefault(base_of[nid], {}).setdefault(rid, set()).add(nid)
    out: list[NewAlert] = []
    for n in notices:
        lab = labels.get(n.id)
        risk = lab.risk.value if lab else None
        prior: set[int] = set()
        if n.id != n.base_id:
            prior = set(family.get(n.base_id, ()))
            prior.update(rid for rid, ids in in_batch.get(n.base_id, {}).items() if ids - {n.id})
        own = matches.get(n.id, {})
        for rid in sorted(own.keys() | prior):
            found = own.get(rid)
            reasons = list(found.reasons) if found else []
            if rid in prior:
                reasons.append(f"update:{n.base_id}")
            out.append(
                NewAlert(
                    recipient_id=rid,
                    notice_id=n.id,
                    base_id=n.base_id,
                    subscription_id=found.subscription_id if found else None,
                    reasons=reasons,
                    risk=risk,
                    is_update=rid in prior,
                )
            )
    return out


class AlertsStage:
    """Ingest stage ``alerts``: match new and changed notices against every subscription."""

    name = "alerts"

    def __init__(self) -> None:
        self._index: SubscriptionIndex | None = None
        self._key: tuple[str, int] | None = None

    def index_for(self, repo: AlertsRepository) -> SubscriptionIndex:
        """The match index, rebuilt only when recipients or subscriptions changed."""
        key = (repo.store.path, repo.subscriptions_version())
        if self._index is None or key != self._key:
            self._index = SubscriptionIndex(repo.iter_subscriptions())
            self._key = key
            log.info("alert match index built over %d subscriptions", len(self._index))
        return self._index

    def process(self, notices: list[Notice], store: Store) -> None:
        """Record the alerts of a batch of new or changed notices."""
        repo = AlertsRepository(store)
        index = self.index_for(repo)
        labels = store.get_labels_many([n.id for n in notices])
        alerts = build_alerts(repo, index, notices, labels)
        written = repo.record_alerts(alerts, datetime.now(UTC))
        if written:
            log.info("%d new alerts from %d notices", written, len(notices))


def make_stage(settings: Settings) -> AlertsStage:
    """Factory listed in ``tbtwatch.ingest.STAGE_FACTORIES``."""
    return AlertsStage()
