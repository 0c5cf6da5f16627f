"""Alembic environment of the billing service's own tables."""

from services.billing.models import Base
from services.common.migrations import run_env

run_env(Base.metadata)
