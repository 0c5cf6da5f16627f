"""The event machinery: transactional outbox, signed webhook delivery, idempotent receipt."""

from services.common.events.handlers import EventHandlers, ReceivedEvent
from services.common.events.outbox import emit

__all__ = ["EventHandlers", "ReceivedEvent", "emit"]
