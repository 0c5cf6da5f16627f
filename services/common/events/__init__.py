"""The event machinery: transactional outbox, signed webhook delivery, idempotent receipt,
snapshots for replica backfill. See README.md here and docs/events.md."""

from services.common.events.backfill import SnapshotItem, SnapshotPage, Snapshots
from services.common.events.handlers import EventHandlers, ReceivedEvent
from services.common.events.outbox import emit

__all__ = ["EventHandlers", "ReceivedEvent", "SnapshotItem", "SnapshotPage", "Snapshots", "emit"]
