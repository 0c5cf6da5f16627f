"""Alembic environment of the identity replica tables (version table alembic_version_identity_replica)."""

from services.common.identity_replica.models import ReplicaBase
from services.common.migrations import run_env

run_env(ReplicaBase.metadata)
