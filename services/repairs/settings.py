"""Settings of the repairs service (environment prefix REPAIRS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.images import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from services.common.settings import ServiceSettings, WeChatAppSettings, data_dir


class Settings(WeChatAppSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRS_", extra="ignore")

    service_name: str = "repairs"
    # Shared components whose tables live in this service's database (own migration histories).
    components: ClassVar[tuple[str, ...]] = ("identity_replica",)

    # Where uploaded photos are kept (the embedded setup: DATA_DIR/uploads).
    uploads_dir: str = Field(default_factory=lambda: str(data_dir() / "uploads"))
    # Path prefix under which the gateway publishes this service (photo URLs carry it).
    public_path_prefix: str = "/api/v1"
    # Photo limits: services/common/images.py says why these.
    max_upload_bytes: int = MAX_IMAGE_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    # Photos decoded at once per process (each up to ~200 MB while it is cleaned).
    image_decode_concurrency: int = 2
    # Uploads per account in any 24 hours (a ticket takes at most 9, a crew's day a few dozen).
    max_uploads_per_day: int = 200
    # Photos not attached to a ticket within this many hours are deleted (rows and files).
    unattached_upload_hours: int = 24

    # WeChat's server API (the local stand-in in the embedded setup), for msgSecCheck.

    # SLA clocks, in minutes. Acknowledge is the seed's "answer within 5 minutes", day and night.
    acknowledge_minutes: int = 5
    # category -> [arrive, resolve] minutes; a community's own settings override these.
    category_sla_minutes: dict[str, list[int]] = Field(default_factory=lambda: {
        "water": [60, 24 * 60],
        "electricity": [60, 24 * 60],
        "door_window": [240, 72 * 60],
        "elevator": [30, 8 * 60],
        "public_facility": [240, 72 * 60],
        "cleaning": [120, 24 * 60],
        "security": [15, 4 * 60],
        "other": [240, 72 * 60],
    })
    # An urgent ticket's arrive deadline is at most this many minutes.
    urgent_arrive_minutes: int = 30
    # Resolved tickets close themselves after this many days without confirmation.
    auto_close_days: int = 7
    # A reporter may urge once per this many minutes.
    urge_interval_minutes: int = 10
    # How often the scheduler sweeps for SLA breaches and auto-closes (0 disables it).
    scheduler_interval_seconds: float = 30.0
    # `due_soon` in a crew's queue: the next deadline within this many minutes (or past).
    due_soon_minutes: int = 60
    # Duplicate suggestion window.
    duplicate_window_hours: int = 48
