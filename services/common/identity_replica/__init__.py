"""A local, event-fed replica of what identity knows that other services need on their hot
path: rooms (area, state, owner key), verified bindings, staff. Plumbing, not domain rules:
it stores identity's facts as identity states them, and answers who-is-where questions."""

from collections.abc import Sequence

from services.common.identity_replica.handlers import (
    DELETED_ACCOUNT_NAME,
    register_identity_replica,
)
from services.common.identity_replica.models import (
    ReplicaBinding,
    ReplicaCommunity,
    ReplicaRoom,
    ReplicaStaff,
)

# What a fresh replica pulls from identity's snapshot endpoint before following events.
# Typed as create_service_app's `backfill_from` takes it (a dict is invariant in its values).
IDENTITY_REPLICA_BACKFILL: dict[str, Sequence[str]] = {"identity": ("communities", "rooms", "bindings", "staff")}

__all__ = [
    "DELETED_ACCOUNT_NAME",
    "IDENTITY_REPLICA_BACKFILL",
    "ReplicaBinding",
    "ReplicaCommunity",
    "ReplicaRoom",
    "ReplicaStaff",
    "register_identity_replica",
]
